import { createHash } from 'node:crypto';
import Redis, { type RedisOptions } from 'ioredis';

/**
 * Redis connections for the dealflow nodes: one shared client per credential and purpose in
 * each process, so a 1,000-item execution or a busy trigger never opens a socket per item.
 */

/** The fields of the `dealflowRedisApi` credential, as n8n hands them to a node. */
export interface RedisCredentialData {
	connectionType?: 'url' | 'fields';
	url?: string;
	host?: string;
	port?: number;
	database?: number;
	username?: string;
	password?: string;
	tls?: boolean;
	tlsCa?: string;
	tlsRejectUnauthorized?: boolean;
	keyPrefix?: string;
}

/**
 * `commands`: short request/response use (the gate, the limiter); fails fast when Redis is down.
 * `bullmq`: BullMQ queues and workers, which need `maxRetriesPerRequest: null` for blocking calls.
 */
export type RedisPurpose = 'commands' | 'bullmq';

const clients = new Map<string, Redis>();

/** Builds ioredis options from the credential; pure, so it can be tested without a server. */
export function toRedisOptions(data: RedisCredentialData, purpose: RedisPurpose): RedisOptions {
	const options: RedisOptions = {
		connectTimeout: 5_000,
		lazyConnect: false,
		// Keeps a restarted Redis or a network blip from becoming an unhandled error event.
		retryStrategy: (times) => Math.min(times * 200, 2_000),
	};

	if (purpose === 'commands') {
		// Fail closed and fast: a command that cannot reach Redis errors instead of waiting.
		options.maxRetriesPerRequest = 1;
		options.commandTimeout = 5_000;
	} else {
		options.maxRetriesPerRequest = null;
	}

	if (data.connectionType === 'url' && data.url) {
		const url = parseRedisUrl(data.url);
		options.host = url.hostname;
		options.port = url.port ? Number(url.port) : 6379;
		if (url.username) options.username = decodeURIComponent(url.username);
		if (url.password) options.password = decodeURIComponent(url.password);
		const db = url.pathname.replace(/^\//, '');
		if (db) options.db = Number(db);
		if (url.protocol === 'rediss:') options.tls = {};
	} else {
		options.host = data.host || '127.0.0.1';
		options.port = data.port ?? 6379;
		options.db = data.database ?? 0;
		if (data.username) options.username = data.username;
		if (data.password) options.password = data.password;
	}

	if (data.tls || options.tls) {
		options.tls = {
			...(data.tlsCa ? { ca: data.tlsCa } : {}),
			rejectUnauthorized: data.tlsRejectUnauthorized !== false,
		};
	}
	return options;
}

/**
 * The process-wide client for this credential and purpose, created on first use.
 *
 * The cache key is a hash of the credential, so editing the credential yields a new client,
 * and the key itself holds no secret.
 */
export function getRedisClient(data: RedisCredentialData, purpose: RedisPurpose): Redis {
	const key = `${purpose}:${fingerprintCredential(data)}`;
	const existing = clients.get(key);
	if (existing && existing.status !== 'end') return existing;

	const client = new Redis(toRedisOptions(data, purpose));
	// ioredis emits 'error' on every failed reconnect; without a listener Node would crash.
	client.on('error', () => undefined);
	clients.set(key, client);
	return client;
}

/** The namespace every dealflow key starts with. */
export function redisKeyPrefix(data: RedisCredentialData): string {
	return (data.keyPrefix ?? '').trim() || 'dealflow';
}

/** Closes every cached client; used on shutdown and between tests. */
export async function closeAllRedisClients(): Promise<void> {
	const all = [...clients.values()];
	clients.clear();
	// QUIT needs a live connection; a client still reconnecting to a dead Redis is cut off instead.
	await Promise.allSettled(
		all.map(async (client) => {
			if (client.status === 'ready') await client.quit();
			else client.disconnect();
		}),
	);
}

/**
 * Parses a `redis://` or `rediss://` URL.
 *
 * @throws Error naming the expected form; the message never repeats the URL, which may hold a
 * password.
 */
function parseRedisUrl(raw: string): URL {
	let url: URL;
	try {
		url = new URL(raw.trim());
	} catch {
		throw new Error(
			'The Redis URL in the credential is not a valid URL. Expected redis://[username:password@]host:port/db, or rediss:// for TLS.',
		);
	}
	if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
		throw new Error(
			`The Redis URL in the credential starts with "${url.protocol}//"; it must start with redis:// or rediss:// (TLS).`,
		);
	}
	return url;
}

/** The outcome of {@link testRedisConnection}: `ok`, or a message fit to show the user. */
export type RedisConnectionTestResult = { ok: true } | { ok: false; message: string };

/**
 * Opens a one-off connection (never the cached client), sends PING and closes it, for the
 * credential's Test button.
 *
 * @returns `{ ok: true }` when Redis answered PONG, otherwise a message naming the likely cause.
 * Never throws, and the message never contains the password.
 */
export async function testRedisConnection(
	data: RedisCredentialData,
	options: { timeoutMs?: number } = {},
): Promise<RedisConnectionTestResult> {
	const timeoutMs = options.timeoutMs ?? 5_000;
	let redisOptions: RedisOptions;
	try {
		redisOptions = toRedisOptions(data, 'commands');
	} catch (error) {
		return { ok: false, message: (error as Error).message };
	}
	const where = `${redisOptions.host ?? '127.0.0.1'}:${redisOptions.port ?? 6379}`;
	const client = new Redis({
		...redisOptions,
		lazyConnect: true,
		connectTimeout: timeoutMs,
		commandTimeout: timeoutMs,
		maxRetriesPerRequest: 0,
		// A test answers once; reconnecting would only hide the first failure.
		retryStrategy: () => null,
	});
	// connect() only reports "Connection is closed"; the cause (refused, TLS, auth) comes as an event.
	let lastError: unknown;
	client.on('error', (error) => {
		lastError = error;
	});
	try {
		await client.connect();
		const reply = await client.ping();
		if (reply !== 'PONG')
			return { ok: false, message: `Redis at ${where} answered PING with "${reply}".` };
		return { ok: true };
	} catch (error) {
		return { ok: false, message: describeConnectionFailure(lastError ?? error, where) };
	} finally {
		client.disconnect();
	}
}

function describeConnectionFailure(error: unknown, where: string): string {
	const { code, message } = error as { code?: string; message?: string };
	const text = message ?? String(error);
	if (code === 'ECONNREFUSED') {
		return `Nothing accepts connections at ${where}. Check the host and port, and that Redis is running.`;
	}
	if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
		return `The host name in ${where} does not resolve. Check the host.`;
	}
	if (code === 'ETIMEDOUT' || /timed? ?out/i.test(text)) {
		return `Redis at ${where} did not answer in time. Check the host, port, firewall, and whether TLS must be on or off.`;
	}
	if (/WRONGPASS|NOAUTH|invalid password|invalid username/i.test(text)) {
		return `Redis at ${where} refused the username or password. Check them in the credential.`;
	}
	if (/certificate|self[- ]signed|SSL|TLS/i.test(text)) {
		return `The TLS handshake with ${where} failed (${text}). Add the server's CA certificate, or check that the server speaks TLS.`;
	}
	if (/DB index is out of range/i.test(text)) {
		return `Redis at ${where} has no database with that number. Use a database index the server has (usually 0-15).`;
	}
	return `Could not connect to Redis at ${where}: ${text}`;
}

function fingerprintCredential(data: RedisCredentialData): string {
	const canonical = JSON.stringify(Object.entries(data).sort(([a], [b]) => a.localeCompare(b)));
	return createHash('sha256').update(canonical).digest('hex').slice(0, 32);
}
