// The Idempotency Gate inside a real n8n 2.41.1 in queue mode with two workers: the same signed
// delivery sent 20 times at once must come out of New once across all executions. The same
// burst through n8n's own Remove Duplicates node is run for comparison (docs/benchmarks.md).
import * as crypto from 'node:crypto';
import * as http from 'node:http';
import Redis from 'ioredis';

import { signGeneric } from '../../nodes/SignedWebhook/signing';
import { CLAIM_OUTPUT } from '../../nodes/IdempotencyGate/actions';
import {
	nodeOutput,
	startN8n,
	type Execution,
	type N8nInstance,
	type WorkflowJson,
	type WorkflowNode,
} from './harness';

const token = crypto.randomBytes(4).toString('hex');
const secret = `gate-${token}-${crypto.randomBytes(12).toString('hex')}`;
const redisPrefix = `dealflow-e2e-gate-${token}`;
const BURST = 20;
const ROUNDS = 3;
const deliveryBody = JSON.stringify({
	opportunityId: `006${token}`,
	stage: 'Closed Won',
	amount: 1250,
});

function n8nId(): string {
	const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
	return Array.from(crypto.randomBytes(16), (byte) => alphabet[byte % alphabet.length]).join('');
}

const signingCredential = { id: n8nId(), name: `Gate e2e signing secret ${token}` };
const redisCredential = { id: n8nId(), name: `Gate e2e Redis ${token}` };

function signedWebhook(path: string): WorkflowNode {
	return {
		id: crypto.randomUUID(),
		name: 'Signed Webhook',
		type: 'n8n-nodes-dealflow.signedWebhook',
		typeVersion: 2,
		position: [0, 0],
		webhookId: crypto.randomUUID(),
		parameters: { path, preset: 'generic', responseMode: 'onReceived', responseCode: 202 },
		credentials: { dealflowSigningSecretApi: signingCredential },
	};
}

function noOp(name: string, y: number): WorkflowNode {
	return {
		id: crypto.randomUUID(),
		name,
		type: 'n8n-nodes-base.noOp',
		typeVersion: 1,
		position: [700, y],
		parameters: {},
	};
}

/**
 * Stands in for the slow work after the gate (the invoice call): keeps each execution running
 * for two seconds, so the 20 executions overlap on both workers as real ones would.
 */
function work(name: string): WorkflowNode {
	return {
		id: crypto.randomUUID(),
		name,
		type: 'n8n-nodes-base.wait',
		typeVersion: 1.1,
		position: [500, 0],
		webhookId: crypto.randomUUID(),
		parameters: { resume: 'timeInterval', amount: 2, unit: 'seconds' },
	};
}

const to = (node: string) => [{ node, type: 'main', index: 0 }];

/** Signed Webhook → Gate (Claim) → New → Create Invoice → Complete; other outputs end in no-ops. */
function gateWorkflow(path: string): WorkflowJson {
	const gate = (name: string, parameters: Record<string, unknown>, x: number): WorkflowNode => ({
		id: crypto.randomUUID(),
		name,
		type: 'n8n-nodes-dealflow.idempotencyGate',
		typeVersion: 1,
		position: [x, 0],
		parameters,
		credentials: { dealflowRedisApi: redisCredential },
	});
	return {
		name: `Idempotency Gate e2e ${token}`,
		nodes: [
			signedWebhook(path),
			// The default key, {{ $json.verification.deliveryId }}, is what the Signed Webhook sets.
			gate(
				'Idempotency Gate',
				{ operation: 'claim', fingerprint: 'fields', fingerprintFields: 'body' },
				300,
			),
			work('Create Invoice'),
			gate('Complete', { operation: 'complete', result: '{ "invoiceNumber": "INV-0042" }' }, 700),
			noOp('Completed Before', 100),
			noOp('In Progress', 200),
			noOp('Conflict', 300),
		],
		connections: {
			'Signed Webhook': { main: [to('Idempotency Gate')] },
			'Idempotency Gate': {
				main: [to('Create Invoice'), to('Completed Before'), to('In Progress'), to('Conflict')],
			},
			'Create Invoice': { main: [to('Complete')] },
		},
		settings: { executionOrder: 'v1' },
	};
}

/** Signed Webhook → Remove Duplicates ("items processed in previous executions") → Create Invoice → Passed. */
function removeDuplicatesWorkflow(path: string): WorkflowJson {
	return {
		name: `Remove Duplicates comparison ${token}`,
		nodes: [
			signedWebhook(path),
			{
				id: crypto.randomUUID(),
				name: 'Remove Duplicates',
				type: 'n8n-nodes-base.removeDuplicates',
				typeVersion: 2,
				position: [300, 0],
				parameters: {
					operation: 'removeItemsSeenInPreviousExecutions',
					logic: 'removeItemsWithAlreadySeenKeyValues',
					dedupeValue: '={{ $json.verification.deliveryId }}',
				},
			},
			work('Create Invoice'),
			noOp('Passed', 0),
		],
		connections: {
			'Signed Webhook': { main: [to('Remove Duplicates')] },
			'Remove Duplicates': { main: [to('Create Invoice')] },
			'Create Invoice': { main: [to('Passed')] },
		},
		settings: { executionOrder: 'v1' },
	};
}

async function post(url: string, body: string, headers: Record<string, string>): Promise<number> {
	return await new Promise<number>((resolve, reject) => {
		const request = http.request(
			url,
			{
				method: 'POST',
				agent: false,
				headers: {
					'content-type': 'application/json',
					'content-length': Buffer.byteLength(body),
					...headers,
				},
			},
			(response) => {
				response.resume();
				response.on('end', () => resolve(response.statusCode ?? 0));
			},
		);
		request.on('error', reject);
		request.end(body);
	});
}

/** Sends one signed delivery `BURST` times at once; @returns the HTTP statuses. */
async function burst(url: string, deliveryId: string): Promise<number[]> {
	const headers = signGeneric({ secret, body: deliveryBody, deliveryId });
	return await Promise.all(
		Array.from({ length: BURST }, async () => await post(url, deliveryBody, headers)),
	);
}

/** The largest number of these executions that were running at the same moment. */
function maxOverlap(executions: Execution[]): number {
	const edges = executions.flatMap((execution) => [
		{ at: execution.startedAt?.getTime() ?? 0, step: 1 },
		{ at: execution.stoppedAt?.getTime() ?? 0, step: -1 },
	]);
	edges.sort((a, b) => a.at - b.at || a.step - b.step);
	let running = 0;
	let most = 0;
	for (const edge of edges) {
		running += edge.step;
		most = Math.max(most, running);
	}
	return most;
}

function countBy(values: string[]): Record<string, number> {
	const counts: Record<string, number> = {};
	for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
	return counts;
}

/**
 * Waits until n8n serves the path: an unsigned POST is refused by the Signed Webhook (401) and
 * starts no execution, while 404 means the webhook is not registered yet.
 * @throws when it is still unregistered after `timeoutMs`
 */
async function waitForWebhook(url: string, timeoutMs = 90_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const status = await post(url, '{}', {});
		if (status !== 404) return;
		if (Date.now() > deadline) throw new Error(`${url} still answers 404 after ${timeoutMs} ms`);
		await new Promise((resolve) => setTimeout(resolve, 500));
	}
}

describe('the Idempotency Gate in real n8n queue mode with two workers', () => {
	let n8n: N8nInstance;
	const gatePath = `gate-${token}`;
	const dedupePath = `dedupe-${token}`;

	beforeAll(async () => {
		n8n = await startN8n({
			mode: 'queue',
			workers: 2,
			name: 'idempotency-gate',
			credentials: [
				{
					...signingCredential,
					type: 'dealflowSigningSecretApi',
					data: { secret, previousSecret: '' },
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
			workflows: [gateWorkflow(gatePath), removeDuplicatesWorkflow(dedupePath)],
		});
		await waitForWebhook(n8n.webhookUrl(gatePath));
		await waitForWebhook(n8n.webhookUrl(dedupePath));
	});

	afterAll(async () => {
		await n8n?.stop();
		const admin = new Redis({ host: '127.0.0.1', port: 6379 });
		const keys = await admin.keys(`${redisPrefix}:*`);
		if (keys.length) await admin.del(...keys);
		await admin.quit();
	});

	it('lets exactly one of 20 simultaneous copies of a signed delivery out of New, in each of 3 bursts, and answers a later copy from Completed', async () => {
		const workflowId = n8n.workflows[0].id;
		const rounds: Array<Record<string, number>> = [];

		for (let round = 1; round <= ROUNDS; round++) {
			const deliveryId = `dlv-${token}-gate-${round}`;
			const statuses = await burst(n8n.webhookUrl(gatePath), deliveryId);
			expect(statuses).toEqual(Array(BURST).fill(202));
			const all = await n8n.waitForExecutions({
				workflowId,
				count: round * BURST,
				timeoutMs: 180_000,
				settleMs: 2_000,
			});
			const executions = all.slice((round - 1) * BURST);
			expect(executions.map((execution) => execution.status)).toEqual(Array(BURST).fill('success'));
			const count = (output: number) =>
				executions.reduce(
					(sum, execution) => sum + nodeOutput(execution, 'Idempotency Gate', { output }).length,
					0,
				);
			rounds.push({
				new: count(CLAIM_OUTPUT.new),
				completed: count(CLAIM_OUTPUT.completed),
				inProgress: count(CLAIM_OUTPUT.inProgress),
				conflict: count(CLAIM_OUTPUT.conflict),
				workers: new Set(executions.map((execution) => execution.ranOn)).size,
				maxOverlap: maxOverlap(executions),
			});
		}
		process.stderr.write(
			`[gate e2e] Idempotency Gate, ${BURST} copies per burst: ${JSON.stringify(rounds)}\n`,
		);

		for (const outcome of rounds) {
			expect(outcome).toMatchObject({ new: 1, conflict: 0 });
			expect(outcome.completed + outcome.inProgress).toBe(BURST - 1);
		}

		const late = await post(
			n8n.webhookUrl(gatePath),
			deliveryBody,
			signGeneric({ secret, body: deliveryBody, deliveryId: `dlv-${token}-gate-1` }),
		);
		expect(late).toBe(202);
		const after = await n8n.waitForExecutions({
			workflowId,
			count: ROUNDS * BURST + 1,
			timeoutMs: 180_000,
		});
		const lastRun = after[after.length - 1];
		expect(
			nodeOutput(lastRun, 'Idempotency Gate', { output: CLAIM_OUTPUT.completed })[0].json
				.idempotency,
		).toMatchObject({
			outcome: 'completed',
			result: { invoiceNumber: 'INV-0042' },
		});
	});

	it("runs the same bursts through n8n's Remove Duplicates node and records how many copies get through", async () => {
		const workflowId = n8n.workflows[1].id;
		const passedPerBurst: number[] = [];
		const overlaps: number[] = [];

		for (let round = 1; round <= ROUNDS; round++) {
			const statuses = await burst(n8n.webhookUrl(dedupePath), `dlv-${token}-dedupe-${round}`);
			expect(statuses).toEqual(Array(BURST).fill(202));
			const all = await n8n.waitForExecutions({
				workflowId,
				count: round * BURST,
				timeoutMs: 180_000,
				settleMs: 2_000,
			});
			const executions = all.slice((round - 1) * BURST);
			passedPerBurst.push(
				executions.reduce(
					(sum, execution) => sum + nodeOutput(execution, 'Remove Duplicates').length,
					0,
				),
			);
			overlaps.push(maxOverlap(executions));
		}
		const statuses = (await n8n.executions({ workflowId })).map((execution) => execution.status);
		process.stderr.write(
			`[gate e2e] Remove Duplicates, ${BURST} copies per burst, got through: ${JSON.stringify(passedPerBurst)}; most running at once: ${JSON.stringify(overlaps)}; execution statuses: ${JSON.stringify(countBy(statuses))}\n`,
		);

		// A fact to record in docs/benchmarks.md, not a requirement on n8n: the first copy passes.
		for (const passed of passedPerBurst) expect(passed).toBeGreaterThanOrEqual(1);
	});
});
