import {
	buildMapping,
	groupByKey,
	InventoryInputError,
	normaliseLines,
	parseIdentifier,
	quoteIdentifier,
	readOrder,
	requireKey,
	splitSkus,
} from '../../../nodes/Inventory/logic';

describe('Identifier validation', () => {
	it.each(['stock', 'Stock_Items', '_t1', 'warehouse.stock'])(
		'accepts the plain identifier %s',
		(name) => {
			expect(parseIdentifier(name, 'Stock Table')).toEqual(name.split('.'));
		},
	);

	it.each([
		'',
		'1stock',
		'stock items',
		'stock;DROP TABLE x',
		'stock"',
		'st`ock',
		"st'ock",
		'a.b.c',
		'stock--',
		'x'.repeat(64),
		'ständer',
	])('refuses %j, naming the setting', (name) => {
		expect(() => parseIdentifier(name, 'SKU Column')).toThrow(InventoryInputError);
		expect(() => parseIdentifier(name, 'SKU Column')).toThrow(/SKU Column/);
	});

	it('quotes each part for the engine', () => {
		expect(quoteIdentifier(['wh', 'stock'], 'postgres')).toBe('"wh"."stock"');
		expect(quoteIdentifier(['wh', 'stock'], 'mysql')).toBe('`wh`.`stock`');
	});

	it('builds a quoted mapping and leaves optional columns out when blank', () => {
		const map = buildMapping(
			{
				stockTable: 'inv.items',
				skuColumn: 'code',
				onHandColumn: 'qty',
				reservedColumn: ' ',
				locationColumn: 'bin',
				ledgerTable: 'moves',
			},
			'mysql',
		);
		expect(map).toMatchObject({
			stockTable: '`inv`.`items`',
			sku: '`code`',
			onHand: '`qty`',
			reserved: undefined,
			location: '`bin`',
			ledgerTable: '`moves`',
			ledgerIndexName: 'moves_once',
		});
	});

	it('refuses a schema-qualified column name', () => {
		expect(() =>
			buildMapping(
				{ stockTable: 't', skuColumn: 'a.b', onHandColumn: 'q', ledgerTable: 'l' },
				'postgres',
			),
		).toThrow(/SKU Column must be a column name/);
	});
});

describe('Line normalisation', () => {
	it('sorts lines by SKU, trims SKUs and accepts numeric text', () => {
		expect(
			normaliseLines({
				lines: [
					{ sku: ' b ', quantity: '2' },
					{ sku: 'a', quantity: 1 },
					{ sku: 10, quantity: 3 },
				],
				duplicates: 'reject',
			}),
		).toEqual([
			{ sku: '10', quantity: 3 },
			{ sku: 'a', quantity: 1 },
			{ sku: 'b', quantity: 2 },
		]);
	});

	it('merges duplicate SKU lines when asked to', () => {
		expect(
			normaliseLines({
				lines: [
					{ sku: 'a', quantity: 1 },
					{ sku: 'a', quantity: 4 },
				],
				duplicates: 'merge',
			}),
		).toEqual([{ sku: 'a', quantity: 5 }]);
	});

	it('rejects duplicate SKU lines when asked to', () => {
		expect(() =>
			normaliseLines({
				lines: [
					{ sku: 'a', quantity: 1 },
					{ sku: 'a', quantity: 4 },
				],
				duplicates: 'reject',
			}),
		).toThrow(/lines\[1\]\.sku: "a" appears on more than one line/);
	});

	it.each([
		[0, 'must be greater than zero'],
		[-2, 'must be greater than zero'],
		[1.5, 'is not a whole number'],
		['abc', 'is not a number'],
		[null, 'is not a number'],
		[Number.NaN, 'is not a number'],
	])('rejects quantity %p: %s', (quantity, problem) => {
		expect(() => normaliseLines({ lines: [{ sku: 'a', quantity }], duplicates: 'merge' })).toThrow(
			problem,
		);
	});

	it('lists every problem at once', () => {
		try {
			normaliseLines({
				lines: [
					{ sku: '', quantity: 1 },
					{ sku: 'b', quantity: 0 },
				],
				duplicates: 'merge',
			});
			throw new Error('expected a failure');
		} catch (error) {
			expect((error as InventoryInputError).problems).toEqual([
				'lines[0].sku: is missing or blank',
				'lines[1].quantity: 0 must be greater than zero',
			]);
		}
	});

	it('allows negative but not zero quantities for adjustments, including lines that cancel out', () => {
		expect(
			normaliseLines({
				lines: [{ sku: 'a', quantity: -3 }],
				duplicates: 'merge',
				allowNegative: true,
			}),
		).toEqual([{ sku: 'a', quantity: -3 }]);
		expect(() =>
			normaliseLines({
				lines: [
					{ sku: 'a', quantity: -3 },
					{ sku: 'a', quantity: 3 },
				],
				duplicates: 'merge',
				allowNegative: true,
			}),
		).toThrow(/add up to zero/);
	});

	it('refuses an empty list of lines', () => {
		expect(() => normaliseLines({ lines: [], duplicates: 'merge' })).toThrow(/no lines/);
	});
});

describe('Reading orders and keyed items', () => {
	const order = {
		orderKey: 'sf:opp:006A:closed-won',
		reference: '006A',
		currency: 'USD',
		customer: { name: 'Acme' },
		lines: [{ sku: 'A', quantity: 2, unitPrice: 10 }],
	};

	it('takes the key and lines of a full order from the shared order schema', () => {
		expect(readOrder(order)).toEqual({
			orderKey: order.orderKey,
			lines: [{ sku: 'A', quantity: 2 }],
		});
	});

	it('accepts a minimal order and order JSON text', () => {
		const minimal = { orderKey: 'k', lines: [{ sku: 'A', quantity: 1 }] };
		expect(readOrder(minimal).orderKey).toBe('k');
		expect(readOrder(JSON.stringify(minimal)).lines).toHaveLength(1);
	});

	it('says what is missing from an unusable order', () => {
		expect(() => readOrder({ lines: [] })).toThrow(
			/orderKey: Required.*lines: an order needs at least one line/,
		);
		expect(() => readOrder('{not json')).toThrow(/not valid JSON/);
	});

	it('groups item-per-line input by key in first-seen order', () => {
		expect(
			groupByKey([
				{ key: 'o2', sku: 'A', quantity: 1, itemIndex: 0 },
				{ key: 'o1', sku: 'B', quantity: 2, itemIndex: 1 },
				{ key: 'o2', sku: 'C', quantity: 3, itemIndex: 2 },
			]),
		).toEqual([
			{
				key: 'o2',
				itemIndexes: [0, 2],
				lines: [
					{ sku: 'A', quantity: 1 },
					{ sku: 'C', quantity: 3 },
				],
			},
			{ key: 'o1', itemIndexes: [1], lines: [{ sku: 'B', quantity: 2 }] },
		]);
	});

	it('requires a non-blank key of at most 200 characters', () => {
		expect(requireKey(' k-1 ', 'Order Key')).toBe('k-1');
		expect(requireKey(42, 'Order Key')).toBe('42');
		expect(() => requireKey('  ', 'Order Key')).toThrow(/Order Key is empty/);
		expect(() => requireKey(undefined, 'Movement Key')).toThrow(/Movement Key is empty/);
		expect(() => requireKey('x'.repeat(201), 'Order Key')).toThrow(/longer than 200/);
	});

	it('splits SKU lists given as text or arrays', () => {
		expect(splitSkus('A, B,\nC,,')).toEqual(['A', 'B', 'C']);
		expect(splitSkus(['A', ' B '])).toEqual(['A', 'B']);
		expect(splitSkus(undefined)).toEqual([]);
	});
});
