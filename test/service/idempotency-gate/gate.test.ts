import { randomUUID } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import Redis from 'ioredis';
import type { INodeExecutionData } from 'n8n-workflow';

import { CLAIM_OUTPUT } from '../../../nodes/IdempotencyGate/actions';
import { buildRedisKey } from '../../../nodes/IdempotencyGate/GateLogic';
import {
	claimMany,
	completeMany,
	releaseMany,
	type ClaimRequest,
} from '../../../nodes/IdempotencyGate/transport';
import { readRetryHint } from '../../../nodes/shared/errors';
import {
	closeAllRedisClients,
	getRedisClient,
	testRedisConnection,
	type RedisCredentialData,
} from '../../../nodes/shared/redis';
import { runGate } from './context';

// Every key of this run lives under its own prefix; only those keys are deleted afterwards.
const prefix = `dealflow-test-gate-${randomUUID()}`;
const credentials: RedisCredentialData = { host: '127.0.0.1', port: 6379, keyPrefix: prefix };
const admin = new Redis({ host: '127.0.0.1', port: 6379 });

const DAY_MS = 86_400_000;

function keyFor(name: string): string {
	return buildRedisKey({ prefix, scope: { kind: 'global' }, key: name });
}

function claimRequest(name: string, overrides: Partial<ClaimRequest> = {}): ClaimRequest {
	return {
		redisKey: keyFor(name),
		fingerprint: 'fp-a',
		token: randomUUID(),
		leaseMs: 60_000,
		retentionMs: DAY_MS,
		...overrides,
	};
}

async function claimOne(request: ClaimRequest, client = getRedisClient(credentials, 'commands')) {
	const [entry] = await claimMany(client, [request]);
	if (!entry.ok) throw entry.error;
	return entry.value;
}

const sleep = async (ms: number) => await new Promise((resolve) => setTimeout(resolve, ms));

afterAll(async () => {
	let cursor = '0';
	do {
		const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
		if (keys.length) await admin.del(...keys);
		cursor = next;
	} while (cursor !== '0');
	await admin.quit();
	await closeAllRedisClients();
});

describe('Idempotency Gate against a real Redis', () => {
	it('gives exactly one New among 50 concurrent claims of one key from 50 connections', async () => {
		const clients = Array.from({ length: 50 }, () => new Redis({ host: '127.0.0.1', port: 6379 }));
		try {
			await Promise.all(clients.map(async (client) => await client.ping()));
			const outcomes = await Promise.all(
				clients.map(async (client) => await claimOne(claimRequest('race'), client)),
			);

			const counts = outcomes.reduce<Record<string, number>>((acc, outcome) => {
				acc[outcome.outcome] = (acc[outcome.outcome] ?? 0) + 1;
				return acc;
			}, {});
			expect(counts).toEqual({ new: 1, inProgress: 49 });
		} finally {
			await Promise.all(clients.map(async (client) => await client.quit()));
		}
	});

	it('hands the key on after the lease lapses, with a higher fencing number', async () => {
		const first = await claimOne(claimRequest('lease', { leaseMs: 300 }));
		expect(first).toMatchObject({ outcome: 'new', fencingToken: 1, takeover: 'none' });
		expect(await claimOne(claimRequest('lease'))).toMatchObject({ outcome: 'inProgress' });

		await sleep(600);
		const second = await claimOne(claimRequest('lease', { leaseMs: 300 }));

		expect(second).toMatchObject({ outcome: 'new', fencingToken: 2, takeover: 'expired' });
	});

	it('refuses to complete or release with a token that does not hold the claim', async () => {
		const holder = claimRequest('tokens');
		await claimOne(holder);
		const client = getRedisClient(credentials, 'commands');
		const before = await admin.get(holder.redisKey);

		const [complete] = await completeMany(client, [
			{ redisKey: holder.redisKey, token: 'not-the-token', resultJson: '{}', retentionMs: DAY_MS },
		]);
		const [release] = await releaseMany(client, [
			{ redisKey: holder.redisKey, token: 'not-the-token' },
		]);

		expect(complete).toEqual({
			ok: true,
			value: { outcome: 'tokenMismatch', state: 'claimed', fencingToken: 1 },
		});
		expect(release).toEqual({
			ok: true,
			value: { outcome: 'stale', state: 'claimed', fencingToken: 1 },
		});
		expect(await admin.get(holder.redisKey)).toEqual(before);
	});

	it('refuses a stale token once the lease lapsed and someone else re-claimed the key', async () => {
		const crashed = claimRequest('takeover', { leaseMs: 200 });
		await claimOne(crashed);
		await sleep(400);
		const successor = claimRequest('takeover');
		await claimOne(successor);

		const client = getRedisClient(credentials, 'commands');
		const [complete] = await completeMany(client, [
			{ redisKey: crashed.redisKey, token: crashed.token, resultJson: '{}', retentionMs: DAY_MS },
		]);

		expect(complete).toEqual({
			ok: true,
			value: { outcome: 'tokenMismatch', state: 'claimed', fencingToken: 2 },
		});
	});

	it('lets a released key be claimed again with the next fencing number', async () => {
		const holder = claimRequest('release');
		await claimOne(holder);
		const client = getRedisClient(credentials, 'commands');

		const [release] = await releaseMany(client, [
			{ redisKey: holder.redisKey, token: holder.token },
		]);
		const again = await claimOne(claimRequest('release'));

		expect(release).toEqual({ ok: true, value: { outcome: 'released', fencingToken: 1 } });
		expect(again).toMatchObject({ outcome: 'new', fencingToken: 2, takeover: 'released' });
	});

	it('sends a known key with a different fingerprint to Conflict, while held and after completion', async () => {
		const holder = claimRequest('conflict', { fingerprint: 'fp-original' });
		await claimOne(holder);
		expect(await claimOne(claimRequest('conflict', { fingerprint: 'fp-other' }))).toMatchObject({
			outcome: 'conflict',
			storedFingerprint: 'fp-original',
		});

		const client = getRedisClient(credentials, 'commands');
		await completeMany(client, [
			{ redisKey: holder.redisKey, token: holder.token, resultJson: '{}', retentionMs: DAY_MS },
		]);
		expect(await claimOne(claimRequest('conflict', { fingerprint: 'fp-other' }))).toMatchObject({
			outcome: 'conflict',
			state: 'completed',
		});
		expect(await claimOne(claimRequest('conflict', { fingerprint: 'fp-original' }))).toMatchObject({
			outcome: 'completed',
		});
	});

	it('fails only the keys that hold foreign data, leaving them untouched, not the rest of the batch', async () => {
		await admin.set(keyFor('foreign-string'), 'not a gate record');
		await admin.rpush(keyFor('foreign-list'), 'item');
		const client = getRedisClient(credentials, 'commands');

		const [text, list, good] = await claimMany(client, [
			claimRequest('foreign-string'),
			claimRequest('foreign-list'),
			claimRequest('next-to-foreign'),
		]);

		expect(text).toEqual({
			ok: false,
			error: expect.objectContaining({
				message: expect.stringContaining('not an Idempotency Gate record'),
			}),
		});
		expect(list).toEqual({
			ok: false,
			error: expect.objectContaining({ message: expect.stringContaining('WRONGTYPE') }),
		});
		expect(good).toMatchObject({ ok: true, value: { outcome: 'new' } });
		expect(await admin.get(keyFor('foreign-string'))).toBe('not a gate record');
		expect(await admin.lrange(keyFor('foreign-list'), 0, -1)).toEqual(['item']);
	});

	it('sets the lease plus retention as TTL on a claim, and the retention on completion', async () => {
		const holder = claimRequest('ttl', { leaseMs: 60_000, retentionMs: 2 * DAY_MS });
		await claimOne(holder);
		const claimedTtl = await admin.pttl(holder.redisKey);
		expect(claimedTtl).toBeGreaterThan(2 * DAY_MS);
		expect(claimedTtl).toBeLessThanOrEqual(2 * DAY_MS + 60_000);

		const client = getRedisClient(credentials, 'commands');
		await completeMany(client, [
			{
				redisKey: holder.redisKey,
				token: holder.token,
				resultJson: '{"invoiceNumber":"INV-1"}',
				retentionMs: 3 * DAY_MS,
			},
		]);
		const completedTtl = await admin.pttl(holder.redisKey);
		expect(completedTtl).toBeGreaterThan(3 * DAY_MS - 60_000);
		expect(completedTtl).toBeLessThanOrEqual(3 * DAY_MS);
	});

	it("judges a claim's lease by the key's expiry on the Redis clock, for the holder and for a takeover", async () => {
		const before = Date.now();
		const first = await claimOne(claimRequest('clock', { leaseMs: 400, retentionMs: DAY_MS }));
		const waiting = await claimOne(claimRequest('clock'));

		expect(first).toMatchObject({ outcome: 'new', fencingToken: 1 });
		if (first.outcome !== 'new' || waiting.outcome !== 'inProgress') throw new Error('unexpected');
		// Loose bounds: Redis and this process share a clock here, and the reply is not instant.
		expect(first.leaseExpiresAt).toBeGreaterThanOrEqual(before + 400 - 50);
		expect(first.leaseExpiresAt).toBeLessThanOrEqual(Date.now() + 400 + 50);
		expect(waiting.retryAfterMs).toBeGreaterThan(0);
		expect(waiting.retryAfterMs).toBeLessThanOrEqual(400);

		await sleep(600);
		const successor = claimRequest('clock', { leaseMs: 60_000 });
		expect(await claimOne(successor)).toMatchObject({ outcome: 'new', fencingToken: 2 });
		expect(await claimOne(claimRequest('clock'))).toMatchObject({ outcome: 'inProgress' });
		const ttl = await admin.pttl(successor.redisKey);
		expect(ttl).toBeGreaterThan(DAY_MS);
		expect(ttl).toBeLessThanOrEqual(DAY_MS + 60_000);
	});

	it('reports a lapsed lease when the holder completes after it, and keeps the fencing number', async () => {
		const holder = claimRequest('late-complete', { leaseMs: 200 });
		await claimOne(holder);
		await sleep(400);

		const [complete] = await completeMany(getRedisClient(credentials, 'commands'), [
			{ redisKey: holder.redisKey, token: holder.token, resultJson: '{}', retentionMs: DAY_MS },
		]);

		expect(complete).toEqual({
			ok: true,
			value: { outcome: 'completed', fencingToken: 1, leaseLapsed: true },
		});
	});

	it('still reads records that hold their lease end as a time, as earlier versions wrote them', async () => {
		const redisNow = Number((await admin.time())[0]) * 1000;
		await admin.set(
			keyFor('old-held'),
			`dfg1|claimed|3|${redisNow + 60_000}||fp-a|t|`,
			'PX',
			DAY_MS,
		);
		await admin.set(
			keyFor('old-lapsed'),
			`dfg1|claimed|3|${redisNow - 1_000}||fp-a|t|`,
			'PX',
			DAY_MS,
		);

		expect(await claimOne(claimRequest('old-held'))).toMatchObject({
			outcome: 'inProgress',
			fencingToken: 3,
		});
		expect(await claimOne(claimRequest('old-lapsed'))).toMatchObject({
			outcome: 'new',
			fencingToken: 4,
			takeover: 'expired',
		});
	});

	it('fails a claim closed, as an error and never New, when its record lost its expiry outside the gate', async () => {
		const holder = claimRequest('persisted', { leaseMs: 200 });
		await claimOne(holder);
		await admin.persist(holder.redisKey);
		await sleep(400);

		const [entry] = await claimMany(getRedisClient(credentials, 'commands'), [
			claimRequest('persisted'),
		]);

		expect(entry).toEqual({
			ok: false,
			error: expect.objectContaining({ message: expect.stringContaining('lost its expiry') }),
		});
	});
});

describe('Idempotency Gate node', () => {
	const claimParameters = {
		operation: 'claim',
		key: (item: INodeExecutionData) =>
			(item.json.verification as { deliveryId: string }).deliveryId,
		scope: 'workflow',
		fingerprint: 'payload',
		leaseSeconds: 300,
		retentionDays: 7,
	};

	function delivery(deliveryId: string, body: Record<string, unknown> = { opportunityId: '006A' }) {
		return { json: { verification: { deliveryId }, body } };
	}

	it('answers a redelivery from Completed with the stored result record', async () => {
		const deliveryId = `dlv-${randomUUID()}`;
		const [fresh] = await runGate({
			credentials,
			items: [delivery(deliveryId)],
			parameters: claimParameters,
		});
		const claim = fresh[0].json.idempotency as { token: string; key: string; fencingToken: number };
		expect(claim).toMatchObject({ outcome: 'new', key: deliveryId, fencingToken: 1 });

		const [done] = await runGate({
			credentials,
			items: fresh,
			parameters: {
				operation: 'complete',
				key: deliveryId,
				token: claim.token,
				scope: 'workflow',
				result: '{ "invoiceNumber": "INV-0042" }',
				retentionDays: 7,
			},
		});
		expect(done[0].json.idempotency).toMatchObject({
			outcome: 'completed',
			result: { invoiceNumber: 'INV-0042' },
		});

		const again = await runGate({
			credentials,
			items: [delivery(deliveryId)],
			parameters: claimParameters,
		});
		expect(again[CLAIM_OUTPUT.new]).toHaveLength(0);
		expect(again[CLAIM_OUTPUT.completed][0].json.idempotency).toMatchObject({
			outcome: 'completed',
			result: { invoiceNumber: 'INV-0042' },
		});
	});

	it('routes a 1,000-item batch with duplicates in it: one New per distinct key, pairedItem kept', async () => {
		const ids = Array.from({ length: 500 }, () => `dlv-${randomUUID()}`);
		const items = [...ids, ...ids].map((id) => delivery(id));

		const outputs = await runGate({ credentials, items, parameters: claimParameters });

		expect(outputs[CLAIM_OUTPUT.new]).toHaveLength(500);
		expect(outputs[CLAIM_OUTPUT.inProgress]).toHaveLength(500);
		expect(outputs[CLAIM_OUTPUT.new].map((item) => item.pairedItem)).toEqual(
			ids.map((_, index) => ({ item: index })),
		);
	});

	it('answers a reused key with another payload from Conflict, shaped as the 422 of the Idempotency-Key draft', async () => {
		const deliveryId = `dlv-${randomUUID()}`;
		await runGate({
			credentials,
			items: [delivery(deliveryId, { amount: 100 })],
			parameters: claimParameters,
		});

		const outputs = await runGate({
			credentials,
			items: [delivery(deliveryId, { amount: 999 })],
			parameters: claimParameters,
		});

		expect(outputs[CLAIM_OUTPUT.conflict][0].json.idempotency).toMatchObject({
			outcome: 'conflict',
			status: 422,
			problem: {
				status: 422,
				title: expect.any(String),
				detail: expect.stringContaining(deliveryId),
			},
		});
	});

	it('fails a Complete with a token that does not hold the claim, or reports it as an error item with continue on fail', async () => {
		const deliveryId = `dlv-${randomUUID()}`;
		await runGate({ credentials, items: [delivery(deliveryId)], parameters: claimParameters });
		const parameters = {
			operation: 'complete',
			key: deliveryId,
			token: 'a-stale-token',
			scope: 'workflow',
			result: '{}',
			retentionDays: 7,
		};

		const failure = runGate({ credentials, items: [delivery(deliveryId)], parameters });
		await expect(failure).rejects.toThrow(
			`The claim on key "${deliveryId}" is not held by this token`,
		);
		await failure.catch((error: unknown) => {
			expect(readRetryHint(error)).toEqual({
				retryable: false,
				reason: 'claim_lost',
				service: 'redis',
			});
		});

		const [output] = await runGate({
			credentials,
			items: [delivery(deliveryId)],
			parameters,
			continueOnFail: true,
		});
		expect(output[0].json.error).toContain('is not held by this token');
	});

	it('says so, and changes nothing, when Release is given a stale token', async () => {
		const deliveryId = `dlv-${randomUUID()}`;
		await runGate({ credentials, items: [delivery(deliveryId)], parameters: claimParameters });

		const [output] = await runGate({
			credentials,
			items: [delivery(deliveryId)],
			parameters: {
				operation: 'release',
				key: deliveryId,
				token: 'a-stale-token',
				scope: 'workflow',
			},
		});
		const again = await runGate({
			credentials,
			items: [delivery(deliveryId)],
			parameters: claimParameters,
		});

		expect(output[0].json.idempotency).toMatchObject({
			released: false,
			reason: 'staleToken',
			state: 'claimed',
		});
		expect(again[CLAIM_OUTPUT.inProgress]).toHaveLength(1);
	});

	it('explains a failing Key expression with a hint about where the default key comes from', async () => {
		const run = runGate({
			credentials,
			items: [{ json: { Id: '006A' } }],
			parameters: {
				...claimParameters,
				key: () => {
					throw new Error("Cannot read properties of undefined (reading 'deliveryId')");
				},
			},
		});

		await expect(run).rejects.toThrow('The Key expression failed');
		await run.catch((error: { description?: string }) => {
			expect(error.description).toContain('Signed Webhook');
		});
	});

	it('rejects a key longer than 512 bytes before writing anything', async () => {
		const longKey = 'x'.repeat(513);
		const run = runGate({ credentials, items: [delivery(longKey)], parameters: claimParameters });

		await expect(run).rejects.toThrow('The idempotency key is 513 bytes long; the limit is 512');
		expect(
			await admin.exists(
				buildRedisKey({ prefix, scope: { kind: 'workflow', workflowId: 'wf-test' }, key: longKey }),
			),
		).toBe(0);
	});

	describe('when Redis is unreachable', () => {
		let closedPort: number;

		beforeAll(async () => {
			// Bind then close a port, so nothing listens there.
			const server = createServer();
			await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
			closedPort = (server.address() as AddressInfo).port;
			await new Promise((resolve) => server.close(resolve));
		});

		it('fails closed with an error marked retryable, never New', async () => {
			const down = { host: '127.0.0.1', port: closedPort, keyPrefix: prefix };
			const run = runGate({
				credentials: down,
				items: [delivery('dlv-down')],
				parameters: claimParameters,
			});

			await expect(run).rejects.toThrow('Redis is unreachable');
			await run.catch((error: unknown) => {
				expect(readRetryHint(error)).toEqual({
					retryable: true,
					reason: 'unavailable',
					service: 'redis',
				});
			});
		});

		it('sends every item to In Progress as an error, none to New, with continue on fail', async () => {
			const down = { host: '127.0.0.1', port: closedPort, keyPrefix: `${prefix}-b` };
			const outputs = await runGate({
				credentials: down,
				items: [delivery('dlv-down-1'), delivery('dlv-down-2')],
				parameters: claimParameters,
				continueOnFail: true,
			});

			expect(outputs[CLAIM_OUTPUT.new]).toHaveLength(0);
			expect(outputs[CLAIM_OUTPUT.inProgress].map((item) => item.json.error)).toEqual([
				expect.stringContaining('Redis is unreachable'),
				expect.stringContaining('Redis is unreachable'),
			]);
		});

		it('makes the credential test say that nothing listens there', async () => {
			const outcome = await testRedisConnection({ host: '127.0.0.1', port: closedPort });

			expect(outcome).toEqual({
				ok: false,
				message: expect.stringContaining('Nothing accepts connections'),
			});
		});
	});

	it('passes the credential test against the real Redis', async () => {
		expect(await testRedisConnection(credentials)).toEqual({ ok: true });
	});
});
