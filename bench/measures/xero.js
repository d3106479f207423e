'use strict';

/**
 * Xero invoice throughput against Xero's rate limit: invoices per minute through the Dealflow
 * Xero node's own execute() (validation, shared Redis limiter, contact cache, xero-node calls),
 * as a share of the ceiling the limit allows, 60 calls a minute × invoices per call.
 *
 * The simulator and the limiter run a scaled window: 60 calls per 6 s instead of per 60 s, so a
 * measure takes seconds, not minutes. Rates are reported per window, i.e. per Xero minute.
 * The rate is read from the simulator's ledger: invoices written by the first K × 60 calls,
 * divided by the time from the first of them to call K × 60 + 1, so the burst a fresh window
 * allows does not inflate the result.
 *
 * Requires the compiled package: run `npm run build` first.
 */

const { randomUUID } = require('node:crypto');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
const dist = path.join(root, 'dist');
const { Xero } = require(path.join(dist, 'nodes/Xero/Xero.node.js'));
const { closeAllRedisClients, getRedisClient } = require(path.join(dist, 'nodes/shared/redis.js'));
const { createXeroSimulator } = require(path.join(root, 'test/simulators/xero/server.js'));

const WINDOW_MS = 6_000;
const CALLS_PER_WINDOW = 60;
const WINDOWS = 2;
const GOAL = 0.95;
const TENANT_ID = '11111111-1111-4111-8111-111111111111';

function makeOrder(runId, n) {
	return {
		orderKey: `bench:${runId}:${n}`,
		reference: `BENCH-${runId}-${n}`,
		currency: 'USD',
		closeDate: '2026-11-30',
		customer: { name: 'Bench Customer', accountNumber: 'BENCH-1' },
		lines: [
			{ sku: 'WIDGET-1', name: 'Widget', quantity: 2, unitPrice: 19.5 },
			{ sku: 'GADGET-9', name: 'Gadget', quantity: 1, unitPrice: 100 },
		],
	};
}

/** Just enough of n8n's IExecuteFunctions for execute(), with parameters already resolved. */
function nodeContext({ sim, keyPrefix, items, mode, dedupeSearch }) {
	const parameters = {
		authentication: 'customConnection',
		useRedis: true,
		tenantId: TENANT_ID,
		resource: 'invoice',
		operation: 'createFromOrder',
		mode,
		batchSize: 50,
		status: 'DRAFT',
		accountCode: '200',
		taxType: '',
		useSkuAsItemCode: true,
		paymentTermsType: 'daysAfterInvoiceDate',
		paymentTermsDays: 30,
		lineAmountTypes: 'Exclusive',
		invoiceNumber: '',
		lineMappings: {},
		options: { windowSeconds: WINDOW_MS / 1000, dedupeSearch, maxWaitInPlaceSeconds: 60 },
	};
	const credentials = {
		dealflowXeroCustomConnectionApi: {
			clientId: 'custom-client',
			clientSecret: 'custom-secret',
			apiBaseUrl: sim.apiBaseUrl,
			tokenUrl: sim.tokenUrl,
			connectionsUrl: sim.connectionsUrl,
			dailyCallLimit: 1_000_000,
		},
		dealflowRedisApi: { host: '127.0.0.1', port: 6379, keyPrefix },
	};
	const quiet = () => undefined;
	return {
		getInputData: () => items,
		getNode: () => ({
			id: 'bench',
			name: 'Dealflow Xero',
			type: 'n8n-nodes-dealflow.xero',
			typeVersion: 1,
			position: [0, 0],
			parameters: {},
		}),
		continueOnFail: () => false,
		getCredentials: async (name) => credentials[name],
		logger: { debug: quiet, info: quiet, warn: quiet, error: quiet },
		helpers: {},
		getNodeParameter: (name, index, fallback) =>
			name === 'order' ? items[index].json.order : (parameters[name] ?? fallback),
	};
}

async function measure({ mode, dedupeSearch, invoicesPerWrite, callsPerInvoice }) {
	const sim = await createXeroSimulator({
		minuteWindowMs: WINDOW_MS,
		minuteLimit: CALLS_PER_WINDOW,
		latencyMs: 20,
		tenants: [{ tenantId: TENANT_ID, tenantName: 'Bench Ltd', dayLimit: 1_000_000 }],
	}).start();
	const keyPrefix = `bench:xero:${randomUUID()}`;
	const runId = randomUUID().slice(0, 8);
	try {
		const node = new Xero();
		// Warm-up: the token, the contact and its cache entry; then let the window empty.
		const warm = [{ json: { order: makeOrder(runId, 'warm') } }];
		await node.execute.call(nodeContext({ sim, keyPrefix, items: warm, mode, dedupeSearch }));
		await new Promise((resolve) => setTimeout(resolve, WINDOW_MS + 200));
		const warmCalls = sim.ledger().calls.length;

		const measuredCalls = WINDOWS * CALLS_PER_WINDOW;
		const invoices = Math.ceil(((measuredCalls + 1) * invoicesPerWrite) / callsPerInvoice);
		const items = Array.from({ length: invoices }, (_, n) => ({
			json: { order: makeOrder(runId, n) },
		}));
		await node.execute.call(nodeContext({ sim, keyPrefix, items, mode, dedupeSearch }));

		const calls = sim
			.ledger()
			.calls.slice(warmCalls)
			.filter((call) => call.path.startsWith('/api.xro'));
		if (calls.some((call) => call.status === 429)) throw new Error('the limiter let a 429 through');
		if (calls.length <= measuredCalls) throw new Error(`only ${calls.length} calls were made`);
		const measured = calls.slice(0, measuredCalls);
		const written =
			measured.filter((c) => c.method === 'PUT' && c.path.endsWith('/Invoices') && c.status === 200)
				.length * invoicesPerWrite;
		const elapsedMs = calls[measuredCalls].at - calls[0].at;
		const perWindow = (written * WINDOW_MS) / elapsedMs;
		const ceiling = (CALLS_PER_WINDOW * invoicesPerWrite) / callsPerInvoice;
		const total = sim.ledger().invoices.length;
		if (total !== invoices + 1)
			throw new Error(`expected ${invoices + 1} invoices, Xero has ${total}`);
		return { perWindow, ceiling };
	} finally {
		await sim.stop();
		const redis = getRedisClient({ host: '127.0.0.1', port: 6379 }, 'commands');
		let cursor = '0';
		do {
			const [next, keys] = await redis.scan(cursor, 'MATCH', `${keyPrefix}:*`, 'COUNT', 500);
			cursor = next;
			if (keys.length) await redis.del(...keys);
		} while (cursor !== '0');
	}
}

function row(metric, result) {
	const ratio = result.perWindow / result.ceiling;
	return {
		metric,
		ours: Math.round(result.perWindow * 10) / 10,
		baseline: result.ceiling,
		ratio: Math.round(ratio * 1000) / 1000,
		goal: GOAL,
	};
}

module.exports = {
	name: 'xero',
	description:
		"Invoices per Xero minute through the Dealflow Xero node under Xero's 60 calls/min limit, as a share of the ceiling (60 × invoices per call)",
	run: async () => {
		try {
			const single = await measure({
				mode: 'perItem',
				dedupeSearch: 'afterRecordedAttempt',
				invoicesPerWrite: 1,
				callsPerInvoice: 1,
			});
			const batched = await measure({
				mode: 'batch',
				dedupeSearch: 'afterRecordedAttempt',
				invoicesPerWrite: 50,
				callsPerInvoice: 1,
			});
			const searched = await measure({
				mode: 'perItem',
				dedupeSearch: 'always',
				invoicesPerWrite: 1,
				callsPerInvoice: 2,
			});
			return {
				rows: [
					row('invoices/min, one per call (ceiling 60)', single),
					row('invoices/min, batches of 50 (ceiling 3,000)', batched),
					row(
						'invoices/min, one per call, search before every create (ceiling 30: 2 calls each)',
						searched,
					),
				],
				notes: [
					'Scaled window: 60 calls per 6 s in the simulator and the limiter; one window stands for one Xero minute.',
					'The simulator adds 20 ms per call; contacts are cached after a warm-up run, outside the measure.',
					'The first two rows use the "After a Recorded Attempt" dedupe search (1 call per write); the default "Always" costs a search call per create, so its ceiling is half.',
				].join(' '),
			};
		} finally {
			await closeAllRedisClients();
		}
	},
};
