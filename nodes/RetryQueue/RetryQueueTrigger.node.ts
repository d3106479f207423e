import {
	NodeConnectionTypes,
	NodeOperationError,
	type IDataObject,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
	type IRun,
	type ITriggerFunctions,
	type ITriggerResponse,
} from 'n8n-workflow';

import { getRedisClient, redisKeyPrefix, type RedisCredentialData } from '../shared/redis';
import { dealflowRedisConnectionTest } from '../shared/redisCredentialTest';
import { startConsumer, takeOneJob, type ConsumerOptions } from './consumer';
import { queueNameProblem, type RetryPolicy } from './policy';
import { bullPrefix } from './transport';

const SECOND_MS = 1_000;
const HOUR_MS = 3_600_000;

/** Output indexes, in the order the node declares them. */
const OUTPUT = { job: 0, deadLetter: 1 } as const;

interface TriggerOptions {
	lockDurationSeconds?: number;
	stalledIntervalSeconds?: number;
	maxStalledCount?: number;
	closeTimeoutSeconds?: number;
}

export class RetryQueueTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Retry Queue Trigger',
		name: 'retryQueueTrigger',
		icon: { light: 'file:retryQueue.svg', dark: 'file:retryQueue.dark.svg' },
		group: ['trigger'],
		version: 1,
		subtitle: '={{ $parameter["queueName"] }}',
		description:
			'Runs the workflow for each queued job until a run succeeds, with backoff, and reports dead letters',
		defaults: { name: 'Retry Queue Trigger' },
		inputs: [],
		// The rule only knows the If and Switch nodes as having several outputs.
		// eslint-disable-next-line n8n-nodes-base/node-class-description-outputs-wrong
		outputs: [NodeConnectionTypes.Main, NodeConnectionTypes.Main],
		outputNames: ['Job', 'Dead letter'],
		credentials: [
			{ name: 'dealflowRedisApi', required: true, testedBy: 'dealflowRedisConnectionTest' },
		],
		properties: [
			{
				displayName:
					'A job is done only when the execution it started succeeds. A failed, crashed or timed-out execution is a failed attempt and is retried with backoff; a job the policy gives up on runs the Dead letter output once.',
				name: 'notice',
				type: 'notice',
				default: '',
			},
			{
				displayName: 'Queue Name',
				name: 'queueName',
				type: 'string',
				required: true,
				default: 'dealflow-orders',
				description: 'The queue the Retry Queue node enqueues into',
			},
			{
				displayName: 'Concurrency',
				name: 'concurrency',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 1,
				description: 'How many jobs run at the same time in this n8n instance',
			},
			{
				displayName: 'Base Delay (Seconds)',
				name: 'baseDelaySeconds',
				type: 'number',
				typeOptions: { minValue: 0, numberPrecision: 3 },
				default: 2,
				description:
					'Scale of the first retry delay. Delays are drawn at random between 0 and base × 2^(attempt − 1) (full jitter).',
			},
			{
				displayName: 'Maximum Delay (Seconds)',
				name: 'maxDelaySeconds',
				type: 'number',
				typeOptions: { minValue: 0, numberPrecision: 3 },
				default: 300,
				description:
					'Cap on the drawn delay. A longer Retry-After reported by the failing node is still honoured.',
			},
			{
				displayName: 'Stop Retrying After',
				name: 'limitBy',
				type: 'options',
				options: [
					{ name: 'Maximum Age', value: 'age' },
					{ name: 'Number of Attempts', value: 'attempts' },
				],
				default: 'attempts',
			},
			{
				displayName: 'Max Attempts',
				name: 'maxAttempts',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 10,
				description: 'Tries in total, including the first',
				displayOptions: { show: { limitBy: ['attempts'] } },
			},
			{
				displayName: 'Max Age (Hours)',
				name: 'maxAgeHours',
				type: 'number',
				typeOptions: { minValue: 0, numberPrecision: 3 },
				default: 24,
				description:
					'No retry starts later than this after the job was first queued (or last replayed)',
				displayOptions: { show: { limitBy: ['age'] } },
			},
			{
				displayName: 'Execution Timeout (Seconds)',
				name: 'executionTimeoutSeconds',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 300,
				description:
					'An execution that has not finished after this long counts as a failed attempt',
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				options: [
					{
						displayName: 'Close Timeout (Seconds)',
						name: 'closeTimeoutSeconds',
						type: 'number',
						typeOptions: { minValue: 0 },
						default: 10,
						description:
							'On deactivation or shutdown, how long to wait for running jobs; unfinished ones are picked up again after the lock duration',
					},
					{
						displayName: 'Lock Duration (Seconds)',
						name: 'lockDurationSeconds',
						type: 'number',
						typeOptions: { minValue: 1 },
						default: 30,
						description:
							'How long a job stays claimed without renewal. After a crash the job is taken again once this has passed.',
					},
					{
						displayName: 'Max Stalls',
						name: 'maxStalledCount',
						type: 'number',
						typeOptions: { minValue: 0 },
						default: 2,
						description:
							'How often a job may lose its worker (crash, kill) before it is dead-lettered, so a job that crashes n8n every time cannot loop forever',
					},
					{
						displayName: 'Stalled Check Interval (Seconds)',
						name: 'stalledIntervalSeconds',
						type: 'number',
						typeOptions: { minValue: 1 },
						default: 30,
						description: 'How often to look for jobs whose worker died',
					},
				],
			},
		],
	};

	methods = {
		credentialTest: { dealflowRedisConnectionTest },
	};

	async trigger(this: ITriggerFunctions): Promise<ITriggerResponse> {
		const queueName = (this.getNodeParameter('queueName') as string).trim();
		const problem = queueNameProblem(queueName);
		if (problem) throw new NodeOperationError(this.getNode(), problem);

		const credentials = (await this.getCredentials('dealflowRedisApi')) as RedisCredentialData;
		const options = this.getNodeParameter('options', {}) as TriggerOptions;
		const consumerOptions = buildConsumerOptions(this, {
			queueName,
			credentials,
			options,
		});
		const closeTimeoutMs = (options.closeTimeoutSeconds ?? 10) * SECOND_MS;

		if (this.getMode() === 'manual') {
			let handle: ReturnType<typeof takeOneJob> | undefined;
			return {
				manualTriggerFunction: async () => {
					handle = takeOneJob(consumerOptions);
					handle.taken.catch((error: Error) => this.emitError(error));
				},
				closeFunction: async () => await handle?.close(),
			};
		}

		const consumer = startConsumer(consumerOptions);
		this.logger.info('Retry Queue Trigger consuming', {
			queueName,
			concurrency: consumerOptions.concurrency,
		});
		return { closeFunction: async () => await consumer.close(closeTimeoutMs) };
	}
}

interface BuildInput {
	queueName: string;
	credentials: RedisCredentialData;
	options: TriggerOptions;
}

function buildConsumerOptions(fn: ITriggerFunctions, input: BuildInput): ConsumerOptions {
	const limitBy = fn.getNodeParameter('limitBy', 'attempts') as string;
	const policy: RetryPolicy = {
		baseMs: (fn.getNodeParameter('baseDelaySeconds', 2) as number) * SECOND_MS,
		capMs: (fn.getNodeParameter('maxDelaySeconds', 300) as number) * SECOND_MS,
		...(limitBy === 'age'
			? { maxAgeMs: (fn.getNodeParameter('maxAgeHours', 24) as number) * HOUR_MS }
			: { maxAttempts: fn.getNodeParameter('maxAttempts', 10) as number }),
	};

	// Each run waits for the execution it started: n8n resolves the done promise with the run's
	// result, in queue mode too (the main instance learns it from the worker through Bull).
	const run = async (json: IDataObject, output: number): Promise<IRun> => {
		const done = fn.helpers.createDeferredPromise<IRun>();
		const item: INodeExecutionData = { json };
		const data: INodeExecutionData[][] = [[], []];
		data[output] = [item];
		fn.emit(data, undefined, done);
		return await done.promise;
	};
	const asObject = (data: unknown): IDataObject =>
		data && typeof data === 'object' && !Array.isArray(data)
			? (data as IDataObject)
			: { data: data as IDataObject['data'] };

	return {
		connection: getRedisClient(input.credentials, 'bullmq'),
		prefix: bullPrefix(redisKeyPrefix(input.credentials)),
		queueName: input.queueName,
		concurrency: Math.max(1, Math.floor(fn.getNodeParameter('concurrency', 1) as number)),
		policy,
		executionTimeoutMs: (fn.getNodeParameter('executionTimeoutSeconds', 300) as number) * SECOND_MS,
		lockDurationMs: (input.options.lockDurationSeconds ?? 30) * SECOND_MS,
		stalledIntervalMs: (input.options.stalledIntervalSeconds ?? 30) * SECOND_MS,
		maxStalledCount: input.options.maxStalledCount ?? 2,
		runAttempt: async (data, meta) =>
			await run({ ...asObject(data), ...meta } as IDataObject, OUTPUT.job),
		runDeadLetter: async (data, meta) =>
			await run({ ...asObject(data), ...meta } as unknown as IDataObject, OUTPUT.deadLetter),
		logger: fn.logger,
	};
}
