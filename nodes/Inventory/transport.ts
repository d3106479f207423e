import { createHash } from 'node:crypto';
import mysql from 'mysql2/promise';
import { Client, Pool, type ClientConfig, type PoolClient, type PoolConfig } from 'pg';

import { isNetworkError } from '../shared/errors';
import type { Dialect } from './logic';
import type { Statement } from './sql';

/**
 * The engine adapter: one small interface over `pg` and `mysql2`, a pool per credential and
 * process, transactions with a fixed isolation level, and the classification of database errors
 * into "retry the transaction now", "retry later" and "fix something first".
 */

/** The fields of the `dealflowInventoryDbApi` credential, as n8n hands them to the node. */
export interface InventoryDbCredential {
	engine: Dialect;
	connectionType?: 'fields' | 'url';
	url?: string;
	host?: string;
	port?: number;
	database?: string;
	user?: string;
	password?: string;
	ssl?: boolean;
	sslCa?: string;
	sslCert?: string;
	sslKey?: string;
	sslRejectUnauthorized?: boolean;
	poolSize?: number;
	statementTimeoutMs?: number;
	lockTimeoutMs?: number;
}

/** A connection inside one open transaction. */
export interface DbSession {
	/** Runs one statement. @returns its rows (empty for writes); throws the driver's error. */
	query<R = Record<string, unknown>>(statement: Statement): Promise<R[]>;
	/**
	 * Takes a lock on an arbitrary key (e.g. an order key), held until the transaction ends, so
	 * moves of the same key run one after another even when they touch no common stock row.
	 * Throws a lock-timeout error when the lock is not granted within the lock timeout.
	 */
	lockKey(key: string): Promise<void>;
}

/** The advisory lock name for a key: a hash, so any key fits MySQL's 64-character limit. */
export function keyLockName(key: string): string {
	return `dealflow_inv:${createHash('sha256').update(key).digest('hex').slice(0, 48)}`;
}

export interface DbEngine {
	readonly dialect: Dialect;
	/**
	 * Runs `work` in one READ COMMITTED transaction: commits when it resolves, rolls back when it
	 * throws (and rethrows). One attempt only; retrying is the caller's decision.
	 */
	transaction<T>(work: (session: DbSession) => Promise<T>): Promise<T>;
	/** Runs one statement outside a transaction (autocommit). */
	query<R = Record<string, unknown>>(statement: Statement): Promise<R[]>;
	end(): Promise<void>;
}

const DEFAULTS = { poolSize: 10, statementTimeoutMs: 30_000, lockTimeoutMs: 10_000 };

function sslOptions(data: InventoryDbCredential) {
	if (!data.ssl) return undefined;
	return {
		rejectUnauthorized: data.sslRejectUnauthorized !== false,
		...(data.sslCa ? { ca: data.sslCa } : {}),
		...(data.sslCert ? { cert: data.sslCert } : {}),
		...(data.sslKey ? { key: data.sslKey } : {}),
	};
}

/** `pg` options for one connection; pure, so it is testable without a server. */
export function toPgClientConfig(data: InventoryDbCredential): ClientConfig {
	const config: ClientConfig = {
		statement_timeout: data.statementTimeoutMs || DEFAULTS.statementTimeoutMs,
		lock_timeout: data.lockTimeoutMs || DEFAULTS.lockTimeoutMs,
		connectionTimeoutMillis: 10_000,
		application_name: 'n8n-nodes-dealflow inventory',
		ssl: sslOptions(data),
	};
	if (data.connectionType === 'url' && data.url) return { ...config, connectionString: data.url };
	return {
		...config,
		host: data.host || '127.0.0.1',
		port: data.port || 5432,
		database: data.database || undefined,
		user: data.user || undefined,
		password: data.password || undefined,
	};
}

/** `pg` pool options: one connection's options plus the pool's size and idle time. */
export function toPgConfig(data: InventoryDbCredential): PoolConfig {
	return {
		...toPgClientConfig(data),
		max: data.poolSize || DEFAULTS.poolSize,
		idleTimeoutMillis: 30_000,
	};
}

/** `mysql2` options for one connection; pure, so it is testable without a server. */
export function toMysqlConnectionConfig(data: InventoryDbCredential): mysql.ConnectionOptions {
	const config: mysql.ConnectionOptions = {
		connectTimeout: 10_000,
		// Big integers and decimals come back as strings; the node converts them where it reads.
		supportBigNumbers: true,
		ssl: sslOptions(data),
	};
	if (data.connectionType === 'url' && data.url) return { ...config, uri: data.url };
	return {
		...config,
		host: data.host || '127.0.0.1',
		port: data.port || 3306,
		database: data.database || undefined,
		user: data.user || undefined,
		password: data.password || undefined,
	};
}

/** `mysql2` pool options: one connection's options plus the pool's size. */
export function toMysqlConfig(data: InventoryDbCredential): mysql.PoolOptions {
	return {
		...toMysqlConnectionConfig(data),
		connectionLimit: data.poolSize || DEFAULTS.poolSize,
		waitForConnections: true,
	};
}

class PgEngine implements DbEngine {
	readonly dialect = 'postgres' as const;
	private readonly pool: Pool;

	constructor(data: InventoryDbCredential) {
		this.pool = new Pool(toPgConfig(data));
		// An idle client whose server went away emits 'error'; the pool drops it and opens a new
		// one on demand. Unhandled, the event would crash the n8n process.
		this.pool.on('error', () => undefined);
	}

	async query<R>(statement: Statement): Promise<R[]> {
		const result = await this.pool.query(statement.text, statement.values);
		return result.rows as R[];
	}

	async transaction<T>(work: (session: DbSession) => Promise<T>): Promise<T> {
		const client: PoolClient = await this.pool.connect();
		// A server that drops the link mid-transaction makes the client emit 'error' after the
		// failed query has already rejected; the rejection is what we act on.
		const onError = () => undefined;
		client.on('error', onError);
		let destroy = false;
		try {
			await client.query('BEGIN ISOLATION LEVEL READ COMMITTED');
			const session: DbSession = {
				query: async <R>(statement: Statement) =>
					(await client.query(statement.text, statement.values)).rows as R[],
				// Transaction-scoped: released by COMMIT or ROLLBACK, and waits obey lock_timeout.
				lockKey: async (key: string) => {
					await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
						keyLockName(key),
					]);
				},
			};
			const result = await work(session);
			await client.query('COMMIT');
			return result;
		} catch (error) {
			const rollbackFailed = await rollbackQuietly(() => client.query('ROLLBACK'));
			destroy = rollbackFailed !== undefined || isConnectionError(error);
			throw error;
		} finally {
			// A client whose rollback failed may sit in an unknown state: destroy it, never reuse it.
			client.off('error', onError);
			client.release(destroy ? true : undefined);
		}
	}

	async end(): Promise<void> {
		await this.pool.end();
	}
}

class MysqlEngine implements DbEngine {
	readonly dialect = 'mysql' as const;
	private readonly pool: mysql.Pool;
	private readonly lockWaitSeconds: number;

	constructor(data: InventoryDbCredential) {
		this.pool = mysql.createPool(toMysqlConfig(data));
		this.lockWaitSeconds = Math.max(
			1,
			Math.ceil((data.lockTimeoutMs || DEFAULTS.lockTimeoutMs) / 1000),
		);
		const lockWaitSeconds = this.lockWaitSeconds;
		const statementMs = data.statementTimeoutMs || DEFAULTS.statementTimeoutMs;
		// Session settings for each new connection; the driver queues them before any user query.
		this.pool.on('connection', (connection) => {
			const core = connection as unknown as CoreConnection;
			core.query('SET SESSION innodb_lock_wait_timeout = ?', [lockWaitSeconds], ignore);
			// MariaDB names the statement limit max_statement_time (seconds); MySQL has
			// max_execution_time (milliseconds, SELECT only). Whichever the server knows wins.
			core.query('SET SESSION max_statement_time = ?', [statementMs / 1000], (error) => {
				if (error) core.query('SET SESSION max_execution_time = ?', [statementMs], ignore);
			});
		});
	}

	async query<R>(statement: Statement): Promise<R[]> {
		const [rows] = await this.pool.execute(statement.text, statement.values as never[]);
		return Array.isArray(rows) ? (rows as R[]) : [];
	}

	async transaction<T>(work: (session: DbSession) => Promise<T>): Promise<T> {
		const connection = await this.pool.getConnection();
		const heldLocks: string[] = [];
		let destroy = false;
		try {
			await connection.query('SET TRANSACTION ISOLATION LEVEL READ COMMITTED');
			await connection.query('START TRANSACTION');
			const session: DbSession = {
				query: async <R>(statement: Statement) => {
					const [rows] = await connection.execute(statement.text, statement.values as never[]);
					return Array.isArray(rows) ? (rows as R[]) : [];
				},
				// MySQL's named locks belong to the session, not the transaction: they are released
				// explicitly below once the transaction has ended.
				lockKey: async (key: string) => {
					const name = keyLockName(key);
					const [rows] = await connection.query('SELECT GET_LOCK(?, ?) AS got', [
						name,
						this.lockWaitSeconds,
					]);
					if (Number((rows as Array<{ got: unknown }>)[0]?.got) !== 1) {
						throw Object.assign(new Error('Lock wait timeout exceeded on the order key'), {
							code: 'ER_LOCK_WAIT_TIMEOUT',
							errno: 1205,
							sqlState: 'HY000',
						});
					}
					heldLocks.push(name);
				},
			};
			const result = await work(session);
			await connection.query('COMMIT');
			return result;
		} catch (error) {
			const rollbackFailed = await rollbackQuietly(() => connection.query('ROLLBACK'));
			destroy = rollbackFailed !== undefined || isConnectionError(error);
			throw error;
		} finally {
			if (!destroy && heldLocks.length > 0) {
				const failed = await rollbackQuietly(async () => {
					for (const name of heldLocks) await connection.query('SELECT RELEASE_LOCK(?)', [name]);
				});
				// A connection that might still hold a named lock must never go back to the pool.
				destroy = failed !== undefined;
			}
			if (destroy) connection.destroy();
			else connection.release();
		}
	}

	async end(): Promise<void> {
		await this.pool.end();
	}
}

interface CoreConnection {
	query(sql: string, values: unknown[], callback: (error: Error | null) => void): void;
}

function ignore(): void {
	// A session setting the server does not know is not worth failing the connection for.
}

/** Rolls back, reporting instead of throwing a failure so the original error stays the one thrown. */
async function rollbackQuietly(rollback: () => Promise<unknown>): Promise<Error | undefined> {
	try {
		await rollback();
		return undefined;
	} catch (error) {
		return error instanceof Error ? error : new Error(String(error));
	}
}

/** Creates an engine with its own pool; callers normally want {@link getInventoryEngine}. */
export function createEngine(data: InventoryDbCredential): DbEngine {
	return data.engine === 'mysql' ? new MysqlEngine(data) : new PgEngine(data);
}

const engines = new Map<string, DbEngine>();

/** The cache key: a hash of the whole credential, so an edit opens a new pool and no secret is kept. */
export function credentialHash(data: InventoryDbCredential): string {
	const sorted = Object.keys(data)
		.sort()
		.map((key) => [key, (data as unknown as Record<string, unknown>)[key]]);
	return createHash('sha256').update(JSON.stringify(sorted)).digest('hex');
}

/**
 * The process-wide engine (and pool) for this credential, created on first use and reused by
 * every later execution. Never throws: connection problems surface on the first query.
 */
export function getInventoryEngine(data: InventoryDbCredential): DbEngine {
	const key = credentialHash(data);
	let engine = engines.get(key);
	if (!engine) {
		engine = createEngine(data);
		engines.set(key, engine);
	}
	return engine;
}

/** Closes every cached pool; for tests and shutdown. */
export async function closeAllInventoryEngines(): Promise<void> {
	const all = [...engines.values()];
	engines.clear();
	await Promise.allSettled(all.map(async (engine) => await engine.end()));
}

/** How a database error should be handled. */
export interface DbErrorClass {
	/** Whether re-running the whole transaction right away can succeed. */
	retryInPlace: boolean;
	/** Whether a later attempt (e.g. from the Retry Queue) can succeed without a fix. */
	retryable: boolean;
	/** `deadlock`, `serialization_failure`, `lock_timeout`, `connection`, `duplicate_move`, ... */
	reason: string;
}

const PG_CLASSES: Record<string, Omit<DbErrorClass, 'retryable'> & { retryable?: boolean }> = {
	'40P01': { retryInPlace: true, reason: 'deadlock' },
	'40001': { retryInPlace: true, reason: 'serialization_failure' },
	'55P03': { retryInPlace: true, reason: 'lock_timeout' },
	'57P01': { retryInPlace: true, reason: 'connection' },
	'57P02': { retryInPlace: true, reason: 'connection' },
	'57P03': { retryInPlace: true, reason: 'connection' },
	'53300': { retryInPlace: true, reason: 'connection' },
	'23505': { retryInPlace: true, reason: 'duplicate_move' },
	'57014': { retryInPlace: false, retryable: true, reason: 'statement_timeout' },
	'28P01': { retryInPlace: false, retryable: false, reason: 'auth' },
	'28000': { retryInPlace: false, retryable: false, reason: 'auth' },
	'3D000': { retryInPlace: false, retryable: false, reason: 'unknown_database' },
	'42P01': { retryInPlace: false, retryable: false, reason: 'missing_table' },
	'42703': { retryInPlace: false, retryable: false, reason: 'missing_column' },
};

const MYSQL_CLASSES: Record<number, Omit<DbErrorClass, 'retryable'> & { retryable?: boolean }> = {
	1213: { retryInPlace: true, reason: 'deadlock' },
	1205: { retryInPlace: true, reason: 'lock_timeout' },
	1040: { retryInPlace: true, reason: 'connection' },
	1053: { retryInPlace: true, reason: 'connection' },
	1927: { retryInPlace: true, reason: 'connection' },
	2006: { retryInPlace: true, reason: 'connection' },
	2013: { retryInPlace: true, reason: 'connection' },
	1062: { retryInPlace: true, reason: 'duplicate_move' },
	1969: { retryInPlace: false, retryable: true, reason: 'statement_timeout' },
	3024: { retryInPlace: false, retryable: true, reason: 'statement_timeout' },
	1045: { retryInPlace: false, retryable: false, reason: 'auth' },
	1049: { retryInPlace: false, retryable: false, reason: 'unknown_database' },
	1146: { retryInPlace: false, retryable: false, reason: 'missing_table' },
	1054: { retryInPlace: false, retryable: false, reason: 'missing_column' },
};

const DROPPED_CONNECTION = new Set([
	'PROTOCOL_CONNECTION_LOST',
	'PROTOCOL_SEQUENCE_TIMEOUT',
	'ER_CON_COUNT_ERROR',
]);

/**
 * Classifies an error from either driver. Deadlocks, serialization failures, lock timeouts,
 * dropped or refused connections and a lost race on the ledger's unique index are retried in
 * place; a statement timeout is left to a later attempt; everything else needs a fix.
 */
export function classifyDbError(error: unknown): DbErrorClass {
	if (!error || typeof error !== 'object') {
		return { retryInPlace: false, retryable: false, reason: 'database_error' };
	}
	const { code, errno, sqlState, message } = error as {
		code?: unknown;
		errno?: unknown;
		sqlState?: unknown;
		message?: unknown;
	};

	const mysqlClass =
		typeof errno === 'number' && typeof sqlState === 'string' ? MYSQL_CLASSES[errno] : undefined;
	const known =
		mysqlClass ??
		(typeof code === 'string' ? PG_CLASSES[code] : undefined) ??
		(sqlState === '40001' ? PG_CLASSES['40001'] : undefined);
	if (known) return { retryable: known.retryInPlace, ...known };

	if (isConnectionError(error))
		return { retryInPlace: true, retryable: true, reason: 'connection' };
	if (typeof code === 'string' && code.startsWith('08')) {
		return { retryInPlace: true, retryable: true, reason: 'connection' };
	}
	const text = typeof message === 'string' ? message : '';
	if (/timeout exceeded when trying to connect/i.test(text)) {
		return { retryInPlace: false, retryable: true, reason: 'pool_exhausted' };
	}
	return { retryInPlace: false, retryable: false, reason: 'database_error' };
}

function isConnectionError(error: unknown): boolean {
	if (!error || typeof error !== 'object') return false;
	if (isNetworkError(error)) return true;
	const { code, message } = error as { code?: unknown; message?: unknown };
	if (typeof code === 'string' && DROPPED_CONNECTION.has(code)) return true;
	// pg reports a socket closed mid-query without a code.
	return typeof message === 'string' && /connection terminated|connection closed/i.test(message);
}

/**
 * Opens one fresh connection (never the shared pool, since the credential may be unsaved), runs
 * `SELECT 1` and closes it.
 *
 * @returns `undefined` on success, or a message naming the likely cause and fix; never throws
 */
export async function testConnection(data: InventoryDbCredential): Promise<string | undefined> {
	try {
		if (data.engine === 'mysql') {
			const connection = await mysql.createConnection(toMysqlConnectionConfig(data));
			try {
				await connection.query('SELECT 1');
			} finally {
				await connection.end().catch(() => undefined);
			}
		} else {
			const client = new Client(toPgClientConfig(data));
			// A failed handshake can also emit 'error'; the rejected connect() is what we report.
			client.on('error', () => undefined);
			try {
				await client.connect();
				await client.query('SELECT 1');
			} finally {
				await client.end().catch(() => undefined);
			}
		}
		return undefined;
	} catch (error) {
		return describeConnectionFailure(data, error);
	}
}

/** A user-facing sentence for a failed connection; never includes the password. */
export function describeConnectionFailure(data: InventoryDbCredential, error: unknown): string {
	const where =
		data.connectionType === 'url'
			? 'the connection URL'
			: `${data.host || '127.0.0.1'}:${data.port || (data.engine === 'mysql' ? 3306 : 5432)}`;
	const { code } = (error ?? {}) as { code?: unknown };
	const reason = classifyDbError(error).reason;
	const detail = error instanceof Error ? redact(error.message, data) : String(error);
	if (code === 'ECONNREFUSED') {
		return `Nothing accepted the connection at ${where}: check the host and port, and that the database server is running`;
	}
	if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
		return `The host of ${where} could not be resolved: check the host name`;
	}
	if (reason === 'auth') return `The server refused the user or password (${detail})`;
	if (reason === 'unknown_database') return `The database does not exist on the server (${detail})`;
	if (/ssl|tls|certificate/i.test(detail)) {
		return `The SSL handshake failed: check the CA, client certificate and "Reject Unauthorized" settings (${detail})`;
	}
	return `Could not connect to ${where}: ${detail}`;
}

/** Removes the password from a driver message, in case a driver ever echoes a URL back. */
export function redact(text: string, data: InventoryDbCredential): string {
	let result = text;
	for (const secret of [data.password, data.url, data.sslKey]) {
		if (secret) result = result.split(secret).join('[redacted]');
	}
	return result;
}
