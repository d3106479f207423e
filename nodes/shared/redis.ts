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
		const url = new URL(data.url);
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
	await Promise.allSettled(all.map(async (client) => await client.quit()));
}

function fingerprintCredential(data: RedisCredentialData): string {
	const canonical = JSON.stringify(Object.entries(data).sort(([a], [b]) => a.localeCompare(b)));
	return createHash('sha256').update(canonical).digest('hex').slice(0, 32);
}
