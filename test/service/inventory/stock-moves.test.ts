import { buildMapping, normaliseLines, InventoryInputError } from '../../../nodes/Inventory/logic';
import {
	changeStock,
	levelsBelow,
	levelsForSkus,
	release,
	reserve,
	setUp,
	StockOperationError,
} from '../../../nodes/Inventory/stock';
import { DIALECTS, Fixture } from './helpers';

jest.setTimeout(60_000);

const lines = (raw: Array<{ sku: string; quantity: number }>) =>
	normaliseLines({ lines: raw, duplicates: 'reject' });

describe.each(DIALECTS)('Stock moves on %s', (dialect) => {
	const fx = new Fixture(dialect);
	afterAll(async () => await fx.cleanup());

	it('restores stock on release, and a second release changes nothing', async () => {
		const ctx = await fx.context();
		await fx.seed(ctx, { P: 10, Q: 4 });
		await reserve(ctx, {
			orderKey: 'o-rel',
			lines: lines([
				{ sku: 'P', quantity: 6 },
				{ sku: 'Q', quantity: 4 },
			]),
		});
		expect(await fx.onHand(ctx)).toEqual({ P: 4, Q: 0 });

		const first = await release(ctx, 'o-rel');
		expect(first).toMatchObject({ status: 'applied', alreadyApplied: false });
		expect(await fx.onHand(ctx)).toEqual({ P: 10, Q: 4 });

		const second = await release(ctx, 'o-rel');
		expect(second).toMatchObject({ status: 'applied', alreadyApplied: true });
		expect(second.lines.map((l) => [l.sku, l.quantity])).toEqual([
			['P', 6],
			['Q', 4],
		]);
		expect(await fx.onHand(ctx)).toEqual({ P: 10, Q: 4 });

		// A replayed reservation after the release reports it, and still changes nothing.
		const replayed = await reserve(ctx, {
			orderKey: 'o-rel',
			lines: lines([
				{ sku: 'P', quantity: 6 },
				{ sku: 'Q', quantity: 4 },
			]),
		});
		expect(replayed).toMatchObject({ alreadyApplied: true, released: true, requestDiffers: false });
		expect(await fx.onHand(ctx)).toEqual({ P: 10, Q: 4 });
		expect(await fx.ledger(ctx)).toHaveLength(4);
	});

	it('releases concurrently requested twice only once', async () => {
		const ctx = await fx.context();
		await fx.seed(ctx, { P: 10 });
		await reserve(ctx, { orderKey: 'o-twice', lines: lines([{ sku: 'P', quantity: 3 }]) });

		const results = await Promise.all([
			release(ctx, 'o-twice'),
			release(ctx, 'o-twice'),
			release(ctx, 'o-twice'),
		]);

		expect(results.filter((r) => !r.alreadyApplied)).toHaveLength(1);
		expect(await fx.onHand(ctx)).toEqual({ P: 10 });
	});

	it('reports nothing to release for an order that never reserved', async () => {
		const ctx = await fx.context();
		const result = await release(ctx, 'never-reserved');
		expect(result).toMatchObject({
			status: 'nothing_to_release',
			alreadyApplied: false,
			lines: [],
		});
		expect(await fx.ledger(ctx)).toHaveLength(0);
	});

	it('refuses a later reservation after a release that cancelled the unreserved order', async () => {
		const ctx = await fx.context();
		await fx.seed(ctx, { P: 10 });

		const cancel = await release(ctx, 'o-lost', { cancelIfUnreserved: true });
		const cancelAgain = await release(ctx, 'o-lost', { cancelIfUnreserved: true });
		const late = await reserve(ctx, {
			orderKey: 'o-lost',
			lines: lines([{ sku: 'P', quantity: 4 }]),
		});

		expect(cancel).toMatchObject({ status: 'cancelled', alreadyApplied: false });
		expect(cancelAgain).toMatchObject({ status: 'cancelled', alreadyApplied: true });
		expect(late).toMatchObject({ status: 'cancelled', alreadyApplied: true, lines: [] });
		expect(await fx.onHand(ctx)).toEqual({ P: 10 });
	});

	it('ends with stock untouched whichever of a cancelling release and a reservation wins the race', async () => {
		const ctx = await fx.context();
		await fx.seed(ctx, { P: 100, Q: 100 });
		const order = lines([
			{ sku: 'Q', quantity: 2 },
			{ sku: 'P', quantity: 3 },
		]);
		const keys = Array.from({ length: 20 }, (_, i) => `race-${i}`);

		await Promise.all(
			keys.flatMap((key) => [
				reserve(ctx, { orderKey: key, lines: order }),
				release(ctx, key, { cancelIfUnreserved: true }),
			]),
		);
		// Whoever won, one more release settles the orders that reserved after all.
		await Promise.all(keys.map(async (key) => await release(ctx, key)));

		expect(await fx.onHand(ctx)).toEqual({ P: 100, Q: 100 });
		const ledger = await fx.ledger(ctx);
		for (const key of keys) {
			const rows = ledger.filter((row) => row.order_key === key);
			const reserved = rows.filter((row) => row.kind === 'reserve');
			const released = rows.filter((row) => row.kind === 'release');
			// Either cancelled before reserving (one marker row), or reserved and released in full.
			if (reserved.length === 0) {
				expect(released.map((row) => [row.sku, Number(row.quantity_delta)])).toEqual([['', 0]]);
			} else {
				expect(released.map((row) => row.sku).sort()).toEqual(['P', 'Q']);
			}
		}
	});

	it('changes nothing and lists the short lines when any line is short', async () => {
		const ctx = await fx.context();
		await fx.seed(ctx, { P: 10, Q: 1, R: 5 });

		const result = await reserve(ctx, {
			orderKey: 'o-short',
			lines: lines([
				{ sku: 'P', quantity: 2 },
				{ sku: 'Q', quantity: 3 },
				{ sku: 'R', quantity: 5 },
			]),
		});

		expect(result).toMatchObject({
			status: 'insufficient',
			alreadyApplied: false,
			lines: [],
			shortLines: [{ sku: 'Q', wanted: 3, available: 1 }],
		});
		expect(await fx.onHand(ctx)).toEqual({ P: 10, Q: 1, R: 5 });
		expect(await fx.ledger(ctx)).toHaveLength(0);

		// A refused order is not remembered: once stock arrives, the same key can reserve.
		await changeStock(ctx, {
			kind: 'receive',
			movementKey: 'grn-1',
			lines: lines([{ sku: 'Q', quantity: 2 }]),
		});
		const retried = await reserve(ctx, {
			orderKey: 'o-short',
			lines: lines([
				{ sku: 'P', quantity: 2 },
				{ sku: 'Q', quantity: 3 },
				{ sku: 'R', quantity: 5 },
			]),
		});
		expect(retried).toMatchObject({ status: 'applied', alreadyApplied: false });
		expect(await fx.onHand(ctx)).toEqual({ P: 8, Q: 0, R: 0 });
	});

	it('takes stock below zero and flags the lines when backorders are allowed', async () => {
		const ctx = await fx.context();
		await fx.seed(ctx, { P: 2, Q: 9 });

		const result = await reserve(ctx, {
			orderKey: 'o-back',
			lines: lines([
				{ sku: 'P', quantity: 5 },
				{ sku: 'Q', quantity: 1 },
			]),
			allowBackorders: true,
		});

		expect(result.status).toBe('applied');
		expect(result.shortLines).toEqual([{ sku: 'P', wanted: 5, available: 2 }]);
		expect(result.lines).toEqual([
			expect.objectContaining({ sku: 'P', quantity: 5, availableAfter: -3, backordered: 3 }),
			expect.objectContaining({ sku: 'Q', quantity: 1, availableAfter: 8, backordered: 0 }),
		]);
		expect(await fx.onHand(ctx)).toEqual({ P: -3, Q: 8 });
	});

	it('refuses an unknown SKU before writing anything, unless told to ignore it', async () => {
		const ctx = await fx.context();
		await fx.seed(ctx, { P: 10 });
		const order = lines([
			{ sku: 'P', quantity: 1 },
			{ sku: 'GHOST', quantity: 1 },
		]);

		const refused = reserve(ctx, { orderKey: 'o-ghost', lines: order });
		await expect(refused).rejects.toBeInstanceOf(StockOperationError);
		await expect(refused).rejects.toMatchObject({
			reason: 'unknown_sku',
			message: expect.stringContaining('"GHOST"'),
		});
		expect(await fx.onHand(ctx)).toEqual({ P: 10 });
		expect(await fx.ledger(ctx)).toHaveLength(0);

		const ignored = await reserve(ctx, { orderKey: 'o-ghost', lines: order, unknownSku: 'ignore' });
		expect(ignored).toMatchObject({
			status: 'applied',
			ignoredLines: [{ sku: 'GHOST', quantity: 1, reason: 'unknown_sku' }],
		});
		expect(await fx.onHand(ctx)).toEqual({ P: 9 });
	});

	it('maps onto an existing table with its own column names, a reserved column and locations', async () => {
		const table = fx.table('warehouse_items');
		const q = fx.quote(table);
		await fx.exec(
			`CREATE TABLE ${q} (ItemCode VARCHAR(40) NOT NULL, Bin VARCHAR(20) NOT NULL, QtyOnHand INT NOT NULL, QtyAllocated INT NOT NULL DEFAULT 0, Note VARCHAR(50) NULL, PRIMARY KEY (ItemCode, Bin))`,
		);
		await fx.exec(
			`INSERT INTO ${q} (ItemCode, Bin, QtyOnHand, QtyAllocated) VALUES ('W-1', 'MAIN', 10, 2), ('W-1', 'OVERFLOW', 50, 0), ('W-2', 'MAIN', 3, 0)`,
		);
		// Postgres folds unquoted names to lower case; the mapping names the columns as stored.
		const name = (column: string) => (dialect === 'postgres' ? column.toLowerCase() : column);
		const ctx = await fx.context(
			{
				stockTable: table,
				skuColumn: name('ItemCode'),
				onHandColumn: name('QtyOnHand'),
				reservedColumn: name('QtyAllocated'),
				locationColumn: name('Bin'),
			},
			'MAIN',
		);

		const short = await reserve(ctx, {
			orderKey: 'm-1',
			lines: lines([{ sku: 'W-1', quantity: 9 }]),
		});
		expect(short.shortLines).toEqual([{ sku: 'W-1', wanted: 9, available: 8 }]);

		const ok = await reserve(ctx, {
			orderKey: 'm-2',
			lines: lines([
				{ sku: 'W-1', quantity: 8 },
				{ sku: 'W-2', quantity: 3 },
			]),
		});
		expect(ok.status).toBe('applied');
		const rows = await fx.exec(
			`SELECT ItemCode AS sku, Bin AS bin, QtyOnHand AS onhand, QtyAllocated AS alloc FROM ${q} ORDER BY ItemCode, Bin`,
		);
		expect(rows.map((r) => [r.sku, r.bin, Number(r.onhand), Number(r.alloc)])).toEqual([
			['W-1', 'MAIN', 10, 10],
			['W-1', 'OVERFLOW', 50, 0],
			['W-2', 'MAIN', 3, 3],
		]);

		const levels = await levelsForSkus(ctx, ['W-2', 'W-1', 'W-9']);
		expect(levels).toEqual([
			{ sku: 'W-1', location: 'MAIN', onHand: 10, reserved: 10, available: 0, found: true },
			{ sku: 'W-2', location: 'MAIN', onHand: 3, reserved: 3, available: 0, found: true },
			{ sku: 'W-9', location: 'MAIN', onHand: 0, reserved: 0, available: 0, found: false },
		]);

		await release(ctx, 'm-2');
		const after = await fx.exec(`SELECT QtyAllocated AS alloc FROM ${q} ORDER BY ItemCode, Bin`);
		expect(after.map((r) => Number(r.alloc))).toEqual([2, 0, 0]);
		expect((await fx.ledger(ctx)).map((r) => r.location)).toEqual(['MAIN', 'MAIN', 'MAIN', 'MAIN']);
	});

	it('refuses a SKU that matches several rows when no location column is mapped', async () => {
		const table = fx.table('multi_bin');
		await fx.exec(
			`CREATE TABLE ${fx.quote(table)} (sku VARCHAR(40) NOT NULL, bin VARCHAR(10) NOT NULL, on_hand INT NOT NULL)`,
		);
		await fx.exec(`INSERT INTO ${fx.quote(table)} VALUES ('M-1', 'A', 5), ('M-1', 'B', 5)`);
		const ctx = await fx.context({ stockTable: table });

		await expect(
			reserve(ctx, { orderKey: 'amb', lines: lines([{ sku: 'M-1', quantity: 1 }]) }),
		).rejects.toMatchObject({
			reason: 'ambiguous_sku',
		});
		expect(await fx.ledger(ctx)).toHaveLength(0);
	});

	it('receives stock once per movement key and can create new SKUs', async () => {
		const ctx = await fx.context();
		await fx.seed(ctx, { P: 1 });
		const receipt = lines([
			{ sku: 'P', quantity: 5 },
			{ sku: 'NEW', quantity: 7 },
		]);

		await expect(
			changeStock(ctx, { kind: 'receive', movementKey: 'grn-7', lines: receipt }),
		).rejects.toMatchObject({
			reason: 'unknown_sku',
		});
		expect(await fx.onHand(ctx)).toEqual({ P: 1 });

		const first = await changeStock(ctx, {
			kind: 'receive',
			movementKey: 'grn-7',
			lines: receipt,
			createMissing: true,
		});
		const again = await changeStock(ctx, {
			kind: 'receive',
			movementKey: 'grn-7',
			lines: receipt,
			createMissing: true,
		});

		expect(first.alreadyApplied).toBe(false);
		expect(again).toMatchObject({ alreadyApplied: true, requestDiffers: false });
		expect(await fx.onHand(ctx)).toEqual({ P: 6, NEW: 7 });
		expect((await fx.ledger(ctx)).map((r) => [r.kind, r.sku, Number(r.quantity_delta)])).toEqual([
			['receive', 'NEW', 7],
			['receive', 'P', 5],
		]);
	});

	it('adjusts by signed amounts once per key and refuses to go negative unless allowed', async () => {
		const ctx = await fx.context();
		await fx.seed(ctx, { P: 5, Q: 5 });
		const count = normaliseLines({
			lines: [
				{ sku: 'P', quantity: -2 },
				{ sku: 'Q', quantity: 3 },
			],
			duplicates: 'reject',
			allowNegative: true,
		});

		await changeStock(ctx, { kind: 'adjust', movementKey: 'count-1', lines: count });
		await changeStock(ctx, { kind: 'adjust', movementKey: 'count-1', lines: count });
		expect(await fx.onHand(ctx)).toEqual({ P: 3, Q: 8 });

		const tooMuch = normaliseLines({
			lines: [
				{ sku: 'P', quantity: -4 },
				{ sku: 'Q', quantity: 1 },
			],
			duplicates: 'reject',
			allowNegative: true,
		});
		await expect(
			changeStock(ctx, { kind: 'adjust', movementKey: 'count-2', lines: tooMuch }),
		).rejects.toMatchObject({
			reason: 'would_go_negative',
		});
		expect(await fx.onHand(ctx)).toEqual({ P: 3, Q: 8 });

		await changeStock(ctx, {
			kind: 'adjust',
			movementKey: 'count-2',
			lines: tooMuch,
			allowNegative: true,
		});
		expect(await fx.onHand(ctx)).toEqual({ P: -1, Q: 9 });
	});

	it('lists SKUs below a threshold, lowest available first', async () => {
		const ctx = await fx.context();
		await fx.seed(ctx, { P: 1, Q: 50, R: 0, S: 4 });

		const low = await levelsBelow(ctx, { threshold: 5, limit: 2 });

		expect(low.map((l) => [l.sku, l.available])).toEqual([
			['R', 0],
			['P', 1],
		]);
	});

	it('sets up idempotently and migrates a ledger that lacks a column', async () => {
		const ctx = await fx.context();
		const again = await setUp(ctx, { createStockTable: true });
		expect(again).toMatchObject({
			ledgerCreated: false,
			stockTableCreated: false,
			addedColumns: [],
		});

		const ledger = fx.table('old_ledger');
		await fx.exec(
			`CREATE TABLE ${fx.quote(ledger)} (id INT PRIMARY KEY, order_key VARCHAR(200) NOT NULL, kind VARCHAR(16) NOT NULL, sku VARCHAR(100) NOT NULL, location VARCHAR(100) NOT NULL DEFAULT '', quantity_delta INT NOT NULL)`,
		);
		const old = {
			...ctx,
			map: buildMapping(
				{
					stockTable: ctx.map.stockParts[0],
					skuColumn: 'sku',
					onHandColumn: 'on_hand',
					ledgerTable: ledger,
				},
				dialect,
			),
		};
		expect(await setUp(old, { createStockTable: false })).toMatchObject({
			ledgerCreated: false,
			addedColumns: ['backordered_quantity', 'created_at'],
		});
		expect(await setUp(old, { createStockTable: false })).toMatchObject({ addedColumns: [] });
		const columns = await fx.exec(
			dialect === 'postgres'
				? 'SELECT column_name AS name FROM information_schema.columns WHERE table_name = $1'
				: 'SELECT column_name AS name FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ?',
			[ledger],
		);
		expect(columns.map((c) => c.name)).toEqual(
			expect.arrayContaining(['backordered_quantity', 'created_at']),
		);
	});

	it('names a missing mapped column when setting up', async () => {
		const ctx = await fx.context();
		const broken = await (async () => {
			try {
				await fx.context({ stockTable: ctx.map.stockParts[0], onHandColumn: 'qty' });
				return undefined;
			} catch (error) {
				return error;
			}
		})();
		expect(broken).toMatchObject({
			reason: 'missing_column',
			message: expect.stringContaining('"qty"'),
		});
	});

	it('rejects a table name that is not a plain identifier before touching the database', async () => {
		await expect(fx.context({ stockTable: 'stock; DROP TABLE x' })).rejects.toBeInstanceOf(
			InventoryInputError,
		);
	});
});
