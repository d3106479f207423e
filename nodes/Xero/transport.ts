import { createHash } from 'node:crypto';
import type Redis from 'ioredis';
import { AccountingApi, type Authentication } from 'xero-node';
import { z } from 'zod';

import { parseRetryAfter, withRetry, type BackoffPolicy } from '../shared/backoff';
import { isRetryableStatus } from '../shared/errors';
import { describeXeroErrorBody } from './logic';
import type { LimiterScope, XeroRateLimiter } from './limiter';

/**
 * Everything between the Dealflow Xero node and Xero: tokens, the shared rate limiter, xero-node
 * calls with a timeout, backoff, and turning xero-node's rejections into one error type.
 * No n8n imports, so the service tests drive it directly against the simulator.
 */

export const DEFAULT_API_BASE_URL = 'https://api.xero.com/api.xro/2.0';
export const DEFAULT_TOKEN_URL = 'https://identity.xero.com/connect/token';
export const DEFAULT_CONNECTIONS_URL = 'https://api.xero.com/connections';

/** How long Xero remembers an Idempotency-Key (about 6 minutes), with a margin. */
export const IDEMPOTENCY_KEY_LIFETIME_MS = 7 * 60_000;

export type XeroFailureReason =
	| 'validation'
	| 'duplicate_number'
	| 'rate_limited'
	| 'daily_limit'
	| 'unavailable'
	| 'timeout'
	| 'network'
	| 'unauthorized'
	| 'forbidden'
	| 'not_found'
	| 'idempotency_conflict'
	| 'bad_request'
	| 'token'
	| 'limiter_unavailable';

/**
 * A failed Xero call, already classified. It carries no request headers and no token: only the
 * status, Xero's response body, and the rate-limit headers needed to decide on a retry.
 */
export class XeroApiError extends Error {
	readonly status: number;
	readonly reason: XeroFailureReason;
	readonly retryable: boolean;
	readonly retryAfterMs?: number;
	/** One readable sentence per Xero validation error, e.g. "Line 2: Account code ...". */
	readonly messages: string[];
	readonly body?: unknown;
	readonly rateLimitProblem?: string;

	constructor(options: {
		message: string;
		status: number;
		reason: XeroFailureReason;
		retryable: boolean;
		retryAfterMs?: number;
		messages?: string[];
		body?: unknown;
		rateLimitProblem?: string;
	}) {
		super(options.message);
		this.name = 'XeroApiError';
		this.status = options.status;
		this.reason = options.reason;
		this.retryable = options.retryable;
		this.retryAfterMs = options.retryAfterMs;
		this.messages = options.messages ?? [];
		this.body = options.body;
		this.rateLimitProblem = options.rateLimitProblem;
	}
}

const rejectionSchema = z
	.object({
		response: z
			.object({
				statusCode: z.number().optional(),
				status: z.number().optional(),
				body: z.unknown().optional(),
				data: z.unknown().optional(),
				headers: z.record(z.unknown()).optional().catch(undefined),
			})
			.passthrough()
			.optional(),
		body: z.unknown().optional(),
	})
	.passthrough();

export interface ParsedRejection {
	status: number;
	body: unknown;
	headers: Record<string, unknown>;
	/** The transport's own message when no HTTP response came back (timeout, reset). */
	transportMessage?: string;
}

/**
 * Reads whatever xero-node rejected with: a JSON string (its usual form), an object with
 * `response` (non-2xx that axios resolved), or a plain Error (a bug or an aborted request).
 *
 * @returns status 0 when no response arrived; never throws.
 */
export function parseXeroRejection(reason: unknown): ParsedRejection {
	let value: unknown = reason;
	if (typeof reason === 'string') {
		try {
			value = JSON.parse(reason);
		} catch {
			return { status: 0, body: undefined, headers: {}, transportMessage: reason.slice(0, 500) };
		}
	}
	if (value instanceof Error) {
		return { status: 0, body: undefined, headers: {}, transportMessage: value.message };
	}
	const parsed = rejectionSchema.safeParse(value);
	if (!parsed.success)
		return { status: 0, body: undefined, headers: {}, transportMessage: 'unreadable' };
	const response = parsed.data.response ?? {};
	const status = response.statusCode ?? response.status ?? 0;
	const body = response.body ?? response.data ?? parsed.data.body;
	const headers = lowerCaseKeys(response.headers ?? {});
	if (status === 0) {
		return {
			status,
			body: undefined,
			headers,
			transportMessage: typeof body === 'string' ? body : 'no response',
		};
	}
	return { status, body: parseMaybeJson(body), headers };
}

function parseMaybeJson(body: unknown): unknown {
	if (typeof body !== 'string') return body;
	try {
		return JSON.parse(body);
	} catch {
		return body;
	}
}

function lowerCaseKeys(headers: Record<string, unknown>): Record<string, unknown> {
	return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

/** Classifies a parsed rejection into an {@link XeroApiError}; pure. */
export function classifyRejection(rejection: ParsedRejection, operation: string): XeroApiError {
	const { status, body, headers } = rejection;
	if (status === 0) {
		const timedOut = /timeout/i.test(rejection.transportMessage ?? '');
		return new XeroApiError({
			message: timedOut
				? `Xero did not answer ${operation} in time; the call is retried with backoff`
				: `Could not reach Xero for ${operation} (${rejection.transportMessage ?? 'network error'})`,
			status: 0,
			reason: timedOut ? 'timeout' : 'network',
			retryable: true,
		});
	}

	const messages = describeXeroErrorBody(body);
	if (status === 429) {
		const problem = String(headers['x-rate-limit-problem'] ?? 'minute').toLowerCase();
		const retryAfterMs = parseRetryAfter(headers['retry-after']) ?? 60_000;
		const daily = problem === 'day';
		return new XeroApiError({
			message: daily
				? `Xero's daily call limit for this organisation is used up; calls resume in ${Math.ceil(retryAfterMs / 60_000)} min`
				: `Xero rate limit reached (${problem}); retry after ${Math.ceil(retryAfterMs / 1000)} s`,
			status,
			reason: daily ? 'daily_limit' : 'rate_limited',
			retryable: true,
			retryAfterMs,
			rateLimitProblem: problem,
		});
	}
	if (status === 401) {
		return new XeroApiError({
			message: `Xero rejected the access token for ${operation}. Check the client id and secret, or reconnect the OAuth2 credential`,
			status,
			reason: 'unauthorized',
			retryable: false,
			body,
		});
	}
	if (status === 403) {
		return new XeroApiError({
			message: `Xero refused ${operation} for this organisation. Check the tenant id and the connection's scopes`,
			status,
			reason: 'forbidden',
			retryable: false,
			body,
		});
	}
	if (status === 404) {
		return new XeroApiError({
			message: `Xero found nothing for ${operation}. Check the id`,
			status,
			reason: 'not_found',
			retryable: false,
			body,
		});
	}
	const isValidation = isValidationBody(body);
	if (status === 400 && isValidation && messages.some((m) => /idempotency-key/i.test(m))) {
		// The same order key went out with a different body (changed settings, or an earlier
		// attempt Xero refused) less than Xero's key lifetime ago. Retrying once the key has
		// expired is safe: the reference search then finds the invoice if the first write landed.
		return new XeroApiError({
			message: `${messages.join('; ')}. The same order was sent with different data within Xero's idempotency window; it can be retried once the key expires`,
			status,
			reason: 'idempotency_conflict',
			retryable: true,
			retryAfterMs: IDEMPOTENCY_KEY_LIFETIME_MS,
			messages,
			body,
		});
	}
	if (status === 400) {
		return new XeroApiError({
			message: `Xero rejected ${operation}: ${messages.join('; ')}`,
			status,
			reason: isValidation ? 'validation' : 'bad_request',
			retryable: false,
			messages,
			body,
		});
	}
	const retryable = isRetryableStatus(status);
	return new XeroApiError({
		message: `Xero answered ${status} to ${operation}: ${messages.join('; ')}`,
		status,
		reason: retryable ? 'unavailable' : 'bad_request',
		retryable,
		retryAfterMs: parseRetryAfter(headers['retry-after']),
		messages,
		body,
	});
}

function isValidationBody(body: unknown): boolean {
	return (
		!!body &&
		typeof body === 'object' &&
		(body as { Type?: unknown }).Type === 'ValidationException'
	);
}

// ---- tokens -------------------------------------------------------------------------------------

/** Hands out a bearer token for Xero and forgets it when Xero says it is no longer valid. */
export interface XeroTokenProvider {
	getToken(): Promise<string>;
	/** Called after a 401; the next getToken must not return the rejected token. */
	invalidate(rejected: string): Promise<void>;
}

interface CachedToken {
	accessToken: string;
	expiresAt: number;
}

const processTokenCache = new Map<string, CachedToken>();
const pendingTokens = new Map<string, Promise<CachedToken>>();

/** Renew this long before expiry, so a token never runs out in the middle of a call. */
const TOKEN_RENEW_MARGIN_MS = 5 * 60_000;

export interface ClientCredentialsOptions {
	clientId: string;
	clientSecret: string;
	tokenUrl: string;
	timeoutMs: number;
	/** When given, the token is shared by every process on this Redis, not fetched per process. */
	redis?: Redis;
	keyPrefix?: string;
}

/**
 * The custom-connection token: client-credentials grant with no scope (Xero's rule for custom
 * connections), cached per process under a hash of the credential and renewed 5 minutes before
 * its 30-minute expiry. With Redis, processes share one token instead of each fetching its own.
 */
export class ClientCredentialsTokenProvider implements XeroTokenProvider {
	private readonly cacheKey: string;

	constructor(private readonly options: ClientCredentialsOptions) {
		this.cacheKey = createHash('sha256')
			.update([options.clientId, options.clientSecret, options.tokenUrl].join('\u0000'))
			.digest('hex')
			.slice(0, 32);
	}

	private get redisKey(): string {
		return `${this.options.keyPrefix ?? 'dealflow'}:xero:token:${this.cacheKey}`;
	}

	async getToken(): Promise<string> {
		const cached = processTokenCache.get(this.cacheKey);
		if (cached && cached.expiresAt - TOKEN_RENEW_MARGIN_MS > Date.now()) return cached.accessToken;

		// One fetch per process at a time; concurrent items wait for the same promise.
		let pending = pendingTokens.get(this.cacheKey);
		if (!pending) {
			pending = this.obtain().finally(() => pendingTokens.delete(this.cacheKey));
			pendingTokens.set(this.cacheKey, pending);
		}
		const token = await pending;
		processTokenCache.set(this.cacheKey, token);
		return token.accessToken;
	}

	async invalidate(rejected: string): Promise<void> {
		if (processTokenCache.get(this.cacheKey)?.accessToken === rejected) {
			processTokenCache.delete(this.cacheKey);
		}
		const redis = this.options.redis;
		if (redis) {
			const shared = await redis.get(this.redisKey);
			if (shared && (JSON.parse(shared) as CachedToken).accessToken === rejected) {
				await redis.del(this.redisKey);
			}
		}
	}

	private async obtain(): Promise<CachedToken> {
		const redis = this.options.redis;
		if (redis) {
			const shared = await redis.get(this.redisKey);
			if (shared) {
				const token = JSON.parse(shared) as CachedToken;
				if (token.expiresAt - TOKEN_RENEW_MARGIN_MS > Date.now()) return token;
			}
		}
		const token = await requestClientCredentialsToken(this.options);
		if (redis) {
			const ttl = token.expiresAt - TOKEN_RENEW_MARGIN_MS - Date.now();
			if (ttl > 0) await redis.set(this.redisKey, JSON.stringify(token), 'PX', ttl);
		}
		return token;
	}
}

const tokenResponseSchema = z.object({
	access_token: z.string().min(1),
	expires_in: z.coerce.number().positive().optional(),
});

/**
 * POSTs the client-credentials grant. Sends no `scope`.
 *
 * @throws XeroApiError with reason `token`: not retryable for a rejected client (400/401),
 * retryable for 5xx and network failures.
 */
export async function requestClientCredentialsToken(
	options: Pick<ClientCredentialsOptions, 'clientId' | 'clientSecret' | 'tokenUrl' | 'timeoutMs'>,
): Promise<CachedToken> {
	const basic = Buffer.from(
		`${encodeURIComponent(options.clientId)}:${encodeURIComponent(options.clientSecret)}`,
	).toString('base64');
	let response: Response;
	try {
		response = await fetch(options.tokenUrl, {
			method: 'POST',
			headers: {
				authorization: `Basic ${basic}`,
				'content-type': 'application/x-www-form-urlencoded',
				accept: 'application/json',
			},
			body: new URLSearchParams({ grant_type: 'client_credentials' }).toString(),
			signal: AbortSignal.timeout(options.timeoutMs),
		});
	} catch (error) {
		throw new XeroApiError({
			message: `Could not reach the Xero token endpoint (${(error as Error).name === 'TimeoutError' ? 'timed out' : (error as Error).message})`,
			status: 0,
			reason: 'token',
			retryable: true,
		});
	}
	const text = await response.text();
	if (!response.ok) {
		const parsed = z.object({ error: z.string() }).safeParse(parseMaybeJson(text));
		const code = parsed.success ? parsed.data.error : `HTTP ${response.status}`;
		throw new XeroApiError({
			message: `Xero's token endpoint refused the client credentials (${code}). Check the client id and secret of the custom connection`,
			status: response.status,
			reason: 'token',
			retryable: response.status >= 500,
		});
	}
	const parsed = tokenResponseSchema.safeParse(parseMaybeJson(text));
	if (!parsed.success) {
		throw new XeroApiError({
			message: "Xero's token endpoint answered without an access token",
			status: response.status,
			reason: 'token',
			retryable: true,
		});
	}
	return {
		accessToken: parsed.data.access_token,
		expiresAt: Date.now() + (parsed.data.expires_in ?? 1800) * 1000,
	};
}

/** Forgets every cached custom-connection token of this process; for tests. */
export function clearProcessTokenCache(): void {
	processTokenCache.clear();
}

// ---- the client ---------------------------------------------------------------------------------

export interface XeroClientOptions {
	apiBaseUrl: string;
	tenantId: string;
	/** Identifies the app for the app-wide minute limit, e.g. a hash of the client id. */
	appId: string;
	tokens: XeroTokenProvider;
	limiter: XeroRateLimiter;
	/** Per-call timeout; xero-node sets none. @default 30000 */
	timeoutMs?: number;
	/** @default 5 */
	maxAttempts?: number;
	/** @default { baseMs: 500, capMs: 20000 } */
	backoff?: BackoffPolicy;
	/** Longest wait spent in place for a limiter slot or a Retry-After. @default 30000 */
	maxWaitInPlaceMs?: number;
	logger?: XeroLogger;
	sleep?: (ms: number) => Promise<void>;
}

export interface XeroLogger {
	debug(message: string, meta?: Record<string, unknown>): void;
	warn(message: string, meta?: Record<string, unknown>): void;
}

export interface XeroResponse<T> {
	body: T;
	/** Xero's JSON as sent, before xero-node's models drop fields such as line-level errors. */
	raw: unknown;
	headers: Record<string, unknown>;
}

type XeroNodeResult<T> = { body: T; response: { headers: unknown; data?: unknown } };

/**
 * One tenant's Xero, called through the shared limiter with a timeout, jittered backoff and
 * one token refresh on 401.
 */
export class XeroClient {
	readonly tenantId: string;
	private readonly scope: LimiterScope;
	private readonly timeoutMs: number;

	constructor(private readonly options: XeroClientOptions) {
		this.tenantId = options.tenantId;
		this.scope = { tenantId: options.tenantId || 'default', appId: options.appId };
		this.timeoutMs = options.timeoutMs ?? 30_000;
	}

	/**
	 * Runs one xero-node call. `call` receives the API and the tenant id, and must pass
	 * `tenantId` and its options through unchanged.
	 *
	 * @throws XeroApiError once retries are spent, the failure is not retryable, or the wait the
	 * server asks for is longer than `maxWaitInPlaceMs` (then `retryAfterMs` says how long).
	 */
	async request<T>(
		operation: string,
		call: (api: AccountingApi, tenantId: string) => Promise<XeroNodeResult<T>>,
	): Promise<XeroResponse<T>> {
		const maxWait = this.options.maxWaitInPlaceMs ?? 30_000;
		let refreshedToken = false;
		return await withRetry(
			async () => {
				try {
					return await this.once(operation, call);
				} catch (error) {
					// A 401 with a cached token usually means it was revoked or rotated: one fresh
					// token, then the error stands.
					if (error instanceof XeroApiError && error.reason === 'unauthorized' && !refreshedToken) {
						refreshedToken = true;
						return await this.once(operation, call);
					}
					throw error;
				}
			},
			{
				policy: this.options.backoff ?? { baseMs: 500, capMs: 20_000 },
				maxAttempts: this.options.maxAttempts ?? 5,
				maxWaitInPlaceMs: maxWait,
				sleep: this.options.sleep,
				classify: (error) => {
					if (!(error instanceof XeroApiError)) return { retryable: false };
					if (error.reason === 'daily_limit') return { retryable: false };
					return { retryable: error.retryable, retryAfterMs: error.retryAfterMs };
				},
				onRetry: ({ attempt, delayMs, error }) =>
					this.options.logger?.warn('Xero call failed; retrying', {
						operation,
						attempt,
						delayMs,
						reason: error instanceof XeroApiError ? error.reason : 'unknown',
						status: error instanceof XeroApiError ? error.status : undefined,
					}),
			},
		);
	}

	private async once<T>(
		operation: string,
		call: (api: AccountingApi, tenantId: string) => Promise<XeroNodeResult<T>>,
	): Promise<XeroResponse<T>> {
		const token = await this.options.tokens.getToken();
		const slot = await this.acquireSlot(operation);
		let headers: Record<string, unknown> = {};
		try {
			// A fresh API object per call: xero-node applies authentication asynchronously, so a
			// shared one could send a concurrent call's token after a refresh.
			const api = new AccountingApi(this.options.apiBaseUrl);
			api.setDefaultAuthentication(new CallSettings({ token, timeoutMs: this.timeoutMs }));
			const result = await call(api, this.options.tenantId);
			headers = lowerCaseKeys((result.response.headers ?? {}) as Record<string, unknown>);
			return { body: result.body, raw: result.response.data, headers };
		} catch (reason) {
			const rejection = parseXeroRejection(reason);
			headers = rejection.headers;
			const error = classifyRejection(rejection, operation);
			if (error.reason === 'unauthorized') await this.options.tokens.invalidate(token);
			if (error.status === 429 && error.retryAfterMs) {
				// Every process holds off this tenant, not only the one that got the 429.
				await this.bestEffort(async () => {
					await this.options.limiter.block(
						this.scope,
						error.retryAfterMs!,
						error.rateLimitProblem ?? 'minute',
					);
				});
			}
			throw error;
		} finally {
			// The call is done either way: a bookkeeping failure must not turn it into an error.
			// An unreleased slot frees itself when its lease runs out.
			await this.bestEffort(async () => await this.options.limiter.release(this.scope, slot));
			await this.bestEffort(async () => await this.observeRemaining(headers));
		}
	}

	/**
	 * Runs a limiter step; when Redis is unreachable the call is not sent (Xero's limits cannot be
	 * kept without the shared count) and the failure is retryable.
	 */
	private async limiterStep<T>(step: () => Promise<T>): Promise<T> {
		try {
			return await step();
		} catch (error) {
			throw new XeroApiError({
				message: `The shared Xero rate limiter in Redis is unreachable (${(error as Error).message}); the call was not sent`,
				status: 0,
				reason: 'limiter_unavailable',
				retryable: true,
			});
		}
	}

	private async bestEffort(step: () => Promise<void>): Promise<void> {
		try {
			await step();
		} catch (error) {
			this.options.logger?.warn('Xero limiter bookkeeping failed', {
				error: (error as Error).message,
			});
		}
	}

	/** Waits in place for a limiter slot, or fails retryably when the wait would be long. */
	private async acquireSlot(operation: string): Promise<string> {
		const maxWait = this.options.maxWaitInPlaceMs ?? 30_000;
		const sleep = this.options.sleep ?? defaultSleep;
		let waited = 0;
		for (;;) {
			const result = await this.limiterStep(() => this.options.limiter.tryAcquire(this.scope));
			if (result.granted) return result.token;
			if (result.problem === 'day') {
				throw new XeroApiError({
					message: `The daily Xero call budget for this organisation is used up; calls resume in ${Math.ceil(result.waitMs / 60_000)} min`,
					status: 429,
					reason: 'daily_limit',
					retryable: true,
					retryAfterMs: result.waitMs,
					rateLimitProblem: 'day',
				});
			}
			if (waited + result.waitMs > maxWait) {
				throw new XeroApiError({
					message: `Xero's ${result.problem} limit for this organisation is reached; ${operation} should be retried in ${Math.ceil(result.waitMs / 1000)} s`,
					status: 429,
					reason: 'rate_limited',
					retryable: true,
					retryAfterMs: result.waitMs,
					rateLimitProblem: result.problem,
				});
			}
			// A little jitter keeps waiting processes from all retrying on the same millisecond.
			const delay = result.waitMs + Math.floor(Math.random() * 20);
			waited += delay;
			await sleep(delay);
		}
	}

	/** Honours Xero's own remaining counts, which also include other apps on the same tenant. */
	private async observeRemaining(headers: Record<string, unknown>): Promise<void> {
		const minute = Number(headers['x-minlimit-remaining']);
		const app = Number(headers['x-appminlimit-remaining']);
		if (headers['x-minlimit-remaining'] !== undefined && minute <= 0) {
			await this.options.limiter.block(this.scope, 1_000, 'minute');
		}
		if (headers['x-appminlimit-remaining'] !== undefined && app <= 0) {
			await this.options.limiter.block(this.scope, 1_000, 'appminute');
		}
		const day = Number(headers['x-daylimit-remaining']);
		if (headers['x-daylimit-remaining'] !== undefined && day <= 0) {
			const now = Date.now();
			await this.options.limiter.block(this.scope, 86_400_000 - (now % 86_400_000), 'day');
		}
		if (Number.isFinite(minute) && minute <= 5) {
			this.options.logger?.debug('Xero minute budget nearly used', { minuteRemaining: minute });
		}
	}
}

/**
 * Puts the bearer token and the per-call timeout on the request xero-node builds. xero-node
 * hands every request's axios options to its default authentication, which makes this the one
 * place to set a timeout per client without touching the shared axios defaults.
 */
class CallSettings implements Authentication {
	constructor(private readonly settings: { token: string; timeoutMs: number }) {}

	applyToRequest(requestOptions: Parameters<Authentication['applyToRequest']>[0]): void {
		requestOptions.headers = {
			...requestOptions.headers,
			Authorization: `Bearer ${this.settings.token}`,
		};
		requestOptions.timeout = this.settings.timeoutMs;
		requestOptions.signal = AbortSignal.timeout(this.settings.timeoutMs + 1_000);
		// Xero never redirects API calls; a redirect would carry the token somewhere else.
		requestOptions.maxRedirects = 0;
	}
}

async function defaultSleep(ms: number): Promise<void> {
	await new Promise<void>((resolve) => setTimeout(resolve, ms));
}
