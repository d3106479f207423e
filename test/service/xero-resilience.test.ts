import type Redis from 'ioredis';
import type { INode } from 'n8n-workflow';

import { readRetryHint } from '../../nodes/shared/errors';
import { closeAllRedisClients, getRedisClient } from '../../nodes/shared/redis';
import { toNodeError } from '../../nodes/Xero/context';
import { createInvoiceFromOrder, getInvoice } from '../../nodes/Xero/operations';
import {
	ClientCredentialsTokenProvider,
	clearProcessTokenCache,
	XeroApiError,
	type XeroTokenProvider,
} from '../../nodes/Xero/transport';
import type { XeroSimulator } from '../simulators/xero/server';
import {
	apiCalls,
	cleanRedis,
	customConnectionTokens,
	makeContext,
	order,
	settings,
	spendQuotaElsewhere,
	startSimulator,
	TENANT_ID,
	testRedis,
} from './xero-helpers';

const node: INode = {
	id: 'x',
	name: 'Dealflow Xero',
	type: 'n8n-nodes-dealflow.xero',
	typeVersion: 1,
	position: [0, 0],
	parameters: {},
};

/** The authorization-code flow as n8n runs it: a code for tokens, then refresh on demand. */
class AuthorizationCodeTokens implements XeroTokenProvider {
	private accessToken = '';
	private refreshToken = '';
	refreshes = 0;

	constructor(private readonly sim: XeroSimulator) {}

	private async grant(form: Record<string, string>): Promise<void> {
		const response = await fetch(this.sim.tokenUrl, {
			method: 'POST',
			headers: {
				authorization: `Basic ${Buffer.from('oauth-client:oauth-secret').toString('base64')}`,
				'content-type': 'application/x-www-form-urlencoded',
			},
			body: new URLSearchParams(form).toString(),
		});
		const body = (await response.json()) as { access_token: string; refresh_token: string };
		this.accessToken = body.access_token;
		this.refreshToken = body.refresh_token;
	}

	async getToken(): Promise<string> {
		if (!this.accessToken) {
			await this.grant({
				grant_type: 'authorization_code',
				code: this.sim.issueAuthorizationCode(),
				redirect_uri: 'http://127.0.0.1/cb',
			});
		}
		return this.accessToken;
	}

	async invalidate(): Promise<void> {
		this.refreshes++;
		await this.grant({ grant_type: 'refresh_token', refresh_token: this.refreshToken });
	}
}

describe('Dealflow Xero under rate limits, outages and token changes', () => {
	let sim: XeroSimulator;
	let redis: Redis;
	let keyPrefix: string;

	beforeEach(async () => {
		({ redis, keyPrefix } = testRedis());
		clearProcessTokenCache();
	});

	afterEach(async () => {
		await sim?.stop();
		await cleanRedis(redis, keyPrefix);
	});

	afterAll(async () => {
		await closeAllRedisClients();
	});

	test('a 429 with a short Retry-After is waited out in place and the invoice is still created once', async () => {
		// Xero allows fewer calls than our limiter thinks (another app shares the tenant).
		sim = await startSimulator({ minuteLimit: 3, minuteWindowMs: 1_000 });
		const ctx = makeContext({ sim, redis, keyPrefix, client: { maxWaitInPlaceMs: 5_000 } });
		await spendQuotaElsewhere(sim, 3);

		const outcome = await createInvoiceFromOrder(ctx, { order: order(1), settings });

		expect(outcome.createdNow).toBe(true);
		expect(sim.ledger().invoices).toHaveLength(1);
		const calls = apiCalls(sim);
		const limited = calls.findIndex((c) => c.status === 429);
		expect(limited).toBeGreaterThan(-1);
		expect(calls[limited].rateLimited).toBe('minute');
		// Retry-After said 1 s: nothing reached Xero again before that.
		expect(calls[limited + 1].at - calls[limited].at).toBeGreaterThanOrEqual(950);
	});

	test('a 429 asking for a long wait fails retryably with retryAfterMs instead of sleeping', async () => {
		sim = await startSimulator({ minuteLimit: 1 });
		const ctx = makeContext({ sim, redis, keyPrefix, client: { maxWaitInPlaceMs: 500 } });
		await spendQuotaElsewhere(sim, 1);

		const error = await getInvoice(ctx, 'INV-0001').catch((e: unknown) => e);

		expect(error).toBeInstanceOf(XeroApiError);
		expect(error).toMatchObject({
			reason: 'rate_limited',
			retryable: true,
			rateLimitProblem: 'minute',
		});
		expect((error as XeroApiError).retryAfterMs).toBeGreaterThan(50_000);
		const hint = readRetryHint(toNodeError(node, error, 0));
		expect(hint).toMatchObject({ retryable: true, reason: 'rate_limited', service: 'xero' });
		expect(hint?.retryAfterMs).toBeGreaterThan(50_000);
	});

	test('after a 429 every client sharing the Redis limiter holds off the tenant', async () => {
		sim = await startSimulator({ minuteLimit: 1 });
		const first = makeContext({ sim, redis, keyPrefix, client: { maxWaitInPlaceMs: 500 } });
		const second = makeContext({ sim, redis, keyPrefix, client: { maxWaitInPlaceMs: 500 } });
		await spendQuotaElsewhere(sim, 1);
		await getInvoice(first, 'INV-0001').catch(() => undefined);
		const callsBefore = apiCalls(sim).length;

		const error = await getInvoice(second, 'INV-0001').catch((e: unknown) => e);

		expect(error).toMatchObject({
			reason: 'rate_limited',
			retryable: true,
			rateLimitProblem: 'blocked',
		});
		expect(apiCalls(sim)).toHaveLength(callsBefore);
	});

	test("a daily-limit 429 fails fast without retrying, with the wait until Xero's day resets", async () => {
		sim = await startSimulator({
			tenants: [{ tenantId: TENANT_ID, tenantName: 'Starter Co', dayLimit: 1 }],
		});
		const ctx = makeContext({ sim, redis, keyPrefix, client: { maxWaitInPlaceMs: 60_000 } });
		await spendQuotaElsewhere(sim, 1);

		const error = await getInvoice(ctx, 'INV-0001').catch((e: unknown) => e);

		expect(error).toMatchObject({
			reason: 'daily_limit',
			retryable: true,
			rateLimitProblem: 'day',
		});
		expect((error as XeroApiError).retryAfterMs).toBeGreaterThan(0);
		expect(apiCalls(sim).filter((c) => c.status === 429)).toHaveLength(1);
	});

	test('X-DayLimit-Remaining reaching 0 stops the next call before it is sent', async () => {
		sim = await startSimulator({
			tenants: [{ tenantId: TENANT_ID, tenantName: 'Starter Co', dayLimit: 1 }],
		});
		const ctx = makeContext({ sim, redis, keyPrefix });
		await getInvoice(ctx, 'INV-0001').catch(() => undefined);

		const error = await getInvoice(ctx, 'INV-0001').catch((e: unknown) => e);

		expect(error).toMatchObject({ reason: 'daily_limit', retryable: true });
		expect(apiCalls(sim)).toHaveLength(1);
	});

	test('our own daily budget (1,000 on Starter, here 2) stops calls before Xero sees them', async () => {
		sim = await startSimulator();
		const ctx = makeContext({ sim, redis, keyPrefix, limits: { dayLimit: 2 } });
		await getInvoice(ctx, 'INV-0001').catch(() => undefined);
		await getInvoice(ctx, 'INV-0001').catch(() => undefined);

		const error = await getInvoice(ctx, 'INV-0001').catch((e: unknown) => e);

		expect(error).toMatchObject({ reason: 'daily_limit', retryable: true });
		expect(apiCalls(sim)).toHaveLength(2);
	});

	test('a burst of 503s is ridden out with jittered backoff', async () => {
		sim = await startSimulator();
		const ctx = makeContext({ sim, redis, keyPrefix, client: { maxAttempts: 8 } });
		sim.injectFaults({ unavailableForMs: 300 });

		const outcome = await createInvoiceFromOrder(ctx, { order: order(2), settings });

		expect(outcome.createdNow).toBe(true);
		expect(apiCalls(sim).some((c) => c.status === 503)).toBe(true);
		expect(sim.ledger().invoices).toHaveLength(1);
	});

	test('a 503 that outlasts the attempts fails as retryable, not as a bad request', async () => {
		sim = await startSimulator();
		const ctx = makeContext({ sim, redis, keyPrefix, client: { maxAttempts: 3 } });
		sim.injectFaults({ unavailableForMs: 60_000 });

		const error = await getInvoice(ctx, 'INV-0001').catch((e: unknown) => e);

		expect(error).toMatchObject({ status: 503, reason: 'unavailable', retryable: true });
		expect(apiCalls(sim)).toHaveLength(3);
	});

	test('a call that hangs past the timeout is abandoned and retried', async () => {
		sim = await startSimulator();
		const ctx = makeContext({ sim, redis, keyPrefix, client: { timeoutMs: 300 } });
		sim.injectFaults({ slowMs: 2_000, slowCount: 1, pathPattern: 'api.xro' });

		const outcome = await createInvoiceFromOrder(ctx, { order: order(3), settings });

		expect(outcome.createdNow).toBe(true);
		expect(apiCalls(sim)[0].fault).toBe('slow');
		expect(sim.ledger().invoices).toHaveLength(1);
	});

	test('a timeout on every attempt ends in a retryable timeout error', async () => {
		sim = await startSimulator();
		const ctx = makeContext({ sim, redis, keyPrefix, client: { timeoutMs: 200, maxAttempts: 2 } });
		sim.injectFaults({ slowMs: 1_000, slowCount: 5 });

		const error = await getInvoice(ctx, 'INV-0001').catch((e: unknown) => e);

		expect(error).toMatchObject({ status: 0, reason: 'timeout', retryable: true });
	});

	test('a connection dropped before the invoice write arrives is retried and creates one invoice', async () => {
		sim = await startSimulator();
		const ctx = makeContext({ sim, redis, keyPrefix });
		sim.injectFaults({ dropCount: 1, pathPattern: 'Invoices$', method: 'PUT' });

		const outcome = await createInvoiceFromOrder(ctx, { order: order(4), settings });

		expect(outcome.createdNow).toBe(true);
		expect(apiCalls(sim).filter((c) => c.fault === 'dropped')).toHaveLength(1);
		expect(sim.ledger().invoices).toHaveLength(1);
	});

	test('an invoice written but whose answer was lost is not written twice: the retry is replayed', async () => {
		sim = await startSimulator();
		const ctx = makeContext({ sim, redis, keyPrefix });
		sim.injectFaults({ dropResponseCount: 1, pathPattern: 'Invoices$', method: 'PUT' });

		const outcome = await createInvoiceFromOrder(ctx, { order: order(7), settings });

		const puts = apiCalls(sim).filter((c) => c.method === 'PUT' && c.path.endsWith('/Invoices'));
		expect(puts.map((c) => c.fault ?? c.replayed)).toEqual(['response-dropped', 'replay']);
		expect(sim.ledger().invoices).toHaveLength(1);
		expect(outcome.invoiceId).toBe(sim.ledger().invoices[0].InvoiceID);
	});

	test('the custom connection gets one token with no scope, shares it through Redis, and renews it after a 401', async () => {
		sim = await startSimulator();
		const tokens = customConnectionTokens(sim, redis, keyPrefix);
		const ctx = makeContext({ sim, redis, keyPrefix, tokens });
		await createInvoiceFromOrder(ctx, { order: order(5), settings });
		clearProcessTokenCache();
		// A second process: nothing cached locally, the token comes from Redis.
		const other = makeContext({
			sim,
			redis,
			keyPrefix,
			tokens: customConnectionTokens(sim, redis, keyPrefix),
		});
		await getInvoice(other, sim.ledger().invoices[0].InvoiceID);
		const tokenCalls = () => sim.ledger().calls.filter((c) => c.path === '/connect/token');
		// The simulator refuses a client-credentials request that carries a scope.
		expect(tokenCalls().map((c) => c.status)).toEqual([200]);

		sim.expireTokens();
		await getInvoice(other, sim.ledger().invoices[0].InvoiceID);

		expect(tokenCalls().map((c) => c.status)).toEqual([200, 200]);
		expect(apiCalls(sim).filter((c) => c.status === 401)).toHaveLength(1);
	});

	test('a token is renewed before it expires, without a 401', async () => {
		// 301 s of life and a 5-minute renewal margin: usable for about one second.
		sim = await startSimulator({ tokenLifetimeSeconds: 301 });
		const ctx = makeContext({ sim, redis, keyPrefix });
		await getInvoice(ctx, 'INV-0001').catch(() => undefined);
		await new Promise((resolve) => setTimeout(resolve, 1_200));

		await getInvoice(ctx, 'INV-0001').catch(() => undefined);

		expect(sim.ledger().calls.filter((c) => c.path === '/connect/token')).toHaveLength(2);
		expect(apiCalls(sim).some((c) => c.status === 401)).toBe(false);
	});

	test('wrong client credentials fail clearly, without retrying and without the secret in the error', async () => {
		sim = await startSimulator();
		const tokens = new ClientCredentialsTokenProvider({
			clientId: 'custom-client',
			clientSecret: 'wrong-secret-value',
			tokenUrl: sim.tokenUrl,
			timeoutMs: 2_000,
		});
		const ctx = makeContext({ sim, redis, keyPrefix, tokens });

		const error = await getInvoice(ctx, 'INV-0001').catch((e: unknown) => e);

		expect(error).toMatchObject({ reason: 'token', retryable: false });
		expect((error as Error).message).toContain('Check the client id and secret');
		expect(JSON.stringify(toNodeError(node, error, 0))).not.toContain('wrong-secret-value');
	});

	test('the OAuth2 mode works with authorization-code tokens and refreshes once after a 401', async () => {
		sim = await startSimulator();
		const tokens = new AuthorizationCodeTokens(sim);
		const ctx = makeContext({ sim, redis, keyPrefix, tokens });
		const created = await createInvoiceFromOrder(ctx, { order: order(6), settings });

		sim.expireTokens();
		const read = await getInvoice(ctx, created.invoiceId);

		expect(read.invoiceID).toBe(created.invoiceId);
		expect(tokens.refreshes).toBe(1);
		const grants = sim.ledger().calls.filter((c) => c.path === '/connect/token');
		expect(grants.map((c) => c.status)).toEqual([200, 200]);
	});

	test('with Redis unreachable no call is sent and the failure is retryable', async () => {
		sim = await startSimulator();
		const deadRedis = getRedisClient({ host: '127.0.0.1', port: 1 }, 'commands');
		const ctx = makeContext({ sim, redis: deadRedis, keyPrefix, client: { maxAttempts: 2 } });

		const error = await getInvoice(ctx, 'INV-0001').catch((e: unknown) => e);

		expect(error).toMatchObject({ reason: 'limiter_unavailable', retryable: true });
		expect(apiCalls(sim)).toEqual([]);
	});

	test('an API error never carries the Authorization header or the token into n8n error data', async () => {
		sim = await startSimulator();
		const tokens = customConnectionTokens(sim);
		const ctx = makeContext({ sim, redis, keyPrefix, tokens });
		const token = await tokens.getToken();

		const error = await getInvoice(ctx, '00000000-0000-4000-8000-000000000000').catch(
			(e: unknown) => e,
		);
		const serialised = JSON.stringify(toNodeError(node, error, 0)) + JSON.stringify(error);

		expect(serialised).not.toContain(token);
		expect(serialised.toLowerCase()).not.toContain('bearer');
		expect(serialised.toLowerCase()).not.toContain('authorization');
	});
});
