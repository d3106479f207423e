'use strict';

// What the flow measures share: the sandbox (simulators, warehouse, credentials), a real n8n with
// the shipped workflows, a bare webhook→respond workflow beside them, and per-node profiles read
// back from n8n's own execution records.

const crypto = require('node:crypto');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const sandboxLib = require(path.join(ROOT, 'scripts', 'lib', 'sandbox'));
const driver = require(path.join(ROOT, 'scripts', 'lib', 'flow-driver'));
const { startBenchN8n } = require('./n8n');

const LINES = [
	{ sku: 'DF-WIDGET', quantity: 1, unitPrice: 25 },
	{ sku: 'DF-GADGET', quantity: 2, unitPrice: 480 },
];
const STOCK = { 'DF-WIDGET': 1_000_000, 'DF-GADGET': 1_000_000 };

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A webhook→respond workflow of n8n's own nodes, answering 202 with a small JSON body like the
 * deal intake does: the least a user could build for the same endpoint.
 * @returns {{workflow: object, path: string}}
 */
function bareWorkflow() {
	const token = crypto.randomBytes(4).toString('hex');
	const webhookPath = `bench-bare-${token}`;
	return {
		path: webhookPath,
		workflow: {
			name: `Bench: bare webhook→respond (${token})`,
			nodes: [
				{
					id: crypto.randomUUID(),
					name: 'Webhook',
					type: 'n8n-nodes-base.webhook',
					typeVersion: 2.1,
					position: [0, 0],
					webhookId: crypto.randomUUID(),
					parameters: {
						httpMethod: 'POST',
						path: webhookPath,
						responseMode: 'responseNode',
						options: {},
					},
				},
				{
					id: crypto.randomUUID(),
					name: 'Respond',
					type: 'n8n-nodes-base.respondToWebhook',
					typeVersion: 1.4,
					position: [220, 0],
					parameters: {
						respondWith: 'json',
						responseBody: '={{ JSON.stringify({ status: "queued" }) }}',
						options: { responseCode: 202 },
					},
				},
			],
			connections: { Webhook: { main: [[{ node: 'Respond', type: 'main', index: 0 }]] } },
			settings: { executionOrder: 'v1' },
		},
	};
}

/** Polls `probe` every `everyMs` until it returns a truthy value. @throws after `ms` */
async function waitFor(probe, what, { ms = 180_000, everyMs = 250 } = {}) {
	const until = Date.now() + ms;
	for (;;) {
		const value = await probe();
		if (value) return value;
		if (Date.now() > until) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
		await sleep(everyMs);
	}
}

/** Waits until a just-started n8n has activated the webhook at `url` (404 until then). */
async function waitForWebhook(url) {
	await waitFor(
		async () => (await fetch(url, { method: 'POST', body: '{}' })).status !== 404,
		`the webhook ${url}`,
		{ everyMs: 1000 },
	);
}

/**
 * Starts the sandbox and a real n8n with the shipped workflows (deal processing patched as given)
 * and the bare workflow beside them (only the bare one with `shipped: false`); `env` goes to n8n.
 * @returns {Promise<{sandbox, sims, n8n, intakeUrl, bareUrl, intakeId, processingId, stop}>}
 */
async function startFlow({
	mode,
	name,
	xeroConfig,
	processingPatch,
	shipped = true,
	env = {},
	log,
}) {
	const sandbox = await sandboxLib.startSandbox({ stock: STOCK, xeroConfig });
	let n8n;
	try {
		const bare = bareWorkflow();
		const workflows = shipped
			? [
					sandboxLib.loadWorkflow('deal-intake'),
					driver.processingWorkflow(processingPatch),
					bare.workflow,
				]
			: [bare.workflow];
		log(`starting n8n (${mode}${shipped ? ', shipped workflows + bare' : ', bare workflow only'})`);
		n8n = await startBenchN8n({
			mode,
			workers: mode === 'queue' ? 2 : undefined,
			name,
			log,
			workflows,
			credentials: sandbox.credentials,
			env,
		});
		const intakeUrl = n8n.webhookUrl(sandboxLib.WEBHOOKS.dealIntake.path);
		const bareUrl = n8n.webhookUrl(bare.path);
		await waitForWebhook(bareUrl);
		if (shipped) await waitForWebhook(intakeUrl);
		return {
			sandbox,
			sims: driver.simulators(sandbox),
			n8n,
			intakeUrl,
			bareUrl,
			intakeId: shipped ? n8n.workflows[0].id : undefined,
			processingId: shipped ? n8n.workflows[1].id : undefined,
			bareId: n8n.workflows[shipped ? 2 : 0].id,
			async stop() {
				await n8n.stop();
				await sandbox.stop();
			},
		};
	} catch (error) {
		await n8n?.stop();
		await sandbox.stop();
		throw error;
	}
}

/** Runs `task(i)` for i in 0..count-1 with at most `parallel` in flight; resolves with results. */
async function pool(count, parallel, task) {
	const results = new Array(count);
	let next = 0;
	const lanes = Array.from({ length: Math.min(parallel, count) }, async () => {
		while (next < count) {
			const index = next++;
			results[index] = await task(index);
		}
	});
	await Promise.all(lanes);
	return results;
}

function quantile(values, q) {
	const sorted = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
	if (sorted.length === 0) return undefined;
	return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

/**
 * Per-node execution times (n8n's own `executionTime` of each node run) over a set of executions.
 * @returns {Array<{node: string, median: number, p90: number, runs: number}>} slowest first
 */
function nodeProfile(executions) {
	const times = new Map();
	for (const execution of executions) {
		const runData = execution.data?.resultData?.runData ?? {};
		for (const [node, runs] of Object.entries(runData)) {
			for (const run of runs) {
				if (typeof run.executionTime !== 'number') continue;
				if (!times.has(node)) times.set(node, []);
				times.get(node).push(run.executionTime);
			}
		}
	}
	return [...times.entries()]
		.map(([node, list]) => ({
			node,
			median: quantile(list, 0.5),
			p90: quantile(list, 0.9),
			runs: list.length,
		}))
		.sort((a, b) => b.median - a.median);
}

/** Median wall time of executions (stoppedAt − startedAt), ms. */
function medianExecutionMs(executions) {
	return quantile(
		executions
			.filter((execution) => execution.startedAt && execution.stoppedAt)
			.map((execution) => execution.stoppedAt.getTime() - execution.startedAt.getTime()),
		0.5,
	);
}

/** "Node a 12 ms, Node b 3 ms, ..." for the first `count` entries of a node profile. */
function profileText(profile, count = 4) {
	return profile
		.slice(0, count)
		.map((entry) => `${entry.node} ${Math.round(entry.median)} ms`)
		.join(', ');
}

module.exports = {
	LINES,
	driver,
	medianExecutionMs,
	nodeProfile,
	pool,
	profileText,
	quantile,
	sandboxLib,
	sleep,
	startFlow,
	waitFor,
};
