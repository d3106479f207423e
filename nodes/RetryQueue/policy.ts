/**
 * The Retry Queue's decisions, free of n8n and of Redis so they can be tested on their own:
 * how an idempotency key becomes a BullMQ job id, whether an execution succeeded, and what a
 * failed attempt leads to (retry after a delay, or the dead-letter set).
 */

import { retryDelay, type BackoffPolicy } from '../shared/backoff';
import { readRetryHint, type RetryHint } from '../shared/errors';

export interface RetryPolicy extends BackoffPolicy {
	/** Total tries including the first; `undefined` when only `maxAgeMs` limits retrying. */
	maxAttempts?: number;
	/** Stop retrying once the next try would start later than this long after the first queueing. */
	maxAgeMs?: number;
}

/**
 * What BullMQ stores as `attempts` on an enqueued job. The trigger's policy decides when to stop
 * (it throws `UnrecoverableError`), so BullMQ's own limit only has to be out of the way.
 */
export const ENQUEUE_ATTEMPTS = 1_000_000;

/** The custom backoff type our jobs carry; the trigger's worker resolves it with `retryDelay`. */
export const BACKOFF_TYPE = 'dealflow';

/**
 * Turns an idempotency key into a BullMQ job id. BullMQ rejects ids that are integers or that
 * contain `:`, so `%` and `:` are escaped and an all-digit key gets a `%N` marker. The mapping is
 * one-to-one: `%` in the output is always followed by `25`, `3A` or (at the start) `N`.
 *
 * @throws Error when the key is empty.
 */
export function keyToJobId(key: string): string {
	if (key.length === 0) throw new Error('The idempotency key is empty');
	const escaped = key.replace(/%/g, '%25').replace(/:/g, '%3A');
	return /^\d+$/.test(escaped) ? `%N${escaped}` : escaped;
}

/** The idempotency key a job id was made from; ids not made by {@link keyToJobId} pass through. */
export function jobIdToKey(jobId: string): string {
	const body = jobId.startsWith('%N') ? jobId.slice(2) : jobId;
	return body.replace(/%(25|3A)/g, (_match, code: string) => (code === '25' ? '%' : ':'));
}

/** The parts of n8n's `IRun` the trigger reads; structural so this file needs no n8n import. */
export interface RunLike {
	status?: string;
	finished?: boolean;
	data?: {
		resultData?: {
			error?: unknown;
			lastNodeExecuted?: string;
			runData?: Record<string, Array<{ error?: unknown } | undefined> | undefined>;
		};
	};
}

export interface AttemptError {
	message: string;
	/** The node that failed, when n8n recorded it. */
	node?: string;
	/** The failing node's retry hint; absent for nodes that do not mark their errors. */
	hint?: RetryHint;
}

export type AttemptOutcome = { ok: true } | { ok: false; error: AttemptError };

const FAILED_STATUSES = new Set(['error', 'crashed', 'canceled', 'waiting', 'unknown']);

/**
 * Whether the execution a job started succeeded, and if not, why.
 *
 * An execution that paused in a Wait node counts as failed: the job cannot know when, or whether,
 * it will resume, and holding the job open for it would block the queue.
 */
export function outcomeOfRun(run: RunLike | undefined): AttemptOutcome {
	if (!run) return { ok: false, error: { message: 'The execution returned no result' } };

	const resultData = run.data?.resultData;
	const failed =
		(run.status !== undefined && FAILED_STATUSES.has(run.status)) ||
		resultData?.error !== undefined ||
		(run.status === undefined && run.finished !== true);
	if (!failed) return { ok: true };

	if (run.status === 'waiting') {
		return {
			ok: false,
			error: {
				message: 'The execution paused in a Wait node; the Retry Queue needs it to finish',
				hint: { retryable: false, reason: 'waiting_unsupported' },
			},
		};
	}

	const candidates: unknown[] = [resultData?.error];
	const lastNode = resultData?.lastNodeExecuted;
	if (lastNode) candidates.push(...(resultData?.runData?.[lastNode] ?? []).map((r) => r?.error));
	for (const runs of Object.values(resultData?.runData ?? {})) {
		candidates.push(...(runs ?? []).map((r) => r?.error));
	}

	const errors = candidates.filter((e) => e !== undefined && e !== null);
	const hinted = errors.find((e) => readRetryHint(e) !== undefined);
	const chosen = hinted ?? errors[0];
	return {
		ok: false,
		error: {
			message: errorMessage(chosen) ?? `The execution ended with status "${run.status}"`,
			node: errorNode(chosen) ?? lastNode,
			hint: hinted === undefined ? undefined : readRetryHint(hinted),
		},
	};
}

export type FailureDecision =
	| { action: 'retry'; delayMs: number }
	| {
			action: 'deadLetter';
			reason: 'not_retryable' | 'attempts_exhausted' | 'max_age_exceeded';
	  };

export interface DecideOptions {
	/** 1 for the first try. */
	attempt: number;
	/** The effective limit for this job (see {@link effectiveMaxAttempts}). */
	maxAttempts?: number;
	/** When the job was first queued (epoch ms). */
	firstQueuedAt: number;
	now: number;
	policy: RetryPolicy;
	error: AttemptError;
	random?: () => number;
}

/**
 * What a failed attempt leads to. Unmarked errors (from nodes outside this package, or a crashed
 * or timed-out execution) are treated as retryable: a transient fault is the common cause, and
 * the attempt and age limits still end a permanent one.
 */
export function decideAfterFailure(options: DecideOptions): FailureDecision {
	const hint = options.error.hint;
	if (hint && !hint.retryable) return { action: 'deadLetter', reason: 'not_retryable' };

	if (options.maxAttempts !== undefined && options.attempt >= options.maxAttempts) {
		return { action: 'deadLetter', reason: 'attempts_exhausted' };
	}

	const delayMs = retryDelay({
		attempt: options.attempt,
		policy: options.policy,
		retryAfterMs: hint?.retryAfterMs,
		random: options.random,
	});
	const maxAgeMs = options.policy.maxAgeMs;
	if (maxAgeMs !== undefined && options.now + delayMs - options.firstQueuedAt > maxAgeMs) {
		return { action: 'deadLetter', reason: 'max_age_exceeded' };
	}
	return { action: 'retry', delayMs };
}

/**
 * The attempt limit for one job: the policy's, lowered by the job's own BullMQ `attempts` when a
 * producer other than the Retry Queue node set a smaller one.
 *
 * @returns the limit, or `undefined` when only the maximum age applies.
 */
export function effectiveMaxAttempts(
	policy: RetryPolicy,
	jobAttempts: number | undefined,
): number | undefined {
	const fromJob =
		jobAttempts !== undefined && jobAttempts < ENQUEUE_ATTEMPTS ? jobAttempts : undefined;
	if (policy.maxAttempts === undefined) return fromJob;
	return fromJob === undefined ? policy.maxAttempts : Math.min(policy.maxAttempts, fromJob);
}

function errorMessage(error: unknown): string | undefined {
	if (!error || typeof error !== 'object') return typeof error === 'string' ? error : undefined;
	const { message, description } = error as { message?: unknown; description?: unknown };
	if (typeof message === 'string' && message) return message;
	return typeof description === 'string' && description ? description : undefined;
}

function errorNode(error: unknown): string | undefined {
	if (!error || typeof error !== 'object') return undefined;
	const node = (error as { node?: unknown }).node;
	if (node && typeof node === 'object') {
		const name = (node as { name?: unknown }).name;
		if (typeof name === 'string') return name;
	}
	return undefined;
}

/**
 * Checks a queue name. BullMQ builds Redis keys from it with `:` as separator, so the name is
 * kept to a plain set of characters.
 *
 * @returns a message naming the fix, or `undefined` when the name is fine.
 */
export function queueNameProblem(name: string): string | undefined {
	if (!name)
		return 'The queue name is empty. Use the same name in the Retry Queue and its trigger.';
	if (!/^[A-Za-z0-9._-]{1,100}$/.test(name)) {
		return `The queue name "${name}" may only hold letters, digits, ".", "-" and "_" (at most 100).`;
	}
	if (name.endsWith('.dead-letters')) {
		return `The queue name "${name}" ends in ".dead-letters", which the Retry Queue keeps for its own use.`;
	}
	return undefined;
}
