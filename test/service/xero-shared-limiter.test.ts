import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ts from 'typescript';

import { closeAllRedisClients } from '../../nodes/shared/redis';
import { maxCallsInAnyWindow, type XeroSimulator } from '../simulators/xero/server';
import {
	apiCalls,
	cleanRedis,
	order,
	settings,
	startSimulator,
	TENANT_ID,
	testRedis,
} from './xero-helpers';

/**
 * Two OS processes share one Xero tenant through the Redis limiter.
 *
 * Xero's limit is 60 calls per 60 s. A real minute would make this test take five minutes, so
 * both the simulator's window and the limiter's window are scaled to 2 s; the limit stays 60
 * calls per window, and the property under test, "never more than 60 calls in any window as
 * Xero counts them", is the same.
 */

const WINDOW_MS = 2_000;
const ROOT = path.resolve(__dirname, '../..');
const SOURCES = [
	'nodes/shared/backoff.ts',
	'nodes/shared/errors.ts',
	'nodes/shared/order.ts',
	'nodes/shared/redis.ts',
	'nodes/Xero/limiter.ts',
	'nodes/Xero/logic.ts',
	'nodes/Xero/operations.ts',
	'nodes/Xero/transport.ts',
	'test/service/xero-worker.ts',
];

/** Transpiles the worker and the modules it uses into plain CommonJS; returns the worker path. */
function buildWorker(outDir: string): string {
	for (const source of SOURCES) {
		const output = ts.transpileModule(readFileSync(path.join(ROOT, source), 'utf8'), {
			compilerOptions: {
				module: ts.ModuleKind.CommonJS,
				target: ts.ScriptTarget.ES2022,
				esModuleInterop: true,
			},
		});
		const target = path.join(outDir, source.replace(/\.ts$/, '.js'));
		mkdirSync(path.dirname(target), { recursive: true });
		writeFileSync(target, output.outputText);
	}
	return path.join(outDir, 'test/service/xero-worker.js');
}

function runWorker(
	script: string,
	input: unknown,
): Promise<{ results: Array<{ reference: string; invoiceId?: string; error?: string }> }> {
	return new Promise((resolve, reject) => {
		const child = spawn(process.execPath, [script], {
			env: {
				...process.env,
				XERO_WORKER_INPUT: JSON.stringify(input),
				NODE_PATH: path.join(ROOT, 'node_modules'),
			},
			stdio: ['ignore', 'pipe', 'pipe'],
		});
		let stdout = '';
		let stderr = '';
		child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
		child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
		child.on('error', reject);
		child.on('exit', (code) => {
			if (code !== 0) return reject(new Error(`worker exited ${code}: ${stderr}`));
			resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '{}'));
		});
	});
}

describe('two processes sharing the Redis limiter', () => {
	let sim: XeroSimulator;
	let outDir: string;
	const { redis, keyPrefix } = testRedis();

	beforeAll(async () => {
		outDir = mkdtempSync(path.join(tmpdir(), 'xero-worker-'));
		sim = await startSimulator({ minuteWindowMs: WINDOW_MS });
	});

	afterAll(async () => {
		await sim.stop();
		await cleanRedis(redis, keyPrefix);
		await closeAllRedisClients();
		rmSync(outDir, { recursive: true, force: true });
	});

	test('300 invoices from two processes never exceed 60 calls in any window, none lost, none duplicated', async () => {
		const script = buildWorker(outDir);
		const orders = Array.from({ length: 300 }, (_, n) => order(1_000 + n));
		const common = {
			apiBaseUrl: sim.apiBaseUrl,
			tokenUrl: sim.tokenUrl,
			tenantId: TENANT_ID,
			keyPrefix,
			windowMs: WINDOW_MS,
			lanes: 6,
			settings,
		};

		const [a, b] = await Promise.all([
			runWorker(script, { ...common, orders: orders.filter((_, n) => n % 2 === 0) }),
			runWorker(script, { ...common, orders: orders.filter((_, n) => n % 2 === 1) }),
		]);

		const results = [...a.results, ...b.results];
		expect(results.filter((r) => r.error)).toEqual([]);
		expect(results).toHaveLength(300);
		const calls = apiCalls(sim);
		expect(maxCallsInAnyWindow(calls, WINDOW_MS)).toBeLessThanOrEqual(60);
		expect(calls.filter((c) => c.status === 429)).toEqual([]);
		const invoices = sim.ledger().invoices;
		expect(invoices).toHaveLength(300);
		expect(new Set(invoices.map((i) => i.Reference)).size).toBe(300);
		expect(new Set(results.map((r) => r.invoiceId))).toEqual(
			new Set(invoices.map((i) => i.InvoiceID)),
		);
		// Seven customers, each created once even though both processes raced to create them.
		expect(sim.ledger().contacts).toHaveLength(7);
	}, 240_000);
});
