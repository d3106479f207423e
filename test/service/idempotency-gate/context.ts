import type { IExecuteFunctions, INode, INodeExecutionData } from 'n8n-workflow';

import { IdempotencyGate } from '../../../nodes/IdempotencyGate/IdempotencyGate.node';
import type { RedisCredentialData } from '../../../nodes/shared/redis';

/** A parameter value for every item, or a function of the item (what an expression would do). */
type Param = unknown | ((item: INodeExecutionData, index: number) => unknown);

/**
 * Runs the Idempotency Gate's execute() the way n8n would, with parameters already resolved:
 * enough of IExecuteFunctions to exercise the node without an n8n instance.
 */
export async function runGate(options: {
	credentials: RedisCredentialData;
	items: INodeExecutionData[];
	parameters: Record<string, Param>;
	continueOnFail?: boolean;
	workflowId?: string;
}): Promise<INodeExecutionData[][]> {
	const node: INode = {
		id: 'gate',
		name: 'Idempotency Gate',
		type: 'n8n-nodes-dealflow.idempotencyGate',
		typeVersion: 1,
		position: [0, 0],
		parameters: {},
	};
	const logger = {
		debug: () => undefined,
		info: () => undefined,
		warn: () => undefined,
		error: () => undefined,
	};
	const context = {
		getInputData: () => options.items,
		getNode: () => node,
		getWorkflow: () => ({ id: options.workflowId ?? 'wf-test', name: 'test', active: true }),
		continueOnFail: () => options.continueOnFail ?? false,
		getCredentials: async () => options.credentials,
		logger,
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
	return await new IdempotencyGate().execute.call(context);
}
