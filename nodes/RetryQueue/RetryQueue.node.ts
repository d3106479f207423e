import {
	NodeApiError,
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
	type JsonObject,
} from 'n8n-workflow';
import type { Queue } from 'bullmq';

import { isNetworkError, markError } from '../shared/errors';
import { getRedisClient, redisKeyPrefix, type RedisCredentialData } from '../shared/redis';
import { dealflowRedisConnectionTest } from '../shared/redisCredentialTest';
import { queueNameProblem } from './policy';
import {
	bullPrefix,
	countJobs,
	enqueue,
	listDeadLetters,
	openQueue,
	purgeDeadLetters,
	replayAllDeadLetters,
	replayDeadLetter,
	type QueueAddress,
} from './transport';

const HOUR_MS = 3_600_000;

export class RetryQueue implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Retry Queue',
		name: 'retryQueue',
		icon: { light: 'file:retryQueue.svg', dark: 'file:retryQueue.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{ $parameter["operation"] + ": " + $parameter["queueName"] }}',
		description:
			'Queue items durably in Redis (BullMQ) for the Retry Queue Trigger, and manage dead letters',
		defaults: { name: 'Retry Queue' },
		inputs: ['main'],
		outputs: ['main'],
		credentials: [
			{ name: 'dealflowRedisApi', required: true, testedBy: 'dealflowRedisConnectionTest' },
		],
		properties: [
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				options: [
					{
						name: 'Enqueue',
						value: 'enqueue',
						description: 'Queue the item; a key already queued is not queued again',
						action: 'Enqueue an item',
					},
					{
						name: 'Get Counts',
						value: 'counts',
						description: 'Count waiting, active, delayed, failed and completed jobs',
						action: 'Get queue counts',
					},
					{
						name: 'List Dead Letters',
						value: 'listDeadLetters',
						description: 'List jobs the trigger gave up on, with the last error',
						action: 'List dead letters',
					},
					{
						name: 'Purge Dead Letters',
						value: 'purgeDeadLetters',
						description: 'Delete dead letters older than an age',
						action: 'Purge dead letters',
					},
					{
						name: 'Replay All Dead Letters',
						value: 'replayAll',
						description: 'Queue every dead letter again with fresh attempts',
						action: 'Replay all dead letters',
					},
					{
						name: 'Replay Dead Letter',
						value: 'replayOne',
						description: 'Queue one dead letter again with fresh attempts',
						action: 'Replay a dead letter',
					},
				],
				default: 'enqueue',
			},
			{
				displayName: 'Queue Name',
				name: 'queueName',
				type: 'string',
				required: true,
				default: 'dealflow-orders',
				description:
					'The queue the Retry Queue Trigger consumes. Letters, digits, dot, dash and underscore.',
			},
			{
				displayName: 'Idempotency Key',
				name: 'idempotencyKey',
				type: 'string',
				required: true,
				default: '',
				placeholder: '={{ $json.orderKey }}',
				description:
					'Becomes the job ID: while a job with this key is queued, retrying, dead-lettered or kept as completed, the same key is not queued again',
				displayOptions: { show: { operation: ['enqueue'] } },
			},
			{
				displayName: 'Keep Completed Jobs For (Hours)',
				name: 'keepCompletedHours',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 168,
				description: 'How long a completed job, and so its key, is kept to block a late duplicate',
				displayOptions: { show: { operation: ['enqueue'] } },
			},
			{
				displayName: 'Delay (Seconds)',
				name: 'delaySeconds',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 0,
				description: 'Wait this long before the first try',
				displayOptions: { show: { operation: ['enqueue'] } },
			},
			{
				displayName: 'Job ID',
				name: 'jobId',
				type: 'string',
				required: true,
				default: '={{ $json.jobId }}',
				description: 'The dead letter to replay, as listed by List Dead Letters',
				displayOptions: { show: { operation: ['replayOne'] } },
			},
			{
				displayName: 'Limit',
				name: 'limit',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 50,
				description: 'Max number of results to return',
				displayOptions: { show: { operation: ['listDeadLetters'] } },
			},
			{
				displayName: 'Offset',
				name: 'offset',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 0,
				description: 'How many of the newest dead letters to skip',
				displayOptions: { show: { operation: ['listDeadLetters'] } },
			},
			{
				displayName: 'Older Than (Hours)',
				name: 'olderThanHours',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 168,
				description:
					'Only dead letters that failed longer ago than this are deleted; 0 deletes all',
				displayOptions: { show: { operation: ['purgeDeadLetters'] } },
			},
		],
	};

	methods = {
		credentialTest: { dealflowRedisConnectionTest },
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const operation = this.getNodeParameter('operation', 0) as string;
		const credentials = (await this.getCredentials('dealflowRedisApi')) as RedisCredentialData;
		const address: Omit<QueueAddress, 'name'> = {
			connection: getRedisClient(credentials, 'bullmq'),
			prefix: bullPrefix(redisKeyPrefix(credentials)),
		};
		const queues = new Map<string, Queue>();
		const queueFor = (name: string) => {
			let queue = queues.get(name);
			if (!queue) {
				queue = openQueue({ ...address, name });
				queues.set(name, queue);
			}
			return queue;
		};

		const output: INodeExecutionData[] = [];
		try {
			for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
				try {
					const queueName = (this.getNodeParameter('queueName', itemIndex) as string).trim();
					const problem = queueNameProblem(queueName);
					if (problem) throw inputError(this, problem, itemIndex);

					const results = await runOperation(this, {
						operation,
						itemIndex,
						queue: queueFor(queueName),
						item: items[itemIndex],
					});
					for (const json of results) {
						output.push({ json: { queue: queueName, ...json }, pairedItem: { item: itemIndex } });
					}
				} catch (error) {
					const nodeError = toNodeError(this, error, itemIndex);
					if (!this.continueOnFail()) throw nodeError;
					output.push({ json: { error: nodeError.message }, pairedItem: { item: itemIndex } });
				}
			}
		} finally {
			await Promise.allSettled([...queues.values()].map(async (queue) => await queue.close()));
		}
		return [output];
	}
}

interface OperationInput {
	operation: string;
	itemIndex: number;
	queue: Queue;
	item: INodeExecutionData;
}

async function runOperation(fn: IExecuteFunctions, input: OperationInput): Promise<IDataObject[]> {
	const { itemIndex, queue } = input;
	switch (input.operation) {
		case 'enqueue': {
			const key = String(fn.getNodeParameter('idempotencyKey', itemIndex) ?? '').trim();
			if (!key) {
				throw inputError(
					fn,
					'The idempotency key is empty. Set it to a value that names the order, e.g. {{ $json.orderKey }}.',
					itemIndex,
				);
			}
			const keepHours = fn.getNodeParameter('keepCompletedHours', itemIndex, 168) as number;
			const delaySeconds = fn.getNodeParameter('delaySeconds', itemIndex, 0) as number;
			const result = await enqueue(queue, {
				key,
				data: input.item.json,
				keepCompletedSeconds: Math.round(keepHours * 3600),
				delayMs: delaySeconds > 0 ? Math.round(delaySeconds * 1000) : undefined,
			});
			fn.logger.debug('Retry Queue enqueue', { jobId: result.jobId, added: result.added });
			return [{ ...result, alreadyPresent: !result.added }];
		}
		case 'counts':
			return [{ ...(await countJobs(queue)) }];
		case 'listDeadLetters': {
			const limit = fn.getNodeParameter('limit', itemIndex, 50) as number;
			const offset = fn.getNodeParameter('offset', itemIndex, 0) as number;
			const letters = await listDeadLetters(queue, { limit, offset });
			return letters.map((letter) => ({ ...letter }) as IDataObject);
		}
		case 'replayOne': {
			const jobId = String(fn.getNodeParameter('jobId', itemIndex) ?? '').trim();
			if (!jobId)
				throw inputError(
					fn,
					'The job ID is empty. Use {{ $json.jobId }} from List Dead Letters.',
					itemIndex,
				);
			return [{ ...(await replayDeadLetter(queue, jobId)) }];
		}
		case 'replayAll': {
			const jobIds = await replayAllDeadLetters(queue);
			return [{ replayed: jobIds.length, jobIds }];
		}
		case 'purgeDeadLetters': {
			const hours = fn.getNodeParameter('olderThanHours', itemIndex, 168) as number;
			const jobIds = await purgeDeadLetters(queue, { olderThanMs: hours * HOUR_MS });
			return [{ purged: jobIds.length, jobIds }];
		}
		default:
			throw inputError(fn, `The operation "${input.operation}" is not supported`, itemIndex);
	}
}

function inputError(fn: IExecuteFunctions, message: string, itemIndex: number) {
	return markError(new NodeOperationError(fn.getNode(), message, { itemIndex }), {
		retryable: false,
		reason: 'validation',
		service: 'retry-queue',
	});
}

function toNodeError(
	fn: IExecuteFunctions,
	error: unknown,
	itemIndex: number,
): NodeApiError | NodeOperationError {
	if (error instanceof NodeOperationError || error instanceof NodeApiError) return error;
	const message = error instanceof Error ? error.message : String(error);
	if (/^No job with id/.test(message)) {
		return markError(new NodeOperationError(fn.getNode(), message, { itemIndex }), {
			retryable: false,
			reason: 'not_found',
			service: 'retry-queue',
		});
	}
	const unavailable = isNetworkError(error) || /Connection is closed|connect/i.test(message);
	return markError(
		new NodeApiError(fn.getNode(), { message } as JsonObject, {
			itemIndex,
			message: unavailable
				? `Redis is not reachable for the Retry Queue (${message}). Check the Dealflow Redis credential and that Redis runs.`
				: `The Retry Queue operation failed in Redis: ${message}`,
		}),
		{
			retryable: unavailable,
			reason: unavailable ? 'unavailable' : 'redis_error',
			service: 'redis',
		},
	);
}
