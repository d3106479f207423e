/**
 * Exponential backoff with full jitter and a cap, written once for every dealflow node and the
 * Retry Queue. Full jitter draws the delay uniformly from [0, min(cap, base * 2^(attempt - 1))],
 * which spreads a crowd of retrying clients out instead of having them return in lock-step.
 */

export interface BackoffPolicy {
	/** Delay scale for the first retry, in milliseconds. */
	baseMs: number;
	/** Upper bound of any computed delay, in milliseconds. */
	capMs: number;
}

export interface RetryDelayOptions {
	/** 1 for the first retry (after the first failure), 2 for the second, ... */
	attempt: number;
	policy: BackoffPolicy;
	/** A wait the server asked for; it wins when longer than the jittered delay. */
	retryAfterMs?: number;
	/** Source of randomness in [0, 1); injectable so tests can pin the draw. @default Math.random */
	random?: () => number;
}

/** The ceiling of the jitter window for an attempt: min(cap, base * 2^(attempt - 1)). */
export function backoffCeiling(attempt: number, policy: BackoffPolicy): number {
	const exponent = Math.max(0, Math.floor(attempt) - 1);
	// 2^exponent overflows to Infinity long before it matters; min() with the cap keeps it finite.
	return Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(exponent, 1024));
}

/**
 * The delay before the next try.
 *
 * A server's Retry-After is honoured as a floor even above the cap: coming back sooner than the
 * server asked only earns another 429.
 */
export function retryDelay(options: RetryDelayOptions): number {
	const random = options.random ?? Math.random;
	const jittered = Math.floor(random() * backoffCeiling(options.attempt, options.policy));
	if (options.retryAfterMs === undefined) return jittered;
	return Math.max(jittered, Math.ceil(options.retryAfterMs));
}

/**
 * Parses an HTTP Retry-After value: delta-seconds or an HTTP-date.
 *
 * @returns milliseconds to wait (0 for a date in the past), or `undefined` when the header is
 * missing or unreadable.
 */
export function parseRetryAfter(value: unknown, now: number = Date.now()): number | undefined {
	const text = Array.isArray(value) ? value[0] : value;
	if (typeof text !== 'string' && typeof text !== 'number') return undefined;
	const trimmed = String(text).trim();
	if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);

	// Only an HTTP-date (it names a weekday and month) counts; Date.parse would read "-5" as a year.
	if (!/[a-z]/i.test(trimmed)) return undefined;
	const date = Date.parse(trimmed);
	if (Number.isNaN(date)) return undefined;
	return Math.max(0, date - now);
}

export interface RetryDecision {
	retryable: boolean;
	retryAfterMs?: number;
}

export interface WithRetryOptions {
	policy: BackoffPolicy;
	/** Total tries including the first. */
	maxAttempts: number;
	/** Says whether a failure may be retried and how long the server asked us to wait. */
	classify: (error: unknown) => RetryDecision;
	/**
	 * The longest single wait spent in place. A longer wait is not slept through; the error is
	 * thrown so a durable queue can reschedule it. @default Infinity
	 */
	maxWaitInPlaceMs?: number;
	/** Called before each wait, e.g. to log `{ attempt, delayMs }`. */
	onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
	/** @default a timer-based sleep */
	sleep?: (ms: number) => Promise<void>;
	random?: () => number;
}

/**
 * Runs `fn` until it succeeds, a failure is classified as not retryable, the attempts are used
 * up, or the next wait is longer than `maxWaitInPlaceMs`. Throws the last error unchanged.
 */
export async function withRetry<T>(
	fn: (attempt: number) => Promise<T>,
	options: WithRetryOptions,
): Promise<T> {
	const sleep = options.sleep ?? defaultSleep;
	const maxWait = options.maxWaitInPlaceMs ?? Number.POSITIVE_INFINITY;

	for (let attempt = 1; ; attempt++) {
		try {
			return await fn(attempt);
		} catch (error) {
			const decision = options.classify(error);
			if (!decision.retryable || attempt >= options.maxAttempts) throw error;

			const delayMs = retryDelay({
				attempt,
				policy: options.policy,
				retryAfterMs: decision.retryAfterMs,
				random: options.random,
			});
			if (delayMs > maxWait) throw error;

			options.onRetry?.({ attempt, delayMs, error });
			await sleep(delayMs);
		}
	}
}

async function defaultSleep(ms: number): Promise<void> {
	await new Promise<void>((resolve) => setTimeout(resolve, ms));
}
