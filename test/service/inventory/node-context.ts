import type { IExecuteFunctions, INode, INodeExecutionData } from 'n8n-workflow';

import { Inventory } from '../../../nodes/Inventory/Inventory.node';
import type { InventoryDbCredential } from '../../../nodes/Inventory/transport';

/** A parameter value for every item, or a function of the item (what an expression would do). */
type Param = unknown | ((item: INodeExecutionData, index: number) => unknown);

export interface LogEntry {
	level: string;
	message: string;
	meta?: Record<string, unknown>;
}

/**
 * Runs the Inventory node's execute() the way n8n would, with parameters already resolved:
 * enough of IExecuteFunctions to exercise the node without an n8n instance.
 */
export async function runInventory(options: {
	credentials: InventoryDbCredential;
	items: INodeExecutionData[];
	parameters: Record<string, Param>;
	continueOnFail?: boolean;
	logs?: LogEntry[];
}): Promise<INodeExecutionData[][]> {
	const node: INode = {
		id: 'inventory',
		name: 'Dealflow Inventory',
		type: 'n8n-nodes-dealflow.inventory',
		typeVersion: 1,
		position: [0, 0],
		parameters: {},
	};
	const log = (level: string) => (message: string, meta?: Record<string, unknown>) =>
		options.logs?.push({ level, message, meta });
	const context = {
		getInputData: () => options.items,
		getNode: () => node,
		continueOnFail: () => options.continueOnFail ?? false,
		getCredentials: async () => options.credentials,
		logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
		getNodeParameter: (name: string, index: number, fallback?: unknown) => {
			if (!(name in options.parameters)) {
				if (fallback !== undefined) return fallback;
				throw new Error(`Parameter ${name} not set in the test`);
			}
			const value = options.parameters[name];
			return typeof value === 'function'
				? (value as (i: INodeExecutionData, n: number) => unknown)(options.items[index], index)
				: value;
		},
	} as unknown as IExecuteFunctions;
	return await new Inventory().execute.call(context);
}
