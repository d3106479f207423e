/**
 * The retry contract shared by every dealflow node and the Retry Queue Trigger.
 *
 * An action node that fails attaches a {@link RetryHint} under `error.context.dealflow`. n8n
 * serialises `context` with the error into the execution record (also in queue mode, where the
 * record crosses the database), so the trigger can read the hint back from the failed run and
 * decide between "retry later", "retry after this long" and "dead-letter now".
 */

export const RETRY_HINT_KEY = 'dealflow';

export interface RetryHint {
	/** Whether a later attempt can succeed without anyone changing the input or the setup. */
	retryable: boolean;
	/** How long the remote service asked us to wait, from Retry-After or a rate-limit header. */
	retryAfterMs?: number;
	/** A short machine-readable cause, e.g. `rate_limited`, `validation`, `unavailable`. */
	reason: string;
	/** Which system failed: `xero`, `salesforce`, `inventory`, `redis`, ... */
	service?: string;
}

interface HasContext {
	context: Record<string, unknown>;
}

/** Attaches a retry hint to an n8n error (or anything with a `context` object) and returns it. */
export function markError<E extends HasContext>(error: E, hint: RetryHint): E {
	error.context[RETRY_HINT_KEY] = pruneUndefined(hint);
	return error;
}

/**
 * Reads a retry hint from a live error or from its serialised form in execution data.
 *
 * @returns the hint, or `undefined` when the error carries none (an unmarked error from a node
 * outside this package: the caller decides the default).
 */
export function readRetryHint(error: unknown): RetryHint | undefined {
	const seen = new Set<unknown>();
	let current: unknown = error;
	while (current && typeof current === 'object' && !seen.has(current)) {
		seen.add(current);
		const context = (current as { context?: unknown }).context;
		const hint = toHint(
			context && typeof context === 'object'
				? (context as Record<string, unknown>)[RETRY_HINT_KEY]
				: undefined,
		);
		if (hint) return hint;
		current = (current as { cause?: unknown }).cause;
	}
	return undefined;
}

/**
 * Classifies an HTTP status the way the Retry Queue does: 408, 409, 425, 429 and 5xx can pass on
 * a later try; any other 4xx means the request itself is wrong and repeating it cannot help.
 */
export function isRetryableStatus(status: number): boolean {
	if (status >= 500) return true;
	return status === 408 || status === 409 || status === 425 || status === 429;
}

const NETWORK_ERROR_CODES = new Set([
	'ECONNRESET',
	'ECONNREFUSED',
	'ECONNABORTED',
	'EPIPE',
	'ETIMEDOUT',
	'ESOCKETTIMEDOUT',
	'ENOTFOUND',
	'EAI_AGAIN',
	'ENETUNREACH',
	'EHOSTUNREACH',
	'UND_ERR_SOCKET',
	'UND_ERR_CONNECT_TIMEOUT',
	'UND_ERR_HEADERS_TIMEOUT',
	'UND_ERR_BODY_TIMEOUT',
	'ERR_SOCKET_CONNECTION_TIMEOUT',
]);

/** Whether an error looks like a transport failure (reset, refused, timed out) worth retrying. */
export function isNetworkError(error: unknown): boolean {
	const seen = new Set<unknown>();
	let current: unknown = error;
	while (current && typeof current === 'object' && !seen.has(current)) {
		seen.add(current);
		const { code, name } = current as { code?: unknown; name?: unknown };
		if (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) return true;
		if (name === 'AbortError' || name === 'TimeoutError') return true;
		current = (current as { cause?: unknown }).cause;
	}
	return false;
}

function toHint(value: unknown): RetryHint | undefined {
	if (!value || typeof value !== 'object') return undefined;
	const { retryable, retryAfterMs, reason, service } = value as Record<string, unknown>;
	if (typeof retryable !== 'boolean') return undefined;
	return pruneUndefined({
		retryable,
		retryAfterMs:
			typeof retryAfterMs === 'number' && Number.isFinite(retryAfterMs) && retryAfterMs >= 0
				? retryAfterMs
				: undefined,
		reason: typeof reason === 'string' ? reason : 'unknown',
		service: typeof service === 'string' ? service : undefined,
	});
}

function pruneUndefined<T extends object>(value: T): T {
	return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
