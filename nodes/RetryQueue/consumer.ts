/**
 * The Retry Queue Trigger's engine, kept apart from n8n so tests can drive it with plain
 * functions: a BullMQ Worker that runs one attempt per job and settles the job by the outcome,
 * and a second Worker that turns each dead letter into exactly one Dead letter run.
 *
 * Why a second queue for dead letters: BullMQ moves a job to the failed set and only then tells
 * the process. If n8n dies in between, an in-memory "emit now" is lost. Instead every dead letter
 * gets a companion job `<jobId>@<finishedOn>` in `<queue>.dead-letters`; it is added right after
 * the failure and again by a sweep of the failed set at start-up and on a timer. BullMQ ignores an
 * add for an id that exists, and companion jobs are kept after completion, so the sweep never
 * starts a second run for the same failure.
 */

import { randomUUID } from 'node:crypto';
import { Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import type Redis from 'ioredis';

import { retryDelay } from '../shared/backoff';
import {
	decideAfterFailure,
	effectiveMaxAttempts,
	jobIdToKey,
	outcomeOfRun,
	type AttemptOutcome,
	type RetryPolicy,
	type RunLike,
} from './policy';
import { ageStartOf, deadLetterEventId, deadLetterEventsQueueName } from './transport';

/** What one attempt's execution receives besides the job data. */
export interface AttemptMeta {
	jobId: string;
	idempotencyKey: string;
	/** 1 for the first try. */
	attempt: number;
	/** `null` when only the maximum age limits retrying. */
	maxAttempts: number | null;
	/** ISO time of the first queueing, or of the last replay. */
	firstQueuedAt: string;
}

export interface DeadLetterMeta {
	jobId: string;
	idempotencyKey: string;
	/** Identifies this dead letter across redeliveries; use it to make compensation idempotent. */
	deadLetterId: string;
	attempts: number;
	firstQueuedAt: string;
	failedAt: string;
	deadLetterReason: string;
	lastError: { message: string; node?: string; reason?: string };
	/** Whether an earlier Dead letter run for this failure was cut off by a crash. */
	redelivered: boolean;
}

export interface ConsumerLogger {
	debug(message: string, meta?: Record<string, unknown>): void;
	info(message: string, meta?: Record<string, unknown>): void;
	warn(message: string, meta?: Record<string, unknown>): void;
	error(message: string, meta?: Record<string, unknown>): void;
}

export interface ConsumerOptions {
	/** A `bullmq`-purpose client; each Worker duplicates it for its blocking connection. */
	connection: Redis;
	prefix: string;
	queueName: string;
	/** Jobs processed at the same time. */
	concurrency: number;
	policy: RetryPolicy;
	/** How long to wait for an attempt's execution before counting it as failed. */
	executionTimeoutMs: number;
	/** How long a worker's lock on a job lasts without renewal; a dead n8n loses it after this. */
	lockDurationMs: number;
	/** How often workers look for jobs whose lock expired. */
	stalledIntervalMs: number;
	/** How many times a job may stall (its worker died) before it is dead-lettered. */
	maxStalledCount: number;
	/** How often the failed set is swept for dead letters without a Dead letter run. @default 60s */
	sweepIntervalMs?: number;
	/** Starts an execution for one attempt and resolves with its result. */
	runAttempt: (data: unknown, meta: AttemptMeta) => Promise<RunLike | undefined>;
	/** Starts the Dead letter execution and resolves with its result. */
	runDeadLetter: (data: unknown, meta: DeadLetterMeta) => Promise<RunLike | undefined>;
	logger: ConsumerLogger;
	random?: () => number;
}

/** The error a retryable failure is thrown as; BullMQ hands it to the backoff strategy. */
export class AttemptFailedError extends Error {
	readonly delayMs: number;

	constructor(message: string, delayMs: number) {
		super(message);
		this.name = 'AttemptFailedError';
		this.delayMs = delayMs;
	}
}

/**
 * The Worker settings shared by every consumer of our queues: the `dealflow` backoff reads the
 * delay the attempt already decided (full jitter, cap and Retry-After applied); an error thrown
 * by our own code falls back to plain full jitter.
 */
export function workerSettings(policy: RetryPolicy) {
	return {
		backoffStrategy: (attemptsMade: number, _type?: string, error?: Error) =>
			error instanceof AttemptFailedError
				? error.delayMs
				: retryDelay({ attempt: attemptsMade, policy }),
	};
}

/** Resolves with `promise`'s value, or with `onTimeout()` after `ms`. */
async function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => T): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	const timeout = new Promise<T>((resolve) => {
		timer = setTimeout(() => resolve(onTimeout()), ms);
	});
	try {
		return await Promise.race([promise, timeout]);
	} finally {
		clearTimeout(timer);
	}
}

async function runSafely(
	run: () => Promise<RunLike | undefined>,
	timeoutMs: number,
): Promise<AttemptOutcome> {
	try {
		const result = await withTimeout<RunLike | undefined | 'timeout'>(
			run(),
			timeoutMs,
			() => 'timeout',
		);
		if (result === 'timeout') {
			return {
				ok: false,
				error: { message: `The execution did not finish within ${timeoutMs} ms` },
			};
		}
		return outcomeOfRun(result);
	} catch (error) {
		return {
			ok: false,
			error: { message: error instanceof Error ? error.message : String(error) },
		};
	}
}

export function attemptMetaOf(job: Job, policy: RetryPolicy): AttemptMeta {
	const maxAttempts = effectiveMaxAttempts(policy, job.opts.attempts);
	return {
		jobId: job.id ?? '',
		idempotencyKey: jobIdToKey(job.id ?? ''),
		attempt: job.attemptsMade + 1,
		maxAttempts: maxAttempts ?? null,
		firstQueuedAt: new Date(ageStartOf(job)).toISOString(),
	};
}

interface AttemptLog {
	attempt: number;
	at: string;
	error: string;
	node?: string;
	reason?: string;
	decision: string;
	delayMs?: number;
}

/**
 * Runs one attempt of `job` and returns normally when its execution succeeded.
 *
 * @throws AttemptFailedError to have BullMQ retry after the decided delay, or
 * UnrecoverableError to dead-letter the job now.
 */
export async function processAttempt(
	job: Job,
	options: Pick<
		ConsumerOptions,
		'policy' | 'executionTimeoutMs' | 'runAttempt' | 'logger' | 'random'
	>,
): Promise<{ succeededAt: string; attempt: number }> {
	const meta = attemptMetaOf(job, options.policy);
	const outcome = await runSafely(
		async () => await options.runAttempt(job.data, meta),
		options.executionTimeoutMs,
	);
	if (outcome.ok) {
		options.logger.debug('Retry Queue job succeeded', { jobId: meta.jobId, attempt: meta.attempt });
		return { succeededAt: new Date().toISOString(), attempt: meta.attempt };
	}

	const decision = decideAfterFailure({
		attempt: meta.attempt,
		maxAttempts: meta.maxAttempts ?? undefined,
		firstQueuedAt: Date.parse(meta.firstQueuedAt),
		now: Date.now(),
		policy: options.policy,
		error: outcome.error,
		random: options.random,
	});
	const log: AttemptLog = {
		attempt: meta.attempt,
		at: new Date().toISOString(),
		error: outcome.error.message,
		node: outcome.error.node,
		reason: outcome.error.hint?.reason,
		decision: decision.action === 'retry' ? 'retry' : decision.reason,
		delayMs: decision.action === 'retry' ? decision.delayMs : undefined,
	};
	await job.log(JSON.stringify(log));

	if (decision.action === 'retry') {
		options.logger.info('Retry Queue attempt failed; retrying later', {
			jobId: meta.jobId,
			attempt: meta.attempt,
			delayMs: decision.delayMs,
			reason: log.reason,
		});
		throw new AttemptFailedError(outcome.error.message, decision.delayMs);
	}
	options.logger.warn('Retry Queue job dead-lettered', {
		jobId: meta.jobId,
		attempt: meta.attempt,
		deadLetterReason: decision.reason,
	});
	throw new UnrecoverableError(outcome.error.message);
}

/**
 * Queues the Dead letter event for a job if it is in the failed set. Safe to call any number of
 * times for the same failure.
 *
 * @returns whether the job is a dead letter; throws when Redis fails.
 */
export async function recordDeadLetter(
	queue: Queue,
	events: Queue,
	jobId: string,
): Promise<boolean> {
	const job = await Job.fromId(queue, jobId);
	if (!job?.finishedOn || (await job.getState()) !== 'failed') return false;
	await addDeadLetterEvent(events, jobId, job.finishedOn);
	return true;
}

/**
 * Queues the Dead letter event of every job in the failed set that lacks one.
 *
 * @returns how many failed jobs were looked at; throws when Redis fails.
 */
export async function sweepDeadLetters(queue: Queue, events: Queue): Promise<number> {
	let seen = 0;
	for (let offset = 0; ; offset += 200) {
		const batch = await queue.getFailed(offset, offset + 199);
		if (batch.length === 0) return seen;
		for (const job of batch) {
			if (!job?.id || !job.finishedOn) continue;
			seen++;
			await addDeadLetterEvent(events, job.id, job.finishedOn);
		}
	}
}

async function addDeadLetterEvent(events: Queue, jobId: string, finishedOn: number) {
	await events.add(
		'dead-letter',
		{ jobId, finishedOn },
		{
			jobId: deadLetterEventId(jobId, finishedOn),
			// Retries cover our own faults (Redis blips), not a failed Dead letter execution.
			attempts: 3,
			backoff: { type: 'exponential', delay: 1_000 },
			// Kept as the record that this failure was reported; removed on replay or purge.
			removeOnComplete: false,
			removeOnFail: false,
		},
	);
}

interface DeadLetterEventData {
	jobId: string;
	finishedOn: number;
}

/**
 * Runs the Dead letter execution for one event, unless the job stopped being that dead letter
 * (replayed, purged) in the meantime. The execution's own success or failure is not retried:
 * compensation that failed half-way should be looked at by a person, not repeated blindly.
 */
export async function processDeadLetterEvent(
	event: Job<DeadLetterEventData>,
	queue: Queue,
	options: Pick<ConsumerOptions, 'executionTimeoutMs' | 'runDeadLetter' | 'logger'>,
): Promise<{ outcome: 'ran' | 'skipped'; ok?: boolean }> {
	const { jobId, finishedOn } = event.data;
	const job = await Job.fromId(queue, jobId);
	if (!job || job.finishedOn !== finishedOn || (await job.getState()) !== 'failed') {
		return { outcome: 'skipped' };
	}

	// A started marker tells a later delivery (after a crash) that a run may already have happened.
	const progress = event.progress as { startedAt?: string } | undefined;
	const redelivered = typeof progress === 'object' && progress?.startedAt !== undefined;
	await event.updateProgress({ startedAt: new Date().toISOString() });

	const { logs } = await queue.getJobLogs(jobId, -1, -1);
	const last = parseLog(logs[logs.length - 1]);
	const meta: DeadLetterMeta = {
		jobId,
		idempotencyKey: jobIdToKey(jobId),
		deadLetterId: deadLetterEventId(jobId, finishedOn),
		attempts: job.attemptsMade,
		firstQueuedAt: new Date(ageStartOf(job)).toISOString(),
		failedAt: new Date(finishedOn).toISOString(),
		deadLetterReason: last?.decision ?? 'stalled_or_external',
		lastError: { message: job.failedReason, node: last?.node, reason: last?.reason },
		redelivered,
	};
	const outcome = await runSafely(
		async () => await options.runDeadLetter(job.data, meta),
		options.executionTimeoutMs,
	);
	if (!outcome.ok) {
		options.logger.error('Retry Queue Dead letter execution failed', {
			jobId,
			error: outcome.error.message,
		});
	}
	return { outcome: 'ran', ok: outcome.ok };
}

function parseLog(line: string | undefined): Partial<AttemptLog> | undefined {
	if (!line) return undefined;
	try {
		return JSON.parse(line) as Partial<AttemptLog>;
	} catch {
		return undefined;
	}
}

export interface Consumer {
	/** Stops taking jobs and waits up to `timeoutMs` for running ones; unfinished ones stall back. */
	close(timeoutMs: number): Promise<void>;
}

/**
 * Starts consuming a queue and its dead-letter events.
 *
 * @returns a handle to close it; throws when the Workers cannot be created.
 */
export function startConsumer(options: ConsumerOptions): Consumer {
	const base = { connection: options.connection, prefix: options.prefix };
	const queue = new Queue(options.queueName, base);
	const events = new Queue(deadLetterEventsQueueName(options.queueName), base);
	const stallSettings = {
		lockDuration: options.lockDurationMs,
		stalledInterval: options.stalledIntervalMs,
		maxStalledCount: options.maxStalledCount,
	};

	const worker = new Worker(options.queueName, async (job) => await processAttempt(job, options), {
		...base,
		...stallSettings,
		concurrency: options.concurrency,
		settings: workerSettings(options.policy),
	});
	const deadLetterWorker = new Worker<DeadLetterEventData>(
		deadLetterEventsQueueName(options.queueName),
		async (event) => await processDeadLetterEvent(event, queue, options),
		{ ...base, ...stallSettings, concurrency: 1 },
	);

	const sweep = async () => {
		try {
			await sweepDeadLetters(queue, events);
		} catch (error) {
			options.logger.warn('Retry Queue dead-letter sweep failed; it runs again later', {
				error: (error as Error).message,
			});
		}
	};
	const report = (error: Error) =>
		options.logger.warn('Retry Queue worker error', { error: error.message });
	worker.on('error', report);
	deadLetterWorker.on('error', report);
	worker.on('failed', (job) => {
		if (!job?.id) return;
		recordDeadLetter(queue, events, job.id).catch(async () => await sweep());
	});
	// A job that stalled too often is failed by BullMQ's checker without a 'failed' event here.
	worker.on('stalled', () => void sweep());

	void sweep();
	const timer = setInterval(() => void sweep(), options.sweepIntervalMs ?? 60_000);

	return {
		async close(timeoutMs: number) {
			clearInterval(timer);
			const graceful = Promise.all([worker.close(), deadLetterWorker.close()]);
			const finished = await withTimeout(
				graceful.then(() => true),
				timeoutMs,
				() => false,
			);
			if (!finished) {
				// Running jobs keep their place: their lock expires and another worker takes them.
				options.logger.warn(
					'Retry Queue worker did not stop in time; running jobs will stall back',
					{
						timeoutMs,
					},
				);
				await Promise.allSettled([worker.close(true), deadLetterWorker.close(true)]);
			}
			await Promise.allSettled([queue.close(), events.close()]);
		},
	};
}

/**
 * Takes one job for a manual test in the editor: waits for it, runs one attempt and settles it
 * like the active trigger would. The wait for the execution happens in the background, because
 * n8n starts the test execution only after the manual trigger function has returned.
 *
 * @returns a handle whose `taken` resolves with the job id once one is taken (or `undefined` if
 * closed first) and whose `close` stops waiting; throws when Redis fails.
 */
export function takeOneJob(options: ConsumerOptions): {
	taken: Promise<string | undefined>;
	settled: Promise<void>;
	close(): Promise<void>;
} {
	const base = { connection: options.connection, prefix: options.prefix };
	const worker = new Worker(options.queueName, null, {
		...base,
		lockDuration: options.lockDurationMs,
		settings: workerSettings(options.policy),
	});
	const queue = new Queue(options.queueName, base);
	const events = new Queue(deadLetterEventsQueueName(options.queueName), base);
	const token = randomUUID();
	let closed = false;
	let settle: () => void = () => undefined;
	const settled = new Promise<void>((resolve) => (settle = resolve));

	const shutdown = async () => {
		await Promise.allSettled([worker.close(), queue.close(), events.close()]);
	};

	const taken = (async () => {
		let job: Job | undefined;
		while (!closed && !job) job = await worker.getNextJob(token, { block: true });
		if (!job) {
			settle();
			await shutdown();
			return undefined;
		}
		const current = job;
		const renew = setInterval(
			() => void current.extendLock(token, options.lockDurationMs).catch(() => undefined),
			Math.max(1_000, Math.floor(options.lockDurationMs / 2)),
		);
		void (async () => {
			try {
				const result = await processAttempt(current, options);
				await current.moveToCompleted(result, token, false);
			} catch (error) {
				await current.moveToFailed(error as Error, token, false).catch(() => undefined);
				await recordDeadLetter(queue, events, current.id ?? '').catch(() => false);
			} finally {
				clearInterval(renew);
				settle();
				await shutdown();
			}
		})();
		return current.id;
	})();

	return {
		taken,
		settled,
		async close() {
			closed = true;
		},
	};
}
