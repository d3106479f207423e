'use strict';

/**
 * Idempotency Gate throughput: claims per second for a 1,000-item execution through the gate's
 * own code path (the node's execute(): key checks, payload fingerprints, claim tokens, the
 * pipelined claim scripts and the routing to four outputs), against raw ioredis pipelined
 * `SET key 1 PX 60000 NX` for the same keys on the same Redis: the least any Redis dedupe can
 * do per key, with no fencing, no fingerprint and no stored result.
 *
 * Requires the compiled package: run `npm run build` first.
 */

const { randomUUID } = require('node:crypto');
const path = require('node:path');
const Redis = require('ioredis');

// BENCH_DIST: another compiled copy of the package (for comparing two builds side by side).
const dist = process.env.BENCH_DIST || path.resolve(__dirname, '..', '..', 'dist');
const { IdempotencyGate } = require(
	path.join(dist, 'nodes/IdempotencyGate/IdempotencyGate.node.js'),
);
const { closeAllRedisClients, toRedisOptions } = require(path.join(dist, 'nodes/shared/redis.js'));

const BATCH = 1_000;
const WARMUP_ROUNDS = 5;
const ROUNDS = 41;
const GOAL = 0.8;

/** Just enough of n8n's IExecuteFunctions for execute(), with parameters already resolved. */
function gateContext({ credentials, items }) {
	const parameters = {
		operation: 'claim',
		scope: 'workflow',
		fingerprint: 'payload',
		leaseSeconds: 60,
		// Short retention: the bench leaves nothing behind for long even if it is interrupted.
		retentionDays: 0.001,
	};
	const quiet = () => undefined;
	return {
		getInputData: () => items,
		getNode: () => ({
			id: 'bench',
			name: 'Idempotency Gate',
			type: 'n8n-nodes-dealflow.idempotencyGate',
			typeVersion: 1,
			position: [0, 0],
			parameters: {},
		}),
		getWorkflow: () => ({ id: 'bench' }),
		continueOnFail: () => false,
		getCredentials: async () => credentials,
		logger: { debug: quiet, info: quiet, warn: quiet, error: quiet },
		getNodeParameter: (name, index, fallback) =>
			name === 'key' ? items[index].json.verification.deliveryId : (parameters[name] ?? fallback),
	};
}

function deliveries(round) {
	return Array.from({ length: BATCH }, (_, index) => ({
		json: {
			verification: { deliveryId: `r${round}-${index}-${randomUUID()}`, valid: true },
			body: { opportunityId: `006${index}`, stage: 'Closed Won', amount: 1000 + index },
		},
	}));
}

async function timeGate(gate, credentials, items) {
	const start = process.hrtime.bigint();
	const outputs = await gate.execute.call(gateContext({ credentials, items }));
	const seconds = Number(process.hrtime.bigint() - start) / 1e9;
	if (outputs[0].length !== BATCH) {
		throw new Error(
			`expected ${BATCH} New items, got ${outputs[0].length}: the bench keys collided`,
		);
	}
	return BATCH / seconds;
}

async function timeBaseline(client, prefix, items) {
	const start = process.hrtime.bigint();
	const pipeline = client.pipeline();
	for (const item of items) {
		// Same key shape and length as the gate's `<prefix>:gate:wf:<workflow>:<key>`.
		pipeline.set(
			`${prefix}:base:wf:bench:${item.json.verification.deliveryId}`,
			'1',
			'PX',
			60_000,
			'NX',
		);
	}
	const replies = await pipeline.exec();
	// The routing any dedupe node must do with the replies, as the gate does: new items to one
	// output, duplicates to another, each with its pairedItem.
	const fresh = [];
	const duplicates = [];
	replies.forEach(([error, reply], index) => {
		if (error) throw error;
		(reply === 'OK' ? fresh : duplicates).push({
			json: items[index].json,
			pairedItem: { item: index },
		});
	});
	const seconds = Number(process.hrtime.bigint() - start) / 1e9;
	if (fresh.length !== BATCH) throw new Error('baseline SET NX found a key taken');
	return BATCH / seconds;
}

function median(values) {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.floor(sorted.length / 2)];
}

async function run() {
	const prefix = `dealflow-bench-gate-${randomUUID()}`;
	const credentials = {
		host: process.env.REDIS_HOST || '127.0.0.1',
		port: Number(process.env.REDIS_PORT || 6379),
		keyPrefix: prefix,
	};
	const baselineClient = new Redis(toRedisOptions(credentials, 'commands'));
	baselineClient.on('error', () => undefined);
	const gate = new IdempotencyGate();
	const oursRates = [];
	const baselineRates = [];
	const ratios = [];

	try {
		for (let round = 0; round < WARMUP_ROUNDS + ROUNDS; round++) {
			const items = deliveries(round);
			// Alternate which side goes first, so neither always meets the warmer Redis and CPU.
			let ours;
			let baseline;
			if (round % 2 === 0) {
				ours = await timeGate(gate, credentials, items);
				baseline = await timeBaseline(baselineClient, prefix, items);
			} else {
				baseline = await timeBaseline(baselineClient, prefix, items);
				ours = await timeGate(gate, credentials, items);
			}
			if (round >= WARMUP_ROUNDS) {
				oursRates.push(ours);
				baselineRates.push(baseline);
				ratios.push(ours / baseline);
			}
		}
	} finally {
		await cleanUp(baselineClient, prefix);
		baselineClient.disconnect();
		await closeAllRedisClients();
	}

	const ratio = Number(median(ratios).toFixed(2));
	return {
		rows: [
			{
				metric: `claims/s, ${BATCH.toLocaleString('en')}-item batch (median of ${ROUNDS} rounds)`,
				ours: Math.round(median(oursRates)),
				baseline: Math.round(median(baselineRates)),
				ratio,
				goal: `>=${GOAL}x`,
			},
		],
		notes: [
			'ours: IdempotencyGate.execute() with Claim: key checks, whole-payload SHA-256 fingerprints, claim tokens, one pipeline of claim-script calls (200 keys each; a free key costs one SET NX PX GET inside the script), output routing.',
			'baseline: one ioredis pipeline of SET key 1 PX 60000 NX for the same 1,000 keys (same key shape), same Redis, same client options, and the routing of the replies into new and duplicate items.',
			`Fresh keys every round; ${WARMUP_ROUNDS} warm-up rounds discarded; the order alternates; ratio = median of ${ROUNDS} per-round ratios.`,
			'Where the gate spends its extra time: the fingerprint (canonical JSON and SHA-256, a few µs per item), Lua work per key in Redis, and the larger output items.',
			ratio >= GOAL ? `Meets the goal (${ratio}x).` : `Below the goal (${ratio}x < ${GOAL}x).`,
		].join(' '),
	};
}

async function cleanUp(client, prefix) {
	let cursor = '0';
	do {
		const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
		if (keys.length) await client.del(...keys);
		cursor = next;
	} while (cursor !== '0');
}

module.exports = {
	name: 'gate',
	description: 'Idempotency Gate: claims per second for a 1,000-item batch vs raw pipelined SET NX',
	run,
};

if (require.main === module) {
	run()
		.then((result) => console.log(JSON.stringify(result, null, 2)))
		.catch((error) => {
			console.error(error);
			process.exitCode = 1;
		});
}
