import type {
	ICredentialTestFunctions,
	ICredentialsDecrypted,
	IExecuteFunctions,
	INodeCredentialTestResult,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';

import { executeInventory } from './actions';
import { inventoryProperties } from './description';
import { testConnection, type InventoryDbCredential } from './transport';

export class Inventory implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Dealflow Inventory',
		name: 'inventory',
		icon: { light: 'file:inventory.svg', dark: 'file:inventory.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{ $parameter["operation"] }}',
		description:
			"Reserves, releases, receives and adjusts stock in the warehouse's own PostgreSQL or MySQL database, all or nothing and once per key",
		defaults: { name: 'Dealflow Inventory' },
		inputs: ['main'],
		outputs: ['main'],
		credentials: [
			{
				name: 'dealflowInventoryDbApi',
				required: true,
				testedBy: 'dealflowInventoryDbConnectionTest',
			},
		],
		properties: inventoryProperties,
	};

	methods = {
		credentialTest: {
			async dealflowInventoryDbConnectionTest(
				this: ICredentialTestFunctions,
				credential: ICredentialsDecrypted,
			): Promise<INodeCredentialTestResult> {
				const data = credential.data as unknown as InventoryDbCredential;
				const problem = await testConnection(data);
				return problem === undefined
					? { status: 'OK', message: 'Connected: the database answered SELECT 1' }
					: { status: 'Error', message: problem };
			},
		},
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await executeInventory(this);
	}
}
