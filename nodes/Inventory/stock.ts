import { withRetry, type BackoffPolicy } from '../shared/backoff';
import { compareSku, type MoveKind, type StockLine, type TableMapping } from './logic';
import * as sql from './sql';
import { classifyDbError, type DbEngine, type DbSession } from './transport';

/**
 * The stock operations. Each move is one transaction that locks the stock rows it touches in
 * SKU order (so two orders can never wait on each other in a cycle), checks, updates and writes
 * its ledger rows. Reserve and release first take a lock on the order key, so moves of one order
 * take turns. The ledger's unique (key, kind, sku, location) index is the last word on "exactly
 * once": a copy of a move that gets past the checks fails on that index, is retried, and then
 * finds its twin's rows and reports them as already applied.
 */

export interface StockContext {
	engine: DbEngine;
	map: TableMapping;
	/** The location every row of this call belongs to; '' when no location column is mapped. */
	location: string;
	retry?: TransactionRetryOptions;
}

export interface TransactionRetryOptions {
	/** Total tries of the whole transaction. @default 6 */
	maxAttempts?: number;
	/** @default { baseMs: 25, capMs: 1000 } */
	policy?: BackoffPolicy;
	/** Called before each wait, e.g. to log `{ attempt, delayMs, reason }`. */
	onRetry?: (info: { attempt: number; delayMs: number; reason: string; error: unknown }) => void;
	sleep?: (ms: number) => Promise<void>;
}

/** A failure the caller must fix (or wait out) before the same call can succeed. */
export class StockOperationError extends Error {
	readonly reason: string;
	readonly retryable: boolean;
	readonly details: Record<string, unknown>;

	constructor(options: {
		message: string;
		reason: string;
		retryable?: boolean;
		details?: Record<string, unknown>;
	}) {
		super(options.message);
		this.name = 'StockOperationError';
		this.reason = options.reason;
		this.retryable = options.retryable ?? false;
		this.details = options.details ?? {};
	}
}

export type UnknownSkuPolicy = 'error' | 'ignore';

export interface MovedLine {
	sku: string;
	location: string;
	quantity: number;
	/** Available quantity (on-hand minus reserved) before and after; absent on replays. */
	availableBefore?: number;
	availableAfter?: number;
	/** How many units of this line went below zero (backorders only). */
	backordered: number;
}

export interface ShortLine {
	sku: string;
	wanted: number;
	available: number;
}

export interface IgnoredLine {
	sku: string;
	quantity: number;
	reason: 'unknown_sku';
}

export interface MoveResult {
	key: string;
	kind: MoveKind;
	/**
	 * `cancelled`: a release came before any reservation and asked to block it, so the order key
	 * will never reserve stock.
	 */
	status: 'applied' | 'insufficient' | 'nothing_to_release' | 'cancelled';
	/** True when this key's move was already in the ledger: nothing changed this time. */
	alreadyApplied: boolean;
	lines: MovedLine[];
	shortLines: ShortLine[];
	ignoredLines: IgnoredLine[];
	/** For a reservation: whether it has since been released. */
	released?: boolean;
	/** On a replay: whether the request's lines differ from what the ledger holds. */
	requestDiffers?: boolean;
	appliedAt?: string;
	/** Tries the transaction needed (1 unless a deadlock, lock timeout or dropped link intervened). */
	attempts: number;
}

interface LedgerRow {
	kind: MoveKind;
	sku: string;
	location: string;
	quantity_delta: number | string;
	backordered_quantity: number | string;
	created_at: Date | string;
}

interface StockRow {
	onHand: number;
	reserved: number;
}

/**
 * Runs `work` as one transaction, re-running all of it on deadlocks, serialization failures,
 * lock timeouts, dropped connections and lost ledger races.
 *
 * @returns the work's result and the number of tries; throws the last error otherwise
 */
export async function runTransaction<T>(
	ctx: StockContext,
	work: (session: DbSession) => Promise<T>,
): Promise<{ value: T; attempts: number }> {
	let attempts = 0;
	const value = await withRetry(
		async (attempt) => {
			attempts = attempt;
			return await ctx.engine.transaction(work);
		},
		{
			policy: ctx.retry?.policy ?? { baseMs: 25, capMs: 1_000 },
			maxAttempts: ctx.retry?.maxAttempts ?? 6,
			classify: (error) => ({
				retryable: !(error instanceof StockOperationError) && classifyDbError(error).retryInPlace,
			}),
			onRetry: (info) =>
				ctx.retry?.onRetry?.({ ...info, reason: classifyDbError(info.error).reason }),
			sleep: ctx.retry?.sleep,
		},
	);
	return { value, attempts };
}

// A release recorded before any reservation: one ledger row with an empty SKU and no quantity.
// The unique index makes it happen once like any other move.
const CANCEL_MARKER_SKU = '';

async function readLedger(session: DbSession, map: TableMapping, key: string) {
	const rows = await session.query<LedgerRow>(sql.selectLedger(map, key));
	const byKind = (kind: MoveKind) =>
		rows.filter((row) => row.kind === kind && row.sku !== CANCEL_MARKER_SKU);
	const cancelMarker = rows.find((row) => row.kind === 'release' && row.sku === CANCEL_MARKER_SKU);
	return { byKind, cancelMarker };
}

function cancelledResult(options: {
	key: string;
	kind: MoveKind;
	alreadyApplied: boolean;
	at?: Date | string;
	attempts: number;
}): MoveResult {
	return {
		key: options.key,
		kind: options.kind,
		status: 'cancelled',
		alreadyApplied: options.alreadyApplied,
		lines: [],
		shortLines: [],
		ignoredLines: [],
		appliedAt: timestamp(options.at),
		attempts: options.attempts,
	};
}

/** Locks the stock rows in (sku, location) order. @returns found rows keyed by `rowKey`. */
async function lockRows(
	session: DbSession,
	map: TableMapping,
	targets: Array<{ sku: string; location: string }>,
): Promise<Map<string, StockRow>> {
	const sorted = [...targets].sort(
		(a, b) => compareSku(a.sku, b.sku) || compareSku(a.location, b.location),
	);
	const found = new Map<string, StockRow>();
	for (const target of sorted) {
		const rows = await session.query<{ on_hand: unknown; reserved: unknown }>(
			sql.lockRow(map, target.sku, target.location),
		);
		if (rows.length > 1) {
			throw new StockOperationError({
				message:
					`SKU "${target.sku}" matches ${rows.length} rows in the stock table. Map the ` +
					'Location Column (and set a location) so each SKU names exactly one row',
				reason: 'ambiguous_sku',
			});
		}
		if (rows.length === 1) {
			found.set(rowKey(target), {
				onHand: toNumber(rows[0].on_hand),
				reserved: toNumber(rows[0].reserved),
			});
		}
	}
	return found;
}

function rowKey(target: { sku: string; location: string }): string {
	return JSON.stringify([target.sku, target.location]);
}

function toNumber(value: unknown): number {
	const number = Number(value ?? 0);
	return Number.isFinite(number) ? number : 0;
}

function unknownSkuError(skus: string[]): StockOperationError {
	return new StockOperationError({
		message:
			`Unknown SKU${skus.length > 1 ? 's' : ''} ${skus.map((s) => `"${s}"`).join(', ')}: no row in ` +
			'the stock table. Add the product to the stock table, fix the SKU, or set "Unknown SKUs" to ' +
			'"Ignore"',
		reason: 'unknown_sku',
		details: { skus },
	});
}

function timestamp(value: Date | string | undefined): string | undefined {
	if (value === undefined) return undefined;
	return value instanceof Date ? value.toISOString() : String(value);
}

/** Rebuilds a result from ledger rows, for a key that was already applied. */
function replay(options: {
	key: string;
	kind: MoveKind;
	rows: LedgerRow[];
	requested?: StockLine[];
	released?: boolean;
	attempts: number;
}): MoveResult {
	const sign = options.kind === 'reserve' ? -1 : 1;
	const lines = options.rows.map((row) => ({
		sku: row.sku,
		location: row.location,
		quantity: sign * toNumber(row.quantity_delta),
		backordered: toNumber(row.backordered_quantity),
	}));
	const requestDiffers =
		options.requested === undefined
			? undefined
			: options.requested.length !== lines.length ||
				options.requested.some(
					(line) => !lines.some((l) => l.sku === line.sku && l.quantity === line.quantity),
				);
	return {
		key: options.key,
		kind: options.kind,
		status: 'applied',
		alreadyApplied: true,
		lines,
		shortLines: [],
		ignoredLines: [],
		...(options.released === undefined ? {} : { released: options.released }),
		...(requestDiffers === undefined ? {} : { requestDiffers }),
		appliedAt: timestamp(options.rows[0]?.created_at),
		attempts: options.attempts,
	};
}

export interface ReserveOptions {
	orderKey: string;
	/** Validated lines from `normaliseLines`. */
	lines: StockLine[];
	/** Let stock go below zero and flag the lines instead of refusing the order. @default false */
	allowBackorders?: boolean;
	/** @default 'error' */
	unknownSku?: UnknownSkuPolicy;
}

/**
 * Reserves every line of an order, or none.
 *
 * @returns `applied` with the moved lines, `insufficient` with the short lines (nothing changed),
 * or the original reservation with `alreadyApplied: true` when the order key was seen before
 * @throws StockOperationError for unknown SKUs (policy `error`) or an ambiguous mapping, or the
 * driver's error once retries are exhausted; the transaction is rolled back in every case
 */
export async function reserve(ctx: StockContext, options: ReserveOptions): Promise<MoveResult> {
	const { map } = ctx;
	let attempts = 0;
	const result = await runTransaction(ctx, async (session) => {
		attempts++;
		// Moves of one order key take turns, so a release that cancels the order cannot slip
		// between this reservation's ledger check and its commit.
		await session.lockKey(options.orderKey);
		const previous = async () => {
			const ledger = await readLedger(session, map, options.orderKey);
			const rows = ledger.byKind('reserve');
			if (rows.length === 0 && ledger.cancelMarker) {
				return cancelledResult({
					key: options.orderKey,
					kind: 'reserve',
					alreadyApplied: true,
					at: ledger.cancelMarker.created_at,
					attempts,
				});
			}
			if (rows.length === 0) return undefined;
			return replay({
				key: options.orderKey,
				kind: 'reserve',
				rows,
				requested: options.lines,
				released: ledger.byKind('release').length > 0,
				attempts,
			});
		};

		// Holding the key lock, this read sees any copy of this request that committed before.
		const earlier = await previous();
		if (earlier) return earlier;
		const targets = options.lines.map((line) => ({ sku: line.sku, location: ctx.location }));
		const rows = await lockRows(session, map, targets);

		const unknown = options.lines.filter(
			(line) => !rows.has(rowKey({ ...line, location: ctx.location })),
		);
		if (unknown.length > 0 && options.unknownSku !== 'ignore') {
			throw unknownSkuError(unknown.map((line) => line.sku));
		}
		const known = options.lines.filter((line) => !unknown.includes(line));
		const available = (line: StockLine) => {
			const row = rows.get(rowKey({ ...line, location: ctx.location })) as StockRow;
			return row.onHand - row.reserved;
		};
		const shortLines = known
			.filter((line) => available(line) < line.quantity)
			.map((line) => ({ sku: line.sku, wanted: line.quantity, available: available(line) }));
		const ignoredLines = unknown.map((line) => ({
			sku: line.sku,
			quantity: line.quantity,
			reason: 'unknown_sku' as const,
		}));

		if (shortLines.length > 0 && !options.allowBackorders) {
			return {
				key: options.orderKey,
				kind: 'reserve' as const,
				status: 'insufficient' as const,
				alreadyApplied: false,
				lines: [],
				shortLines,
				ignoredLines,
				attempts,
			};
		}

		const lines: MovedLine[] = [];
		for (const line of known) {
			const before = available(line);
			const backordered = Math.max(0, line.quantity - Math.max(0, before));
			const row = { sku: line.sku, location: ctx.location };
			await session.query(
				map.reserved
					? sql.addToColumn(map, 'reserved', { ...row, delta: line.quantity })
					: sql.addToColumn(map, 'onHand', { ...row, delta: -line.quantity }),
			);
			await session.query(
				sql.insertLedgerRow(map, {
					key: options.orderKey,
					kind: 'reserve',
					...row,
					delta: -line.quantity,
					backordered,
				}),
			);
			lines.push({
				...row,
				quantity: line.quantity,
				availableBefore: before,
				availableAfter: before - line.quantity,
				backordered,
			});
		}
		return {
			key: options.orderKey,
			kind: 'reserve' as const,
			status: 'applied' as const,
			alreadyApplied: false,
			lines,
			shortLines,
			ignoredLines,
			released: false,
			attempts,
		};
	});
	return { ...result.value, attempts: result.attempts };
}

export interface ReleaseOptions {
	/**
	 * When the order has reserved nothing yet, record the release anyway, so that a reservation
	 * arriving later (say, from a retry queue) is refused with status `cancelled`. @default false
	 */
	cancelIfUnreserved?: boolean;
}

/**
 * Gives back the stock an order reserved: the compensation when invoicing fails for good or the
 * deal is lost. Releasing twice, or releasing an order that never reserved, changes nothing.
 *
 * @returns `applied`, `nothing_to_release`, `cancelled` (see {@link ReleaseOptions}), or the
 * original release with `alreadyApplied: true`
 * @throws StockOperationError when a reserved SKU's stock row has since been deleted
 */
export async function release(
	ctx: StockContext,
	orderKey: string,
	options: ReleaseOptions = {},
): Promise<MoveResult> {
	const { map } = ctx;
	let attempts = 0;
	const result = await runTransaction(ctx, async (session): Promise<MoveResult> => {
		attempts++;
		await session.lockKey(orderKey);
		// Holding the key lock, this read sees every earlier move of the order.
		const check = async () => {
			const ledger = await readLedger(session, map, orderKey);
			const released = ledger.byKind('release');
			const reserved = ledger.byKind('reserve');
			if (released.length > 0) {
				return { done: replay({ key: orderKey, kind: 'release', rows: released, attempts }) };
			}
			if (ledger.cancelMarker) {
				const at = ledger.cancelMarker.created_at;
				const done = cancelledResult({
					key: orderKey,
					kind: 'release',
					alreadyApplied: true,
					at,
					attempts,
				});
				return { done };
			}
			if (reserved.length === 0 && options.cancelIfUnreserved) {
				await session.query(
					sql.insertLedgerRow(map, {
						key: orderKey,
						kind: 'release',
						sku: CANCEL_MARKER_SKU,
						location: '',
						delta: 0,
						backordered: 0,
					}),
				);
				const done = cancelledResult({
					key: orderKey,
					kind: 'release',
					alreadyApplied: false,
					attempts,
				});
				return { done };
			}
			if (reserved.length === 0) {
				const nothing: MoveResult = {
					key: orderKey,
					kind: 'release',
					status: 'nothing_to_release',
					alreadyApplied: false,
					lines: [],
					shortLines: [],
					ignoredLines: [],
					attempts,
				};
				return { done: nothing };
			}
			return { reserved };
		};

		const state = await check();
		if (state.done) return state.done;
		const reservedRows = state.reserved ?? [];
		const rows = await lockRows(session, map, reservedRows);

		const missing = reservedRows.filter((row) => !rows.has(rowKey(row)));
		if (missing.length > 0) throw unknownSkuError(missing.map((row) => row.sku));

		const lines: MovedLine[] = [];
		for (const reservedRow of [...reservedRows].sort((a, b) => compareSku(a.sku, b.sku))) {
			const quantity = -toNumber(reservedRow.quantity_delta);
			const stock = rows.get(rowKey(reservedRow)) as StockRow;
			const before = stock.onHand - stock.reserved;
			const row = { sku: reservedRow.sku, location: reservedRow.location };
			await session.query(
				map.reserved
					? sql.addToColumn(map, 'reserved', { ...row, delta: -quantity })
					: sql.addToColumn(map, 'onHand', { ...row, delta: quantity }),
			);
			await session.query(
				sql.insertLedgerRow(map, {
					key: orderKey,
					kind: 'release',
					...row,
					delta: quantity,
					backordered: 0,
				}),
			);
			lines.push({
				...row,
				quantity,
				availableBefore: before,
				availableAfter: before + quantity,
				backordered: 0,
			});
		}
		return {
			key: orderKey,
			kind: 'release',
			status: 'applied',
			alreadyApplied: false,
			lines,
			shortLines: [],
			ignoredLines: [],
			attempts,
		};
	});
	return { ...result.value, attempts: result.attempts };
}

export interface StockChangeOptions {
	kind: 'receive' | 'adjust';
	/** Idempotency key of the movement, e.g. a goods-receipt number or a stock-count id. */
	movementKey: string;
	/** Receipts: positive quantities. Adjustments: signed changes to on-hand. */
	lines: StockLine[];
	/** @default 'error' */
	unknownSku?: UnknownSkuPolicy;
	/** Receipts only: create a stock row for a SKU the table does not have yet. @default false */
	createMissing?: boolean;
	/** Adjustments only: allow on-hand to fall below what is reserved. @default false */
	allowNegative?: boolean;
}

/**
 * Adds received stock, or applies a signed adjustment to on-hand, writing one ledger row per line.
 *
 * @returns the moved lines, or the original movement with `alreadyApplied: true` for a known key
 * @throws StockOperationError for unknown SKUs or an adjustment that would leave negative
 * available stock; nothing is written in either case
 */
export async function changeStock(
	ctx: StockContext,
	options: StockChangeOptions,
): Promise<MoveResult> {
	const { map } = ctx;
	let attempts = 0;
	const result = await runTransaction(ctx, async (session): Promise<MoveResult> => {
		attempts++;
		const previous = async () => {
			const rows = (await readLedger(session, map, options.movementKey)).byKind(options.kind);
			if (rows.length === 0) return undefined;
			return replay({
				key: options.movementKey,
				kind: options.kind,
				rows,
				requested: options.lines,
				attempts,
			});
		};

		const early = await previous();
		if (early) return early;
		const targets = options.lines.map((line) => ({ sku: line.sku, location: ctx.location }));
		const rows = await lockRows(session, map, targets);
		const late = await previous();
		if (late) return late;

		const unknown = options.lines.filter(
			(line) => !rows.has(rowKey({ ...line, location: ctx.location })),
		);
		const creatable = options.kind === 'receive' && options.createMissing === true;
		if (unknown.length > 0 && !creatable && options.unknownSku !== 'ignore') {
			throw unknownSkuError(unknown.map((line) => line.sku));
		}
		const ignoredLines: IgnoredLine[] = creatable
			? []
			: unknown.map((line) => ({ sku: line.sku, quantity: line.quantity, reason: 'unknown_sku' }));

		const available = (line: StockLine) => {
			const row = rows.get(rowKey({ ...line, location: ctx.location }));
			return row ? row.onHand - row.reserved : 0;
		};
		const moving = options.lines.filter((line) => creatable || !unknown.includes(line));
		const negative = moving.filter((line) => available(line) + line.quantity < 0);
		if (negative.length > 0 && !options.allowNegative) {
			const shortLines = negative.map((line) => ({
				sku: line.sku,
				wanted: -line.quantity,
				available: available(line),
			}));
			throw new StockOperationError({
				message: `The adjustment would leave negative available stock for ${shortLines
					.map((line) => `"${line.sku}" (available ${line.available}, change ${-line.wanted})`)
					.join(', ')}. Nothing was changed; turn on "Allow Negative Stock" if that is intended`,
				reason: 'would_go_negative',
				details: { shortLines },
			});
		}

		const lines: MovedLine[] = [];
		for (const line of moving) {
			const row = { sku: line.sku, location: ctx.location };
			const before = available(line);
			if (rows.has(rowKey(row))) {
				await session.query(sql.addToColumn(map, 'onHand', { ...row, delta: line.quantity }));
			} else {
				await session.query(sql.insertStockRow(map, { ...row, onHand: line.quantity }));
			}
			const backordered = Math.max(0, -(before + line.quantity)) - Math.max(0, -before);
			await session.query(
				sql.insertLedgerRow(map, {
					key: options.movementKey,
					kind: options.kind,
					...row,
					delta: line.quantity,
					backordered: Math.max(0, backordered),
				}),
			);
			lines.push({
				...row,
				quantity: line.quantity,
				availableBefore: before,
				availableAfter: before + line.quantity,
				backordered: Math.max(0, backordered),
			});
		}
		return {
			key: options.movementKey,
			kind: options.kind,
			status: 'applied',
			alreadyApplied: false,
			lines,
			shortLines: [],
			ignoredLines,
			attempts,
		};
	});
	return { ...result.value, attempts: result.attempts };
}

export interface StockLevel {
	sku: string;
	location: string;
	onHand: number;
	reserved: number;
	available: number;
	found: boolean;
}

const SKUS_PER_QUERY = 500;

/**
 * Current levels for the given SKUs, in SKU order; a SKU with no row is returned with
 * `found: false` so a caller can tell "zero" from "not stocked". Throws the driver's error.
 */
export async function levelsForSkus(ctx: StockContext, skus: string[]): Promise<StockLevel[]> {
	const unique = [...new Set(skus)].sort(compareSku);
	const levels = new Map<string, StockLevel>();
	for (let start = 0; start < unique.length; start += SKUS_PER_QUERY) {
		const chunk = unique.slice(start, start + SKUS_PER_QUERY);
		const rows = await ctx.engine.query(sql.levelsForSkus(ctx.map, chunk, ctx.location));
		for (const row of rows) {
			const level = toLevel(row);
			levels.set(level.sku, level);
		}
	}
	return unique.map(
		(sku) =>
			levels.get(sku) ?? {
				sku,
				location: ctx.location,
				onHand: 0,
				reserved: 0,
				available: 0,
				found: false,
			},
	);
}

/** Rows whose available quantity is below `threshold`, lowest first. Throws the driver's error. */
export async function levelsBelow(
	ctx: StockContext,
	options: { threshold: number; limit: number },
): Promise<StockLevel[]> {
	const rows = await ctx.engine.query(
		sql.levelsBelow(ctx.map, { ...options, location: ctx.location }),
	);
	return rows.map(toLevel);
}

function toLevel(row: Record<string, unknown>): StockLevel {
	const onHand = toNumber(row.on_hand);
	const reserved = toNumber(row.reserved);
	return {
		sku: String(row.sku),
		location: String(row.location ?? ''),
		onHand,
		reserved,
		available: onHand - reserved,
		found: true,
	};
}

export interface SetupResult {
	ledgerTable: string;
	ledgerCreated: boolean;
	addedColumns: string[];
	stockTable: string;
	stockTableCreated: boolean;
}

/**
 * Creates or migrates the ledger, optionally creates the simple stock table, and checks that
 * the mapped columns exist. Safe to run any number of times.
 *
 * @throws StockOperationError when the stock table is missing or lacks a mapped column
 */
export async function setUp(
	ctx: StockContext,
	options: { createStockTable: boolean },
): Promise<SetupResult> {
	const { engine, map } = ctx;
	const columnsOf = async (parts: string[]) =>
		(await engine.query<{ name: string }>(sql.tableColumns(map.dialect, parts))).map((row) =>
			String(row.name ?? (row as Record<string, unknown>).NAME),
		);

	const ledgerBefore = await columnsOf(map.ledgerParts);
	await engine.query({ text: sql.createLedgerTable(map), values: [] });
	const present = new Set((await columnsOf(map.ledgerParts)).map((name) => name.toLowerCase()));
	const addedColumns: string[] = [];
	for (const column of sql.ledgerColumns(map.dialect)) {
		if (present.has(column.name)) continue;
		await engine.query({ text: sql.addLedgerColumn(map, column), values: [] });
		addedColumns.push(column.name);
	}
	if (map.dialect === 'postgres') {
		await engine.query({ text: sql.addLedgerUniqueIndex(map), values: [] });
	} else if ((await engine.query(sql.ledgerIndexExists(map))).length === 0) {
		await engine.query({ text: sql.addLedgerUniqueIndex(map), values: [] });
	}

	const stockBefore = await columnsOf(map.stockParts);
	if (options.createStockTable) {
		await engine.query({ text: sql.createStockTable(map), values: [] });
	}
	const stockColumns = await columnsOf(map.stockParts);
	if (stockColumns.length === 0) {
		throw new StockOperationError({
			message: `Stock table "${map.stockParts.join('.')}" does not exist. Fix the Stock Table name or turn on "Create Stock Table"`,
			reason: 'missing_table',
		});
	}
	const same = (a: string, b: string) =>
		map.dialect === 'postgres' ? a === b : a.toLowerCase() === b.toLowerCase();
	const missing = Object.entries(map.columnNames)
		.filter(([, name]) => name !== undefined)
		.filter(([, name]) => !stockColumns.some((column) => same(column, name as string)))
		.map(([, name]) => name as string);
	if (missing.length > 0) {
		throw new StockOperationError({
			message: `Stock table "${map.stockParts.join('.')}" has no column ${missing.map((m) => `"${m}"`).join(', ')}. Its columns are: ${stockColumns.join(', ')}`,
			reason: 'missing_column',
		});
	}
	return {
		ledgerTable: map.ledgerParts.join('.'),
		ledgerCreated: ledgerBefore.length === 0,
		addedColumns: ledgerBefore.length === 0 ? [] : addedColumns,
		stockTable: map.stockParts.join('.'),
		stockTableCreated: stockBefore.length === 0,
	};
}
