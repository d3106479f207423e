import {
	classifyDbError,
	credentialHash,
	describeConnectionFailure,
	toMysqlConfig,
	toPgConfig,
	type InventoryDbCredential,
} from '../../../nodes/Inventory/transport';

const pg = (code: string) => Object.assign(new Error(`pg ${code}`), { code });
const my = (errno: number, sqlState = 'HY000', code = 'ER_X') =>
	Object.assign(new Error(`mysql ${errno}`), { errno, sqlState, code });

describe('Database error classification', () => {
	it.each([
		[pg('40P01'), 'deadlock'],
		[pg('40001'), 'serialization_failure'],
		[pg('55P03'), 'lock_timeout'],
		[pg('57P01'), 'connection'],
		[pg('23505'), 'duplicate_move'],
		[my(1213, '40001', 'ER_LOCK_DEADLOCK'), 'deadlock'],
		[my(1205, 'HY000', 'ER_LOCK_WAIT_TIMEOUT'), 'lock_timeout'],
		[my(1644, '40001', 'ER_SIGNAL_EXCEPTION'), 'serialization_failure'],
		[my(1062, '23000', 'ER_DUP_ENTRY'), 'duplicate_move'],
		[Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'connection'],
		[Object.assign(new Error('lost'), { code: 'PROTOCOL_CONNECTION_LOST' }), 'connection'],
		[new Error('Connection terminated unexpectedly'), 'connection'],
	])('retries %s in place as %s', (error, reason) => {
		expect(classifyDbError(error)).toEqual({ retryInPlace: true, retryable: true, reason });
	});

	it.each([
		[pg('42P01'), 'missing_table'],
		[pg('42703'), 'missing_column'],
		[pg('28P01'), 'auth'],
		[my(1146, '42S02'), 'missing_table'],
		[my(1045, '28000'), 'auth'],
		[pg('22003'), 'database_error'],
		[new Error('something else'), 'database_error'],
	])('does not retry %s (%s)', (error, reason) => {
		expect(classifyDbError(error)).toEqual({ retryInPlace: false, retryable: false, reason });
	});

	it('leaves a statement timeout to a later attempt instead of repeating it at once', () => {
		expect(classifyDbError(pg('57014'))).toEqual({
			retryInPlace: false,
			retryable: true,
			reason: 'statement_timeout',
		});
	});
});

describe('Pool options from the credential', () => {
	const base: InventoryDbCredential = {
		engine: 'postgres',
		host: 'db',
		port: 6432,
		database: 'wh',
		user: 'u',
		password: 'p',
		poolSize: 4,
		statementTimeoutMs: 5000,
		lockTimeoutMs: 2000,
	};

	it('maps fields, pool size and timeouts for pg', () => {
		expect(toPgConfig(base)).toMatchObject({
			host: 'db',
			port: 6432,
			database: 'wh',
			max: 4,
			statement_timeout: 5000,
			lock_timeout: 2000,
			ssl: undefined,
		});
	});

	it('uses the URL and the SSL settings when given', () => {
		const config = toPgConfig({
			...base,
			connectionType: 'url',
			url: 'postgres://u:p@h/db',
			ssl: true,
			sslCa: 'CA',
			sslRejectUnauthorized: false,
		});
		expect(config.connectionString).toBe('postgres://u:p@h/db');
		expect(config.host).toBeUndefined();
		expect(config.ssl).toEqual({ rejectUnauthorized: false, ca: 'CA' });
	});

	it('maps fields and pool size for mysql2, defaulting the port to 3306', () => {
		expect(toMysqlConfig({ ...base, engine: 'mysql', port: undefined })).toMatchObject({
			host: 'db',
			port: 3306,
			connectionLimit: 4,
		});
	});

	it('keys the pool cache by a hash that changes with any field and holds no secret', () => {
		const hash = credentialHash(base);
		expect(hash).toBe(credentialHash({ ...base }));
		expect(hash).not.toBe(credentialHash({ ...base, password: 'other' }));
		expect(hash).toMatch(/^[0-9a-f]{64}$/);
	});

	it('explains a refused connection without the password', () => {
		const message = describeConnectionFailure(
			{ ...base, password: 'hunter2' },
			Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6432 hunter2'), {
				code: 'ECONNREFUSED',
			}),
		);
		expect(message).toMatch(/db:6432.*check the host and port/);
		expect(message).not.toContain('hunter2');
	});
});
