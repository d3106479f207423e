import mysql from 'mysql2/promise';
import { Client } from 'pg';

import { normaliseLines, type Dialect } from '../../../nodes/Inventory/logic';
import { reserve, type StockContext } from '../../../nodes/Inventory/stock';
import { createEngine, type DbEngine, type DbSession } from '../../../nodes/Inventory/transport';
import type { Statement } from '../../../nodes/Inventory/sql';
import { CREDENTIALS, DIALECTS, Fixture } from './helpers';

/** A second, independent connection that plays the other transaction in a conflict. */
interface Rival {
	exec(text: string, values?: unknown[]): Promise<unknown>;
	close(): Promise<void>;
}

async function openRival(dialect: Dialect): Promise<Rival> {
	if (dialect === 'postgres') {
		const client = new Client({
			host: '127.0.0.1',
			port: 5432,
			user: 'postgres',
			database: 'test',
		});
		await client.connect();
		return {
			exec: async (text, values = []) => await client.query(text, values),
			close: async () => await client.end(),
		};
	}
	const connection = await mysql.createConnection({
		host: '127.0.0.1',
		user: 'root',
		database: 'test',
	});
	return {
		exec: async (text, values = []) => await connection.query(text, values),
		close: async () => await connection.end(),
	};
}

/**
 * Wraps an engine so that, in the first transaction only, `action` runs just before the first
 * statement matching `when`; the action gets the transaction's own session.
 */
function interceptFirstTransaction(
	engine: DbEngine,
	options: {
		when: (statement: Statement) => boolean;
		action: (session: DbSession) => Promise<void>;
	},
): DbEngine {
	let done = false;
	return {
		dialect: engine.dialect,
		query: async (statement) => await engine.query(statement),
		end: async () => await engine.end(),
		transaction: async (work) =>
			await engine.transaction(async (session) => {
				const wrapped: DbSession = {
					lockKey: async (key) => await session.lockKey(key),
					query: async (statement) => {
						if (!done && options.when(statement)) {
							done = true;
							await options.action(session);
						}
						return await session.query(statement);
					},
				};
				return await work(wrapped);
			}),
	};
}

/** Runs `sabotage` inside the first transaction just before its first ledger write. */
function sabotageFirstTransaction(engine: DbEngine, sabotage: Statement): DbEngine {
	return interceptFirstTransaction(engine, {
		when: (statement) => statement.text.startsWith('INSERT INTO'),
		action: async (session) => {
			await session.query(sabotage);
		},
	});
}

const SERIALIZATION_FAILURE: Record<Dialect, string> = {
	postgres:
		"DO $$ BEGIN RAISE EXCEPTION 'injected serialization failure' USING ERRCODE = '40001'; END $$",
	mysql: "SIGNAL SQLSTATE '40001' SET MESSAGE_TEXT = 'injected serialization failure'",
};

const DROP_OWN_CONNECTION: Record<Dialect, string> = {
	postgres: 'SELECT pg_terminate_backend(pg_backend_pid())',
	mysql: 'KILL CONNECTION_ID()',
};

// Lock waits and a deadlock detector are part of these tests; a loaded machine needs headroom.
jest.setTimeout(60_000);

describe.each(DIALECTS)('Retrying stock transactions on %s', (dialect) => {
	const fx = new Fixture(dialect);
	afterAll(async () => await fx.cleanup());

	const lines = normaliseLines({
		lines: [
			{ sku: 'A-1', quantity: 2 },
			{ sku: 'B-1', quantity: 3 },
		],
		duplicates: 'reject',
	});

	async function freshContext(): Promise<{ ctx: StockContext; reasons: string[] }> {
		const ctx = await fx.context();
		await fx.seed(ctx, { 'A-1': 10, 'B-1': 10 });
		const reasons: string[] = [];
		ctx.retry = { maxAttempts: 6, onRetry: ({ reason }) => reasons.push(reason) };
		return { ctx, reasons };
	}

	it('recovers from a real deadlock by re-running the whole reservation', async () => {
		const { ctx, reasons } = await freshContext();
		const q = ctx.map.stockTable;
		const param = dialect === 'postgres' ? '$1' : '?';
		const rival = await openRival(dialect);
		let rivalWantsA: Promise<unknown> | undefined;
		try {
			await rival.exec(dialect === 'postgres' ? 'BEGIN' : 'START TRANSACTION');
			if (dialect === 'postgres') {
				// The rival checks for deadlocks only after 20 s, so the reservation's own check
				// (after the default 1 s) finds the cycle and the reservation is the victim.
				await rival.exec("SET LOCAL deadlock_timeout = '20s'");
			} else {
				// InnoDB makes the transaction with less work the victim: give the rival more.
				const scratch = fx.quote(fx.table('scratch'));
				await rival.exec(`CREATE TABLE ${scratch} (n INT)`);
				await rival.exec('START TRANSACTION');
				await rival.exec(`INSERT INTO ${scratch} VALUES (1),(2),(3),(4),(5),(6),(7),(8)`);
			}
			await rival.exec(`SELECT * FROM ${q} WHERE sku = ${param} FOR UPDATE`, ['B-1']);

			// The reservation locks A-1; just before it asks for B-1 (held by the rival), the
			// rival asks for A-1. Each now waits for the other: a cycle the server must break.
			const engine = interceptFirstTransaction(ctx.engine, {
				when: (statement) => statement.text.includes('FOR UPDATE') && statement.values[0] === 'B-1',
				action: async () => {
					rivalWantsA = rival.exec(`SELECT * FROM ${q} WHERE sku = ${param} FOR UPDATE`, ['A-1']);
				},
			});
			const reservation = reserve({ ...ctx, engine }, { orderKey: 'deadlock-order', lines });
			const rivalDone = (async () => {
				while (!rivalWantsA) await new Promise((resolve) => setTimeout(resolve, 10));
				await rivalWantsA;
				await rival.exec('COMMIT');
			})();
			const [result] = await Promise.all([reservation, rivalDone]);

			expect(reasons).toEqual(['deadlock']);
			expect(result).toMatchObject({ status: 'applied', attempts: 2, alreadyApplied: false });
		} finally {
			await rival.close();
		}
		expect(await fx.onHand(ctx)).toEqual({ 'A-1': 8, 'B-1': 7 });
		expect(await fx.ledger(ctx)).toHaveLength(2);
	});

	it('waits out a lock timeout and succeeds on the next try', async () => {
		const ctx = await fx.context();
		await fx.seed(ctx, { 'A-1': 10, 'B-1': 10 });
		const impatient = createEngine({ ...CREDENTIALS[dialect], lockTimeoutMs: 1_000 });
		const rival = await openRival(dialect);
		const reasons: string[] = [];
		try {
			await rival.exec(dialect === 'postgres' ? 'BEGIN' : 'START TRANSACTION');
			const q = ctx.map.stockTable;
			const param = dialect === 'postgres' ? '$1' : '?';
			await rival.exec(`SELECT * FROM ${q} WHERE sku = ${param} FOR UPDATE`, ['B-1']);

			const result = await reserve(
				{
					...ctx,
					engine: impatient,
					retry: {
						maxAttempts: 6,
						// The rival lets go as soon as the first try has timed out.
						onRetry: ({ reason }) => {
							reasons.push(reason);
							if (reasons.length === 1) void rival.exec('COMMIT');
						},
					},
				},
				{ orderKey: 'lock-timeout-order', lines },
			);

			expect(reasons[0]).toBe('lock_timeout');
			expect(result.status).toBe('applied');
		} finally {
			await rival.close();
			await impatient.end();
		}
		expect(await fx.onHand(ctx)).toEqual({ 'A-1': 8, 'B-1': 7 });
	});

	it('rolls back the partial work of a serialization failure and re-runs the transaction', async () => {
		const { ctx, reasons } = await freshContext();
		const sabotaged = sabotageFirstTransaction(ctx.engine, {
			text: SERIALIZATION_FAILURE[dialect],
			values: [],
		});

		const result = await reserve(
			{ ...ctx, engine: sabotaged },
			{ orderKey: 'serial-order', lines },
		);

		expect(reasons).toEqual(['serialization_failure']);
		expect(result).toMatchObject({ status: 'applied', attempts: 2, alreadyApplied: false });
		// The first try had already decremented A-1 when it failed; that change was rolled back.
		expect(await fx.onHand(ctx)).toEqual({ 'A-1': 8, 'B-1': 7 });
		expect(await fx.ledger(ctx)).toHaveLength(2);
	});

	it('survives its connection being dropped mid-transaction', async () => {
		const { ctx, reasons } = await freshContext();
		const sabotaged = sabotageFirstTransaction(ctx.engine, {
			text: DROP_OWN_CONNECTION[dialect],
			values: [],
		});

		const result = await reserve(
			{ ...ctx, engine: sabotaged },
			{ orderKey: 'dropped-order', lines },
		);

		expect(reasons).toEqual(['connection']);
		expect(result).toMatchObject({ status: 'applied', attempts: 2 });
		expect(await fx.onHand(ctx)).toEqual({ 'A-1': 8, 'B-1': 7 });
	});

	it('does not retry an error that a retry cannot fix, and rolls it back', async () => {
		const { ctx, reasons } = await freshContext();
		const sabotaged = sabotageFirstTransaction(ctx.engine, {
			text: `SELECT no_such_column FROM ${ctx.map.stockTable}`,
			values: [],
		});

		await expect(
			reserve({ ...ctx, engine: sabotaged }, { orderKey: 'broken-order', lines }),
		).rejects.toMatchObject({ message: expect.stringMatching(/no_such_column/) });

		expect(reasons).toEqual([]);
		expect(await fx.onHand(ctx)).toEqual({ 'A-1': 10, 'B-1': 10 });
		expect(await fx.ledger(ctx)).toHaveLength(0);
	});
});
