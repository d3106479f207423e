import { createHash } from 'node:crypto';
import {
	NodeApiError,
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type ILoadOptionsFunctions,
	type INode,
	type JsonObject,
} from 'n8n-workflow';

import { markError } from '../shared/errors';
import { getRedisClient, redisKeyPrefix, type RedisCredentialData } from '../shared/redis';
import {
	DEFAULT_XERO_LIMITS,
	MemoryXeroLimiter,
	RedisXeroLimiter,
	type XeroLimits,
} from './limiter';
import {
	MemoryContactCache,
	RedisAttemptLog,
	RedisContactCache,
	type DedupeSearch,
	type OperationContext,
} from './operations';
import {
	ClientCredentialsTokenProvider,
	DEFAULT_API_BASE_URL,
	DEFAULT_CONNECTIONS_URL,
	DEFAULT_TOKEN_URL,
	XeroApiError,
	XeroClient,
	type XeroTokenProvider,
} from './transport';

/**
 * The n8n side of the Dealflow Xero node: credentials into a {@link XeroClient}, tenants for the
 * tenant picker, and our errors into n8n errors carrying the retry contract.
 */

export type AuthMode = 'customConnection' | 'oAuth2';

export const CUSTOM_CREDENTIAL = 'dealflowXeroCustomConnectionApi';
export const OAUTH2_CREDENTIAL = 'dealflowXeroOAuth2Api';
export const REDIS_CREDENTIAL = 'dealflowRedisApi';

interface XeroCredentialData {
	clientId?: string;
	clientSecret?: string;
	tenantId?: string;
	dailyCallLimit?: number;
	apiBaseUrl?: string;
	tokenUrl?: string;
	connectionsUrl?: string;
	oauthTokenData?: { access_token?: string };
}

type CredentialReader = Pick<IExecuteFunctions, 'getCredentials' | 'helpers'>;

/**
 * The OAuth2 credential's access token, as n8n stores it. After a 401, one authenticated call
 * through n8n's own request helper makes n8n refresh and save the token; the next read sees it.
 */
class N8nOAuth2Tokens implements XeroTokenProvider {
	constructor(
		private readonly fns: CredentialReader,
		private readonly connectionsUrl: string,
	) {}

	async getToken(): Promise<string> {
		const data = (await this.fns.getCredentials(OAUTH2_CREDENTIAL)) as XeroCredentialData;
		const token = data.oauthTokenData?.access_token;
		if (!token)
			throw new Error(
				'The Xero OAuth2 credential is not connected yet: open it and click "Connect my account"',
			);
		return token;
	}

	async invalidate(): Promise<void> {
		await this.fns.helpers.httpRequestWithAuthentication.call(
			this.fns as IExecuteFunctions,
			OAUTH2_CREDENTIAL,
			{ method: 'GET', url: this.connectionsUrl, json: true },
		);
	}
}

function hashId(value: string): string {
	return createHash('sha256').update(value).digest('hex').slice(0, 16);
}

async function readCredential(fns: CredentialReader, mode: AuthMode): Promise<XeroCredentialData> {
	return (await fns.getCredentials(
		mode === 'oAuth2' ? OAUTH2_CREDENTIAL : CUSTOM_CREDENTIAL,
	)) as XeroCredentialData;
}

const memoryLimiters = new Map<string, MemoryXeroLimiter>();

/** One in-memory limiter per process and set of limits, so executions share its counts. */
function processLimiter(limits: XeroLimits): MemoryXeroLimiter {
	const key = JSON.stringify(limits);
	let limiter = memoryLimiters.get(key);
	if (!limiter) {
		limiter = new MemoryXeroLimiter(limits);
		memoryLimiters.set(key, limiter);
	}
	return limiter;
}

export interface NodeSettings {
	mode: AuthMode;
	useRedis: boolean;
	tenantId: string;
	options: IDataObject;
}

/** Builds the operation context for one execution; throws only for missing credentials. */
export async function buildContext(
	fns: IExecuteFunctions,
	settings: NodeSettings,
): Promise<OperationContext> {
	const credential = await readCredential(fns, settings.mode);
	const options = settings.options;
	const redisData = settings.useRedis
		? ((await fns.getCredentials(REDIS_CREDENTIAL)) as RedisCredentialData)
		: undefined;
	const redis = redisData ? getRedisClient(redisData, 'commands') : undefined;
	const keyPrefix = redisData ? redisKeyPrefix(redisData) : 'dealflow';

	const limits: XeroLimits = {
		...DEFAULT_XERO_LIMITS,
		minuteLimit: Number(options.minuteLimit ?? DEFAULT_XERO_LIMITS.minuteLimit),
		windowMs: Number(options.windowSeconds ?? 60) * 1000,
		concurrentLimit: Number(options.concurrentLimit ?? DEFAULT_XERO_LIMITS.concurrentLimit),
		dayLimit: Number(credential.dailyCallLimit || DEFAULT_XERO_LIMITS.dayLimit),
	};
	const limiter = redis
		? new RedisXeroLimiter(redis, { keyPrefix, limits })
		: processLimiter(limits);
	const timeoutMs = Number(options.timeoutMs ?? 30_000);
	const connectionsUrl = credential.connectionsUrl || DEFAULT_CONNECTIONS_URL;
	const tokens: XeroTokenProvider =
		settings.mode === 'oAuth2'
			? new N8nOAuth2Tokens(fns, connectionsUrl)
			: new ClientCredentialsTokenProvider({
					clientId: credential.clientId ?? '',
					clientSecret: credential.clientSecret ?? '',
					tokenUrl: credential.tokenUrl || DEFAULT_TOKEN_URL,
					timeoutMs,
					redis,
					keyPrefix,
				});

	const logger = fns.logger;
	return {
		client: new XeroClient({
			apiBaseUrl: (credential.apiBaseUrl || DEFAULT_API_BASE_URL).replace(/\/+$/, ''),
			tenantId: settings.tenantId || credential.tenantId || '',
			appId: hashId(credential.clientId ?? settings.mode),
			tokens,
			limiter,
			timeoutMs,
			maxAttempts: Number(options.maxAttempts ?? 5),
			maxWaitInPlaceMs: Number(options.maxWaitInPlaceSeconds ?? 30) * 1000,
			logger: {
				debug: (message, meta) => logger.debug(message, meta),
				warn: (message, meta) => logger.warn(message, meta),
			},
		}),
		contacts: redis ? new RedisContactCache(redis, keyPrefix) : new MemoryContactCache(),
		// Without Redis there is no durable attempt record, so every create searches first.
		dedupeSearch: redis ? ((options.dedupeSearch as DedupeSearch) ?? 'always') : 'always',
		attempts: redis ? new RedisAttemptLog(redis, keyPrefix) : undefined,
		contactCacheSeconds: Number(options.contactCacheSeconds ?? 3600),
	};
}

const connectionsSchemaGuard = (
	value: unknown,
): Array<{ tenantId: string; tenantName?: string }> =>
	Array.isArray(value)
		? value.filter(
				(c): c is { tenantId: string; tenantName?: string } =>
					!!c &&
					typeof c === 'object' &&
					typeof (c as { tenantId?: unknown }).tenantId === 'string',
			)
		: [];

/**
 * The organisations the credential may use, from Xero's /connections.
 *
 * @throws Error naming the cause when the token or the connections call fails.
 */
export async function listTenants(
	fns: ILoadOptionsFunctions,
): Promise<Array<{ name: string; value: string }>> {
	const mode = fns.getNodeParameter('authentication', 'customConnection') as AuthMode;
	const credential = (await fns.getCredentials(
		mode === 'oAuth2' ? OAUTH2_CREDENTIAL : CUSTOM_CREDENTIAL,
	)) as XeroCredentialData;
	const url = credential.connectionsUrl || DEFAULT_CONNECTIONS_URL;
	let body: unknown;
	if (mode === 'oAuth2') {
		body = await fns.helpers.httpRequestWithAuthentication.call(fns, OAUTH2_CREDENTIAL, {
			method: 'GET',
			url,
			json: true,
		});
	} else {
		body = await fetchConnections({ credential, url });
	}
	return connectionsSchemaGuard(body).map((c) => ({
		name: c.tenantName ?? c.tenantId,
		value: c.tenantId,
	}));
}

/**
 * Fetches /connections with a fresh client-credentials token; used by the tenant list and the
 * credential test.
 *
 * @throws XeroApiError when the token is refused, or Error with the HTTP status otherwise.
 */
export async function fetchConnections(options: {
	credential: XeroCredentialData;
	url: string;
	accessToken?: string;
}): Promise<unknown> {
	const { credential } = options;
	const token =
		options.accessToken ??
		(await new ClientCredentialsTokenProvider({
			clientId: credential.clientId ?? '',
			clientSecret: credential.clientSecret ?? '',
			tokenUrl: credential.tokenUrl || DEFAULT_TOKEN_URL,
			timeoutMs: 15_000,
		}).getToken());
	const response = await fetch(options.url, {
		headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
		signal: AbortSignal.timeout(15_000),
	});
	if (!response.ok) throw new Error(`Xero's connections endpoint answered HTTP ${response.status}`);
	return await response.json();
}

/**
 * Turns any failure into an n8n error marked for the Retry Queue. The error data holds the
 * status, reason and Xero's messages only: never a header, never a token.
 */
export function toNodeError(
	node: INode,
	error: unknown,
	itemIndex: number,
): NodeApiError | NodeOperationError {
	if (error instanceof NodeApiError || error instanceof NodeOperationError) return error;
	if (error instanceof XeroApiError) {
		const data: JsonObject = {
			status: error.status,
			reason: error.reason,
			messages: error.messages,
			...(error.rateLimitProblem ? { rateLimitProblem: error.rateLimitProblem } : {}),
		};
		const apiError = new NodeApiError(node, data, {
			message: error.message,
			description: describeFix(error),
			httpCode: error.status ? String(error.status) : undefined,
			itemIndex,
		});
		return markError(apiError, {
			retryable: error.retryable,
			retryAfterMs: error.retryAfterMs,
			reason: error.reason,
			service: 'xero',
		});
	}
	const message = error instanceof Error ? error.message : String(error);
	return markError(new NodeOperationError(node, message, { itemIndex }), {
		retryable: false,
		reason: 'internal',
		service: 'xero',
	});
}

function describeFix(error: XeroApiError): string {
	switch (error.reason) {
		case 'validation':
			return 'Fix the order or the node settings (account codes, tax types, item codes); retrying the same data fails the same way.';
		case 'rate_limited':
			return 'Xero asked us to slow down. The Retry Queue can run this item again after retryAfterMs.';
		case 'daily_limit':
			return "The organisation's daily Xero budget is spent; calls resume after midnight UTC.";
		case 'unauthorized':
		case 'token':
			return 'Check the Xero credential: client id and secret, or reconnect the OAuth2 account.';
		case 'idempotency_conflict':
			return 'This order was sent moments ago with different invoice data. Retry after retryAfterMs: by then Xero has forgotten the key, and an invoice that did land is found by its reference.';
		case 'limiter_unavailable':
			return 'Check the Redis credential: without the shared limiter no call is sent to Xero.';
		case 'forbidden':
			return 'Check the tenant id and that the connection may use this organisation.';
		default:
			return error.retryable ? 'A temporary failure; a later retry can succeed.' : '';
	}
}

/** A bad-input error raised before any call; never retryable. */
export function inputError(node: INode, problems: string[], itemIndex: number): NodeOperationError {
	const error = new NodeOperationError(
		node,
		`The input cannot be invoiced: ${problems.join('; ')}`,
		{
			itemIndex,
			description:
				'Fix the order (or the node settings) and run it again; nothing was sent to Xero.',
		},
	);
	return markError(error, { retryable: false, reason: 'invalid_input', service: 'xero' });
}
