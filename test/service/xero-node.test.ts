import { randomUUID } from 'node:crypto';
import type {
	ICredentialTestFunctions,
	IExecuteFunctions,
	ILoadOptionsFunctions,
	INodeExecutionData,
} from 'n8n-workflow';

import { readRetryHint } from '../../nodes/shared/errors';
import { closeAllRedisClients, getRedisClient } from '../../nodes/shared/redis';
import { Xero } from '../../nodes/Xero/Xero.node';
import { clearProcessTokenCache } from '../../nodes/Xero/transport';
import type { XeroSimulator } from '../simulators/xero/server';
import { apiCalls, cleanRedis, order, startSimulator, TENANT_ID } from './xero-helpers';

/** Drives the node's execute() as n8n would, with parameters already resolved per item. */

const DEFAULT_PARAMETERS: Record<string, unknown> = {
	authentication: 'customConnection',
	useRedis: true,
	tenantId: TENANT_ID,
	resource: 'invoice',
	operation: 'createFromOrder',
	mode: 'perItem',
	batchSize: 50,
	status: 'DRAFT',
	accountCode: '200',
	taxType: '',
	useSkuAsItemCode: true,
	paymentTermsType: 'daysAfterInvoiceDate',
	paymentTermsDays: 14,
	lineAmountTypes: 'Exclusive',
	invoiceNumber: '',
	lineMappings: {},
	options: { timeoutMs: 2000, maxAttempts: 3 },
};

function fakeContext(options: {
	sim: XeroSimulator;
	keyPrefix: string;
	items: INodeExecutionData[];
	parameters?: Record<string, unknown>;
	continueOnFail?: boolean;
}): IExecuteFunctions {
	const parameters = { ...DEFAULT_PARAMETERS, ...options.parameters };
	const quiet = () => undefined;
	const credentials: Record<string, unknown> = {
		dealflowXeroCustomConnectionApi: {
			clientId: 'custom-client',
			clientSecret: 'custom-secret',
			tenantId: '',
			dailyCallLimit: 5000,
			apiBaseUrl: options.sim.apiBaseUrl,
			tokenUrl: options.sim.tokenUrl,
			connectionsUrl: options.sim.connectionsUrl,
		},
		dealflowRedisApi: { host: '127.0.0.1', port: 6379, keyPrefix: options.keyPrefix },
	};
	return {
		getInputData: () => options.items,
		getNode: () => ({
			id: 'n',
			name: 'Dealflow Xero',
			type: 'n8n-nodes-dealflow.xero',
			typeVersion: 1,
			position: [0, 0],
			parameters: {},
		}),
		continueOnFail: () => options.continueOnFail ?? false,
		getCredentials: async (name: string) => credentials[name],
		logger: { debug: quiet, info: quiet, warn: quiet, error: quiet },
		helpers: {},
		getNodeParameter: (name: string, index: number, fallback?: unknown) => {
			if (name === 'order') return options.items[index].json.order;
			if (name === 'customer') return options.items[index].json.customer;
			if (name === 'invoiceId') return options.items[index].json.invoiceId;
			return parameters[name] ?? fallback;
		},
	} as unknown as IExecuteFunctions;
}

describe('the Dealflow Xero node', () => {
	let sim: XeroSimulator;
	const keyPrefix = `test:xero-node:${randomUUID()}`;
	const redisData = { host: '127.0.0.1', port: 6379 };

	beforeEach(async () => {
		sim = await startSimulator();
		clearProcessTokenCache();
	});

	afterEach(async () => {
		await sim.stop();
		await cleanRedis(getRedisClient(redisData, 'commands'), keyPrefix);
	});

	afterAll(async () => {
		await closeAllRedisClients();
	});

	test('creates one invoice per order item, each output paired with its input', async () => {
		const items = [{ json: { order: order(1) } }, { json: { order: JSON.stringify(order(2)) } }];

		const [output] = await new Xero().execute.call(fakeContext({ sim, keyPrefix, items }));

		expect(output.map((o) => o.pairedItem)).toEqual([{ item: 0 }, { item: 1 }]);
		expect(output.map((o) => o.json)).toEqual([
			expect.objectContaining({
				reference: '006000001',
				createdNow: true,
				alreadyExisted: false,
				status: 'DRAFT',
				orderKey: order(1).orderKey,
			}),
			expect.objectContaining({ reference: '006000002', createdNow: true }),
		]);
		expect(sim.ledger().invoices.map((i) => i.DueDate)).toEqual(['2026-12-14', '2026-12-14']);
	});

	test.each([
		['no lines', { lines: [] }, 'lines: an order needs at least one line'],
		[
			'a negative quantity',
			{ lines: [{ sku: 'A', quantity: -1, unitPrice: 5 }] },
			'lines[0].quantity',
		],
		[
			'a currency that is not ISO 4217',
			{ currency: 'usd' },
			'currency: must be a three-letter ISO 4217 code',
		],
		['no customer', { customer: undefined }, 'customer: Required'],
	])('rejects an order with %s before any call to Xero', async (_case, change, expected) => {
		const items = [{ json: { order: order(1) } }, { json: { order: { ...order(3), ...change } } }];

		const error = await new Xero().execute
			.call(fakeContext({ sim, keyPrefix, items }))
			.catch((e: unknown) => e);

		expect((error as Error).message).toContain(expected);
		expect(readRetryHint(error)).toMatchObject({ retryable: false, reason: 'invalid_input' });
		expect(sim.ledger().calls).toEqual([]);
	});

	test('with Continue On Fail, bad orders become error items and good ones are still invoiced', async () => {
		const items = [
			{ json: { order: order(1) } },
			{ json: { order: { ...order(2), lines: [] } } },
			{ json: { order: order(3) } },
		];

		const [output] = await new Xero().execute.call(
			fakeContext({ sim, keyPrefix, items, continueOnFail: true }),
		);

		expect(output.map((o) => o.pairedItem)).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }]);
		expect(output[1].json.error).toContain('an order needs at least one line');
		expect(output[1].json.retry).toMatchObject({ retryable: false });
		expect(sim.ledger().invoices).toHaveLength(2);
	});

	test('batch mode sends the orders in one write and fails only the invalid invoice, keeping pairing', async () => {
		// Only the middle order sells the SKU mapped to an account code Xero does not have.
		const line = (sku: string) => [{ sku, quantity: 1, unitPrice: 3 }];
		const items = [
			{ json: { order: { ...order(11), lines: line('WIDGET-1') } } },
			{ json: { order: { ...order(12), lines: line('GADGET-9') } } },
			{ json: { order: { ...order(13), lines: line('WIDGET-1') } } },
		];
		const parameters = {
			mode: 'batch',
			lineMappings: { mapping: [{ sku: 'GADGET-9', accountCode: '999' }] },
		};

		const [output] = await new Xero().execute.call(
			fakeContext({ sim, keyPrefix, items, parameters, continueOnFail: true }),
		);

		expect(output.map((o) => o.pairedItem)).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }]);
		expect(output[0].json).toMatchObject({ createdNow: true, reference: '006000011' });
		expect(output[1].json.error).toContain("Line 1: Account code '999' is not a valid code");
		expect(output[1].json.retry).toMatchObject({
			retryable: false,
			reason: 'validation',
			service: 'xero',
		});
		expect(output[2].json).toMatchObject({ createdNow: true, reference: '006000013' });
		expect(
			apiCalls(sim).filter((c) => c.method === 'PUT' && c.path.endsWith('/Invoices')),
		).toHaveLength(1);
	});

	test('a Xero validation error without Continue On Fail stops the run with a non-retryable NodeApiError', async () => {
		const items = [{ json: { order: order(1) } }];
		const parameters = { accountCode: '999' };

		const error = await new Xero().execute
			.call(fakeContext({ sim, keyPrefix, items, parameters }))
			.catch((e: unknown) => e);

		expect((error as Error).constructor.name).toBe('NodeApiError');
		expect((error as Error).message).toContain("Line 1: Account code '999' is not a valid code");
		expect(readRetryHint(error)).toMatchObject({ retryable: false, reason: 'validation' });
	});

	test('gets an invoice, authorises it, and finds its contact', async () => {
		const [[created]] = await new Xero().execute.call(
			fakeContext({ sim, keyPrefix, items: [{ json: { order: order(4) } }] }),
		);
		const invoiceId = created.json.invoiceId as string;

		const [[read]] = await new Xero().execute.call(
			fakeContext({
				sim,
				keyPrefix,
				items: [{ json: { invoiceId } }],
				parameters: { operation: 'get' },
			}),
		);
		const [[authorised]] = await new Xero().execute.call(
			fakeContext({
				sim,
				keyPrefix,
				items: [{ json: { invoiceId } }],
				parameters: { operation: 'updateStatus', statusAction: 'authorise' },
			}),
		);
		const [[contact]] = await new Xero().execute.call(
			fakeContext({
				sim,
				keyPrefix,
				items: [{ json: { customer: order(4).customer } }],
				parameters: { resource: 'contact', operation: 'findOrCreate' },
			}),
		);

		expect(read.json).toMatchObject({
			invoiceId,
			reference: '006000004',
			status: 'DRAFT',
			type: 'ACCREC',
		});
		expect(authorised.json).toMatchObject({
			invoiceId,
			status: 'AUTHORISED',
			previousStatus: 'DRAFT',
		});
		expect(contact.json).toMatchObject({ contactId: created.json.contactId, createdNow: false });
	});

	test('in OAuth2 mode it uses the token n8n stores, and after a 401 lets n8n refresh it and reads the new one', async () => {
		// n8n's side, played by hand: an authorization-code token in the credential, and an
		// authenticated request helper that refreshes on 401 and saves the new token.
		const grant = async (form: Record<string, string>) => {
			const response = await fetch(sim.tokenUrl, {
				method: 'POST',
				headers: { 'content-type': 'application/x-www-form-urlencoded' },
				body: new URLSearchParams({
					client_id: 'oauth-client',
					client_secret: 'oauth-secret',
					...form,
				}).toString(),
			});
			return (await response.json()) as { access_token: string; refresh_token: string };
		};
		let stored = await grant({
			grant_type: 'authorization_code',
			code: sim.issueAuthorizationCode(),
		});
		let refreshes = 0;
		const base = fakeContext({
			sim,
			keyPrefix,
			items: [{ json: { order: order(9) } }],
			parameters: { authentication: 'oAuth2' },
		});
		const context = {
			...base,
			getCredentials: async (name: string) =>
				name === 'dealflowXeroOAuth2Api'
					? {
							clientId: 'oauth-client',
							apiBaseUrl: sim.apiBaseUrl,
							connectionsUrl: sim.connectionsUrl,
							oauthTokenData: { access_token: stored.access_token },
						}
					: await base.getCredentials(name),
			helpers: {
				httpRequestWithAuthentication: async (credentialName: string, request: { url: string }) => {
					expect(credentialName).toBe('dealflowXeroOAuth2Api');
					const first = await fetch(request.url, {
						headers: { authorization: `Bearer ${stored.access_token}` },
					});
					if (first.status !== 401) return await first.json();
					refreshes++;
					stored = await grant({
						grant_type: 'refresh_token',
						refresh_token: stored.refresh_token,
					});
					return await (
						await fetch(request.url, {
							headers: { authorization: `Bearer ${stored.access_token}` },
						})
					).json();
				},
			},
		} as unknown as IExecuteFunctions;
		await new Xero().execute.call(context);

		sim.expireTokens();
		const [[again]] = await new Xero().execute.call(context);

		expect(again.json).toMatchObject({ reference: '006000009', alreadyExisted: true });
		expect(refreshes).toBe(1);
		expect(sim.ledger().invoices).toHaveLength(1);
	});

	test('without Redis, executions in one process still share one limiter', async () => {
		const run = async () => {
			const [[item]] = await new Xero().execute.call(
				fakeContext({
					sim,
					keyPrefix,
					items: [{ json: { invoiceId: 'INV-9999' } }],
					parameters: {
						useRedis: false,
						operation: 'get',
						options: { minuteLimit: 2, maxWaitInPlaceSeconds: 0.1 },
					},
					continueOnFail: true,
				}),
			);
			return item.json;
		};

		const results = [await run(), await run(), await run()];

		expect(results.map((r) => (r.retry as { reason?: string } | undefined)?.reason)).toEqual([
			'not_found',
			'not_found',
			'rate_limited',
		]);
		expect(apiCalls(sim)).toHaveLength(2);
	});

	test('the tenant list comes from the connections and the credential test reports them', async () => {
		const credential = {
			clientId: 'custom-client',
			clientSecret: 'custom-secret',
			tokenUrl: sim.tokenUrl,
			connectionsUrl: sim.connectionsUrl,
		};
		const loadContext = {
			getNodeParameter: () => 'customConnection',
			getCredentials: async () => credential,
			helpers: {},
		} as unknown as ILoadOptionsFunctions;
		const node = new Xero();

		const tenants = await node.methods.loadOptions.getTenants.call(loadContext);
		const ok = await node.methods.credentialTest.dealflowXeroConnectionTest.call(
			{} as ICredentialTestFunctions,
			{ id: '1', name: 'x', type: 'dealflowXeroCustomConnectionApi', data: credential },
		);
		const bad = await node.methods.credentialTest.dealflowXeroConnectionTest.call(
			{} as ICredentialTestFunctions,
			{
				id: '1',
				name: 'x',
				type: 'dealflowXeroCustomConnectionApi',
				data: { ...credential, clientSecret: 'nope' },
			},
		);

		expect(tenants).toEqual([{ name: 'Dealflow Demo Ltd', value: TENANT_ID }]);
		expect(ok).toEqual({ status: 'OK', message: 'Connected: 1 organisation' });
		expect(bad.status).toBe('Error');
		expect(bad.message).toContain('Check the client id and secret');
		expect(bad.message).not.toContain('nope');
	});
});
