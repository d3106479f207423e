// The shipped workflows (workflows/*.json) end to end in a real n8n 2.41.1, in regular mode and in
// queue mode with two workers, against the Xero and Salesforce simulators, the PostgreSQL
// warehouse and Redis on this machine. Every invariant is read from the simulators' ledgers and
// the database, never from n8n's own reports.
//
// The workflows are imported as shipped; only credentials, ids and timing knobs are patched:
// the Retry Queue Trigger's backoff (0.5 s base, 3 s cap) and lock times, and Xero's rate window
// scaled from 60 s to 3 s (60 calls per 3 s in both the simulator and the node), so 200 orders do
// not take Xero's real seven minutes.
import * as crypto from 'node:crypto';
import { Client } from 'pg';

import {
	loadWorkflow,
	seedOpportunities,
	signCallout,
	startSandbox,
	WEBHOOKS,
	type Sandbox,
} from '../../scripts/lib/sandbox';
import { maxCallsInAnyWindow, type SimCall } from '../simulators/xero/server';
import { nodeOutput, startN8n, type N8nInstance, type WorkflowJson } from './harness';

jest.setTimeout(900_000);

// Full scale by default (200 orders, a 60 s Xero outage): about 13 minutes for both modes on a
// loaded 2-core machine. `DEALFLOW_E2E_ORDERS=50 DEALFLOW_E2E_OUTAGE_MS=20000` checks the same
// properties in about 7 minutes while developing.
const ORDERS = Number(process.env.DEALFLOW_E2E_ORDERS ?? 200);
const COPIES = 3;
const WINDOW_MS = 3_000;
const OUTAGE_MS = Number(process.env.DEALFLOW_E2E_OUTAGE_MS ?? 60_000);
const LINES = [
	{ sku: 'DF-WIDGET', quantity: 1, unitPrice: 25 },
	{ sku: 'DF-GADGET', quantity: 2, unitPrice: 480 },
];
const STOCK = { 'DF-WIDGET': 100_000, 'DF-GADGET': 100_000 };

interface XeroLedger {
	invoices: Array<{ InvoiceID: string; InvoiceNumber: string; Reference: string }>;
	calls: SimCall[];
}
interface SalesforceWrite {
	op: string;
	sobject: string;
	id: string;
	fields: Record<string, unknown>;
}
interface StockMove {
	order_key: string;
	kind: string;
	sku: string;
	quantity_delta: number;
}

type Node = WorkflowJson['nodes'][number] & { parameters: Record<string, unknown> };

function byName(workflow: WorkflowJson, name: string): Node {
	const found = workflow.nodes.find((node) => node.name === name);
	if (!found) throw new Error(`workflow ${workflow.name} has no node ${name}`);
	return found as Node;
}

/** The shipped processing workflow with test timing: quick backoff, short locks, scaled window. */
function processingWorkflow(): WorkflowJson {
	const workflow = loadWorkflow('deal-processing') as unknown as WorkflowJson;
	const trigger = byName(workflow, 'Retry Queue Trigger');
	Object.assign(trigger.parameters, {
		baseDelaySeconds: 0.5,
		maxDelaySeconds: 3,
		executionTimeoutSeconds: 120,
		options: { lockDurationSeconds: 5, stalledIntervalSeconds: 2, closeTimeoutSeconds: 2 },
	});
	const xero = byName(workflow, 'Create Invoice');
	xero.parameters.options = { windowSeconds: WINDOW_MS / 1000, maxWaitInPlaceSeconds: 60 };
	return workflow;
}

/** Deal intake as shipped, and a copy on a Redis that is not there, for the 5xx answer. */
function intakeWorkflows(): WorkflowJson[] {
	const shipped = loadWorkflow('deal-intake') as unknown as WorkflowJson;
	const broken = JSON.parse(JSON.stringify(shipped)) as WorkflowJson;
	broken.id = 'DfDealIntakeDown';
	broken.name = `${shipped.name} (Redis down)`;
	for (const node of broken.nodes as Node[]) {
		node.id = crypto.randomUUID();
		if (node.credentials && 'dealflowRedisApi' in node.credentials) {
			node.credentials = { dealflowRedisApi: { id: 'DfRedisDown00001', name: 'Redis down' } };
		}
		if (node.webhookId) {
			node.webhookId = crypto.randomUUID();
			node.parameters.path = 'deal-intake-redis-down';
		}
	}
	return [shipped, broken];
}

async function waitFor<T>(
	probe: () => Promise<T | undefined | false>,
	what: string,
	ms = 300_000,
): Promise<T> {
	const until = Date.now() + ms;
	for (;;) {
		const value = await probe();
		if (value !== undefined && value !== false) return value;
		if (Date.now() > until) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 500));
	}
}

async function getJson<T>(url: string, init?: RequestInit): Promise<T> {
	const response = await fetch(url, init);
	if (!response.ok) throw new Error(`${url} answered ${response.status}`);
	return (await response.json()) as T;
}

function describeMode(mode: 'regular' | 'queue') {
	describe(`the shipped workflows in a real n8n, ${mode} mode`, () => {
		let sandbox: Sandbox;
		let n8n: N8nInstance;
		let db: Client;
		let intakeUrl: string;
		let intakeWorkflowId: string;

		const xeroLedger = async () => await getJson<XeroLedger>(`${sandbox.xero.url}/__sim/ledger`);
		const xeroControl = async (route: string, body?: object, method = 'POST') =>
			await getJson(`${sandbox.xero.url}/__sim/${route}`, {
				method,
				headers: { 'content-type': 'application/json' },
				body: body ? JSON.stringify(body) : undefined,
			});
		const salesforceWrites = async () =>
			(
				await getJson<{ writes: SalesforceWrite[] }>(`${sandbox.salesforce.url}/__sim/ledger`)
			).writes.filter((write) => write.sobject === 'Opportunity');
		const moves = async (): Promise<StockMove[]> =>
			(
				await db.query<StockMove>(
					`SELECT order_key, kind, sku, quantity_delta FROM "${sandbox.schema}".dealflow_stock_moves ORDER BY id`,
				)
			).rows;
		const onHand = async (): Promise<Record<string, number>> =>
			Object.fromEntries(
				(
					await db.query<{ sku: string; on_hand: number }>(
						`SELECT sku, on_hand FROM "${sandbox.schema}".dealflow_stock`,
					)
				).rows.map((row) => [row.sku, row.on_hand]),
			);

		/** One signed callout, as Salesforce would send it; `sentAt` differs per copy. */
		const deliver = async (opportunityId: string, extra: object = {}) => {
			const body = JSON.stringify({
				opportunityId,
				stage: 'Closed Won',
				eventId: `evt-${opportunityId}`,
				sentAt: new Date().toISOString(),
				nonce: crypto.randomUUID(),
				...extra,
			});
			const response = await fetch(intakeUrl, {
				method: 'POST',
				headers: signCallout({ secret: sandbox.secrets.salesforceCallout, body }),
				body,
			});
			return { status: response.status, body: await response.text() };
		};

		/** Delivers each order `copies` times at once, `parallel` orders at a time. */
		const deliverAll = async (ids: string[], copies: number, parallel = 10) => {
			const statuses: number[] = [];
			for (let start = 0; start < ids.length; start += parallel) {
				const batch = ids.slice(start, start + parallel);
				const answers = await Promise.all(
					batch.flatMap((id) => Array.from({ length: copies }, async () => await deliver(id))),
				);
				statuses.push(...answers.map((answer) => answer.status));
			}
			return statuses;
		};

		/** Waits until every given opportunity carries an invoice number in the write-backs. */
		const waitForInvoiced = async (ids: string[], ms = 400_000) =>
			await waitFor(
				async () => {
					const written = new Set(
						(await salesforceWrites())
							.filter((write) => write.fields.Sync_Status__c === 'Invoiced')
							.map((write) => write.id),
					);
					return ids.every((id) => written.has(id));
				},
				`${ids.length} write-backs`,
				ms,
			);

		/** Exactly-once, from the ledgers: one invoice, one reservation and the write-back each. */
		const expectExactlyOnce = async (ids: string[]) => {
			const { invoices } = await xeroLedger();
			const byReference = new Map<string, number>();
			for (const invoice of invoices) {
				byReference.set(invoice.Reference, (byReference.get(invoice.Reference) ?? 0) + 1);
			}
			expect(ids.filter((id) => byReference.get(id) !== 1)).toEqual([]);

			const ledger = await moves();
			for (const id of ids) {
				const rows = ledger.filter((row) => row.order_key === `sf:opp:${id}:closed-won`);
				expect(rows.map((row) => [row.kind, row.sku, row.quantity_delta])).toEqual([
					['reserve', 'DF-GADGET', -2],
					['reserve', 'DF-WIDGET', -1],
				]);
			}

			const writes = await salesforceWrites();
			for (const id of ids) {
				const invoice = invoices.find((candidate) => candidate.Reference === id);
				const backs = writes.filter(
					(write) => write.id === id && write.fields.Sync_Status__c === 'Invoiced',
				);
				expect(backs.length).toBeGreaterThanOrEqual(1);
				expect(new Set(backs.map((write) => write.fields.Invoice_Number__c))).toEqual(
					new Set([invoice?.InvoiceNumber]),
				);
			}
		};

		beforeAll(async () => {
			sandbox = await startSandbox({
				stock: STOCK,
				xeroConfig: { minuteWindowMs: WINDOW_MS },
			});
			db = new Client(sandbox.postgres);
			await db.connect();
			const [intake, intakeRedisDown] = intakeWorkflows();
			n8n = await startN8n({
				mode,
				workers: 2,
				name: `flow-${mode}`,
				credentials: [
					...sandbox.credentials,
					{
						id: 'DfRedisDown00001',
						name: 'Redis down',
						type: 'dealflowRedisApi',
						data: { connectionType: 'fields', host: '127.0.0.1', port: 1, database: 0 },
					},
				],
				workflows: [
					intake,
					intakeRedisDown,
					processingWorkflow(),
					loadWorkflow('xero-paid-to-salesforce') as unknown as WorkflowJson,
				],
				env: {
					QUEUE_WORKER_LOCK_DURATION: '10000',
					QUEUE_WORKER_LOCK_RENEW_TIME: '2000',
					QUEUE_WORKER_STALLED_INTERVAL: '5000',
				},
			});
			intakeWorkflowId = n8n.workflows[0].id as string;
			intakeUrl = n8n.webhookUrl(WEBHOOKS.dealIntake.path);
			// n8n reports ready before every published workflow is active: 404 means "not yet".
			await waitFor(async () => {
				const response = await fetch(intakeUrl, { method: 'POST', body: '{}' });
				return response.status !== 404;
			}, 'the deal intake webhook');
		});

		afterAll(async () => {
			await n8n?.stop();
			await db?.end();
			await sandbox?.stop();
		});

		it(`invoices ${ORDERS} orders delivered ${COPIES} times each at once exactly once: one invoice, one stock move and one write-back per order`, async () => {
			const ids = await seedOpportunities(sandbox, { count: ORDERS, lines: LINES });
			const started = Date.now();

			const statuses = await deliverAll(ids, COPIES);

			expect(statuses.filter((status) => status !== 202 && status !== 200)).toEqual([]);
			await waitForInvoiced(ids);
			// Settle: nothing more may arrive after the last write-back.
			await new Promise((resolve) => setTimeout(resolve, 3_000));
			await expectExactlyOnce(ids);
			const { invoices, calls } = await xeroLedger();
			expect(invoices).toHaveLength(ORDERS);
			const writes = (await salesforceWrites()).filter(
				(write) => write.fields.Sync_Status__c === 'Invoiced',
			);
			expect(writes).toHaveLength(ORDERS);
			expect(await onHand()).toEqual({
				'DF-WIDGET': STOCK['DF-WIDGET'] - ORDERS,
				'DF-GADGET': STOCK['DF-GADGET'] - 2 * ORDERS,
			});
			expect(calls.filter((call) => call.status === 429)).toEqual([]);
			process.stderr.write(
				`[flow ${mode}] ${ORDERS} orders x ${COPIES} copies invoiced in ${Date.now() - started} ms\n`,
			);

			// A redelivery after completion is answered 200 with the stored invoice number.
			const again = await deliver(ids[0]);
			expect(again.status).toBe(200);
			const invoice = invoices.find((candidate) => candidate.Reference === ids[0]);
			expect(JSON.parse(again.body)).toMatchObject({
				status: 'completed',
				orderKey: `sf:opp:${ids[0]}:closed-won`,
				invoiceNumber: invoice?.InvoiceNumber,
			});
		});

		it('answers a callout for the same opportunity with another stage 422 as a conflict', async () => {
			const [id] = await seedOpportunities(sandbox, { count: 1, lines: LINES });
			expect((await deliver(id)).status).toBe(202);

			const conflict = await deliver(id, { stage: 'Closed Lost' });

			expect(conflict.status).toBe(422);
			expect(JSON.parse(conflict.body)).toMatchObject({ status: 422 });
			await waitForInvoiced([id]);
		});

		it('refuses unsigned, forged, oversize and malformed callouts with a 4xx, starting no execution and writing nothing', async () => {
			const before = (await n8n.executions({ workflowId: intakeWorkflowId })).length;
			const xeroBefore = (await xeroLedger()).invoices.length;
			const writesBefore = (await salesforceWrites()).length;
			const movesBefore = (await moves()).length;
			const body = JSON.stringify({ opportunityId: '006SIM000000001AAA' });
			const post = async (headers: Record<string, string>, payload: string | Buffer) =>
				(await fetch(intakeUrl, { method: 'POST', headers, body: payload })).status;
			const signed = signCallout({ secret: sandbox.secrets.salesforceCallout, body });
			const forged = signCallout({ secret: 'not-the-secret', body });
			const big = JSON.stringify({ opportunityId: '006SIM000000001AAA', pad: 'x'.repeat(70_000) });
			const bigSigned = signCallout({ secret: sandbox.secrets.salesforceCallout, body: big });
			const text = 'opportunityId=006SIM000000001AAA';
			const textSigned = {
				...signCallout({ secret: sandbox.secrets.salesforceCallout, body: text }),
				'content-type': 'text/plain',
			};

			expect(await post({ 'content-type': 'application/json' }, body)).toBe(401);
			expect(await post(forged, body)).toBe(403);
			expect(await post({ ...signed, 'x-clickdone-signature': 'garbage!!' }, body)).toBe(403);
			expect(await post(bigSigned, big)).toBe(413);
			expect(await post(textSigned, text)).toBe(400);

			await new Promise((resolve) => setTimeout(resolve, 2_000));
			expect((await n8n.executions({ workflowId: intakeWorkflowId })).length).toBe(before);
			expect((await xeroLedger()).invoices.length).toBe(xeroBefore);
			expect((await salesforceWrites()).length).toBe(writesBefore);
			expect((await moves()).length).toBe(movesBefore);
		});

		it('answers a signed callout without a valid opportunity id 400, and dead-letters an order for an unknown opportunity without writing anything', async () => {
			const xeroBefore = (await xeroLedger()).invoices.length;
			const writesBefore = (await salesforceWrites()).length;

			const missing = await deliver('', {});
			expect(missing.status).toBe(400);
			expect(JSON.parse(missing.body)).toMatchObject({ status: 400, title: 'Invalid callout' });

			const unknown = '006SIM00000UNKNOWN';
			expect((await deliver(unknown)).status).toBe(202);
			const processingId = n8n.workflows[2].id as string;
			const record = await waitFor(async () => {
				for (const execution of await n8n.executions({ workflowId: processingId })) {
					const [item] = nodeOutput(execution, 'Dead Letter Record');
					if (item?.json.opportunityId === unknown) return item.json;
				}
				return undefined;
			}, 'the dead letter record of the unknown opportunity');

			expect(record).toMatchObject({
				orderKey: `sf:opp:${unknown}:closed-won`,
				reason: 'not_retryable',
				stockReleased: false,
				salesforceFlagged: false,
			});
			expect(String(record.howToReplay)).toContain('Replay Dead Letter');
			expect((await xeroLedger()).invoices.length).toBe(xeroBefore);
			expect((await salesforceWrites()).length).toBe(writesBefore);
			expect((await moves()).filter((row) => row.order_key.includes(unknown))).toEqual([]);
		});

		it('answers 5xx, never a 2xx, when Redis cannot be reached', async () => {
			const url = n8n.webhookUrl('deal-intake-redis-down');
			const body = JSON.stringify({ opportunityId: '006SIM000000001AAA' });
			const answer = await waitFor(async () => {
				const response = await fetch(url, {
					method: 'POST',
					headers: signCallout({ secret: sandbox.secrets.salesforceCallout, body }),
					body,
					signal: AbortSignal.timeout(60_000),
				});
				return response.status === 404 ? undefined : response.status;
			}, 'the Redis-down intake');

			expect(answer).toBeGreaterThanOrEqual(500);
		});

		it('dead-letters an invoice Xero refuses for good: stock released, Salesforce flagged, no retries', async () => {
			const [id] = await seedOpportunities(sandbox, { count: 1, lines: LINES });
			const since = Date.now();
			await xeroControl('config', { accountCodes: ['260', '400', '470'] });
			try {
				expect((await deliver(id)).status).toBe(202);
				const flagged = await waitFor(async () => {
					const writes = await salesforceWrites();
					return writes.find((w) => w.id === id && w.fields.Sync_Status__c === 'Failed');
				}, 'the Failed flag in Salesforce');
				expect(String(flagged.fields.Sync_Error__c)).toContain('not_retryable');
			} finally {
				await xeroControl('config', { accountCodes: ['200', '260', '400', '470'] });
			}

			await new Promise((resolve) => setTimeout(resolve, 5_000));
			const key = `sf:opp:${id}:closed-won`;
			const rows = (await moves()).filter((row) => row.order_key === key);
			expect(rows.map((row) => [row.kind, row.sku, row.quantity_delta])).toEqual([
				['reserve', 'DF-GADGET', -2],
				['reserve', 'DF-WIDGET', -1],
				['release', 'DF-GADGET', 2],
				['release', 'DF-WIDGET', 1],
			]);
			const { invoices, calls } = await xeroLedger();
			expect(invoices.filter((invoice) => invoice.Reference === id)).toEqual([]);
			// One refused create, never retried.
			const creates = calls.filter(
				(call) => call.at >= since && call.path.endsWith('/Invoices') && call.method !== 'GET',
			);
			expect(creates).toHaveLength(1);
			const writes = (await salesforceWrites()).filter((write) => write.id === id);
			expect(writes.filter((write) => write.fields.Sync_Status__c === 'Invoiced')).toEqual([]);
		});

		it(`loses and duplicates nothing while Xero answers 503 for ${OUTAGE_MS / 1000} s mid-run`, async () => {
			const ids = await seedOpportunities(sandbox, { count: 20, lines: LINES });
			const firstHalf = ids.slice(0, 10);
			expect(await deliverAll(firstHalf, 1)).toEqual(firstHalf.map(() => 202));
			await waitFor(
				async () =>
					(await xeroLedger()).invoices.some((invoice) => firstHalf.includes(invoice.Reference)),
				'the first invoice of the run',
			);

			await xeroControl('faults', { unavailableForMs: OUTAGE_MS, unavailableStatus: 503 });
			expect(await deliverAll(ids.slice(10), 1)).toEqual(ids.slice(10).map(() => 202));

			await waitForInvoiced(ids, OUTAGE_MS + 300_000);
			await new Promise((resolve) => setTimeout(resolve, 3_000));
			await expectExactlyOnce(ids);
			const { calls } = await xeroLedger();
			expect(calls.some((call) => call.status === 503)).toBe(true);
		});

		it('honours a 429 storm with Retry-After: no failed order and never over the limit', async () => {
			// Another app of the same organisation uses up the limit: the simulator's minute limit
			// drops to 20 calls per window for this burst.
			await xeroControl('config', { minuteLimit: 20 });
			try {
				const ids = await seedOpportunities(sandbox, { count: 30, lines: LINES });
				const since = Date.now();
				expect(await deliverAll(ids, 1)).toEqual(ids.map(() => 202));

				await waitForInvoiced(ids);
				await expectExactlyOnce(ids);
				const { calls } = await xeroLedger();
				const admitted = calls.filter(
					(call) => call.at >= since && call.path.startsWith('/api.xro') && call.status !== 429,
				);
				// The shared limiter counts 60 per window, so Xero's 429s are what keeps it at 20.
				expect(maxCallsInAnyWindow(admitted, WINDOW_MS)).toBeLessThanOrEqual(20);
				const dead = (await salesforceWrites()).filter(
					(write) => ids.includes(write.id) && write.fields.Sync_Status__c === 'Failed',
				);
				expect(dead).toEqual([]);
			} finally {
				await xeroControl('config', { minuteLimit: 60 });
			}
		});

		it("answers Xero's Intent to Receive, refuses a forged event, and handles a real invoice event once, marking the opportunity paid once when the invoice is paid", async () => {
			const url = n8n.webhookUrl(WEBHOOKS.xeroEvents.path);
			const workflowId = n8n.workflows[3].id as string;
			const key = sandbox.secrets.xeroWebhookKey;
			const send = async (payload: object, secret = key) => {
				const body = JSON.stringify(payload);
				const signature = crypto.createHmac('sha256', secret).update(body).digest('base64');
				return (
					await fetch(url, {
						method: 'POST',
						headers: { 'content-type': 'application/json', 'x-xero-signature': signature },
						body,
					})
				).status;
			};
			const probe = { events: [], firstEventSequence: 0, lastEventSequence: 0, entropy: 'ABC' };
			expect(await send(probe)).toBe(200);
			expect(await send(probe, 'wrong-key')).toBe(401);

			const { invoices } = await xeroLedger();
			const invoice = invoices[0];
			const writesBefore = (await salesforceWrites()).length;
			const event = {
				events: [
					{
						resourceUrl: `${sandbox.xero.apiBaseUrl}/Invoices/${invoice.InvoiceID}`,
						resourceId: invoice.InvoiceID,
						eventDateUtc: '2026-12-03T10:00:00.000',
						eventType: 'UPDATE',
						eventCategory: 'INVOICE',
						tenantId: sandbox.xeroTenantId,
						tenantType: 'ORGANISATION',
					},
				],
				firstEventSequence: 1,
				lastEventSequence: 1,
				entropy: 'XYZ',
			};
			expect(await send(event)).toBe(200);
			await n8n.waitForExecutions({ workflowId, count: 1 });
			// Xero redelivers the same events with new entropy when it got no answer in time.
			expect(await send({ ...event, entropy: 'ZZZ' })).toBe(200);

			const executions = await n8n.waitForExecutions({ workflowId, count: 2, settleMs: 2_000 });
			expect(executions.map((execution) => execution.status)).toEqual(['success', 'success']);
			// The invoice is authorised, not paid: read once, nothing written to Salesforce.
			const [first, second] = executions;
			expect(nodeOutput(first, 'Paid?', { output: 1 })).toHaveLength(1);
			expect(nodeOutput(second, 'Claim Event', { output: 1 })).toHaveLength(1);
			expect(nodeOutput(second, 'Get Invoice')).toEqual([]);
			expect((await salesforceWrites()).length).toBe(writesBefore);

			// The customer pays: Xero sends a new event for the same invoice, and the opportunity is
			// marked paid exactly once even when that event is delivered twice.
			await xeroControl(`invoices/${invoice.InvoiceID}/pay`);
			const paidEvent = {
				...event,
				events: [{ ...event.events[0], eventDateUtc: '2026-12-03T11:00:00.000' }],
			};
			expect(await send(paidEvent)).toBe(200);
			await n8n.waitForExecutions({ workflowId, count: 3 });
			expect(await send({ ...paidEvent, entropy: 'PAID2' })).toBe(200);
			const all = await n8n.waitForExecutions({ workflowId, count: 4, settleMs: 2_000 });
			expect(all.map((execution) => execution.status)).toEqual([
				'success',
				'success',
				'success',
				'success',
			]);
			const paidWrites = (await salesforceWrites())
				.slice(writesBefore)
				.filter((write) => write.fields.Sync_Status__c === 'Paid');
			expect(paidWrites).toHaveLength(1);
			expect(paidWrites[0].fields.Invoice_Number__c).toBe(invoice.InvoiceNumber);
		});

		it(`completes orders exactly once when ${mode === 'queue' ? 'a worker' : 'n8n'} is SIGKILLed mid-order`, async () => {
			const ids = await seedOpportunities(sandbox, { count: 4, lines: LINES });
			// Slow invoice creation, so the kill lands while orders are in flight.
			await xeroControl('faults', { latency: [{ pattern: 'Invoices', ms: 4_000 }] });
			const since = Date.now();
			expect(await deliverAll(ids, 1)).toEqual(ids.map(() => 202));
			await waitFor(
				async () =>
					(await xeroLedger()).calls.some(
						(call) => call.at >= since && call.path.includes('Invoices'),
					) || undefined,
				'an invoice call in flight',
			);

			const target = mode === 'queue' ? 'worker-1' : 'main';
			await n8n.kill(target, 'SIGKILL');
			await xeroControl('faults', undefined, 'DELETE');
			await n8n.restart(target);

			await waitForInvoiced(ids);
			await new Promise((resolve) => setTimeout(resolve, 5_000));
			await expectExactlyOnce(ids);
		});
	});
}

describeMode('regular');
describeMode('queue');
