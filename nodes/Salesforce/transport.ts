import { PassThrough } from 'node:stream';
import { Connection } from 'jsforce';
import { Transport } from 'jsforce/lib/transport';
import { StreamPromise } from 'jsforce/lib/util/promise';
import type { HttpRequest, HttpResponse } from 'jsforce/lib/types';

import { withRetry, type BackoffPolicy } from '../shared/backoff';
import {
	mintSession,
	SalesforceAuthError,
	SessionCache,
	sessionCacheKey,
	trimSlash,
	type HttpRequestSpec,
	type HttpResponseSpec,
	type HttpSend,
	type SalesforceSession,
	type TokenAuthConfig,
} from './auth';
import { classifySalesforceError, type SalesforceFailure } from './classify';

/**
 * The Salesforce transport: a jsforce Connection whose HTTP goes through one `HttpSend` (plain
 * fetch, or n8n's authenticated request helper for n8n-managed OAuth2), with our own session
 * handling and one retry policy.
 *
 * jsforce on its own retries GET, PUT and DELETE on 5xx/429 with an unjittered backoff and never
 * retries POST or PATCH. We replace that transport so there is exactly one policy: full-jitter
 * backoff from `withRetry`, applied only to calls that are idempotent (reads, update by id,
 * upsert by external id), never to a plain create.
 */

export const DEFAULT_API_VERSION = '62.0';

export interface ApiUsage {
	used: number;
	limit: number;
}

export interface RetrySettings {
	/** Total tries including the first. */
	maxAttempts: number;
	policy: BackoffPolicy;
	/** Longer waits are not slept through; the error goes to the Retry Queue instead. */
	maxWaitInPlaceMs: number;
}

export const DEFAULT_RETRY: RetrySettings = {
	maxAttempts: 4,
	policy: { baseMs: 500, capMs: 8_000 },
	maxWaitInPlaceMs: 30_000,
};

export interface TransportLogger {
	debug(message: string, meta?: Record<string, unknown>): void;
	warn(message: string, meta?: Record<string, unknown>): void;
}

export type SalesforceAuthSetup =
	/** n8n signs each request and refreshes the OAuth2 token on a 401 (once). */
	| { kind: 'n8n'; instanceUrl: string }
	/** This package mints and caches the session. */
	| { kind: 'token'; config: TokenAuthConfig; instanceUrl?: string };

export interface SalesforceClientOptions {
	send: HttpSend;
	auth: SalesforceAuthSetup;
	/** Always set: jsforce would otherwise talk API 50.0. @default '62.0' */
	apiVersion?: string;
	retry?: RetrySettings;
	logger?: TransportLogger;
	/** @default a per-process cache shared by every client */
	sessionCache?: SessionCache;
	sleep?: (ms: number) => Promise<void>;
}

/** A failed Salesforce call, classified; carries no token, key or secret. */
export class SalesforceCallError extends Error {
	readonly failure: SalesforceFailure;
	readonly attempts: number;
	readonly operation: string;

	constructor(options: { failure: SalesforceFailure; attempts: number; operation: string }) {
		super(options.failure.message);
		this.name = 'SalesforceCallError';
		this.failure = options.failure;
		this.attempts = options.attempts;
		this.operation = options.operation;
	}
}

export interface UpsertOutcome {
	id: string;
	created: boolean;
	/** 201 when the record was created, 200 when an existing one was updated. */
	statusCode: 201 | 200;
}

export interface QueryPage<T> {
	totalSize: number;
	done: boolean;
	nextRecordsUrl?: string;
	records: T[];
}

/**
 * Sends with Node's fetch. Resolves for every HTTP status; rejects on transport failure or when
 * no answer arrives within `timeoutMs` (a TimeoutError, which the retry policy treats as network).
 */
export function fetchSend(options: { timeoutMs: number }): HttpSend {
	return async (request) => {
		const response = await fetch(request.url, {
			method: request.method,
			headers: request.headers,
			body: request.body,
			redirect: 'manual',
			signal: AbortSignal.timeout(options.timeoutMs),
		});
		const headers: Record<string, string> = {};
		response.headers.forEach((value, name) => {
			headers[name.toLowerCase()] = value;
		});
		return { statusCode: response.status, headers, body: await response.text() };
	};
}

/** A jsforce transport that hands each request to an HttpSend and never retries by itself. */
class SendTransport extends Transport {
	constructor(private readonly send: HttpSend) {
		super();
	}

	httpRequest(request: HttpRequest): StreamPromise<HttpResponse> {
		return StreamPromise.create(() => {
			const stream = new PassThrough();
			const promise = this.send(toSpec(request)).then((response) => {
				stream.end(response.body);
				return response;
			});
			// The stream is only read by callers that ask for it; an unread error must not crash.
			promise.catch(() => stream.destroy());
			return { stream, promise };
		});
	}
}

function toSpec(request: HttpRequest): HttpRequestSpec {
	const headers: Record<string, string> = {};
	for (const [name, value] of Object.entries(request.headers ?? {})) {
		// fetch computes the length itself; a stale one after a token swap would break the body.
		if (name.toLowerCase() !== 'content-length') headers[name] = String(value);
	}
	const body = request.body;
	return {
		method: request.method,
		url: request.url,
		headers,
		body: body === null || body === undefined ? undefined : String(body),
	};
}

/** Whether a 401 is an expired or invalid session, as opposed to an app or IP restriction. */
function isSessionRejection(response: HttpResponseSpec): boolean {
	return (
		response.statusCode === 401 &&
		!/This session is not valid for use with the REST API|Connected app is not attached/.test(
			response.body,
		)
	);
}

/**
 * One Salesforce org, as seen by one execution. Every method throws SalesforceCallError.
 */
export class SalesforceClient {
	readonly apiVersion: string;
	private readonly retry: RetrySettings;
	private readonly cache: SessionCache;
	private connectionPromise?: Promise<Connection>;
	private lastUsage?: ApiUsage;

	constructor(private readonly options: SalesforceClientOptions) {
		this.apiVersion = options.apiVersion?.trim() || DEFAULT_API_VERSION;
		if (!/^\d{2,3}\.0$/.test(this.apiVersion)) {
			throw new Error(`API version "${this.apiVersion}" is not valid; use a value like "62.0"`);
		}
		this.retry = options.retry ?? DEFAULT_RETRY;
		this.cache = options.sessionCache ?? new SessionCache();
	}

	/** API usage from the last `Sforce-Limit-Info` header, or undefined before any data call. */
	apiUsage(): ApiUsage | undefined {
		return this.lastUsage;
	}

	/** Runs a SOQL query and follows nextRecordsUrl until `limit` records or the end. */
	async query<T = Record<string, unknown>>(
		soql: string,
		options: { limit?: number } = {},
	): Promise<{ records: T[]; totalSize: number; done: boolean }> {
		const limit = options.limit ?? Number.POSITIVE_INFINITY;
		let page = await this.call('query', true, async (connection) =>
			connection.request<QueryPage<T>>(`/query?q=${encodeURIComponent(soql)}`),
		);
		const records = [...page.records];
		while (!page.done && page.nextRecordsUrl && records.length < limit) {
			const next = page.nextRecordsUrl;
			page = await this.call('queryMore', true, async (connection) =>
				connection.request<QueryPage<T>>(next),
			);
			records.push(...page.records);
		}
		const done = page.done && records.length <= limit;
		return { records: records.slice(0, limit), totalSize: page.totalSize, done };
	}

	/** Reads one record by id; `fields` empty means all fields. */
	async retrieve(
		sobject: string,
		id: string,
		fields: string[] = [],
	): Promise<Record<string, unknown>> {
		const query = fields.length > 0 ? `?fields=${fields.map(encodeURIComponent).join(',')}` : '';
		return await this.call('retrieve', true, async (connection) =>
			connection.request<Record<string, unknown>>(
				`/sobjects/${encodeURIComponent(sobject)}/${encodeURIComponent(id)}${query}`,
			),
		);
	}

	/** Creates a record. Never retried in place: a repeat could create a second record. */
	async create(sobject: string, fields: Record<string, unknown>): Promise<{ id: string }> {
		const result = await this.call('create', false, async (connection) =>
			connection.request<{ id: string }>({
				method: 'POST',
				url: `/sobjects/${encodeURIComponent(sobject)}`,
				body: JSON.stringify(fields),
				headers: { 'content-type': 'application/json' },
			}),
		);
		return { id: result.id };
	}

	/** Updates a record by id (PATCH, idempotent, so retried on transient faults). */
	async update(sobject: string, id: string, fields: Record<string, unknown>): Promise<void> {
		await this.call('update', true, async (connection) =>
			connection.request(
				{
					method: 'PATCH',
					url: `/sobjects/${encodeURIComponent(sobject)}/${encodeURIComponent(id)}`,
					body: JSON.stringify(fields),
					headers: { 'content-type': 'application/json' },
				},
				{ noContentResponse: {} },
			),
		);
	}

	/**
	 * Upserts by external id. 201 means created, 200 updated; several matching records (HTTP 300)
	 * throw a SalesforceCallError with reason `multiple_matches`.
	 */
	async upsert(options: {
		sobject: string;
		externalIdField: string;
		externalId: string;
		fields: Record<string, unknown>;
	}): Promise<UpsertOutcome> {
		const { sobject, externalIdField, externalId, fields } = options;
		const url = [
			'/sobjects',
			encodeURIComponent(sobject),
			encodeURIComponent(externalIdField),
			encodeURIComponent(externalId),
		].join('/');
		const result = await this.call('upsert', true, async (connection) =>
			connection.request<{ id?: string; created?: boolean }>(
				{
					method: 'PATCH',
					url,
					body: JSON.stringify(fields),
					headers: { 'content-type': 'application/json' },
				},
				{ noContentResponse: {} },
			),
		);
		const created = result?.created === true;
		let id = result?.id;
		if (!id) {
			// Before API 46.0 an update answers 204 with no body; look the id up.
			const found = await this.query<{ Id: string }>(
				`SELECT Id FROM ${sobject} WHERE ${externalIdField} = '${escapeSoql(externalId)}' LIMIT 2`,
			);
			id = found.records[0]?.Id ?? '';
		}
		return { id, created, statusCode: created ? 201 : 200 };
	}

	/** Whether an object has a field (describe, cached per org and version in this process). */
	async hasField(sobject: string, field: string): Promise<boolean> {
		return await this.call('describe', true, async (connection) => {
			const key = `${connection.instanceUrl}|${this.apiVersion}|${sobject}`;
			let fields = describeCache.get(key);
			if (!fields) {
				const result = await connection.request<{ fields: Array<{ name: string }> }>(
					`/sobjects/${encodeURIComponent(sobject)}/describe`,
				);
				fields = new Set(result.fields.map((entry) => entry.name.toLowerCase()));
				describeCache.set(key, fields);
			}
			return fields.has(field.toLowerCase());
		});
	}

	/** Checks that the credentials give a working REST session (the credential Test button). */
	async verify(): Promise<void> {
		await this.call('limits', true, async (connection) => connection.request('/limits'));
	}

	private async call<T>(
		operation: string,
		idempotent: boolean,
		fn: (connection: Connection) => Promise<T>,
	): Promise<T> {
		let attempts = 0;
		try {
			return await withRetry(
				async () => {
					attempts += 1;
					const connection = await this.connection();
					try {
						return await fn(connection);
					} finally {
						this.readUsage(connection);
					}
				},
				{
					policy: this.retry.policy,
					maxAttempts: this.retry.maxAttempts,
					maxWaitInPlaceMs: this.retry.maxWaitInPlaceMs,
					sleep: this.options.sleep,
					classify: (error) => {
						const failure = classifySalesforceError(error);
						return {
							retryable: idempotent && failure.retryInPlace,
							retryAfterMs: failure.retryAfterMs,
						};
					},
					onRetry: ({ attempt, delayMs, error }) => {
						const failure = classifySalesforceError(error);
						this.options.logger?.warn('Salesforce call failed, retrying', {
							operation,
							attempt,
							delayMs,
							reason: failure.reason,
							errorCode: failure.errorCode,
						});
					},
				},
			);
		} catch (error) {
			const failure = classifySalesforceError(error);
			if (!idempotent && failure.reason === 'network') {
				// No answer to a create: it may have been written. Repeating it blindly could
				// duplicate the record, so this is for a person (or an upsert) to settle.
				failure.retryable = false;
				failure.message = `${failure.message} (no answer from Salesforce; the record may or may not have been created)`;
			}
			throw new SalesforceCallError({ failure, attempts, operation });
		}
	}

	private readUsage(connection: Connection): void {
		const usage = connection.limitInfo?.apiUsage;
		if (usage) this.lastUsage = { used: usage.used, limit: usage.limit };
	}

	private async connection(): Promise<Connection> {
		this.connectionPromise ??= this.openConnection();
		try {
			return await this.connectionPromise;
		} catch (error) {
			// A failed login must not stick: the next call tries again.
			this.connectionPromise = undefined;
			throw error;
		}
	}

	private async openConnection(): Promise<Connection> {
		const { auth } = this.options;
		if (auth.kind === 'n8n') {
			return this.makeConnection(trimSlash(auth.instanceUrl), this.options.send);
		}
		const session = await this.session(auth.config);
		const instanceUrl = trimSlash(auth.instanceUrl || session.instanceUrl);
		return this.makeConnection(instanceUrl, this.authorizedSend(auth.config));
	}

	private makeConnection(instanceUrl: string, send: HttpSend): Connection {
		const connection = new Connection({ instanceUrl, version: this.apiVersion });
		// Replace jsforce's retrying fetch transport (see the file comment).
		connection._transport = new SendTransport(send);
		return connection;
	}

	/** Adds the cached token; on a rejected session, mints a new one and tries exactly once more. */
	private authorizedSend(config: TokenAuthConfig): HttpSend {
		const key = sessionCacheKey(config);
		const withToken = (request: HttpRequestSpec, token: string): HttpRequestSpec => ({
			...request,
			headers: { ...request.headers, Authorization: `Bearer ${token}` },
		});
		return async (request) => {
			const session = await this.session(config);
			const first = await this.options.send(withToken(request, session.accessToken));
			if (!isSessionRejection(first)) return first;

			this.options.logger?.debug('Salesforce session rejected, getting a new one', {
				mode: config.mode,
			});
			this.cache.invalidate(key, session.accessToken);
			const fresh = await this.session(config);
			return await this.options.send(withToken(request, fresh.accessToken));
		};
	}

	private async session(config: TokenAuthConfig): Promise<SalesforceSession> {
		return await this.cache.get(sessionCacheKey(config), config.sessionTtlMs, async () =>
			withRetry(async () => mintSession(config, this.options.send, soapLogin(this.options.send)), {
				policy: this.retry.policy,
				maxAttempts: this.retry.maxAttempts,
				maxWaitInPlaceMs: this.retry.maxWaitInPlaceMs,
				sleep: this.options.sleep,
				classify: (error) => ({ retryable: classifySalesforceError(error).retryInPlace }),
			}),
		);
	}
}

const describeCache = new Map<string, Set<string>>();

/** SOAP login through jsforce (it knows the envelope), over our transport. */
function soapLogin(send: HttpSend) {
	return async (options: {
		loginUrl: string;
		username: string;
		password: string;
		apiVersion: string;
	}): Promise<SalesforceSession> => {
		const connection = new Connection({ loginUrl: options.loginUrl, version: options.apiVersion });
		connection._transport = new SendTransport(send);
		try {
			await connection.loginBySoap(options.username, options.password);
		} catch (error) {
			const message = error instanceof Error ? error.message : String(error);
			if (/INVALID_LOGIN|LOGIN_MUST_USE_SECURITY_TOKEN|expired/.test(message)) {
				throw new SalesforceAuthError({
					oauthError: 'INVALID_LOGIN',
					description: message,
					// SOAP faults come back as HTTP 500; this one is a refusal, not an outage.
					statusCode: 401,
				});
			}
			throw error;
		}
		return { accessToken: connection.accessToken ?? '', instanceUrl: connection.instanceUrl };
	};
}

/** Escapes a value for a single-quoted SOQL string literal. */
export function escapeSoql(value: string): string {
	return value.replace(/[\\']/g, (char) => `\\${char}`);
}
