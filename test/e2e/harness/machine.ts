// What the harness needs from the machine (free ports, PostgreSQL, Redis), with failures that say
// exactly what is missing and the command that starts it.
import * as net from 'node:net';
import Redis from 'ioredis';
import { Client } from 'pg';

export const POSTGRES = { host: '127.0.0.1', port: 5432, user: 'postgres', adminDatabase: 'test' };
export const REDIS = { host: '127.0.0.1', port: 6379 };

const START_POSTGRES = 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start';
const START_REDIS =
	'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no ' +
	'--dir /var/lib/redis --logfile /var/log/redis/ci.log';

const handedOut = new Set<number>();

/**
 * A TCP port on 127.0.0.1 that nothing listens on right now and that this process has not handed
 * out before (the OS could give the same one twice to back-to-back calls).
 * @returns {Promise<number>} never throws unless the OS refuses to bind
 */
export async function getFreePort(): Promise<number> {
	for (;;) {
		const port = await new Promise<number>((resolve, reject) => {
			const server = net.createServer();
			server.unref();
			server.on('error', reject);
			server.listen(0, '127.0.0.1', () => {
				const address = server.address();
				const found = typeof address === 'object' && address ? address.port : 0;
				server.close(() => resolve(found));
			});
		});
		if (!handedOut.has(port)) {
			handedOut.add(port);
			return port;
		}
	}
}

function adminClient(database = POSTGRES.adminDatabase): Client {
	return new Client({
		host: POSTGRES.host,
		port: POSTGRES.port,
		user: POSTGRES.user,
		database,
		connectionTimeoutMillis: 5000,
	});
}

/**
 * Checks that PostgreSQL answers on 127.0.0.1:5432 as user postgres.
 * @returns {Promise<void>}
 * @throws {Error} naming what is missing and the command that starts it
 */
export async function requirePostgres(): Promise<void> {
	const client = adminClient();
	try {
		await client.connect();
		await client.query('SELECT 1');
	} catch (error) {
		throw new Error(
			`Queue mode needs PostgreSQL on ${POSTGRES.host}:${POSTGRES.port} (user ${POSTGRES.user}, ` +
				`database ${POSTGRES.adminDatabase}, trust auth), and it did not answer: ` +
				`${(error as Error).message}. Start it with: ${START_POSTGRES}`,
		);
	} finally {
		await client.end().catch(() => undefined);
	}
}

/**
 * Checks that Redis answers PING on 127.0.0.1:6379.
 * @returns {Promise<void>}
 * @throws {Error} naming what is missing and the command that starts it
 */
export async function requireRedis(): Promise<void> {
	const redis = new Redis({
		...REDIS,
		lazyConnect: true,
		maxRetriesPerRequest: 0,
		retryStrategy: () => null,
		connectTimeout: 5000,
	});
	redis.on('error', () => undefined);
	try {
		await redis.connect();
		await redis.ping();
	} catch (error) {
		throw new Error(
			`Queue mode needs Redis on ${REDIS.host}:${REDIS.port}, and it did not answer: ` +
				`${(error as Error).message}. Start it with: ${START_REDIS}`,
		);
	} finally {
		redis.disconnect();
	}
}

/** Creates an empty database for one n8n instance. @throws {Error} when PostgreSQL refuses */
export async function createDatabase(name: string): Promise<void> {
	const client = adminClient();
	await client.connect();
	try {
		await client.query(`CREATE DATABASE "${name}"`);
	} finally {
		await client.end();
	}
}

/** Drops a database this harness created, disconnecting anything still on it. Never throws. */
export async function dropDatabase(name: string): Promise<void> {
	const client = adminClient();
	try {
		await client.connect();
		await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
	} catch {
		// Best effort: a leftover database is named dealflow_e2e_* and harmless.
	} finally {
		await client.end().catch(() => undefined);
	}
}

/** Deletes every Redis key that starts with `prefix` (and only those). Never throws. */
export async function deleteRedisKeys(prefix: string): Promise<void> {
	const redis = new Redis({ ...REDIS, maxRetriesPerRequest: 1, retryStrategy: () => null });
	redis.on('error', () => undefined);
	try {
		let cursor = '0';
		do {
			const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
			cursor = next;
			if (keys.length > 0) await redis.del(...keys);
		} while (cursor !== '0');
	} catch {
		// Best effort, as above: the keys carry this instance's unique prefix.
	} finally {
		redis.disconnect();
	}
}

const STALE_AFTER_MS = 3 * 60 * 60 * 1000;

/** @returns {number | undefined} when an instance token (base36 time + 6 hex) was made */
function tokenTime(token: string): number | undefined {
	const match = /^([0-9a-z]{8})[0-9a-f]{6}$/.exec(token);
	return match ? parseInt(match[1], 36) : undefined;
}

/**
 * Drops databases and Redis keys that instances left behind when their test process was killed
 * before stop() (a `timeout` around jest, say). Only names this harness makes, and only those
 * older than any test run lasts, so concurrent runs are never touched. Never throws.
 * @returns {Promise<number>} how many databases and key prefixes it removed
 */
export async function sweepStaleResources(now = Date.now()): Promise<number> {
	const isStale = (token: string) => {
		const made = tokenTime(token);
		return made !== undefined && now - made > STALE_AFTER_MS;
	};
	let removed = 0;
	const client = adminClient();
	try {
		await client.connect();
		const { rows } = await client.query<{ datname: string }>(
			"SELECT datname FROM pg_database WHERE datname LIKE 'dealflow\\_e2e\\_%'",
		);
		await client.end();
		for (const { datname } of rows) {
			if (isStale(datname.slice('dealflow_e2e_'.length))) {
				await dropDatabase(datname);
				removed++;
			}
		}
	} catch {
		await client.end().catch(() => undefined);
	}
	const redis = new Redis({ ...REDIS, maxRetriesPerRequest: 1, retryStrategy: () => null });
	redis.on('error', () => undefined);
	try {
		const prefixes = new Set<string>();
		let cursor = '0';
		do {
			const [next, keys] = await redis.scan(cursor, 'MATCH', 'dealflow-e2e-*', 'COUNT', 1000);
			cursor = next;
			for (const key of keys) {
				const token = key.slice('dealflow-e2e-'.length).split('-')[0];
				if (isStale(token)) prefixes.add(`dealflow-e2e-${token}`);
			}
		} while (cursor !== '0');
		redis.disconnect();
		for (const prefix of prefixes) {
			await deleteRedisKeys(prefix);
			removed++;
		}
	} catch {
		redis.disconnect();
	}
	return removed;
}
