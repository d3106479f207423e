import { buildMapping, type Dialect } from '../../../nodes/Inventory/logic';
import * as sql from '../../../nodes/Inventory/sql';

const mapping = (dialect: Dialect, extra: { reserved?: string; location?: string } = {}) =>
	buildMapping(
		{
			stockTable: 'wh.stock',
			skuColumn: 'code',
			onHandColumn: 'qty',
			reservedColumn: extra.reserved,
			locationColumn: extra.location,
			ledgerTable: 'moves',
		},
		dialect,
	);

/** Counts placeholders in the engine's syntax. */
function placeholders(text: string, dialect: Dialect): number {
	return (text.match(dialect === 'postgres' ? /\$\d+/g : /\?/g) ?? []).length;
}

describe.each<Dialect>(['postgres', 'mysql'])('SQL for %s', (dialect) => {
	const hostile = "x'); DROP TABLE stock; --";

	it('binds every value as a placeholder and never puts it in the text', () => {
		const map = mapping(dialect, { reserved: 'alloc', location: 'bin' });
		const statements = [
			sql.lockRow(map, hostile, hostile),
			sql.addToColumn(map, 'reserved', { sku: hostile, location: hostile, delta: 5 }),
			sql.insertStockRow(map, { sku: hostile, location: hostile, onHand: 1 }),
			sql.selectLedger(map, hostile),
			sql.insertLedgerRow(map, {
				key: hostile,
				kind: 'reserve',
				sku: hostile,
				location: hostile,
				delta: -1,
				backordered: 0,
			}),
			sql.levelsForSkus(map, [hostile, 'B'], hostile),
			sql.levelsBelow(map, { threshold: 3, location: hostile, limit: 10 }),
		];
		for (const statement of statements) {
			expect(statement.text).not.toContain('DROP');
			expect(placeholders(statement.text, dialect)).toBe(statement.values.length);
		}
	});

	it('locks one row with FOR UPDATE, filtered by location when mapped', () => {
		const withLocation = sql.lockRow(mapping(dialect, { location: 'bin' }), 'A', 'MAIN');
		expect(withLocation.text).toMatch(/FOR UPDATE$/);
		expect(withLocation.values).toEqual(['A', 'MAIN']);
		expect(sql.lockRow(mapping(dialect), 'A', '').values).toEqual(['A']);
	});

	it('numbers placeholders in order for Postgres and uses ? for MySQL', () => {
		const statement = sql.addToColumn(mapping(dialect), 'onHand', {
			sku: 'A',
			location: '',
			delta: -2,
		});
		expect(statement.text).toBe(
			dialect === 'postgres'
				? 'UPDATE "wh"."stock" SET "qty" = "qty" + $1 WHERE "code" = $2'
				: 'UPDATE `wh`.`stock` SET `qty` = `qty` + ? WHERE `code` = ?',
		);
		expect(statement.values).toEqual([-2, 'A']);
	});

	it('reads a constant zero as reserved when no reserved column is mapped', () => {
		expect(sql.lockRow(mapping(dialect), 'A', '').text).toContain('0 AS reserved');
	});

	it('refuses to update an unmapped reserved column', () => {
		expect(() =>
			sql.addToColumn(mapping(dialect), 'reserved', { sku: 'A', location: '', delta: 1 }),
		).toThrow(/not mapped/);
	});

	it('creates a ledger with a unique index over key, kind, SKU and location', () => {
		const text = sql.createLedgerTable(mapping(dialect));
		expect(text).toMatch(/^CREATE TABLE IF NOT EXISTS/);
		expect(text).toMatch(/UNIQUE \(order_key, kind, sku, location\)/);
		expect(text).toContain("CHECK (kind IN ('reserve', 'release', 'receive', 'adjust'))");
	});

	it('creates a stock table keyed by SKU and location when a location is mapped', () => {
		expect(sql.createStockTable(mapping(dialect, { location: 'bin', reserved: 'alloc' }))).toMatch(
			/PRIMARY KEY \(.code., .bin.\)/,
		);
	});
});

it('passes the MySQL LIMIT as text, which prepared statements require', () => {
	const statement = sql.levelsBelow(
		buildMapping({ stockTable: 's', skuColumn: 'k', onHandColumn: 'q', ledgerTable: 'l' }, 'mysql'),
		{ threshold: 1, location: '', limit: 7 },
	);
	expect(statement.values).toEqual([1, '7']);
});
