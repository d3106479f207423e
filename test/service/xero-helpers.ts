import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';

import { getRedisClient } from '../../nodes/shared/redis';
import type { Order } from '../../nodes/shared/order';
import type { InvoiceSettings } from '../../nodes/Xero/logic';
import { DEFAULT_XERO_LIMITS, RedisXeroLimiter, type XeroLimits } from '../../nodes/Xero/limiter';
import { RedisContactCache, type OperationContext } from '../../nodes/Xero/operations';
import {
	ClientCredentialsTokenProvider,
	XeroClient,
	type XeroClientOptions,
	type XeroTokenProvider,
} from '../../nodes/Xero/transport';
import { createXeroSimulator, type SimConfig, type XeroSimulator } from '../simulators/xero/server';

/** Shared set-up for the Xero service tests: a simulator, a namespaced Redis, a client. */

export const TENANT_ID = '11111111-1111-4111-8111-111111111111';

export async function startSimulator(overrides: Partial<SimConfig> = {}): Promise<XeroSimulator> {
	return await createXeroSimulator(overrides).start();
}

export function testRedis(): { redis: Redis; keyPrefix: string } {
	return {
		redis: getRedisClient({ host: '127.0.0.1', port: 6379 }, 'commands'),
		keyPrefix: `test:xero:${randomUUID()}`,
	};
}

/** Deletes only this run's keys. */
export async function cleanRedis(redis: Redis, keyPrefix: string): Promise<void> {
	let cursor = '0';
	do {
		const [next, keys] = await redis.scan(cursor, 'MATCH', `${keyPrefix}:*`, 'COUNT', 500);
		cursor = next;
		if (keys.length) await redis.del(...keys);
	} while (cursor !== '0');
}

export function customConnectionTokens(
	sim: XeroSimulator,
	redis?: Redis,
	keyPrefix?: string,
): XeroTokenProvider {
	return new ClientCredentialsTokenProvider({
		clientId: 'custom-client',
		clientSecret: 'custom-secret',
		tokenUrl: sim.tokenUrl,
		timeoutMs: 5_000,
		redis,
		keyPrefix,
	});
}

export function makeContext(options: {
	sim: XeroSimulator;
	redis: Redis;
	keyPrefix: string;
	limits?: Partial<XeroLimits>;
	tokens?: XeroTokenProvider;
	client?: Partial<XeroClientOptions>;
	contactCacheSeconds?: number;
}): OperationContext {
	const limiter = new RedisXeroLimiter(options.redis, {
		keyPrefix: options.keyPrefix,
		limits: { ...DEFAULT_XERO_LIMITS, ...options.limits },
	});
	return {
		client: new XeroClient({
			apiBaseUrl: options.sim.apiBaseUrl,
			tenantId: TENANT_ID,
			appId: 'custom-client',
			tokens: options.tokens ?? customConnectionTokens(options.sim),
			limiter,
			timeoutMs: 2_000,
			backoff: { baseMs: 20, capMs: 200 },
			...options.client,
		}),
		contacts: new RedisContactCache(options.redis, options.keyPrefix),
		contactCacheSeconds: options.contactCacheSeconds ?? 300,
	};
}

export function order(n: number, overrides: Partial<Order> = {}): Order {
	return {
		orderKey: `sf:opp:006${String(n).padStart(6, '0')}:closed-won`,
		reference: `006${String(n).padStart(6, '0')}`,
		currency: 'USD',
		closeDate: '2026-11-30',
		customer: {
			name: `Customer ${n % 7}`,
			accountNumber: `ACC-${n % 7}`,
			email: `buyer${n % 7}@example.com`,
		},
		lines: [
			{ sku: 'WIDGET-1', name: 'Widget', quantity: 2, unitPrice: 19.5 },
			{ sku: 'GADGET-9', description: 'Gadget, blue', quantity: 1, unitPrice: 100.1234 },
		],
		...overrides,
	};
}

export const settings: InvoiceSettings = {
	status: 'DRAFT',
	accountCode: '200',
	taxType: 'OUTPUT',
	useSkuAsItemCode: true,
	paymentTerms: { type: 'daysAfterInvoiceDate', days: 30 },
	lineAmountTypes: 'Exclusive',
	lineMappings: [],
};

/** API calls only (no token or connections calls), as the simulator logged them. */
export function apiCalls(sim: XeroSimulator) {
	return sim.ledger().calls.filter((call) => call.path.startsWith('/api.xro'));
}

/**
 * Another app on the same organisation spends `calls` of Xero's per-tenant budget, unseen by
 * our limiter, as happens when several integrations share one Xero organisation.
 */
export async function spendQuotaElsewhere(sim: XeroSimulator, calls: number): Promise<void> {
	const grant = await fetch(sim.tokenUrl, {
		method: 'POST',
		headers: {
			authorization: `Basic ${Buffer.from('oauth-client:oauth-secret').toString('base64')}`,
			'content-type': 'application/x-www-form-urlencoded',
		},
		body: new URLSearchParams({
			grant_type: 'authorization_code',
			code: sim.issueAuthorizationCode(),
		}).toString(),
	});
	const { access_token: token } = (await grant.json()) as { access_token: string };
	for (let i = 0; i < calls; i++) {
		await fetch(`${sim.apiBaseUrl}/Invoices`, {
			headers: { authorization: `Bearer ${token}`, 'xero-tenant-id': TENANT_ID },
		});
	}
}
