'use strict';

/**
 * Measure 6 of issue 9, the "in seconds" promise: from a signed Closed-Won callout arriving at the
 * deal-intake webhook to its invoice existing in the Xero simulator, with both simulators
 * answering every call after 200 ms. What is reported is the overhead above the API time.
 *
 * Deals go one at a time (the next only after the previous one's write-back), in one n8n main
 * (regular mode, SQLite), workflows as shipped; once under n8n's defaults and once with lazy
 * expression isolates, as docker-compose.yml runs n8n. Xero's 60-call window is scaled to 3 s in the
 * simulator and the node (as the e2e suite does), so Xero's rate limit never holds a call back
 * during the run; any wait it did cause would show up as overhead.
 *
 * Per deal, from the simulators' own ledgers:
 * - start: just before the callout is sent; end: `finishedAt` of the Xero call that created the
 *   invoice (the simulator's clock, the same machine's);
 * - API time: the union of the intervals of every call either simulator received inside that
 *   window, Xero's as measured (`at`..`finishedAt`), Salesforce's as `at` + its configured latency
 *   (its ledger has no finish time). A union, not a sum, so parallel calls are not counted twice
 *   and the overhead is never understated;
 * - overhead = (end − start) − API time.
 */

const {
	LINES,
	driver,
	nodeProfile,
	quantile,
	sandboxLib,
	sleep,
	startFlow,
	waitFor,
} = require('../lib/flow');

const DEALS = Number(process.env.BENCH_LATENCY_DEALS || 40);
const WARMUP = 3;
const API_LATENCY_MS = 200;
const WINDOW_SECONDS = 3;
const GOAL_P50_MS = 300;
const GOAL_P99_MS = 1000;

/** Total length of the union of [start, end] intervals. */
function unionLength(intervals) {
	const sorted = intervals.filter(([start, end]) => end > start).sort((a, b) => a[0] - b[0]);
	let total = 0;
	let currentStart;
	let currentEnd;
	for (const [start, end] of sorted) {
		if (currentEnd === undefined || start > currentEnd) {
			if (currentEnd !== undefined) total += currentEnd - currentStart;
			currentStart = start;
			currentEnd = end;
		} else {
			currentEnd = Math.max(currentEnd, end);
		}
	}
	if (currentEnd !== undefined) total += currentEnd - currentStart;
	return total;
}

const isInvoiceCreate = (call) =>
	/\/Invoices(\?|$)/.test(call.path) && (call.method === 'PUT' || call.method === 'POST');

/** One deal, end to end; resolves with its timings. */
async function oneDeal(flow, opportunityId) {
	const start = Date.now();
	const answer = await driver.deliverCallout({
		url: flow.intakeUrl,
		secret: flow.sandbox.secrets.salesforceCallout,
		opportunityId,
	});
	const answered = Date.now();
	if (answer.status !== 202)
		throw new Error(`callout for ${opportunityId} answered ${answer.status}`);
	const invoiced = await waitFor(
		async () => {
			const ledger = await flow.sims.xeroLedger();
			return ledger.invoices.some((invoice) => invoice.Reference === opportunityId) && ledger;
		},
		`the invoice of ${opportunityId}`,
		{ ms: 120_000, everyMs: 50 },
	);
	const create = invoiced.calls.find(
		(call) => call.at >= start && isInvoiceCreate(call) && call.status >= 200 && call.status < 300,
	);
	if (!create?.finishedAt) throw new Error(`no successful invoice call found for ${opportunityId}`);
	const end = create.finishedAt;

	// Let the write-back and claim completion finish, so the next deal starts on a quiet flow.
	await waitFor(async () => (await flow.sims.invoicedIds()).has(opportunityId), 'the write-back', {
		ms: 120_000,
		everyMs: 50,
	});
	const salesforce = await flow.sims.salesforceLedger();
	const xeroCalls = invoiced.calls.filter((call) => call.at >= start && call.at <= end);
	const salesforceCalls = salesforce.calls.filter((call) => call.at >= start && call.at <= end);
	const intervals = [
		...xeroCalls.map((call) => [call.at, call.finishedAt ?? call.at]),
		...salesforceCalls.map((call) => [call.at, Math.min(end, call.at + API_LATENCY_MS)]),
	];
	const apiMs = unionLength(intervals);
	return {
		opportunityId,
		totalMs: end - start,
		apiMs,
		overheadMs: end - start - apiMs,
		answerMs: answered - start,
		xeroCalls: xeroCalls.map((call) => `${call.method} ${call.path.split('?')[0]}`),
		salesforceCalls: salesforceCalls.map((call) => `${call.method} ${call.kind}`),
	};
}

/** Where the overhead goes: n8n's per-node times and the hand-over between the two workflows. */
async function profile(flow, deals) {
	const wanted = new Set(deals.map((deal) => deal.opportunityId));
	const [processing, intake] = await Promise.all([
		flow.n8n.executions({ workflowId: flow.processingId }),
		flow.n8n.executions({ workflowId: flow.intakeId }),
	]);
	const oppOf = (execution, node, pick) => {
		const run = execution.data?.resultData?.runData?.[node]?.[0];
		const item = run?.data?.main?.[0]?.[0]?.json;
		return item ? pick(item) : undefined;
	};
	const mine = processing.filter((execution) =>
		wanted.has(oppOf(execution, 'Retry Queue Trigger', (json) => json.opportunityId)),
	);
	const intakeMine = intake.filter((execution) =>
		wanted.has(oppOf(execution, 'Salesforce Callout', (json) => json.body?.opportunityId)),
	);
	const intakeStop = new Map(
		intakeMine.map((execution) => [
			oppOf(execution, 'Salesforce Callout', (json) => json.body?.opportunityId),
			execution,
		]),
	);
	const handover = [];
	const beforeInvoice = [];
	for (const execution of mine) {
		const id = oppOf(execution, 'Retry Queue Trigger', (json) => json.opportunityId);
		const deal = deals.find((candidate) => candidate.opportunityId === id);
		const received = intakeStop.get(id);
		if (received?.stoppedAt && execution.startedAt)
			handover.push(execution.startedAt.getTime() - received.stoppedAt.getTime());
		if (deal && execution.startedAt) {
			beforeInvoice.push(execution.startedAt.getTime());
		}
	}
	const intakeMs = intakeMine
		.filter((execution) => execution.startedAt && execution.stoppedAt)
		.map((execution) => execution.stoppedAt.getTime() - execution.startedAt.getTime());
	return {
		processing: nodeProfile(mine),
		intake: nodeProfile(intakeMine),
		intakeP50: quantile(intakeMs, 0.5),
		handoverP50: quantile(handover, 0.5),
		handoverP99: quantile(handover, 0.99),
		executions: mine.length,
	};
}

/** n8n's defaults, and lazy isolates as docker-compose.yml runs it (see docs/webhook-overhead.md). */
const CONFIGS = [
	{ key: 'defaults', label: "n8n's defaults", env: {} },
	{
		key: 'lazy',
		label: 'lazy isolates (as docker-compose.yml)',
		env: { N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE: 'true' },
	},
];

async function measureConfig({ config, log }) {
	const flow = await startFlow({
		mode: 'regular',
		name: `bench-latency-${config.key}`,
		log,
		env: config.env,
		xeroConfig: { minuteWindowMs: WINDOW_SECONDS * 1000 },
		processingPatch: { xeroOptions: { windowSeconds: WINDOW_SECONDS } },
	});
	try {
		await flow.sims.configureXero({ latencyMs: API_LATENCY_MS });
		await flow.sims.configureSalesforce({ latencyMs: API_LATENCY_MS });
		const ids = await sandboxLib.seedOpportunities(flow.sandbox, {
			count: WARMUP + DEALS,
			lines: LINES,
		});
		const deals = [];
		for (const [index, id] of ids.entries()) {
			const deal = await oneDeal(flow, id);
			if (index >= WARMUP) deals.push(deal);
			if (index % 10 === 0) {
				log(
					`${config.key} deal ${index + 1}/${ids.length}: ${deal.totalMs} ms, API ${deal.apiMs} ms, overhead ${deal.overheadMs} ms`,
				);
			}
			await sleep(100);
		}
		return { deals, profile: await profile(flow, deals) };
	} finally {
		await flow.stop();
	}
}

async function run(ctx = { log: (line) => process.stderr.write(`${line}\n`) }) {
	const raw = {};
	for (const config of CONFIGS) raw[config.key] = await measureConfig({ config, log: ctx.log });
	return { ...summarize(raw), extra: raw };
}

/**
 * The table rows and notes for raw figures (`extra` of a saved result).
 * @returns {{rows: object[], notes: string[]}}
 */
const sumMedians = (profile) =>
	Math.round(profile.reduce((total, entry) => total + entry.median, 0));

function summarize(raw) {
	const rows = [];
	const notes = [];
	const missed = [];
	for (const config of CONFIGS) {
		const { deals, profile: prof } = raw[config.key];
		const pick = (field, q) =>
			quantile(
				deals.map((deal) => deal[field]),
				q,
			);
		const p50 = pick('overheadMs', 0.5);
		const p99 = pick('overheadMs', 0.99);
		rows.push(
			{
				metric: `overhead above the API time, p50 ms, ${config.label} (deal arriving → invoice in Xero, ${deals.length} deals one at a time, 200 ms per API call; baseline: API time)`,
				ours: p50,
				baseline: pick('apiMs', 0.5),
				ratio: undefined,
				goal: `≤${GOAL_P50_MS} ms`,
				met: p50 <= GOAL_P50_MS,
			},
			{
				metric: `overhead above the API time, p99 ms, ${config.label}`,
				ours: p99,
				baseline: pick('apiMs', 0.99),
				ratio: undefined,
				goal: `≤${GOAL_P99_MS} ms`,
				met: p99 <= GOAL_P99_MS,
			},
			{
				metric: `deal arriving → invoice in Xero, p50 / p99 ms, ${config.label} (baseline: API time p50 / p99)`,
				ours: `${pick('totalMs', 0.5)} / ${pick('totalMs', 0.99)}`,
				baseline: `${pick('apiMs', 0.5)} / ${pick('apiMs', 0.99)}`,
				ratio: undefined,
				goal: '',
			},
		);
		if (p50 > GOAL_P50_MS) missed.push(`p50, ${config.label}`);
		if (p99 > GOAL_P99_MS) missed.push(`p99, ${config.label}`);
		const nodeList = prof.processing
			.slice(0, 4)
			.map((entry) => `${entry.node} ${Math.round(entry.median)} ms (p90 ${Math.round(entry.p90)})`)
			.join(', ');
		const intakeList = prof.intake
			.slice(0, 3)
			.map((entry) => `${entry.node} ${Math.round(entry.median)} ms`)
			.join(', ');
		notes.push(
			`Where the time goes, ${config.label}: the callout is answered 202 after ${pick('answerMs', 0.5)} ms at p50, of which the intake execution itself is ${Math.round(prof.intakeP50)} ms, its nodes' own executionTime only ${sumMedians(prof.intake)} ms (slowest ${intakeList}), the rest being n8n's own per-execution work, and the time before it n8n receiving the webhook and setting up the execution; the hand-over from the intake execution's end to the processing execution's start (Retry Queue enqueue → BullMQ worker → n8n starting the execution) is ${prof.handoverP50} ms at p50, ${prof.handoverP99} ms at p99; in the processing execution the slowest nodes by median executionTime, API latency included, are ${nodeList}; all its nodes together ${sumMedians(prof.processing)} ms, of which ${API_LATENCY_MS} ms is each API call the nodes make (Write Back's falls after the invoice, outside the window).`,
		);
	}
	const sample = raw[CONFIGS[0].key].deals[0];
	const count = raw[CONFIGS[0].key].deals.length;
	notes.unshift(
		`Ours: ${count} fresh Closed-Won opportunities per configuration after ${WARMUP} warm-up deals, one at a time, through the shipped workflows in one n8n main (regular mode, SQLite, executions saved as n8n's default), once with n8n's defaults and once with lazy expression isolates as docker-compose.yml runs n8n; both simulators add ${API_LATENCY_MS} ms to every call; Xero's rate window scaled to ${WINDOW_SECONDS} s so its limit never holds a call back. Start: just before the signed callout is sent; end: finishedAt of the Xero call that created the invoice. Baseline column: the API time of the same deals, the union of every Xero call's measured interval and every Salesforce call's ${API_LATENCY_MS} ms inside that window, read from the simulators' ledgers. Overhead = end − start − API time. Calls inside a typical deal's window: Xero ${sample.xeroCalls.join(', ')}; Salesforce ${sample.salesforceCalls.join(', ') || 'none'}. With ${count} samples p99 is the slowest deal or next to it.`,
	);
	notes.push(
		missed.length === 0
			? `Meets both goals (≤${GOAL_P50_MS} ms p50, ≤${GOAL_P99_MS} ms p99) in both configurations.`
			: `Below the goal in: ${missed.join('; ')}. Reason: the overhead is mostly n8n's own per-execution cost on this shared 2-core machine (see the load average in the machine line): receiving the webhook and building the execution before the intake's first node, then two executions of 7 and 6 nodes, each node's expressions evaluated and each execution's run data saved to SQLite; the package's own steps (Redis claim, BullMQ enqueue, pickup) are the tens of milliseconds named above.`,
	);
	return { rows, notes };
}

module.exports = {
	name: 'latency',
	description:
		'Deal arriving → invoice in Xero with 200 ms per API call: p50/p99 of the overhead above the API time',
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
