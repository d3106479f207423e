import { randomUUID } from 'node:crypto';
import { Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import Redis from 'ioredis';

import { backoffCeiling } from '../../nodes/shared/backoff';
import {
	startConsumer,
	takeOneJob,
	type AttemptMeta,
	type Consumer,
	type ConsumerOptions,
	type DeadLetterMeta,
} from '../../nodes/RetryQueue/consumer';
import type { RunLike } from '../../nodes/RetryQueue/policy';
import {
	bullPrefix,
	countJobs,
	enqueue,
	listDeadLetters,
	purgeDeadLetters,
	replayAllDeadLetters,
	replayDeadLetter,
} from '../../nodes/RetryQueue/transport';

jest.setTimeout(60_000);

const runId = `dealflow-test-rq-${randomUUID().slice(0, 8)}`;
const prefix = bullPrefix(runId);
let connection: Redis;
const consumers: Consumer[] = [];
const queues: Queue[] = [];

const quietLogger = { debug() {}, info() {}, warn() {}, error() {} };

const success: RunLike = { status: 'success', finished: true, data: { resultData: {} } };

function failure(message: string, hint?: object): RunLike {
	return {
		status: 'error',
		finished: false,
		data: {
			resultData: {
				error: { message, ...(hint ? { context: { dealflow: hint } } : {}) },
				lastNodeExecuted: 'Downstream',
			},
		},
	};
}

function newQueueName(): string {
	return `q-${randomUUID().slice(0, 8)}`;
}

function queueFor(name: string): Queue {
	const queue = new Queue(name, { connection, prefix });
	queues.push(queue);
	return queue;
}

type Attempt = { at: number; meta: AttemptMeta; data: unknown };
type DeadRun = { at: number; meta: DeadLetterMeta; data: unknown };

function consume(
	queueName: string,
	overrides: Partial<ConsumerOptions> & Pick<ConsumerOptions, 'runAttempt'>,
): Consumer {
	const consumer = startConsumer({
		connection,
		prefix,
		queueName,
		concurrency: 1,
		policy: { baseMs: 50, capMs: 200, maxAttempts: 5 },
		executionTimeoutMs: 10_000,
		lockDurationMs: 5_000,
		stalledIntervalMs: 1_000,
		maxStalledCount: 2,
		runDeadLetter: async () => success,
		logger: quietLogger,
		...overrides,
	});
	consumers.push(consumer);
	return consumer;
}

async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, ms = 30_000) {
	const until = Date.now() + ms;
	for (;;) {
		const value = await probe();
		if (value !== undefined && value !== false) return value;
		if (Date.now() > until) throw new Error('Condition not reached in time');
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
}

async function stateOf(queue: Queue, jobId: string): Promise<string | undefined> {
	return await (await Job.fromId(queue, jobId))?.getState();
}

beforeAll(() => {
	connection = new Redis({ host: '127.0.0.1', port: 6379, maxRetriesPerRequest: null });
});

afterEach(async () => {
	await Promise.all(consumers.splice(0).map(async (c) => await c.close(5_000)));
});

afterAll(async () => {
	await Promise.all(queues.map(async (q) => await q.close()));
	// Remove only this run's keys.
	let cursor = '0';
	do {
		const [next, keys] = await connection.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
		cursor = next;
		if (keys.length > 0) await connection.del(...keys);
	} while (cursor !== '0');
	await connection.quit();
});

describe('Enqueue', () => {
	it('adds a job once per idempotency key and tells every concurrent caller whether it added it', async () => {
		const queue = queueFor(newQueueName());
		const results = await Promise.all(
			Array.from({ length: 25 }, async (_, i) => {
				const own = new Queue(queue.name, { connection, prefix });
				try {
					return await enqueue(own, {
						key: 'sf:006-order-1',
						data: { orderId: '006-order-1', caller: i },
						keepCompletedSeconds: 3600,
					});
				} finally {
					await own.close();
				}
			}),
		);

		expect(results.filter((r) => r.added)).toHaveLength(1);
		expect(new Set(results.map((r) => r.jobId)).size).toBe(1);
		expect(results.every((r) => r.idempotencyKey === 'sf:006-order-1')).toBe(true);
		expect((await countJobs(queue)).waiting).toBe(1);

		const winner = results.find((r) => r.added);
		const stored = await Job.fromId(queue, results[0].jobId);
		expect(stored?.data).toEqual({ orderId: '006-order-1', caller: results.indexOf(winner!) });
	});

	it('reports a repeat enqueue of a completed job as already present', async () => {
		const queue = queueFor(newQueueName());
		const first = await enqueue(queue, { key: '42', data: { n: 1 }, keepCompletedSeconds: 3600 });
		const attempts: Attempt[] = [];
		consume(queue.name, {
			runAttempt: async (data, meta) => {
				attempts.push({ at: Date.now(), meta, data });
				return success;
			},
		});
		await waitFor(async () => (await stateOf(queue, first.jobId)) === 'completed');

		const again = await enqueue(queue, { key: '42', data: { n: 2 }, keepCompletedSeconds: 3600 });
		expect(first.added).toBe(true);
		expect(again).toMatchObject({ added: false, state: 'completed', idempotencyKey: '42' });
		expect(attempts).toHaveLength(1);
	});
});

describe('Retry Queue consumer', () => {
	it('retries on a full-jitter schedule that stays within each attempt’s bounds and under the cap', async () => {
		const queue = queueFor(newQueueName());
		const policy = { baseMs: 100, capMs: 400, maxAttempts: 6 };
		const attempts: Attempt[] = [];
		const deadRuns: DeadRun[] = [];
		consume(queue.name, {
			policy,
			runAttempt: async (data, meta) => {
				attempts.push({ at: Date.now(), meta, data });
				return failure('downstream unavailable');
			},
			runDeadLetter: async (data, meta) => {
				deadRuns.push({ at: Date.now(), meta, data });
				return success;
			},
		});
		const { jobId } = await enqueue(queue, {
			key: 'schedule',
			data: { order: 1 },
			keepCompletedSeconds: 60,
		});
		await waitFor(() => deadRuns.length === 1);

		expect(attempts.map((a) => a.meta.attempt)).toEqual([1, 2, 3, 4, 5, 6]);
		expect(attempts.every((a) => a.meta.maxAttempts === 6)).toBe(true);

		const { logs } = await queue.getJobLogs(jobId);
		const decided = logs.map((line) => JSON.parse(line) as { delayMs?: number; decision: string });
		for (let i = 0; i < 5; i++) {
			const delayMs = decided[i].delayMs!;
			// The drawn delay lies in [0, min(cap, base * 2^(attempt-1))].
			expect(delayMs).toBeGreaterThanOrEqual(0);
			expect(delayMs).toBeLessThanOrEqual(backoffCeiling(i + 1, policy));
			expect(delayMs).toBeLessThanOrEqual(policy.capMs);
			// The next attempt did not start before the drawn delay was over.
			expect(attempts[i + 1].at - attempts[i].at).toBeGreaterThanOrEqual(delayMs - 5);
		}
		expect(decided[5].decision).toBe('attempts_exhausted');
		expect(deadRuns[0].meta).toMatchObject({
			jobId,
			attempts: 6,
			deadLetterReason: 'attempts_exhausted',
			lastError: { message: 'downstream unavailable', node: 'Downstream' },
			redelivered: false,
		});
		expect(deadRuns[0].data).toEqual({ order: 1 });
	});

	it('waits at least the Retry-After the failing node reported, even above the cap', async () => {
		const queue = queueFor(newQueueName());
		const attempts: Attempt[] = [];
		consume(queue.name, {
			policy: { baseMs: 10, capMs: 50, maxAttempts: 5 },
			runAttempt: async (data, meta) => {
				attempts.push({ at: Date.now(), meta, data });
				return meta.attempt === 1
					? failure('429 Too Many Requests', {
							retryable: true,
							retryAfterMs: 1_500,
							reason: 'rate_limited',
						})
					: success;
			},
		});
		const { jobId } = await enqueue(queue, { key: 'ra', data: {}, keepCompletedSeconds: 60 });
		await waitFor(async () => (await stateOf(queue, jobId)) === 'completed');

		expect(attempts).toHaveLength(2);
		expect(attempts[1].at - attempts[0].at).toBeGreaterThanOrEqual(1_500 - 5);
	});

	it('sends a non-retryable failure straight to dead letter and runs the Dead letter output once', async () => {
		const queue = queueFor(newQueueName());
		const attempts: Attempt[] = [];
		const deadRuns: DeadRun[] = [];
		consume(queue.name, {
			runAttempt: async (data, meta) => {
				attempts.push({ at: Date.now(), meta, data });
				return failure('Xero rejected the invoice: ContactID is missing', {
					retryable: false,
					reason: 'validation',
				});
			},
			runDeadLetter: async (data, meta) => {
				deadRuns.push({ at: Date.now(), meta, data });
				return success;
			},
		});
		const { jobId } = await enqueue(queue, {
			key: 'bad',
			data: { order: 'bad' },
			keepCompletedSeconds: 60,
		});
		await waitFor(() => deadRuns.length === 1);
		// Give a duplicate Dead letter run the chance to appear before asserting there is none.
		await new Promise((resolve) => setTimeout(resolve, 1_500));

		expect(attempts).toHaveLength(1);
		expect(deadRuns).toHaveLength(1);
		expect(deadRuns[0].meta).toMatchObject({ deadLetterReason: 'not_retryable', attempts: 1 });
		const [letter] = await listDeadLetters(queue, { offset: 0, limit: 10 });
		expect(letter).toMatchObject({
			jobId,
			idempotencyKey: 'bad',
			lastError: 'Xero rejected the invoice: ContactID is missing',
			deadLetterReason: 'not_retryable',
			failedNode: 'Downstream',
			attempts: 1,
		});
		expect(Date.parse(letter.failedAt!)).toBeGreaterThanOrEqual(Date.parse(letter.firstQueuedAt));
	});

	it('gives up once the next try would start after the maximum age', async () => {
		const queue = queueFor(newQueueName());
		const attempts: Attempt[] = [];
		consume(queue.name, {
			policy: { baseMs: 400, capMs: 400, maxAgeMs: 1_000 },
			random: () => 0.999,
			runAttempt: async (data, meta) => {
				attempts.push({ at: Date.now(), meta, data });
				return failure('still down');
			},
		});
		const { jobId } = await enqueue(queue, { key: 'age', data: {}, keepCompletedSeconds: 60 });
		await waitFor(async () => (await stateOf(queue, jobId)) === 'failed');

		const [letter] = await listDeadLetters(queue, { offset: 0, limit: 1 });
		expect(letter.deadLetterReason).toBe('max_age_exceeded');
		expect(attempts.length).toBeGreaterThanOrEqual(2);
		expect(attempts.every((a) => a.meta.maxAttempts === null)).toBe(true);
	});

	it('replays a dead letter with fresh attempts and completes it when the retry succeeds', async () => {
		const queue = queueFor(newQueueName());
		let healthy = false;
		const attempts: Attempt[] = [];
		const deadRuns: DeadRun[] = [];
		consume(queue.name, {
			policy: { baseMs: 20, capMs: 50, maxAttempts: 2 },
			runAttempt: async (data, meta) => {
				attempts.push({ at: Date.now(), meta, data });
				return healthy ? success : failure('down');
			},
			runDeadLetter: async (data, meta) => {
				deadRuns.push({ at: Date.now(), meta, data });
				return success;
			},
		});
		const { jobId } = await enqueue(queue, { key: 'replay', data: {}, keepCompletedSeconds: 60 });
		await waitFor(() => deadRuns.length === 1);

		healthy = true;
		expect(await replayDeadLetter(queue, jobId)).toMatchObject({ replayed: true });
		await waitFor(async () => (await stateOf(queue, jobId)) === 'completed');

		expect(attempts.map((a) => a.meta.attempt)).toEqual([1, 2, 1]);
		expect(await listDeadLetters(queue, { offset: 0, limit: 10 })).toEqual([]);
		expect(deadRuns).toHaveLength(1);
		expect(await replayDeadLetter(queue, jobId)).toMatchObject({
			replayed: false,
			state: 'completed',
		});
	});

	it('replays all dead letters and purges only those older than the age filter', async () => {
		const queue = queueFor(newQueueName());
		// Fail jobs the way a dead trigger would leave them, without any consumer running.
		for (const key of ['a', 'b', 'c']) {
			await enqueue(queue, { key, data: { key }, keepCompletedSeconds: 60 });
		}
		const failer = new Worker(
			queue.name,
			async () => {
				throw new UnrecoverableError('permanent');
			},
			{ connection, prefix },
		);
		await waitFor(async () => (await countJobs(queue)).failed === 3);
		await failer.close();

		expect(await purgeDeadLetters(queue, { olderThanMs: 60_000 })).toEqual([]);
		expect(await purgeDeadLetters(queue, { olderThanMs: 0, now: Date.now() + 1 })).toHaveLength(3);
		expect((await countJobs(queue)).failed).toBe(0);

		for (const key of ['d', 'e']) {
			await enqueue(queue, { key, data: { key }, keepCompletedSeconds: 60 });
		}
		const failer2 = new Worker(
			queue.name,
			async () => {
				throw new UnrecoverableError('permanent');
			},
			{ connection, prefix },
		);
		await waitFor(async () => (await countJobs(queue)).failed === 2);
		await failer2.close();
		expect((await replayAllDeadLetters(queue)).sort()).toEqual(['d', 'e']);
		expect(await countJobs(queue)).toMatchObject({ failed: 0, waiting: 2 });
	});

	it('starts the Dead letter run for a job that failed while no trigger could report it, and only once across restarts', async () => {
		const queue = queueFor(newQueueName());
		const { jobId } = await enqueue(queue, {
			key: 'orphan',
			data: { o: 1 },
			keepCompletedSeconds: 60,
		});
		// Simulates n8n dying right after BullMQ moved the job to the failed set.
		const failer = new Worker(
			queue.name,
			async () => {
				throw new UnrecoverableError('failed before the crash');
			},
			{ connection, prefix },
		);
		await waitFor(async () => (await stateOf(queue, jobId)) === 'failed');
		await failer.close();

		const deadRuns: DeadRun[] = [];
		const options = {
			runAttempt: async () => success,
			runDeadLetter: async (data: unknown, meta: DeadLetterMeta) => {
				deadRuns.push({ at: Date.now(), meta, data });
				return success;
			},
		};
		const first = consume(queue.name, options);
		await waitFor(() => deadRuns.length === 1);
		await first.close(5_000);

		consume(queue.name, options);
		await new Promise((resolve) => setTimeout(resolve, 2_000));
		expect(deadRuns).toHaveLength(1);
		expect(deadRuns[0].meta).toMatchObject({
			jobId,
			deadLetterReason: 'stalled_or_external',
			lastError: { message: 'failed before the crash' },
		});
	});

	it('takes back a job whose worker died mid-attempt and runs it again', async () => {
		const queue = queueFor(newQueueName());
		const { jobId } = await enqueue(queue, { key: 'stall', data: {}, keepCompletedSeconds: 60 });
		// A worker that takes the job and then "dies": it never renews or settles the lock.
		const dying = new Worker(queue.name, null, { connection, prefix, lockDuration: 1_000 });
		const taken = await dying.getNextJob('dead-token');
		expect(taken?.id).toBe(jobId);

		const attempts: Attempt[] = [];
		consume(queue.name, {
			runAttempt: async (data, meta) => {
				attempts.push({ at: Date.now(), meta, data });
				return success;
			},
		});
		await waitFor(async () => (await stateOf(queue, jobId)) === 'completed');
		await dying.close(true);

		expect(attempts).toHaveLength(1);
		expect(attempts[0].meta.attempt).toBe(1);
	});

	it('resumes the backoff schedule after a restart: a job waiting for its retry runs on the next consumer, no sooner', async () => {
		const queue = queueFor(newQueueName());
		const attempts: Attempt[] = [];
		const policy = { baseMs: 1_500, capMs: 1_500, maxAttempts: 5 };
		const runAttempt = async (data: unknown, meta: AttemptMeta) => {
			attempts.push({ at: Date.now(), meta, data });
			return meta.attempt === 1 ? failure('down') : success;
		};
		const before = consume(queue.name, { policy, random: () => 0.999, runAttempt });
		const { jobId } = await enqueue(queue, { key: 'resume', data: {}, keepCompletedSeconds: 60 });
		await waitFor(async () => (await stateOf(queue, jobId)) === 'delayed');
		await before.close(5_000);

		consume(queue.name, { policy, runAttempt });
		await waitFor(async () => (await stateOf(queue, jobId)) === 'completed');

		const { logs } = await queue.getJobLogs(jobId);
		const delayMs = (JSON.parse(logs[0]) as { delayMs: number }).delayMs;
		expect(delayMs).toBe(1_498);
		expect(attempts.map((a) => a.meta.attempt)).toEqual([1, 2]);
		expect(attempts[1].at - attempts[0].at).toBeGreaterThanOrEqual(delayMs - 5);
	});

	it('closes within its bound while a run hangs, and the job is taken again once its lock expires', async () => {
		const queue = queueFor(newQueueName());
		const hanging: Attempt[] = [];
		const stuck = consume(queue.name, {
			lockDurationMs: 1_000,
			runAttempt: async (data, meta) => {
				hanging.push({ at: Date.now(), meta, data });
				return await new Promise<RunLike>(() => undefined);
			},
		});
		const { jobId } = await enqueue(queue, { key: 'close', data: {}, keepCompletedSeconds: 60 });
		await waitFor(() => hanging.length === 1);
		await stuck.close(200);

		const attempts: Attempt[] = [];
		consume(queue.name, {
			runAttempt: async (data, meta) => {
				attempts.push({ at: Date.now(), meta, data });
				return success;
			},
		});
		await waitFor(async () => (await stateOf(queue, jobId)) === 'completed');
		expect(attempts).toHaveLength(1);
		expect(hanging).toHaveLength(1);
	});

	it('counts a run that does not finish in time as a failed attempt', async () => {
		const queue = queueFor(newQueueName());
		const attempts: Attempt[] = [];
		consume(queue.name, {
			executionTimeoutMs: 300,
			policy: { baseMs: 10, capMs: 20, maxAttempts: 3 },
			runAttempt: async (data, meta) => {
				attempts.push({ at: Date.now(), meta, data });
				if (meta.attempt === 1) return await new Promise<RunLike>(() => undefined);
				return success;
			},
		});
		const { jobId } = await enqueue(queue, { key: 'slow', data: {}, keepCompletedSeconds: 60 });
		await waitFor(async () => (await stateOf(queue, jobId)) === 'completed');

		expect(attempts.map((a) => a.meta.attempt)).toEqual([1, 2]);
		const { logs } = await queue.getJobLogs(jobId);
		expect(JSON.parse(logs[0])).toMatchObject({
			error: 'The execution did not finish within 300 ms',
		});
	});

	it('takes exactly one job for a manual test and settles it by the run’s outcome', async () => {
		const queue = queueFor(newQueueName());
		await enqueue(queue, { key: 'm1', data: { m: 1 }, keepCompletedSeconds: 60 });
		await enqueue(queue, { key: 'm2', data: { m: 2 }, keepCompletedSeconds: 60 });
		const attempts: Attempt[] = [];
		const manual = takeOneJob({
			connection,
			prefix,
			queueName: queue.name,
			concurrency: 1,
			policy: { baseMs: 10, capMs: 20, maxAttempts: 3 },
			executionTimeoutMs: 5_000,
			lockDurationMs: 5_000,
			stalledIntervalMs: 1_000,
			maxStalledCount: 1,
			logger: quietLogger,
			runAttempt: async (data, meta) => {
				attempts.push({ at: Date.now(), meta, data });
				return success;
			},
			runDeadLetter: async () => success,
		});

		expect(await manual.taken).toBe('m1');
		await manual.settled;
		expect(await stateOf(queue, 'm1')).toBe('completed');
		expect(await stateOf(queue, 'm2')).toBe('waiting');
		expect(attempts).toHaveLength(1);
	});
});
