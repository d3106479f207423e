import type { INodeExecutionData } from 'n8n-workflow';

import { Inventory } from '../../../nodes/Inventory/Inventory.node';
import {
	closeAllInventoryEngines,
	getInventoryEngine,
	type InventoryDbCredential,
} from '../../../nodes/Inventory/transport';
import { readRetryHint } from '../../../nodes/shared/errors';
import { CREDENTIALS, DIALECTS, Fixture } from './helpers';
import { runInventory, type LogEntry } from './node-context';

jest.setTimeout(60_000);

afterAll(async () => await closeAllInventoryEngines());

function salesforceOrder(orderKey: string, lines: Array<{ sku: string; quantity: unknown }>) {
	return {
		orderKey,
		reference: orderKey,
		currency: 'USD',
		customer: { name: 'Acme Ltd' },
		lines: lines.map((line) => ({ ...line, unitPrice: 10 })),
	};
}

describe.each(DIALECTS)('The Dealflow Inventory node on %s', (dialect) => {
	const fx = new Fixture(dialect);
	const credentials = CREDENTIALS[dialect];
	afterAll(async () => await fx.cleanup());

	/** Fresh tables created through the node's own "Set Up Tables" operation. */
	async function setUpThroughNode() {
		const stockTable = fx.table(`node_stock_${Math.random().toString(36).slice(2, 7)}`);
		const ledgerTable = fx.table(`node_moves_${Math.random().toString(36).slice(2, 7)}`);
		const mapping = {
			stockTable,
			skuColumn: 'sku',
			onHandColumn: 'on_hand',
			tableOptions: { ledgerTable },
		};
		const [setup] = await runInventory({
			credentials,
			items: [{ json: {} }],
			parameters: { operation: 'setup', createStockTable: true, ...mapping },
		});
		expect(setup[0].json).toMatchObject({ ledgerCreated: true, stockTableCreated: true });
		const ctx = await fx.context({ stockTable, ledgerTable });
		return { mapping, ctx };
	}

	it('reserves a Salesforce order, keeps the order on the item and replays it as already applied', async () => {
		const { mapping, ctx } = await setUpThroughNode();
		await fx.seed(ctx, { A: 5, B: 5 });
		const order = salesforceOrder('sf:opp:1:closed-won', [
			{ sku: 'B', quantity: 2 },
			{ sku: 'A', quantity: 1 },
		]);
		const parameters = {
			operation: 'reserve',
			inputMode: 'order',
			order: (item: INodeExecutionData) => item.json,
			...mapping,
		};

		const [first] = await runInventory({ credentials, items: [{ json: order }], parameters });
		const [second] = await runInventory({ credentials, items: [{ json: order }], parameters });

		expect(first[0].json).toMatchObject({
			reference: 'sf:opp:1:closed-won',
			customer: { name: 'Acme Ltd' },
			inventory: {
				orderKey: 'sf:opp:1:closed-won',
				status: 'reserved',
				reserved: true,
				alreadyApplied: false,
			},
		});
		expect(first[0].pairedItem).toEqual({ item: 0 });
		expect(second[0].json.inventory).toMatchObject({
			status: 'reserved',
			reserved: true,
			alreadyApplied: true,
		});
		expect(await fx.onHand(ctx)).toEqual({ A: 4, B: 3 });
	});

	it('fails a bad order before any write and, continuing on fail, still reserves the good ones', async () => {
		const { mapping, ctx } = await setUpThroughNode();
		await fx.seed(ctx, { A: 5 });
		const items = [
			{ json: salesforceOrder('bad-qty', [{ sku: 'A', quantity: 1.5 }]) },
			{ json: salesforceOrder('good', [{ sku: 'A', quantity: 2 }]) },
			{
				json: salesforceOrder('dup', [
					{ sku: 'A', quantity: 1 },
					{ sku: 'A', quantity: 1 },
				]),
			},
		];
		const parameters = {
			operation: 'reserve',
			inputMode: 'order',
			order: (item: INodeExecutionData) => item.json,
			options: { duplicateLines: 'reject' },
			...mapping,
		};

		const [out] = await runInventory({ credentials, items, parameters, continueOnFail: true });

		expect(out.map((item) => item.pairedItem)).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }]);
		expect(out[0].json).toMatchObject({
			error: expect.stringContaining('lines[0].quantity: 1.5 is not a whole number'),
			errorDetails: { reason: 'validation', retryable: false },
		});
		expect(out[1].json.inventory).toMatchObject({ status: 'reserved' });
		expect(out[2].json).toMatchObject({
			error: expect.stringContaining('appears on more than one line'),
		});
		expect(await fx.onHand(ctx)).toEqual({ A: 3 });
		expect((await fx.ledger(ctx)).map((row) => row.order_key)).toEqual(['good']);
	});

	it('throws a marked, non-retryable error for an unknown SKU and writes nothing', async () => {
		const { mapping, ctx } = await setUpThroughNode();
		await fx.seed(ctx, { A: 5 });
		const items = [
			{
				json: salesforceOrder('ghost', [
					{ sku: 'A', quantity: 1 },
					{ sku: 'NOPE', quantity: 1 },
				]),
			},
		];

		const failure = await runInventory({
			credentials,
			items,
			parameters: {
				operation: 'reserve',
				inputMode: 'order',
				order: (item: INodeExecutionData) => item.json,
				...mapping,
			},
		}).catch((error: unknown) => error);

		expect(failure).toMatchObject({ message: expect.stringContaining('Unknown SKU "NOPE"') });
		expect(readRetryHint(failure)).toEqual({
			retryable: false,
			reason: 'unknown_sku',
			service: 'inventory',
		});
		expect(await fx.onHand(ctx)).toEqual({ A: 5 });
		expect(await fx.ledger(ctx)).toEqual([]);
	});

	it('can fail a short order as retryable so a retry queue tries again later', async () => {
		const { mapping, ctx } = await setUpThroughNode();
		await fx.seed(ctx, { A: 1 });

		const failure = await runInventory({
			credentials,
			items: [{ json: salesforceOrder('short', [{ sku: 'A', quantity: 3 }]) }],
			parameters: {
				operation: 'reserve',
				inputMode: 'order',
				order: (item: INodeExecutionData) => item.json,
				options: { onShortage: 'error' },
				...mapping,
			},
		}).catch((error: unknown) => error);

		expect(failure).toMatchObject({
			message: expect.stringContaining('"A" (wanted 3, available 1)'),
		});
		expect(readRetryHint(failure)).toEqual({
			retryable: true,
			reason: 'insufficient_stock',
			service: 'inventory',
		});
	});

	it('reserves item-per-line input grouped by order key, pairing each output with its items', async () => {
		const { mapping, ctx } = await setUpThroughNode();
		await fx.seed(ctx, { A: 5, B: 5 });
		const items = [
			{ json: { orderKey: 'o-1', sku: 'A', quantity: 1 } },
			{ json: { orderKey: 'o-2', sku: 'B', quantity: 2 } },
			{ json: { orderKey: 'o-1', sku: 'B', quantity: '3' } },
		];

		const [out] = await runInventory({
			credentials,
			items,
			parameters: {
				operation: 'reserve',
				inputMode: 'items',
				orderKey: (item: INodeExecutionData) => item.json.orderKey,
				sku: (item: INodeExecutionData) => item.json.sku,
				quantity: (item: INodeExecutionData) => item.json.quantity,
				...mapping,
			},
		});

		expect(out).toHaveLength(2);
		expect(out[0]).toMatchObject({
			json: { inventory: { orderKey: 'o-1', status: 'reserved' } },
			pairedItem: [{ item: 0 }, { item: 2 }],
		});
		expect(out[1]).toMatchObject({
			json: { inventory: { orderKey: 'o-2' } },
			pairedItem: [{ item: 1 }],
		});
		expect(await fx.onHand(ctx)).toEqual({ A: 4, B: 0 });
	});

	it('releases, receives and reads levels through the node', async () => {
		const { mapping, ctx } = await setUpThroughNode();
		await fx.seed(ctx, { A: 5 });
		const order = salesforceOrder('cycle', [{ sku: 'A', quantity: 4 }]);
		await runInventory({
			credentials,
			items: [{ json: order }],
			parameters: { operation: 'reserve', inputMode: 'order', order, ...mapping },
		});
		const [released] = await runInventory({
			credentials,
			items: [{ json: { orderKey: 'cycle' } }],
			parameters: { operation: 'release', orderKey: 'cycle', ...mapping },
		});
		expect(released[0].json.inventory).toMatchObject({ status: 'released', alreadyApplied: false });

		await runInventory({
			credentials,
			items: [{ json: {} }],
			parameters: {
				operation: 'receive',
				movementKey: 'grn-1',
				sku: 'A',
				quantity: '10',
				...mapping,
			},
		});
		const [levels] = await runInventory({
			credentials,
			items: [{ json: {} }, { json: {} }],
			parameters: {
				operation: 'getLevels',
				levelsMode: 'skus',
				skus: (_: INodeExecutionData, index: number) => (index === 0 ? 'A' : ['A', 'Z']),
				...mapping,
			},
		});
		expect(
			levels.map((item) => [item.json.sku, item.json.available, item.json.found, item.pairedItem]),
		).toEqual([
			['A', 15, true, { item: 0 }],
			['A', 15, true, { item: 1 }],
			['Z', 0, false, { item: 1 }],
		]);
	});

	it('reports a missing ledger as a non-retryable error that says to run Set Up Tables', async () => {
		const ctx = await fx.context();
		await fx.seed(ctx, { A: 5 });
		const logs: LogEntry[] = [];

		const failure = await runInventory({
			credentials,
			items: [{ json: salesforceOrder('no-ledger', [{ sku: 'A', quantity: 1 }]) }],
			parameters: {
				operation: 'reserve',
				inputMode: 'order',
				order: (item: INodeExecutionData) => item.json,
				stockTable: ctx.map.stockParts[0],
				skuColumn: 'sku',
				onHandColumn: 'on_hand',
				tableOptions: { ledgerTable: `${fx.prefix}never_created` },
			},
			logs,
		}).catch((error: unknown) => error);

		expect(failure).toMatchObject({ message: expect.stringContaining('Set Up Tables') });
		expect(readRetryHint(failure)).toEqual({
			retryable: false,
			reason: 'missing_table',
			service: 'inventory',
		});
		expect(logs.filter((entry) => entry.level === 'warn')).toEqual([]);
	});

	it('reuses one pool per credential across executions', () => {
		expect(getInventoryEngine(credentials)).toBe(getInventoryEngine({ ...credentials }));
		expect(getInventoryEngine(credentials)).not.toBe(
			getInventoryEngine({ ...credentials, poolSize: 3 }),
		);
	});

	it('passes the credential test against the real server', async () => {
		const test = new Inventory().methods.credentialTest.dealflowInventoryDbConnectionTest;
		const result = await test.call({} as never, {
			id: '1',
			name: 'db',
			type: 'dealflowInventoryDbApi',
			data: credentials as never,
		});
		expect(result).toEqual({ status: 'OK', message: 'Connected: the database answered SELECT 1' });
	});

	it('fails the credential test with a message naming the cause', async () => {
		const test = new Inventory().methods.credentialTest.dealflowInventoryDbConnectionTest;
		const wrongDb: InventoryDbCredential = { ...credentials, database: 'dealflow_no_such_db' };
		const refused: InventoryDbCredential = { ...credentials, port: 1 };

		expect(
			await test.call({} as never, { id: '1', name: 'db', type: 't', data: wrongDb as never }),
		).toEqual({
			status: 'Error',
			message: expect.stringContaining('database does not exist'),
		});
		expect(
			await test.call({} as never, { id: '1', name: 'db', type: 't', data: refused as never }),
		).toEqual({
			status: 'Error',
			message: expect.stringContaining('check the host and port'),
		});
	});
});
