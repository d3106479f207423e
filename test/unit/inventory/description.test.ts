import { NodeHelpers, type INode } from 'n8n-workflow';

import { DealflowInventoryDbApi } from '../../../credentials/DealflowInventoryDbApi.credentials';
import { Inventory } from '../../../nodes/Inventory/Inventory.node';

const description = new Inventory().description;
const node = (parameters: Record<string, unknown>): INode => ({
	id: '1',
	name: 'Dealflow Inventory',
	type: 'n8n-nodes-dealflow.inventory',
	typeVersion: 1,
	position: [0, 0],
	parameters: parameters as INode['parameters'],
});

describe('The Dealflow Inventory node description', () => {
	it('is named inventory, uses the dealflowInventoryDbApi credential and its connection test', () => {
		expect(description.name).toBe('inventory');
		expect(description.displayName).toBe('Dealflow Inventory');
		expect(description.credentials).toEqual([
			{
				name: 'dealflowInventoryDbApi',
				required: true,
				testedBy: 'dealflowInventoryDbConnectionTest',
			},
		]);
		expect(Object.keys(new Inventory().methods.credentialTest)).toEqual([
			'dealflowInventoryDbConnectionTest',
		]);
		expect(new DealflowInventoryDbApi().name).toBe('dealflowInventoryDbApi');
	});

	it.each([
		['reserve', { inputMode: 'order' }, ['order', 'stockTable', 'options']],
		['reserve', { inputMode: 'items' }, ['orderKey', 'sku', 'quantity']],
		['release', {}, ['orderKey']],
		['receive', {}, ['movementKey', 'sku', 'quantity']],
		['adjust', {}, ['movementKey', 'sku', 'quantity']],
		['getLevels', { levelsMode: 'below' }, ['threshold', 'limit']],
		['setup', {}, ['createStockTable']],
	])('resolves the defaults n8n shows for %s %j', (operation, extra, expected) => {
		const parameters = NodeHelpers.getNodeParameters(
			description.properties,
			{ operation, ...extra },
			true,
			false,
			node({ operation, ...extra }),
			description,
		);
		expect(Object.keys(parameters ?? {})).toEqual(expect.arrayContaining(expected));
		const issues = NodeHelpers.getNodeParametersIssues(
			description.properties,
			node(parameters ?? {}),
			description,
		);
		expect(issues).toBeNull();
	});

	it('offers its operations in alphabetical order, each with an action', () => {
		const operation = description.properties.find((p) => p.name === 'operation');
		const names = (operation?.options ?? []).map((o) => (o as { name: string }).name);
		expect(names).toEqual([...names].sort());
		for (const option of operation?.options ?? []) expect(option).toHaveProperty('action');
	});
});
