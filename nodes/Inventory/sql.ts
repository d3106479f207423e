import type { Dialect, MoveKind, TableMapping } from './logic';

/**
 * Every statement the Inventory node sends, per engine. Table and column names come only from a
 * validated {@link TableMapping} (already quoted); every value is a placeholder (`$1` for
 * Postgres, `?` for MySQL) bound by the driver. Nothing a user types is spliced into SQL text.
 */

/** A statement with its placeholder values, in order. */
export interface Statement {
	text: string;
	values: unknown[];
}

/** Placeholder number `index` (1-based) in the engine's syntax. */
export function placeholder(dialect: Dialect, index: number): string {
	return dialect === 'postgres' ? `$${index}` : '?';
}

/** Builds a statement from fragments, numbering placeholders as values are added. */
class StatementBuilder {
	private readonly parts: string[] = [];
	private readonly values: unknown[] = [];

	constructor(private readonly dialect: Dialect) {}

	sql(text: string): this {
		this.parts.push(text);
		return this;
	}

	value(value: unknown): this {
		this.values.push(value);
		this.parts.push(placeholder(this.dialect, this.values.length));
		return this;
	}

	list(values: unknown[]): this {
		values.forEach((value, index) => {
			if (index > 0) this.parts.push(', ');
			this.value(value);
		});
		return this;
	}

	build(): Statement {
		return { text: this.parts.join(''), values: this.values };
	}
}

/** The reserved column when mapped, else a constant zero, so reads have one shape. */
function reservedExpr(map: TableMapping): string {
	return map.reserved ?? '0';
}

function whereRow(map: TableMapping, b: StatementBuilder, sku: string, location: string): void {
	b.sql(` WHERE ${map.sku} = `).value(sku);
	if (map.location) b.sql(` AND ${map.location} = `).value(location);
}

/** Reads one stock row and locks it until the transaction ends. */
export function lockRow(map: TableMapping, sku: string, location: string): Statement {
	const b = new StatementBuilder(map.dialect).sql(
		`SELECT ${map.onHand} AS on_hand, ${reservedExpr(map)} AS reserved FROM ${map.stockTable}`,
	);
	whereRow(map, b, sku, location);
	return b.sql(' FOR UPDATE').build();
}

/** Adds `delta` (which may be negative) to one column of one stock row. */
export function addToColumn(
	map: TableMapping,
	column: 'onHand' | 'reserved',
	row: { sku: string; location: string; delta: number },
): Statement {
	const target = column === 'reserved' ? map.reserved : map.onHand;
	if (!target) throw new Error('addToColumn: the reserved column is not mapped');
	const b = new StatementBuilder(map.dialect)
		.sql(`UPDATE ${map.stockTable} SET ${target} = ${target} + `)
		.value(row.delta);
	whereRow(map, b, row.sku, row.location);
	return b.build();
}

/** Creates a stock row for a SKU first seen by a receipt. */
export function insertStockRow(
	map: TableMapping,
	row: { sku: string; location: string; onHand: number },
): Statement {
	const columns = [map.sku, map.onHand];
	const values: unknown[] = [row.sku, row.onHand];
	if (map.location) {
		columns.push(map.location);
		values.push(row.location);
	}
	if (map.reserved) {
		columns.push(map.reserved);
		values.push(0);
	}
	return new StatementBuilder(map.dialect)
		.sql(`INSERT INTO ${map.stockTable} (${columns.join(', ')}) VALUES (`)
		.list(values)
		.sql(')')
		.build();
}

/** Every ledger row written under one key, any kind, in SKU order. */
export function selectLedger(map: TableMapping, key: string): Statement {
	return new StatementBuilder(map.dialect)
		.sql(
			'SELECT kind, sku, location, quantity_delta, backordered_quantity, created_at ' +
				`FROM ${map.ledgerTable} WHERE order_key = `,
		)
		.value(key)
		.sql(' ORDER BY kind, sku, location')
		.build();
}

export interface LedgerRowInput {
	key: string;
	kind: MoveKind;
	sku: string;
	location: string;
	/** Signed change to the available quantity. */
	delta: number;
	/** How far this move took available stock below zero, when backorders are allowed. */
	backordered: number;
}

/** One ledger row; the unique (order_key, kind, sku, location) index makes it happen once. */
export function insertLedgerRow(map: TableMapping, row: LedgerRowInput): Statement {
	return new StatementBuilder(map.dialect)
		.sql(
			`INSERT INTO ${map.ledgerTable} ` +
				'(order_key, kind, sku, location, quantity_delta, backordered_quantity) VALUES (',
		)
		.list([row.key, row.kind, row.sku, row.location, row.delta, row.backordered])
		.sql(')')
		.build();
}

function levelsSelect(map: TableMapping): string {
	const location = map.location ? `${map.location} AS location` : `'' AS location`;
	return (
		`SELECT ${map.sku} AS sku, ${location}, ${map.onHand} AS on_hand, ` +
		`${reservedExpr(map)} AS reserved FROM ${map.stockTable}`
	);
}

/** Stock levels for the given SKUs (at most a few hundred per call; the caller chunks). */
export function levelsForSkus(map: TableMapping, skus: string[], location: string): Statement {
	const b = new StatementBuilder(map.dialect).sql(levelsSelect(map));
	b.sql(` WHERE ${map.sku} IN (`).list(skus).sql(')');
	if (map.location) b.sql(` AND ${map.location} = `).value(location);
	return b.sql(` ORDER BY ${map.sku}`).build();
}

/** Rows whose available quantity (on-hand minus reserved) is below `threshold`, lowest first. */
export function levelsBelow(
	map: TableMapping,
	options: { threshold: number; location: string; limit: number },
): Statement {
	const available = `(${map.onHand} - ${reservedExpr(map)})`;
	const b = new StatementBuilder(map.dialect).sql(levelsSelect(map));
	b.sql(` WHERE ${available} < `).value(options.threshold);
	if (map.location) b.sql(` AND ${map.location} = `).value(options.location);
	b.sql(` ORDER BY ${available}, ${map.sku} LIMIT `);
	// MySQL's prepared LIMIT takes its argument as text; Postgres types it from context.
	return b.value(map.dialect === 'mysql' ? String(options.limit) : options.limit).build();
}

/** The ledger's columns, in the order a fresh table gets them; set-up adds any that are missing. */
export function ledgerColumns(dialect: Dialect): Array<{ name: string; definition: string }> {
	const timestamp =
		dialect === 'postgres'
			? 'TIMESTAMPTZ NOT NULL DEFAULT now()'
			: 'TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)';
	return [
		{ name: 'order_key', definition: 'VARCHAR(200) NOT NULL' },
		{ name: 'kind', definition: 'VARCHAR(16) NOT NULL' },
		{ name: 'sku', definition: 'VARCHAR(100) NOT NULL' },
		{ name: 'location', definition: "VARCHAR(100) NOT NULL DEFAULT ''" },
		{ name: 'quantity_delta', definition: 'INTEGER NOT NULL' },
		{ name: 'backordered_quantity', definition: 'INTEGER NOT NULL DEFAULT 0' },
		{ name: 'created_at', definition: timestamp },
	];
}

/** CREATE TABLE IF NOT EXISTS for the movements ledger. */
export function createLedgerTable(map: TableMapping): string {
	const q = (name: string) => (map.dialect === 'postgres' ? `"${name}"` : `\`${name}\``);
	const id =
		map.dialect === 'postgres'
			? 'id BIGSERIAL PRIMARY KEY'
			: 'id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY';
	const columns = ledgerColumns(map.dialect).map((c) => `${c.name} ${c.definition}`);
	const once = `CONSTRAINT ${q(map.ledgerIndexName)} UNIQUE (order_key, kind, sku, location)`;
	const kinds = "CHECK (kind IN ('reserve', 'release', 'receive', 'adjust'))";
	const suffix = map.dialect === 'mysql' ? ' ENGINE=InnoDB DEFAULT CHARSET=utf8mb4' : '';
	return (
		`CREATE TABLE IF NOT EXISTS ${map.ledgerTable} (` +
		[id, ...columns, once, kinds].join(', ') +
		`)${suffix}`
	);
}

/** Adds one missing ledger column during a migration. */
export function addLedgerColumn(map: TableMapping, column: { name: string; definition: string }) {
	return `ALTER TABLE ${map.ledgerTable} ADD COLUMN ${column.name} ${column.definition}`;
}

/** Adds the once-only index to a ledger that was created without it. */
export function addLedgerUniqueIndex(map: TableMapping): string {
	const q = (name: string) => (map.dialect === 'postgres' ? `"${name}"` : `\`${name}\``);
	return map.dialect === 'postgres'
		? `CREATE UNIQUE INDEX IF NOT EXISTS ${q(map.ledgerIndexName)} ON ${map.ledgerTable} ` +
				'(order_key, kind, sku, location)'
		: `ALTER TABLE ${map.ledgerTable} ADD UNIQUE KEY ${q(map.ledgerIndexName)} ` +
				'(order_key, kind, sku, location)';
}

/** The simple stock table offered to users who have none, with the mapped column names. */
export function createStockTable(map: TableMapping): string {
	const columns = [`${map.sku} VARCHAR(100) NOT NULL`];
	if (map.location) columns.push(`${map.location} VARCHAR(100) NOT NULL DEFAULT ''`);
	columns.push(`${map.onHand} INTEGER NOT NULL DEFAULT 0`);
	if (map.reserved) columns.push(`${map.reserved} INTEGER NOT NULL DEFAULT 0`);
	const key = map.location ? `${map.sku}, ${map.location}` : map.sku;
	columns.push(`PRIMARY KEY (${key})`);
	const suffix = map.dialect === 'mysql' ? ' ENGINE=InnoDB DEFAULT CHARSET=utf8mb4' : '';
	return `CREATE TABLE IF NOT EXISTS ${map.stockTable} (${columns.join(', ')})${suffix}`;
}

/** Column names of a table, looked up in information_schema (default schema when unqualified). */
export function tableColumns(dialect: Dialect, parts: string[]): Statement {
	const b = new StatementBuilder(dialect).sql(
		'SELECT column_name AS name FROM information_schema.columns WHERE table_schema = ',
	);
	if (parts.length === 2) b.value(parts[0]);
	else b.sql(dialect === 'postgres' ? 'current_schema()' : 'DATABASE()');
	return b
		.sql(' AND table_name = ')
		.value(parts[parts.length - 1])
		.build();
}

/** Whether the once-only index exists (needed on MySQL, which has no IF NOT EXISTS for it). */
export function ledgerIndexExists(map: TableMapping): Statement {
	const parts = map.ledgerParts;
	const schema = parts.length === 2 ? parts[0] : null;
	const b = new StatementBuilder(map.dialect).sql(
		'SELECT index_name AS name FROM information_schema.statistics WHERE table_schema = ',
	);
	if (schema === null) b.sql('DATABASE()');
	else b.value(schema);
	return b
		.sql(' AND table_name = ')
		.value(parts[parts.length - 1])
		.sql(' AND index_name = ')
		.value(map.ledgerIndexName)
		.build();
}
