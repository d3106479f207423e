/**
 * The Retry Queue's BullMQ calls for the action node: enqueue, dead letters, counts.
 *
 * "Dead letter" is BullMQ's failed set of the queue: a job lands there when the trigger's policy
 * gives up on it (attempts used up, maximum age passed, or a non-retryable error). Beside each
 * queue lives a small companion queue, `<name>.dead-letters`, holding one job per dead letter so
 * the trigger starts exactly one Dead letter execution for it (see consumer.ts).
 */

import { randomUUID } from 'node:crypto';
import { Job, Queue, type JobsOptions } from 'bullmq';
import type Redis from 'ioredis';

import { BACKOFF_TYPE, ENQUEUE_ATTEMPTS, jobIdToKey, keyToJobId } from './policy';

export interface QueueAddress {
	/** A `bullmq`-purpose client from `getRedisClient`; BullMQ duplicates it for blocking calls. */
	connection: Redis;
	/** BullMQ key prefix, from {@link bullPrefix}. */
	prefix: string;
	/** The queue name the user typed. */
	name: string;
}

/** The BullMQ prefix for a credential's key prefix, so all dealflow queues share a namespace. */
export function bullPrefix(keyPrefix: string): string {
	return `${keyPrefix}:rq`;
}

/** The companion queue that drives Dead letter executions. */
export function deadLetterEventsQueueName(queueName: string): string {
	return `${queueName}.dead-letters`;
}

/** The id of the Dead letter event for one failure of one job; a replayed job fails anew. */
export function deadLetterEventId(jobId: string, finishedOn: number): string {
	return `${jobId}@${finishedOn}`;
}

/** Opens a BullMQ Queue handle; close it with `queue.close()` (the shared connection stays open). */
export function openQueue(address: QueueAddress, name: string = address.name): Queue {
	return new Queue(name, { connection: address.connection, prefix: address.prefix });
}

/** The marker a job carries in its progress once replayed, so the age limit restarts. */
export interface ReplayProgress {
	replayedAt: number;
	replays: number;
}

/** When the age limit of a job started: its first queueing, or its last replay. */
export function ageStartOf(job: Pick<Job, 'timestamp' | 'progress'>): number {
	const progress = job.progress as Partial<ReplayProgress> | undefined;
	const replayedAt = typeof progress === 'object' && progress ? progress.replayedAt : undefined;
	return typeof replayedAt === 'number' ? Math.max(replayedAt, job.timestamp) : job.timestamp;
}

export interface EnqueueOptions {
	key: string;
	data: object;
	/** How long a completed job (and so its key) is kept to block duplicates. */
	keepCompletedSeconds: number;
	/** Wait before the first try, in milliseconds. @default 0 */
	delayMs?: number;
}

export interface EnqueueResult {
	jobId: string;
	idempotencyKey: string;
	/** Whether this call created the job; `false` when a job with this key already existed. */
	added: boolean;
	/** The job's state after the call (`waiting`, `delayed`, `completed`, `failed`, ...). */
	state: string;
}

/**
 * Adds a job whose id is the idempotency key.
 *
 * BullMQ's `add` returns a job either way, built from the caller's own arguments, so it cannot say
 * whether Redis already held one. Each call therefore stores a fresh token in the job options and
 * reads the stored job back: BullMQ's add script is atomic, so exactly one concurrent caller finds
 * its own token.
 *
 * @throws Error when the key is empty or Redis fails.
 */
export async function enqueue(queue: Queue, options: EnqueueOptions): Promise<EnqueueResult> {
	const jobId = keyToJobId(options.key);
	const token = randomUUID();
	const jobOptions = {
		jobId,
		attempts: ENQUEUE_ATTEMPTS,
		backoff: { type: BACKOFF_TYPE },
		delay: options.delayMs,
		removeOnComplete: { age: options.keepCompletedSeconds },
		removeOnFail: false,
		enqueueToken: token,
	} as JobsOptions;
	await queue.add('job', options.data, jobOptions);

	const stored = await Job.fromId(queue, jobId);
	const storedToken = (stored?.opts as { enqueueToken?: string } | undefined)?.enqueueToken;
	// A missing job was there before us and has been removed since (completed and expired).
	const state = stored ? await stored.getState() : 'removed';
	return { jobId, idempotencyKey: options.key, added: storedToken === token, state };
}

export interface DeadLetter {
	jobId: string;
	idempotencyKey: string;
	data: unknown;
	lastError: string;
	/** Why the trigger gave up, from the job's last log line: `not_retryable`, ... */
	deadLetterReason?: string;
	/** The node that failed in the last attempt, when known. */
	failedNode?: string;
	attempts: number;
	firstQueuedAt: string;
	lastAttemptAt?: string;
	failedAt?: string;
}

/** The last structured log line the trigger wrote for a job, or `undefined`. */
async function lastAttemptLog(
	queue: Queue,
	jobId: string,
): Promise<Record<string, unknown> | undefined> {
	const { logs } = await queue.getJobLogs(jobId, -1, -1);
	if (logs.length === 0) return undefined;
	try {
		const parsed: unknown = JSON.parse(logs[logs.length - 1]);
		return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : undefined;
	} catch {
		return undefined;
	}
}

function toIso(epochMs: number | undefined): string | undefined {
	return epochMs ? new Date(epochMs).toISOString() : undefined;
}

/**
 * Lists dead letters, newest failure first.
 *
 * @returns at most `limit` entries starting at `offset`; throws when Redis fails.
 */
export async function listDeadLetters(
	queue: Queue,
	options: { offset: number; limit: number },
): Promise<DeadLetter[]> {
	const jobs = await queue.getFailed(options.offset, options.offset + options.limit - 1);
	const letters: DeadLetter[] = [];
	for (const job of jobs) {
		if (!job?.id) continue;
		const log = await lastAttemptLog(queue, job.id);
		letters.push({
			jobId: job.id,
			idempotencyKey: jobIdToKey(job.id),
			data: job.data,
			lastError: job.failedReason,
			deadLetterReason: typeof log?.decision === 'string' ? log.decision : undefined,
			failedNode: typeof log?.node === 'string' ? log.node : undefined,
			attempts: job.attemptsMade,
			firstQueuedAt: new Date(job.timestamp).toISOString(),
			lastAttemptAt: toIso(job.processedOn),
			failedAt: toIso(job.finishedOn),
		});
	}
	return letters;
}

export type ReplayResult = { jobId: string; replayed: boolean; state: string };

/**
 * Moves one dead letter back to the waiting list with a fresh set of attempts and a fresh age
 * limit, and forgets its Dead letter event so a new failure is reported again.
 *
 * @returns `replayed: false` with the current state when the job is not a dead letter; throws when
 * the job does not exist.
 */
export async function replayDeadLetter(queue: Queue, jobId: string): Promise<ReplayResult> {
	const job = await Job.fromId(queue, jobId);
	if (!job) throw new Error(`No job with id "${jobId}" in queue "${queue.name}"`);
	const state = await job.getState();
	if (state !== 'failed') return { jobId, replayed: false, state };

	const previous = job.progress as Partial<ReplayProgress> | undefined;
	const replays = (typeof previous === 'object' && previous?.replays) || 0;
	const finishedOn = job.finishedOn;
	await job.updateProgress({ replayedAt: Date.now(), replays: replays + 1 });
	await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
	if (finishedOn) await forgetDeadLetterEvent(queue, jobId, finishedOn);
	return { jobId, replayed: true, state: await job.getState() };
}

/**
 * Replays every dead letter, oldest failure first.
 *
 * @returns the ids replayed; throws when Redis fails part-way (earlier replays stay done).
 */
export async function replayAllDeadLetters(queue: Queue): Promise<string[]> {
	const replayed: string[] = [];
	// Each replay removes the job from the failed set, so always read from the end.
	for (;;) {
		const total = await queue.getFailedCount();
		if (total === 0) break;
		const batch = await queue.getFailed(Math.max(0, total - 100), total - 1);
		const before = replayed.length;
		for (const job of batch.reverse()) {
			if (!job?.id) continue;
			const result = await replayDeadLetter(queue, job.id);
			if (result.replayed) replayed.push(job.id);
		}
		if (replayed.length === before) break;
	}
	return replayed;
}

/**
 * Deletes dead letters whose failure is older than `olderThanMs` (0 deletes all).
 *
 * @returns the ids deleted; throws when Redis fails.
 */
export async function purgeDeadLetters(
	queue: Queue,
	options: { olderThanMs: number; now?: number },
): Promise<string[]> {
	const cutoff = (options.now ?? Date.now()) - options.olderThanMs;
	const purged: string[] = [];
	let offset = 0;
	for (;;) {
		const batch = await queue.getFailed(offset, offset + 99);
		if (batch.length === 0) break;
		let kept = 0;
		for (const job of batch) {
			if (!job?.id) continue;
			if ((job.finishedOn ?? 0) > cutoff) {
				kept++;
				continue;
			}
			const finishedOn = job.finishedOn;
			await job.remove();
			if (finishedOn) await forgetDeadLetterEvent(queue, job.id, finishedOn);
			purged.push(job.id);
		}
		offset += kept;
	}
	return purged;
}

async function forgetDeadLetterEvent(queue: Queue, jobId: string, finishedOn: number) {
	const events = new Queue(deadLetterEventsQueueName(queue.name), {
		connection: queue.opts.connection,
		prefix: queue.opts.prefix,
	});
	try {
		await events.remove(deadLetterEventId(jobId, finishedOn));
	} finally {
		await events.close();
	}
}

export interface QueueCounts {
	waiting: number;
	active: number;
	delayed: number;
	failed: number;
	completed: number;
	paused: number;
}

/** Job counts per state; `waiting` includes prioritized jobs. Throws when Redis fails. */
export async function countJobs(queue: Queue): Promise<QueueCounts> {
	const counts = await queue.getJobCounts(
		'waiting',
		'prioritized',
		'active',
		'delayed',
		'failed',
		'completed',
		'paused',
	);
	return {
		waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
		active: counts.active ?? 0,
		delayed: counts.delayed ?? 0,
		failed: counts.failed ?? 0,
		completed: counts.completed ?? 0,
		paused: counts.paused ?? 0,
	};
}
