import {
	NodeApiError,
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type JsonObject,
} from 'n8n-workflow';

import { markError, readRetryHint } from '../shared/errors';
import {
	buildMapping,
	groupByKey,
	InventoryInputError,
	normaliseLines,
	readOrder,
	requireKey,
	splitSkus,
	type DuplicatePolicy,
	type KeyedGroup,
} from './logic';
import {
	changeStock,
	levelsBelow,
	levelsForSkus,
	release,
	reserve,
	setUp,
	StockOperationError,
	type MoveResult,
	type StockContext,
	type UnknownSkuPolicy,
} from './stock';
import {
	classifyDbError,
	getInventoryEngine,
	redact,
	type InventoryDbCredential,
} from './transport';

/**
 * The n8n side of each operation: read parameters, call the stock operations, shape output
 * items, and turn failures into marked n8n errors item by item.
 */

const SERVICE = 'inventory';

interface Options {
	allowBackorders?: boolean;
	allowNegative?: boolean;
	cancelIfUnreserved?: boolean;
	createMissing?: boolean;
	duplicateLines?: DuplicatePolicy;
	maxAttempts?: number;
	onShortage?: 'output' | 'error';
	unknownSku?: UnknownSkuPolicy;
}

interface Run {
	fn: IExecuteFunctions;
	credential: InventoryDbCredential;
	items: INodeExecutionData[];
	out: INodeExecutionData[];
}

/** Runs the node's operation over all input items. Throws only when not continuing on fail. */
export async function executeInventory(fn: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const operation = fn.getNodeParameter('operation', 0) as string;
	const credential = (await fn.getCredentials(
		'dealflowInventoryDbApi',
	)) as unknown as InventoryDbCredential;
	const run: Run = { fn, credential, items: fn.getInputData(), out: [] };

	if (operation === 'reserve') {
		const inputMode = fn.getNodeParameter('inputMode', 0) as string;
		if (inputMode === 'items') await runGrouped(run, 'reserve');
		else await runReserveOrders(run);
	} else if (operation === 'release') {
		await runRelease(run);
	} else if (operation === 'receive' || operation === 'adjust') {
		await runGrouped(run, operation);
	} else if (operation === 'getLevels') {
		await runLevels(run);
	} else if (operation === 'setup') {
		await runSetup(run);
	} else {
		throw new NodeOperationError(fn.getNode(), `Unknown operation "${operation}"`);
	}
	return [run.out];
}

/** The stock context for one item: mapping, location and retry policy read at that item. */
function contextFor(run: Run, itemIndex: number, key?: string): StockContext {
	const { fn } = run;
	const table = fn.getNodeParameter('tableOptions', itemIndex, {}) as IDataObject;
	const options = readOptions(run, itemIndex);
	const map = buildMapping(
		{
			stockTable: fn.getNodeParameter('stockTable', itemIndex) as string,
			skuColumn: fn.getNodeParameter('skuColumn', itemIndex) as string,
			onHandColumn: fn.getNodeParameter('onHandColumn', itemIndex) as string,
			reservedColumn: (table.reservedColumn as string | undefined) ?? '',
			locationColumn: (table.locationColumn as string | undefined) ?? '',
			ledgerTable: (table.ledgerTable as string | undefined) || 'dealflow_stock_moves',
		},
		run.credential.engine,
	);
	const location = String(table.location ?? '').trim();
	if (map.location && location === '') {
		throw new InventoryInputError(
			'A Location Column is set but Location is empty: set Location in Table Options to the location to move stock at',
		);
	}
	return {
		engine: getInventoryEngine(run.credential),
		map,
		location: map.location ? location : '',
		retry: {
			maxAttempts: options.maxAttempts ?? 5,
			onRetry: ({ attempt, delayMs, reason }) =>
				fn.logger.warn('Inventory transaction retried', { key, attempt, delayMs, reason }),
		},
	};
}

function readOptions(run: Run, itemIndex: number): Options {
	const operation = run.fn.getNodeParameter('operation', itemIndex) as string;
	if (!['reserve', 'release', 'receive', 'adjust'].includes(operation)) return {};
	return run.fn.getNodeParameter('options', itemIndex, {}) as Options;
}

async function runReserveOrders(run: Run): Promise<void> {
	const { fn } = run;
	for (let itemIndex = 0; itemIndex < run.items.length; itemIndex++) {
		try {
			const options = readOptions(run, itemIndex);
			const order = readOrder(fn.getNodeParameter('order', itemIndex));
			const lines = normaliseLines({
				lines: order.lines,
				duplicates: options.duplicateLines ?? 'merge',
			});
			const ctx = contextFor(run, itemIndex, order.orderKey);
			const result = await reserve(ctx, {
				orderKey: order.orderKey,
				lines,
				allowBackorders: options.allowBackorders === true,
				unknownSku: options.unknownSku ?? 'error',
			});
			logMove(run, result);
			failOnShortage(run, result, options, itemIndex);
			run.out.push({
				json: { ...run.items[itemIndex].json, inventory: toOutput(result) },
				pairedItem: { item: itemIndex },
			});
		} catch (error) {
			handleFailure(run, error, [itemIndex]);
		}
	}
}

/** Item-per-line input (reserve, receive, adjust): items sharing a key move as one transaction. */
async function runGrouped(run: Run, kind: 'reserve' | 'receive' | 'adjust'): Promise<void> {
	const { fn } = run;
	const keyParameter = kind === 'reserve' ? 'orderKey' : 'movementKey';
	const keySetting = kind === 'reserve' ? 'Order Key' : 'Movement Key';
	const rows: Array<{ key: string; sku: unknown; quantity: unknown; itemIndex: number }> = [];
	for (let itemIndex = 0; itemIndex < run.items.length; itemIndex++) {
		try {
			rows.push({
				key: requireKey(fn.getNodeParameter(keyParameter, itemIndex), keySetting),
				sku: fn.getNodeParameter('sku', itemIndex),
				quantity: fn.getNodeParameter('quantity', itemIndex),
				itemIndex,
			});
		} catch (error) {
			handleFailure(run, error, [itemIndex]);
		}
	}

	for (const group of groupByKey(rows)) {
		try {
			run.out.push(await moveGroup(run, kind, group));
		} catch (error) {
			handleFailure(run, error, group.itemIndexes);
		}
	}
}

async function moveGroup(
	run: Run,
	kind: 'reserve' | 'receive' | 'adjust',
	group: KeyedGroup,
): Promise<INodeExecutionData> {
	const first = group.itemIndexes[0];
	const options = readOptions(run, first);
	const lines = normaliseLines({
		lines: group.lines,
		duplicates: options.duplicateLines ?? 'merge',
		allowNegative: kind === 'adjust',
	});
	const ctx = contextFor(run, first, group.key);
	const result =
		kind === 'reserve'
			? await reserve(ctx, {
					orderKey: group.key,
					lines,
					allowBackorders: options.allowBackorders === true,
					unknownSku: options.unknownSku ?? 'error',
				})
			: await changeStock(ctx, {
					kind,
					movementKey: group.key,
					lines,
					unknownSku: options.unknownSku ?? 'error',
					createMissing: options.createMissing === true,
					allowNegative: options.allowNegative === true,
				});
	logMove(run, result);
	failOnShortage(run, result, options, first);
	return {
		json: { inventory: toOutput(result) },
		pairedItem: group.itemIndexes.map((item) => ({ item })),
	};
}

async function runRelease(run: Run): Promise<void> {
	for (let itemIndex = 0; itemIndex < run.items.length; itemIndex++) {
		try {
			const orderKey = requireKey(run.fn.getNodeParameter('orderKey', itemIndex), 'Order Key');
			const options = readOptions(run, itemIndex);
			const result = await release(contextFor(run, itemIndex, orderKey), orderKey, {
				cancelIfUnreserved: options.cancelIfUnreserved === true,
			});
			logMove(run, result);
			run.out.push({
				json: { ...run.items[itemIndex].json, inventory: toOutput(result) },
				pairedItem: { item: itemIndex },
			});
		} catch (error) {
			handleFailure(run, error, [itemIndex]);
		}
	}
}

async function runLevels(run: Run): Promise<void> {
	const { fn } = run;
	const mode = fn.getNodeParameter('levelsMode', 0) as string;
	if (mode === 'below') {
		try {
			const levels = await levelsBelow(contextFor(run, 0), {
				threshold: fn.getNodeParameter('threshold', 0) as number,
				limit: fn.getNodeParameter('limit', 0) as number,
			});
			for (const level of levels) {
				run.out.push({ json: { ...level }, pairedItem: { item: 0 } });
			}
		} catch (error) {
			handleFailure(run, error, [0]);
		}
		return;
	}

	// One query for all items' SKUs, then each item gets its own SKUs back.
	const wanted: Array<{ itemIndex: number; skus: string[] }> = [];
	for (let itemIndex = 0; itemIndex < run.items.length; itemIndex++) {
		try {
			const skus = splitSkus(fn.getNodeParameter('skus', itemIndex));
			if (skus.length === 0) {
				throw new InventoryInputError(
					'SKUs is empty: give one SKU, a comma-separated list or an array',
				);
			}
			wanted.push({ itemIndex, skus });
		} catch (error) {
			handleFailure(run, error, [itemIndex]);
		}
	}
	if (wanted.length === 0) return;
	try {
		const levels = await levelsForSkus(
			contextFor(run, wanted[0].itemIndex),
			wanted.flatMap((w) => w.skus),
		);
		const bySku = new Map(levels.map((level) => [level.sku, level]));
		for (const { itemIndex, skus } of wanted) {
			for (const sku of new Set(skus)) {
				run.out.push({ json: { ...bySku.get(sku) }, pairedItem: { item: itemIndex } });
			}
		}
	} catch (error) {
		handleFailure(
			run,
			error,
			wanted.map((w) => w.itemIndex),
		);
	}
}

async function runSetup(run: Run): Promise<void> {
	try {
		const result = await setUp(contextFor(run, 0), {
			createStockTable: run.fn.getNodeParameter('createStockTable', 0) as boolean,
		});
		run.out.push({ json: { ...result }, pairedItem: { item: 0 } });
	} catch (error) {
		handleFailure(run, error, [0]);
	}
}

const DONE_STATUS = {
	reserve: 'reserved',
	release: 'released',
	receive: 'received',
	adjust: 'adjusted',
} as const;

/** The output shape of a move, as a user reads it in n8n. */
export function toOutput(result: MoveResult): IDataObject {
	const status = result.status === 'applied' ? DONE_STATUS[result.kind] : result.status;
	return {
		[result.kind === 'receive' || result.kind === 'adjust' ? 'movementKey' : 'orderKey']:
			result.key,
		operation: result.kind,
		status,
		...(result.kind === 'reserve'
			? { reserved: result.status === 'applied' && result.released !== true }
			: {}),
		alreadyApplied: result.alreadyApplied,
		...(result.released === undefined ? {} : { released: result.released }),
		...(result.requestDiffers === undefined ? {} : { requestDiffers: result.requestDiffers }),
		backordered: result.lines.some((line) => line.backordered > 0),
		lines: result.lines as unknown as IDataObject[],
		shortLines: result.shortLines as unknown as IDataObject[],
		ignoredLines: result.ignoredLines as unknown as IDataObject[],
		...(result.appliedAt ? { appliedAt: result.appliedAt } : {}),
		attempts: result.attempts,
	};
}

function logMove(run: Run, result: MoveResult): void {
	run.fn.logger.debug('Inventory move finished', {
		key: result.key,
		kind: result.kind,
		status: result.status,
		alreadyApplied: result.alreadyApplied,
		attempts: result.attempts,
	});
}

function failOnShortage(run: Run, result: MoveResult, options: Options, itemIndex: number): void {
	if (result.status !== 'insufficient' || options.onShortage !== 'error') return;
	const lines = result.shortLines
		.map((line) => `"${line.sku}" (wanted ${line.wanted}, available ${line.available})`)
		.join(', ');
	throw markError(
		new NodeOperationError(
			run.fn.getNode(),
			`Not enough stock for order "${result.key}": ${lines}`,
			{
				itemIndex,
				description:
					'Nothing was reserved. Receive more stock and retry, or allow backorders in the options.',
			},
		),
		{ retryable: true, reason: 'insufficient_stock', service: SERVICE },
	);
}

/** Emits an error item (continue on fail) or throws a marked n8n error. */
function handleFailure(run: Run, error: unknown, itemIndexes: number[]): void {
	const nodeError = toNodeError(run, error, itemIndexes[0]);
	if (!run.fn.continueOnFail()) throw nodeError;
	const hint = readRetryHint(nodeError);
	for (const item of itemIndexes) {
		run.out.push({
			json: {
				...run.items[item]?.json,
				error: nodeError.message,
				errorDetails: { reason: hint?.reason ?? 'unknown', retryable: hint?.retryable ?? false },
			},
			pairedItem: { item },
		});
	}
}

const DB_MESSAGES: Record<string, string> = {
	deadlock:
		'The database kept breaking deadlocks on these stock rows; the transaction was rolled back every time and nothing changed',
	serialization_failure:
		'The database kept refusing the transaction as not serializable; it was rolled back and nothing changed',
	lock_timeout:
		'Other transactions held these stock rows too long; the transaction was rolled back and nothing changed',
	connection: 'The connection to the warehouse database failed; nothing was changed',
	duplicate_move:
		'The same move kept colliding with a concurrent copy of itself; nothing was changed',
	statement_timeout:
		'A statement ran longer than the Statement Timeout of the credential and was cancelled',
	pool_exhausted:
		'No database connection became free in time: raise Pool Size in the credential or send fewer items at once',
	auth: 'The database refused the user or password of the credential',
	unknown_database: 'The database named in the credential does not exist',
	missing_table:
		'A table does not exist: run the "Set Up Tables" operation for the ledger, or check the Stock Table name',
	missing_column:
		'A mapped column does not exist: check SKU Column, On-Hand Column, Reserved Column and Location Column against the table',
};

function toNodeError(
	run: Run,
	error: unknown,
	itemIndex: number,
): NodeOperationError | NodeApiError {
	const node = run.fn.getNode();
	if (error instanceof NodeOperationError || error instanceof NodeApiError) return error;
	if (error instanceof InventoryInputError) {
		return markError(
			new NodeOperationError(node, error.message, {
				itemIndex,
				description: error.problems.join('\n') || undefined,
			}),
			{ retryable: false, reason: 'validation', service: SERVICE },
		);
	}
	if (error instanceof StockOperationError) {
		return markError(new NodeOperationError(node, error.message, { itemIndex }), {
			retryable: error.retryable,
			reason: error.reason,
			service: SERVICE,
		});
	}

	const kind = classifyDbError(error);
	const detail = redact(error instanceof Error ? error.message : String(error), run.credential);
	const code = (error as { code?: unknown } | undefined)?.code;
	const message = DB_MESSAGES[kind.reason] ?? `The warehouse database reported an error: ${detail}`;
	const retryAdvice = kind.retryable
		? 'A later retry can succeed as it is.'
		: 'Fix the cause before retrying; a retry alone will fail the same way.';
	return markError(
		new NodeApiError(node, { message: detail, code: String(code ?? '') } as JsonObject, {
			message,
			description: `${detail}. ${retryAdvice}`,
			itemIndex,
		}),
		{ retryable: kind.retryable, reason: kind.reason, service: SERVICE },
	);
}
