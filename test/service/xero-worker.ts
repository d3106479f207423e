/**
 * A separate process for the shared-limiter test: it creates invoices for a range of orders
 * through the Redis limiter and prints one JSON line with its outcomes. The test transpiles this
 * file and the node's modules to plain JS, so it runs on Node 24 without ts-node.
 */
import { getRedisClient, closeAllRedisClients } from '../../nodes/shared/redis';
import { DEFAULT_XERO_LIMITS, RedisXeroLimiter } from '../../nodes/Xero/limiter';
import { createInvoiceFromOrder, RedisContactCache } from '../../nodes/Xero/operations';
import { ClientCredentialsTokenProvider, XeroClient } from '../../nodes/Xero/transport';
import type { Order } from '../../nodes/shared/order';
import type { InvoiceSettings } from '../../nodes/Xero/logic';

interface WorkerInput {
	apiBaseUrl: string;
	tokenUrl: string;
	tenantId: string;
	keyPrefix: string;
	windowMs: number;
	lanes: number;
	orders: Order[];
	settings: InvoiceSettings;
}

async function main(): Promise<void> {
	const input = JSON.parse(process.env.XERO_WORKER_INPUT ?? '{}') as WorkerInput;
	const redis = getRedisClient({ host: '127.0.0.1', port: 6379 }, 'commands');
	const ctx = {
		client: new XeroClient({
			apiBaseUrl: input.apiBaseUrl,
			tenantId: input.tenantId,
			appId: 'custom-client',
			tokens: new ClientCredentialsTokenProvider({
				clientId: 'custom-client',
				clientSecret: 'custom-secret',
				tokenUrl: input.tokenUrl,
				timeoutMs: 5_000,
				redis,
				keyPrefix: input.keyPrefix,
			}),
			limiter: new RedisXeroLimiter(redis, {
				keyPrefix: input.keyPrefix,
				limits: { ...DEFAULT_XERO_LIMITS, windowMs: input.windowMs },
			}),
			timeoutMs: 5_000,
			maxWaitInPlaceMs: 10 * input.windowMs,
			backoff: { baseMs: 50, capMs: 1_000 },
		}),
		contacts: new RedisContactCache(redis, input.keyPrefix),
		contactCacheSeconds: 600,
	};

	const queue = [...input.orders];
	const results: Array<{
		reference: string;
		invoiceId?: string;
		createdNow?: boolean;
		error?: string;
	}> = [];
	const lane = async () => {
		for (let order = queue.shift(); order; order = queue.shift()) {
			try {
				const outcome = await createInvoiceFromOrder(ctx, { order, settings: input.settings });
				results.push({
					reference: order.reference,
					invoiceId: outcome.invoiceId,
					createdNow: outcome.createdNow,
				});
			} catch (error) {
				results.push({ reference: order.reference, error: (error as Error).message });
			}
		}
	};
	await Promise.all(Array.from({ length: input.lanes }, lane));
	process.stdout.write(`${JSON.stringify({ results })}\n`);
	await closeAllRedisClients();
}

main().catch((error: unknown) => {
	process.stderr.write(`${(error as Error).stack}\n`);
	process.exit(1);
});
