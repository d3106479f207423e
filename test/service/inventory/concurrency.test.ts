import { normaliseLines, type StockLine } from '../../../nodes/Inventory/logic';
import { reserve, type MoveResult } from '../../../nodes/Inventory/stock';
import { DIALECTS, Fixture } from './helpers';

/** A small deterministic PRNG, so a failing run can be replayed exactly. */
function prng(seed: number): () => number {
	let state = seed >>> 0;
	return () => {
		state = (state * 1_664_525 + 1_013_904_223) >>> 0;
		return state / 2 ** 32;
	};
}

const SKUS = ['AX-1', 'BX-2', 'CX-3', 'DX-4', 'EX-5', 'FX-6'];
const INITIAL = 45;

function randomOrder(random: () => number): StockLine[] {
	const count = 1 + Math.floor(random() * 3);
	const picked = new Set<string>();
	while (picked.size < count) picked.add(SKUS[Math.floor(random() * SKUS.length)]);
	// Lines are listed in a random order on purpose: locking must not depend on it.
	const lines = [...picked]
		.sort(() => random() - 0.5)
		.map((sku) => ({ sku, quantity: 1 + Math.floor(random() * 4) }));
	return normaliseLines({ lines, duplicates: 'reject' });
}

jest.setTimeout(60_000);

describe.each(DIALECTS)('Reserving under concurrency on %s', (dialect) => {
	const fx = new Fixture(dialect);
	afterAll(async () => await fx.cleanup());

	it('keeps 200 concurrent reservations over shared SKUs all-or-nothing, never negative and free of surfacing deadlocks', async () => {
		const ctx = await fx.context();
		await fx.seed(ctx, Object.fromEntries(SKUS.map((sku) => [sku, INITIAL])));
		const retryReasons: string[] = [];
		ctx.retry = { maxAttempts: 8, onRetry: ({ reason }) => retryReasons.push(reason) };

		const random = prng(7);
		const orders = Array.from({ length: 200 }, (_, index) => ({
			orderKey: `order-${index}`,
			lines: randomOrder(random),
		}));
		const settled = await Promise.allSettled(
			orders.map(async (order) => await reserve(ctx, order)),
		);

		// No call failed: every order ended reserved or refused for stock, nothing else.
		const failures = settled.filter((s) => s.status === 'rejected');
		expect(failures).toEqual([]);
		const results = settled.map((s) => (s as PromiseFulfilledResult<MoveResult>).value);
		const applied = results.filter((r) => r.status === 'applied');
		const refused = results.filter((r) => r.status === 'insufficient');
		expect(applied.length + refused.length).toBe(200);
		// The stock is deliberately too small for all 200, so both outcomes must occur.
		expect(applied.length).toBeGreaterThan(0);
		expect(refused.length).toBeGreaterThan(0);
		// Locking in SKU order means the database never had to break a deadlock.
		expect(retryReasons.filter((reason) => reason === 'deadlock')).toEqual([]);

		// Never negative: not at the end, and not after any single reservation along the way.
		const onHand = await fx.onHand(ctx);
		for (const sku of SKUS) expect(onHand[sku]).toBeGreaterThanOrEqual(0);
		for (const line of applied.flatMap((r) => r.lines)) {
			expect(line.availableAfter).toBeGreaterThanOrEqual(0);
		}

		// The sum of successful reservations is exactly the stock consumed, SKU by SKU.
		const consumed = Object.fromEntries(SKUS.map((sku) => [sku, INITIAL - onHand[sku]]));
		const reservedTotals = Object.fromEntries(SKUS.map((sku) => [sku, 0]));
		for (const result of applied) {
			for (const line of result.lines) reservedTotals[line.sku] += line.quantity;
		}
		expect(reservedTotals).toEqual(consumed);

		// The ledger shows each order whole or not at all.
		const ledger = await fx.ledger(ctx);
		const byOrder = new Map<string, Array<{ sku: string; quantity: number }>>();
		for (const row of ledger) {
			const key = String(row.order_key);
			byOrder.set(key, [
				...(byOrder.get(key) ?? []),
				{ sku: String(row.sku), quantity: -Number(row.quantity_delta) },
			]);
		}
		orders.forEach((order, index) => {
			const rows = byOrder.get(order.orderKey) ?? [];
			if (results[index].status === 'applied') {
				expect(rows.sort((a, b) => (a.sku < b.sku ? -1 : 1))).toEqual(order.lines);
			} else {
				expect(rows).toEqual([]);
			}
		});
		// A refused order really was short on at least one line at the moment it was decided.
		for (const result of refused) {
			expect(result.shortLines.length).toBeGreaterThan(0);
			for (const short of result.shortLines) expect(short.available).toBeLessThan(short.wanted);
		}
	});

	it('changes stock once when the same order is reserved 10 times at once', async () => {
		const ctx = await fx.context();
		await fx.seed(ctx, { 'TW-1': 20, 'TW-2': 20 });
		const lines = normaliseLines({
			lines: [
				{ sku: 'TW-2', quantity: 3 },
				{ sku: 'TW-1', quantity: 5 },
			],
			duplicates: 'reject',
		});

		const results = await Promise.all(
			Array.from({ length: 10 }, async () => await reserve(ctx, { orderKey: 'twin-order', lines })),
		);

		expect(results.filter((r) => !r.alreadyApplied)).toHaveLength(1);
		expect(results.filter((r) => r.alreadyApplied)).toHaveLength(9);
		for (const result of results) {
			expect(result.status).toBe('applied');
			expect(result.lines.map((l) => [l.sku, l.quantity])).toEqual([
				['TW-1', 5],
				['TW-2', 3],
			]);
		}
		expect(await fx.onHand(ctx)).toEqual({ 'TW-1': 15, 'TW-2': 17 });
		expect(await fx.ledger(ctx)).toHaveLength(2);
	});
});
