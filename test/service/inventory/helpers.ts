import { randomBytes } from 'node:crypto';

import { buildMapping, type Dialect, type TableMappingInput } from '../../../nodes/Inventory/logic';
import { setUp, type StockContext } from '../../../nodes/Inventory/stock';
import {
	createEngine,
	type DbEngine,
	type InventoryDbCredential,
} from '../../../nodes/Inventory/transport';

/** The two real databases on this machine, as an n8n user would fill in the credential. */
export const CREDENTIALS: Record<Dialect, InventoryDbCredential> = {
	postgres: {
		engine: 'postgres',
		host: '127.0.0.1',
		port: 5432,
		database: 'test',
		user: 'postgres',
		poolSize: 8,
		statementTimeoutMs: 30_000,
		lockTimeoutMs: 10_000,
	},
	mysql: {
		engine: 'mysql',
		host: '127.0.0.1',
		port: 3306,
		database: 'test',
		user: 'root',
		poolSize: 8,
		statementTimeoutMs: 30_000,
		lockTimeoutMs: 10_000,
	},
};

export const DIALECTS: Dialect[] = ['postgres', 'mysql'];

/** A unique table prefix per test run, so parallel helpers and reruns never share tables. */
export function uniquePrefix(): string {
	return `dfinv_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}_`;
}

/** One test run's own stock and ledger tables on one engine, dropped again by `cleanup`. */
export class Fixture {
	readonly engine: DbEngine;
	readonly prefix = uniquePrefix();
	private readonly tables: string[] = [];
	private contexts = 0;

	constructor(
		readonly dialect: Dialect,
		credential = CREDENTIALS[dialect],
	) {
		this.engine = createEngine(credential);
	}

	quote(name: string): string {
		return this.dialect === 'postgres' ? `"${name}"` : `\`${name}\``;
	}

	/** Registers a table of this run for dropping, and returns its full name. */
	table(suffix: string): string {
		const name = `${this.prefix}${suffix}`;
		this.tables.push(name);
		return name;
	}

	/**
	 * A context on fresh tables of this run: the simple stock table (created by set-up) and a new
	 * ledger, unless `mapping` names an existing stock table.
	 */
	async context(mapping: Partial<TableMappingInput> = {}, location = ''): Promise<StockContext> {
		this.contexts += 1;
		const existingTable = mapping.stockTable !== undefined;
		const input: TableMappingInput = {
			skuColumn: 'sku',
			onHandColumn: 'on_hand',
			...mapping,
			stockTable: mapping.stockTable ?? this.table(`stock${this.contexts}`),
			ledgerTable: mapping.ledgerTable ?? this.table(`moves${this.contexts}`),
		};
		const ctx: StockContext = {
			engine: this.engine,
			map: buildMapping(input, this.dialect),
			location,
			retry: { maxAttempts: 8 },
		};
		await setUp(ctx, { createStockTable: !existingTable });
		return ctx;
	}

	async exec(text: string, values: unknown[] = []): Promise<Array<Record<string, unknown>>> {
		return await this.engine.query({ text, values });
	}

	async seed(ctx: StockContext, levels: Record<string, number>): Promise<void> {
		const { map } = ctx;
		for (const [sku, onHand] of Object.entries(levels)) {
			const p = (i: number) => (this.dialect === 'postgres' ? `$${i}` : '?');
			await this.exec(
				`INSERT INTO ${map.stockTable} (${map.sku}, ${map.onHand}) VALUES (${p(1)}, ${p(2)})`,
				[sku, onHand],
			);
		}
	}

	/** on-hand per SKU, read straight from the table. */
	async onHand(ctx: StockContext): Promise<Record<string, number>> {
		const { map } = ctx;
		const rows = await this.exec(
			`SELECT ${map.sku} AS sku, ${map.onHand} AS qty FROM ${map.stockTable}`,
		);
		return Object.fromEntries(rows.map((row) => [String(row.sku), Number(row.qty)]));
	}

	async ledger(ctx: StockContext): Promise<Array<Record<string, unknown>>> {
		return await this.exec(
			`SELECT order_key, kind, sku, location, quantity_delta, backordered_quantity FROM ${ctx.map.ledgerTable} ORDER BY id`,
		);
	}

	async cleanup(): Promise<void> {
		for (const table of this.tables.reverse()) {
			await this.exec(`DROP TABLE IF EXISTS ${this.quote(table)}`).catch(() => undefined);
		}
		await this.engine.end();
	}
}
