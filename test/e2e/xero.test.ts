// The Dealflow Xero node inside a real n8n 2.41.1 in queue mode with two workers, against the
// Xero simulator: 300 orders arrive by webhook, the workers invoice them through the limiter they
// share in Redis, and the simulator counts every call.
//
// Xero allows 60 calls per 60 s. A real minute would make this run for ten minutes, so the
// simulator's window and the node's "Rate Window" option are both scaled to 3 s; the limit stays
// 60 calls per window, and the property, "never more than 60 calls in any window as Xero counts
// them", is the same.
import * as crypto from 'node:crypto';
import Redis from 'ioredis';

import { maxCallsInAnyWindow, type XeroSimulator } from '../simulators/xero/server';
import { order, startSimulator, TENANT_ID } from '../service/xero-helpers';
import { nodeOutput, startN8n, type N8nInstance, type WorkflowJson } from './harness';

jest.setTimeout(900_000);

const WINDOW_MS = 3_000;
const ORDERS = 300;
const token = crypto.randomBytes(4).toString('hex');
const redisPrefix = `dealflow-e2e-xero-${token}`;

function n8nId(): string {
	const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
	return Array.from(crypto.randomBytes(16), (byte) => alphabet[byte % alphabet.length]).join('');
}

const xeroCredential = { id: n8nId(), name: `Xero e2e ${token}` };
const redisCredential = { id: n8nId(), name: `Xero e2e Redis ${token}` };
const webhookPath = `xero-${token}`;

function workflow(): WorkflowJson {
	return {
		name: `Xero e2e ${token}`,
		nodes: [
			{
				id: crypto.randomUUID(),
				name: 'Webhook',
				type: 'n8n-nodes-base.webhook',
				typeVersion: 2,
				position: [0, 0],
				webhookId: crypto.randomUUID(),
				parameters: {
					httpMethod: 'POST',
					path: webhookPath,
					responseMode: 'onReceived',
					options: {},
				},
			},
			{
				id: crypto.randomUUID(),
				name: 'Dealflow Xero',
				type: 'n8n-nodes-dealflow.xero',
				typeVersion: 1,
				position: [300, 0],
				parameters: {
					authentication: 'customConnection',
					useRedis: true,
					tenantId: TENANT_ID,
					resource: 'invoice',
					operation: 'createFromOrder',
					order: '={{ $json.body }}',
					mode: 'perItem',
					status: 'DRAFT',
					accountCode: '200',
					paymentTermsType: 'daysAfterInvoiceDate',
					paymentTermsDays: 30,
					options: { windowSeconds: WINDOW_MS / 1000, maxWaitInPlaceSeconds: 120 },
				},
				credentials: {
					dealflowXeroCustomConnectionApi: xeroCredential,
					dealflowRedisApi: redisCredential,
				},
			},
		],
		connections: { Webhook: { main: [[{ node: 'Dealflow Xero', type: 'main', index: 0 }]] } },
		settings: { executionOrder: 'v1' },
	};
}

async function waitForWebhook(url: string, timeoutMs = 90_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		// An empty GET is not a registered method: 404 means "not registered yet" only for POST.
		const response = await fetch(url, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: '"probe"',
		});
		if (response.status !== 404) return;
		if (Date.now() > deadline) throw new Error(`${url} still answers 404 after ${timeoutMs} ms`);
		await new Promise((resolve) => setTimeout(resolve, 500));
	}
}

describe('the Dealflow Xero node in real n8n queue mode with two workers', () => {
	let n8n: N8nInstance;
	let sim: XeroSimulator;

	beforeAll(async () => {
		sim = await startSimulator({ minuteWindowMs: WINDOW_MS });
		n8n = await startN8n({
			mode: 'queue',
			workers: 2,
			name: 'xero',
			credentials: [
				{
					...xeroCredential,
					type: 'dealflowXeroCustomConnectionApi',
					data: {
						clientId: 'custom-client',
						clientSecret: 'custom-secret',
						tenantId: '',
						dailyCallLimit: 5000,
						apiBaseUrl: sim.apiBaseUrl,
						tokenUrl: sim.tokenUrl,
						connectionsUrl: sim.connectionsUrl,
					},
				},
				{
					...redisCredential,
					type: 'dealflowRedisApi',
					data: {
						connectionType: 'fields',
						host: '127.0.0.1',
						port: 6379,
						database: 0,
						keyPrefix: redisPrefix,
					},
				},
			],
			workflows: [workflow()],
		});
		await waitForWebhook(n8n.webhookUrl(webhookPath));
	});

	afterAll(async () => {
		await n8n?.stop();
		await sim?.stop();
		const admin = new Redis({ host: '127.0.0.1', port: 6379 });
		const keys = await admin.keys(`${redisPrefix}:*`);
		if (keys.length) await admin.del(...keys);
		await admin.quit();
	});

	it('invoices 300 orders from two workers without exceeding 60 calls in any window, losing none and billing none twice', async () => {
		const workflowId = n8n.workflows[0].id;
		// The probe that found the webhook ran once with a bad order and failed before any call.
		const before = (await n8n.waitForExecutions({ workflowId, count: 1, timeoutMs: 120_000 }))
			.length;
		const orders = Array.from({ length: ORDERS }, (_, n) => order(50_000 + n));
		// Ten at a time, plus a second delivery of the first 20 orders: duplicates must dedupe.
		const deliveries = [...orders, ...orders.slice(0, 20)];
		for (let start = 0; start < deliveries.length; start += 10) {
			const statuses = await Promise.all(
				deliveries.slice(start, start + 10).map(async (body) => {
					const response = await fetch(n8n.webhookUrl(webhookPath), {
						method: 'POST',
						headers: { 'content-type': 'application/json' },
						body: JSON.stringify(body),
					});
					return response.status;
				}),
			);
			expect(statuses).toEqual(statuses.map(() => 200));
		}

		const executions = (
			await n8n.waitForExecutions({
				workflowId,
				count: before + deliveries.length,
				timeoutMs: 600_000,
				settleMs: 2_000,
			})
		).slice(before);

		expect(executions.filter((e) => e.status !== 'success').map((e) => e.id)).toEqual([]);
		const outputs = executions.flatMap((e) =>
			nodeOutput(e, 'Dealflow Xero').map((item) => item.json),
		);
		expect(outputs).toHaveLength(deliveries.length);
		const calls = sim.ledger().calls.filter((call) => call.path.startsWith('/api.xro'));
		expect(calls.filter((call) => call.status === 429)).toEqual([]);
		expect(maxCallsInAnyWindow(calls, WINDOW_MS)).toBeLessThanOrEqual(60);
		const invoices = sim.ledger().invoices;
		expect(invoices).toHaveLength(ORDERS);
		expect(new Set(invoices.map((invoice) => invoice.Reference))).toEqual(
			new Set(orders.map((o) => o.reference)),
		);
		// Every delivery, first or repeated, names one of the 300 invoices.
		expect(new Set(outputs.map((o) => o.invoiceId))).toEqual(
			new Set(invoices.map((i) => i.InvoiceID)),
		);
		expect(new Set(executions.map((e) => e.ranOn))).toEqual(new Set(['worker-1', 'worker-2']));
	});
});
