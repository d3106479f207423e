import { z } from 'zod';

import { formatZodIssues, orderSchema } from '../shared/order';

/**
 * Pure input handling for the Inventory node: identifier validation and quoting, and turning an
 * order or loose items into validated stock lines. No n8n and no database imports, so every rule
 * here is testable on its own and runs before any connection is opened.
 */

export type Dialect = 'postgres' | 'mysql';

/** Movement kinds written to the ledger. */
export type MoveKind = 'reserve' | 'release' | 'receive' | 'adjust';

export class InventoryInputError extends Error {
	readonly problems: string[];

	constructor(message: string, problems: string[] = []) {
		super(message);
		this.name = 'InventoryInputError';
		this.problems = problems;
	}
}

// One identifier part: letters, digits and underscores, not starting with a digit, within the
// shortest limit of the two engines (MySQL 64, Postgres 63). Anything else, quotes included, is
// refused rather than escaped, so no user text can ever change the shape of a statement.
const IDENTIFIER_PART = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * Validates a table or column name, optionally schema-qualified (`warehouse.stock`).
 *
 * @returns the name split into its parts
 * @throws InventoryInputError naming the setting and the allowed pattern
 */
export function parseIdentifier(value: unknown, setting: string): string[] {
	const text = typeof value === 'string' ? value.trim() : '';
	const parts = text.split('.');
	const valid =
		text !== '' && parts.length <= 2 && parts.every((part) => IDENTIFIER_PART.test(part));
	if (!valid) {
		throw new InventoryInputError(
			`${setting} "${String(value)}" is not a plain identifier: use letters, digits and underscores ` +
				'(not starting with a digit, at most 63 characters), optionally as schema.table',
		);
	}
	return parts;
}

/** Quotes validated identifier parts for the engine: "a"."b" for Postgres, `a`.`b` for MySQL. */
export function quoteIdentifier(parts: string[], dialect: Dialect): string {
	const quote = dialect === 'postgres' ? '"' : '`';
	return parts.map((part) => `${quote}${part}${quote}`).join('.');
}

/** The user's description of the stock table and the ledger, before validation. */
export interface TableMappingInput {
	stockTable: string;
	skuColumn: string;
	onHandColumn: string;
	/** Empty when the table has no reserved column: reservations then decrement on-hand. */
	reservedColumn?: string;
	/** Empty when the table holds one row per SKU. */
	locationColumn?: string;
	ledgerTable: string;
}

/** A validated mapping, every name already quoted for its engine. */
export interface TableMapping {
	dialect: Dialect;
	stockTable: string;
	sku: string;
	onHand: string;
	reserved?: string;
	location?: string;
	ledgerTable: string;
	/** Unquoted name for the ledger's unique index; Postgres wants it without a schema. */
	ledgerIndexName: string;
	/** Unquoted parts, for information_schema look-ups during set-up. */
	ledgerParts: string[];
	stockParts: string[];
	/** Unquoted column names, to check the mapping against the real table. */
	columnNames: { sku: string; onHand: string; reserved?: string; location?: string };
}

/**
 * Validates every table and column name of a mapping and quotes them for the engine.
 *
 * @throws InventoryInputError for the first name that is not a plain identifier
 */
export function buildMapping(input: TableMappingInput, dialect: Dialect): TableMapping {
	const stockParts = parseIdentifier(input.stockTable, 'Stock Table');
	const ledgerParts = parseIdentifier(input.ledgerTable, 'Ledger Table');
	const column = (value: string, setting: string) => {
		const parts = parseIdentifier(value, setting);
		if (parts.length !== 1) throw new InventoryInputError(`${setting} must be a column name`);
		return quoteIdentifier(parts, dialect);
	};
	const optionalColumn = (value: string | undefined, setting: string) =>
		value && value.trim() !== '' ? column(value, setting) : undefined;

	const ledgerName = ledgerParts[ledgerParts.length - 1];
	if (ledgerName.length > 58) {
		throw new InventoryInputError('Ledger Table name must be at most 58 characters long');
	}

	return {
		dialect,
		stockTable: quoteIdentifier(stockParts, dialect),
		sku: column(input.skuColumn, 'SKU Column'),
		onHand: column(input.onHandColumn, 'On-Hand Column'),
		reserved: optionalColumn(input.reservedColumn, 'Reserved Column'),
		location: optionalColumn(input.locationColumn, 'Location Column'),
		ledgerTable: quoteIdentifier(ledgerParts, dialect),
		ledgerIndexName: `${ledgerName}_once`,
		ledgerParts,
		stockParts,
		columnNames: {
			sku: input.skuColumn.trim(),
			onHand: input.onHandColumn.trim(),
			reserved: input.reservedColumn?.trim() || undefined,
			location: input.locationColumn?.trim() || undefined,
		},
	};
}

/** One validated line: a SKU and a whole, positive quantity (or signed, for adjustments). */
export interface StockLine {
	sku: string;
	quantity: number;
}

export type DuplicatePolicy = 'merge' | 'reject';

export interface NormaliseLinesOptions {
	/** Raw lines, e.g. `order.lines` or one `{ sku, quantity }` per input item. */
	lines: Array<{ sku: unknown; quantity: unknown }>;
	/** Two lines for the same SKU are added up (`merge`) or refused (`reject`). */
	duplicates: DuplicatePolicy;
	/** Adjustments may be negative; every other movement must be positive. @default false */
	allowNegative?: boolean;
}

/**
 * Checks and merges stock lines before any database work.
 *
 * @returns the lines sorted by SKU, which is also the order their rows are locked in
 * @throws InventoryInputError listing every problem found, e.g. `lines[2].quantity: 1.5 is not a
 * whole number`
 */
export function normaliseLines(options: NormaliseLinesOptions): StockLine[] {
	const problems: string[] = [];
	const merged = new Map<string, number>();

	if (options.lines.length === 0) problems.push('there are no lines to move');

	options.lines.forEach((line, index) => {
		const where = `lines[${index}]`;
		const sku = typeof line.sku === 'number' ? String(line.sku) : line.sku;
		if (typeof sku !== 'string' || sku.trim() === '') {
			problems.push(`${where}.sku: is missing or blank`);
			return;
		}
		const trimmed = sku.trim();
		if (trimmed.length > 100) problems.push(`${where}.sku: is longer than 100 characters`);

		const quantity = toQuantity(line.quantity);
		if (quantity === undefined) {
			problems.push(`${where}.quantity: ${JSON.stringify(line.quantity)} is not a number`);
			return;
		}
		if (!Number.isSafeInteger(quantity)) {
			problems.push(`${where}.quantity: ${quantity} is not a whole number`);
			return;
		}
		if (quantity === 0 || (quantity < 0 && !options.allowNegative)) {
			const rule = options.allowNegative ? 'must not be zero' : 'must be greater than zero';
			problems.push(`${where}.quantity: ${quantity} ${rule}`);
			return;
		}

		const previous = merged.get(trimmed);
		if (previous !== undefined && options.duplicates === 'reject') {
			problems.push(`${where}.sku: "${trimmed}" appears on more than one line`);
			return;
		}
		merged.set(trimmed, (previous ?? 0) + quantity);
	});

	for (const [sku, quantity] of merged) {
		if (quantity === 0) problems.push(`sku "${sku}": its lines add up to zero`);
	}
	if (problems.length > 0) {
		throw new InventoryInputError(`Invalid stock lines: ${problems.join('; ')}`, problems);
	}
	return [...merged.entries()]
		.map(([sku, quantity]) => ({ sku, quantity }))
		.sort((a, b) => compareSku(a.sku, b.sku));
}

/** The one ordering used for locking, so every transaction takes row locks in the same order. */
export function compareSku(a: string, b: string): number {
	if (a === b) return 0;
	return a < b ? -1 : 1;
}

function toQuantity(value: unknown): number | undefined {
	if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
	if (typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value)) return Number(value);
	return undefined;
}

/**
 * Validates an order or movement key: the idempotency key every ledger row carries.
 *
 * @throws InventoryInputError when it is missing, blank or longer than the ledger column
 */
export function requireKey(value: unknown, setting: string): string {
	const text = typeof value === 'number' ? String(value) : value;
	if (typeof text !== 'string' || text.trim() === '') {
		throw new InventoryInputError(`${setting} is empty: every stock move needs a stable key`);
	}
	if (text.trim().length > 200) {
		throw new InventoryInputError(`${setting} is longer than 200 characters`);
	}
	return text.trim();
}

// Only the key and the lines matter for stock, so an order from the Salesforce node and a
// hand-built `{ orderKey, lines }` are both accepted. The lines' own rules (whole numbers,
// duplicates) are checked by `normaliseLines`, which gives more precise messages than the schema.
const stockOrderSchema = orderSchema.pick({ orderKey: true }).extend({
	lines: z
		.array(z.object({ sku: z.unknown(), quantity: z.unknown() }).passthrough())
		.min(1, 'an order needs at least one line'),
});

/**
 * Reads the order key and raw lines from an order object (or its JSON text).
 *
 * @throws InventoryInputError listing what is missing, e.g. `orderKey: Required`
 */
export function readOrder(value: unknown): {
	orderKey: string;
	lines: Array<{ sku: unknown; quantity: unknown }>;
} {
	let input = value;
	if (typeof value === 'string') {
		try {
			input = JSON.parse(value);
		} catch {
			throw new InventoryInputError(
				'Order is text but not valid JSON: pass the order object, e.g. {{ $json }}',
			);
		}
	}
	const parsed = stockOrderSchema.safeParse(input);
	if (!parsed.success) {
		const problems = formatZodIssues(parsed.error.issues);
		throw new InventoryInputError(`Order is not usable: ${problems.join('; ')}`, problems);
	}
	const { orderKey, lines } = parsed.data;
	return { orderKey, lines: lines.map((line) => ({ sku: line.sku, quantity: line.quantity })) };
}

/** One group of input items that moves stock together under one key. */
export interface KeyedGroup {
	key: string;
	itemIndexes: number[];
	lines: Array<{ sku: unknown; quantity: unknown }>;
}

/**
 * Groups item-per-line input by its key, keeping first-seen order, so several input items with
 * the same order key become one all-or-nothing move. Pure; never throws.
 */
export function groupByKey(
	rows: Array<{ key: string; sku: unknown; quantity: unknown; itemIndex: number }>,
): KeyedGroup[] {
	const groups = new Map<string, KeyedGroup>();
	for (const row of rows) {
		const group = groups.get(row.key) ?? { key: row.key, itemIndexes: [], lines: [] };
		group.itemIndexes.push(row.itemIndex);
		group.lines.push({ sku: row.sku, quantity: row.quantity });
		groups.set(row.key, group);
	}
	return [...groups.values()];
}

/**
 * Splits a SKU list given as an array or as comma/newline-separated text.
 *
 * @returns trimmed, non-empty SKUs in input order; never throws
 */
export function splitSkus(value: unknown): string[] {
	const parts = Array.isArray(value) ? value : String(value ?? '').split(/[,\n]/);
	return parts.map((part) => String(part).trim()).filter((part) => part !== '');
}
