'use strict';

/**
 * Signed Webhook vs n8n's own Webhook node (no authentication), both published in the same real
 * n8n 2.41.1 (regular mode, SQLite), each workflow a trigger and nothing else. autocannon loads
 * one and then the other from a separate process, alternating, with a valid signed request for
 * ours (Generic preset: base64 HMAC-SHA256 of the raw body). Every response must be 2xx, so a
 * rejected signature can never pass for speed.
 *
 * Measured twice, each time in a fresh n8n:
 * - n8n's defaults: the `vm` expression engine creates isolates eagerly. n8n then makes one
 *   isolate per request for its own Webhook node and two for any community trigger; see
 *   docs/webhook-overhead.md for why and for the measurements behind it.
 * - `N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE=true`: the same sandbox, but an isolate is made only when
 *   an expression really needs one, which a trigger built like ours never does.
 *
 * Besides requests per second and latency, it reads the CPU time n8n's main process spent per
 * request (from /proc), which is what the isolates cost and is steadier than wall-clock figures
 * on a shared machine.
 *
 * Requires the compiled package (the runner builds it) and the e2e harness.
 */

const crypto = require('node:crypto');
const path = require('node:path');

const { startBenchN8n } = require('../lib/n8n');
const { loadTest, processCpuMs } = require('../lib/load');

const ROOT = path.resolve(__dirname, '..', '..');
const { signGeneric } = require(path.join(ROOT, 'dist', 'nodes', 'SignedWebhook', 'signing.js'));

const GOAL = 0.95;
const ROUNDS = Number(process.env.BENCH_WEBHOOK_ROUNDS || 3);
const SECONDS = Number(process.env.BENCH_WEBHOOK_SECONDS || 8);
const CONNECTIONS = [1, 10];
const CONFIGS = [
	{ key: 'defaults', label: "n8n's defaults", env: {} },
	{
		key: 'lazy',
		label: 'lazy isolates',
		env: { N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE: 'true' },
	},
];

/** A Closed-Won order as Salesforce would post it; ~400 bytes like a real notification. */
const BODY = JSON.stringify({
	event: 'opportunity.closed_won',
	opportunityId: '006Hs00001AbCdEIAZ',
	order: {
		orderKey: 'SF-006Hs00001AbCdEIAZ',
		currency: 'USD',
		customer: { name: 'Acme Corp', accountNumber: 'ACME-001' },
		lines: [
			{ sku: 'WIDGET-1', name: 'Widget', quantity: 2, unitPrice: 19.5 },
			{ sku: 'GADGET-9', name: 'Gadget', quantity: 1, unitPrice: 100 },
		],
	},
});

function n8nId() {
	const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
	return Array.from(crypto.randomBytes(16), (byte) => alphabet[byte % alphabet.length]).join('');
}

function workflows({ token, credential }) {
	const bare = {
		name: `Bench: n8n Webhook node (${token})`,
		nodes: [
			{
				id: crypto.randomUUID(),
				name: 'Webhook',
				type: 'n8n-nodes-base.webhook',
				typeVersion: 2.1,
				position: [0, 0],
				webhookId: crypto.randomUUID(),
				parameters: { httpMethod: 'POST', path: `bench-bare-${token}`, options: {} },
			},
		],
		connections: {},
		settings: { executionOrder: 'v1' },
	};
	const signed = {
		name: `Bench: Signed Webhook (${token})`,
		nodes: [
			{
				id: crypto.randomUUID(),
				name: 'Signed Webhook',
				type: 'n8n-nodes-dealflow.signedWebhook',
				typeVersion: 2,
				position: [0, 0],
				webhookId: crypto.randomUUID(),
				parameters: {
					path: `bench-signed-${token}`,
					preset: 'generic',
					responseMode: 'onReceived',
					responseCode: 200,
				},
				credentials: { dealflowSigningSecretApi: { id: credential.id, name: credential.name } },
			},
		],
		connections: {},
		settings: { executionOrder: 'v1' },
	};
	return { bare, signed };
}

async function post(url, headers) {
	const response = await fetch(url, {
		method: 'POST',
		headers: { 'content-type': 'application/json', ...headers },
		body: BODY,
	});
	await response.arrayBuffer();
	return response.status;
}

/** Proves both endpoints are live and that ours really checks signatures, before any load. */
async function probe({ bareUrl, signedUrl, signedHeaders }) {
	const deadline = Date.now() + 60_000;
	for (;;) {
		const [bare, signed] = [await post(bareUrl, {}), await post(signedUrl, signedHeaders)];
		if (bare === 200 && signed === 200) break;
		// A just-started n8n can answer 404 until the published workflows are active.
		if (Date.now() > deadline) {
			throw new Error(
				`Endpoints not ready after 60 s: n8n Webhook ${bare}, Signed Webhook ${signed}`,
			);
		}
		await new Promise((resolve) => setTimeout(resolve, 1000));
	}
	const forged = { ...signedHeaders, 'x-clickdone-signature': Buffer.alloc(32).toString('base64') };
	const rejected = await post(signedUrl, forged);
	if (rejected !== 403) {
		throw new Error(
			`A forged signature got ${rejected}, not 403; the bench would measure nothing.`,
		);
	}
}

async function measureTarget({ n8n, url, headers, connections, seconds = SECONDS }) {
	const cpuBefore = processCpuMs(n8n.pid());
	const result = await loadTest({
		url,
		headers: { 'content-type': 'application/json', ...headers },
		body: BODY,
		connections,
		seconds,
	});
	const cpuAfter = processCpuMs(n8n.pid());
	if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
		throw new Error(
			`${url}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts ` +
				`out of ${result.total}; the figures would not be comparable.`,
		);
	}
	const cpuPerRequest =
		cpuBefore !== undefined && cpuAfter !== undefined && result.total > 0
			? (cpuAfter - cpuBefore) / result.total
			: undefined;
	return { ...result, cpuPerRequest };
}

function median(values) {
	const sorted = values.filter((value) => value !== undefined).sort((a, b) => a - b);
	return sorted.length === 0 ? undefined : sorted[Math.floor(sorted.length / 2)];
}

const round2 = (value) => (value === undefined ? undefined : Math.round(value * 100) / 100);

async function measureConfig({ config, log }) {
	const token = crypto.randomBytes(4).toString('hex');
	const secret = `bench-${token}-${crypto.randomBytes(16).toString('hex')}`;
	const credential = {
		id: n8nId(),
		name: `Bench signing secret ${token}`,
		type: 'dealflowSigningSecretApi',
	};
	const { bare, signed } = workflows({ token, credential });
	log(`starting n8n (${config.label})`);
	const n8n = await startBenchN8n({
		name: `bench-webhook-${config.key}`,
		log,
		workflows: [bare, signed],
		credentials: [{ ...credential, data: { secret } }],
		env: {
			// Both sides alike: no successful execution is kept, so SQLite writes do not hide the
			// trigger's own cost. The execution row is still written and removed per request.
			EXECUTIONS_DATA_SAVE_ON_SUCCESS: 'none',
			...config.env,
		},
	});
	try {
		const bareUrl = n8n.webhookUrl(`bench-bare-${token}`);
		const signedUrl = n8n.webhookUrl(`bench-signed-${token}`);
		const signedHeaders = signGeneric({ secret, body: BODY });
		await probe({ bareUrl, signedUrl, signedHeaders });

		const byConnections = {};
		for (const connections of CONNECTIONS) {
			// Warm both paths (JIT, caches, the pool) outside the measure.
			await measureTarget({ n8n, url: bareUrl, headers: {}, connections, seconds: 3 });
			await measureTarget({ n8n, url: signedUrl, headers: signedHeaders, connections, seconds: 3 });
			const rounds = [];
			for (let round = 0; round < ROUNDS; round++) {
				// Alternate which side goes first, so neither always meets the warmer machine.
				const order = round % 2 === 0 ? ['bare', 'ours'] : ['ours', 'bare'];
				const pair = {};
				for (const side of order) {
					pair[side] = await measureTarget({
						n8n,
						url: side === 'bare' ? bareUrl : signedUrl,
						headers: side === 'bare' ? {} : signedHeaders,
						connections,
					});
				}
				log(
					`${config.key} c=${connections} round ${round + 1}: ours ${pair.ours.rps} req/s, ` +
						`n8n Webhook ${pair.bare.rps} req/s`,
				);
				rounds.push(pair);
			}
			byConnections[connections] = rounds;
		}
		return byConnections;
	} finally {
		await n8n.stop();
	}
}

function rowsFor(config, byConnections) {
	const rows = [];
	for (const connections of CONNECTIONS) {
		const rounds = byConnections[connections];
		const pick = (side, field) => median(rounds.map((pair) => pair[side][field]));
		const ratioOf = (field) => median(rounds.map((pair) => pair.ours[field] / pair.bare[field]));
		const where = `${connections} connection${connections === 1 ? '' : 's'}, ${config.label}`;
		rows.push({
			metric: `req/s, ${where}`,
			ours: round2(pick('ours', 'rps')),
			baseline: round2(pick('bare', 'rps')),
			ratio: round2(ratioOf('rps')),
			goal: GOAL,
		});
		rows.push({
			metric: `p50 / p99 latency ms, ${where} (ratio of p50)`,
			ours: `${pick('ours', 'p50')} / ${pick('ours', 'p99')}`,
			baseline: `${pick('bare', 'p50')} / ${pick('bare', 'p99')}`,
			ratio: round2(ratioOf('p50')),
			goal: '',
		});
		if (connections === 1) {
			rows.push({
				metric: `n8n CPU ms per request, ${where}`,
				ours: round2(pick('ours', 'cpuPerRequest')),
				baseline: round2(pick('bare', 'cpuPerRequest')),
				ratio: round2(ratioOf('cpuPerRequest')),
				goal: '',
			});
		}
	}
	return rows;
}

async function run(ctx = { log: (line) => process.stderr.write(`${line}\n`) }) {
	const raw = {};
	for (const config of CONFIGS) {
		raw[config.key] = await measureConfig({ config, log: ctx.log });
	}
	return { ...summarize(raw), extra: raw };
}

/**
 * The table rows and notes for raw per-round figures (`extra` of a saved result), so a saved run
 * can be reported again without measuring again.
 * @returns {{rows: object[], notes: string[]}}
 */
function summarize(raw) {
	const rows = CONFIGS.flatMap((config) => rowsFor(config, raw[config.key]));
	const throughput = rows.filter((row) => row.metric.startsWith('req/s'));
	const missed = throughput.filter((row) => row.ratio < GOAL).map((row) => row.metric);
	const cpu = (key) =>
		rows.find((row) => row.metric.startsWith('n8n CPU') && row.metric.includes(key));
	const cpuDefaults = cpu("n8n's defaults");
	const cpuLazy = cpu('lazy isolates');
	const extraMs = (row) => Math.round((row.ours - row.baseline) * 10) / 10;
	return {
		rows,
		notes: [
			`Ours: Signed Webhook (Generic preset, signature checked on every request, respond at once with 200). Baseline: n8n's Webhook node 2.1, POST, no authentication, respond immediately. Each workflow is the trigger alone; both in the same n8n (regular mode, SQLite, EXECUTIONS_DATA_SAVE_ON_SUCCESS=none). autocannon runs as a separate process; ${ROUNDS} alternating rounds of ${SECONDS} s per side after a warm-up; figures are medians, ratios the median of per-round ratios. CPU is n8n's process time (all threads, /proc) per request served.`,
			`Where the time goes: under n8n's defaults ours cost ${extraMs(cpuDefaults)} ms more CPU per request (${cpuDefaults.ratio}x). That is the expression isolate n8n builds in the webhook phase for every trigger whose type is not n8n-nodes-base.webhook (LiveWebhooks.webhookPhaseNeedsIsolate): one fresh isolated-vm isolate, about 35 ms of CPU on an idle machine and more under load, on top of the one every execution builds. No node design avoids it, so under n8n's defaults the goal is out of reach for any community trigger. With lazy isolates n8n builds one only when an expression runs, ours runs none (version 2, natively resolved webhook fields, cached signing secret), and the CPU gap shrinks to ${extraMs(cpuLazy)} ms (${cpuLazy.ratio}x): ours does more per request (HMAC, header redaction, the verification output) and its workflow uses a credential, which n8n checks on every execution; a gap that small is inside this machine's noise and was not broken down further. See docs/webhook-overhead.md.`,
			missed.length === 0
				? `Meets the >=${GOAL}x throughput goal in every configuration.`
				: `Below the >=${GOAL}x goal in: ${missed.join('; ')}. Throughput at 1 connection on this shared 2-core machine swings by 2x between rounds, so read the CPU rows for the cost and the req/s rows for its effect; in the study behind docs/webhook-overhead.md, triggers built like ours ran at 0.95-1.9x of n8n's node under lazy isolates, depending on the run.`,
		],
	};
}

module.exports = {
	name: 'webhook',
	description:
		"Signed Webhook vs n8n's own Webhook node (no auth) in the same n8n: req/s and p50/p99",
	run,
	summarize,
};

if (require.main === module) {
	run()
		.then((result) => console.log(JSON.stringify(result, null, 2)))
		.catch((error) => {
			console.error(error);
			process.exitCode = 1;
		});
}
