import type Redis from 'ioredis';

import { closeAllRedisClients } from '../../nodes/shared/redis';
import {
	createInvoiceFromOrder,
	createInvoicesBatch,
	findOrCreateContact,
	getInvoice,
	RedisAttemptLog,
	updateInvoiceStatus,
} from '../../nodes/Xero/operations';
import { clearProcessTokenCache, XeroApiError } from '../../nodes/Xero/transport';
import type { XeroSimulator } from '../simulators/xero/server';
import {
	apiCalls,
	cleanRedis,
	makeContext,
	order,
	settings,
	startSimulator,
	testRedis,
} from './xero-helpers';

describe('Dealflow Xero invoices against the Xero simulator', () => {
	let sim: XeroSimulator;
	let redis: Redis;
	let keyPrefix: string;

	beforeEach(async () => {
		sim = await startSimulator();
		({ redis, keyPrefix } = testRedis());
		clearProcessTokenCache();
	});

	afterEach(async () => {
		await sim.stop();
		await cleanRedis(redis, keyPrefix);
	});

	afterAll(async () => {
		await closeAllRedisClients();
	});

	test('an order becomes one ACCREC invoice with its lines, reference, terms and an Idempotency-Key', async () => {
		const ctx = makeContext({ sim, redis, keyPrefix });

		const outcome = await createInvoiceFromOrder(ctx, { order: order(1), settings });

		expect(outcome).toMatchObject({
			status: 'DRAFT',
			createdNow: true,
			alreadyExisted: false,
			currencyCode: 'USD',
		});
		expect(outcome.total).toBeCloseTo(2 * 19.5 + 100.1234, 2);
		const [invoice] = sim.ledger().invoices;
		expect(invoice).toMatchObject({
			InvoiceID: outcome.invoiceId,
			Type: 'ACCREC',
			Reference: '006000001',
			Date: '2026-11-30',
			DueDate: '2026-12-30',
			CurrencyCode: 'USD',
		});
		expect(invoice.LineItems).toEqual([
			expect.objectContaining({
				ItemCode: 'WIDGET-1',
				Description: 'Widget',
				Quantity: 2,
				UnitAmount: 19.5,
				AccountCode: '200',
				TaxType: 'OUTPUT',
			}),
			expect.objectContaining({
				ItemCode: 'GADGET-9',
				Description: 'Gadget, blue',
				UnitAmount: 100.1234,
			}),
		]);
		const writes = apiCalls(sim).filter((c) => c.method !== 'GET');
		expect(writes.length).toBeGreaterThan(0);
		for (const write of writes) {
			expect(write.idempotencyKey).toBeTruthy();
			expect(write.idempotencyKey!.length).toBeLessThanOrEqual(128);
		}
		expect(
			apiCalls(sim).find((c) => c.path === '/api.xro/2.0/Invoices' && c.method === 'PUT')?.query,
		).toContain('unitdp=4');
	});

	test('running the same order again returns the existing invoice marked alreadyExisted, found by Reference', async () => {
		const ctx = makeContext({ sim, redis, keyPrefix });
		const first = await createInvoiceFromOrder(ctx, { order: order(2), settings });

		const second = await createInvoiceFromOrder(ctx, { order: order(2), settings });

		expect(second).toMatchObject({
			invoiceId: first.invoiceId,
			createdNow: false,
			alreadyExisted: true,
		});
		expect(sim.ledger().invoices).toHaveLength(1);
	});

	test('two racing creates of the same order leave one invoice: the Idempotency-Key replays the first', async () => {
		const ctx = makeContext({ sim, redis, keyPrefix });

		const [a, b] = await Promise.all([
			createInvoiceFromOrder(ctx, { order: order(3), settings }),
			createInvoiceFromOrder(ctx, { order: order(3), settings }),
		]);

		expect(a.invoiceId).toBe(b.invoiceId);
		expect(sim.ledger().invoices).toHaveLength(1);
		const puts = apiCalls(sim).filter((c) => c.method === 'PUT' && c.path.endsWith('/Invoices'));
		// Either the second search saw the first invoice, or both wrote and Xero replayed.
		if (puts.length === 2) expect(puts[1].replayed).toBe('replay');
		for (const put of puts)
			expect(put.idempotencyKey).toBe('dealflow:invoice:sf:opp:006000003:closed-won');
	});

	test('the same Idempotency-Key with a different body is a conflict to retry only after the key expires', async () => {
		const ctx = makeContext({ sim, redis, keyPrefix });
		const contact = await findOrCreateContact(ctx, order(4).customer);
		const invoice = (amount: number) =>
			({
				invoices: [
					{
						type: 'ACCREC',
						contact: { contactID: contact.contactId },
						lineItems: [{ description: 'x', quantity: 1, unitAmount: amount, accountCode: '200' }],
					},
				],
			}) as never;
		await ctx.client.request(
			'create',
			async (api, tenant) =>
				await api.createInvoices(tenant, invoice(1), false, undefined, 'same-key'),
		);

		const error = await ctx.client
			.request(
				'create',
				async (api, tenant) =>
					await api.createInvoices(tenant, invoice(2), false, undefined, 'same-key'),
			)
			.catch((e: unknown) => e);

		expect(error).toMatchObject({
			status: 400,
			reason: 'idempotency_conflict',
			retryable: true,
			retryAfterMs: 7 * 60_000,
		});
		// Not retried in place: one conflicting call reached Xero.
		expect(apiCalls(sim).filter((c) => c.replayed === 'conflict')).toHaveLength(1);
		expect(sim.ledger().invoices).toHaveLength(1);
	});

	test('with dedupe after a recorded attempt, a first create costs one call and a re-run still finds the invoice', async () => {
		const ctx = {
			...makeContext({ sim, redis, keyPrefix }),
			dedupeSearch: 'afterRecordedAttempt' as const,
			attempts: new RedisAttemptLog(redis, keyPrefix),
		};
		await findOrCreateContact(ctx, order(8).customer);
		const before = apiCalls(sim).length;

		const first = await createInvoiceFromOrder(ctx, { order: order(8), settings });
		const callsForFirst = apiCalls(sim).length - before;
		const again = await createInvoiceFromOrder(ctx, { order: order(8), settings });

		expect(callsForFirst).toBe(1);
		expect(again).toMatchObject({ invoiceId: first.invoiceId, alreadyExisted: true });
		expect(sim.ledger().invoices).toHaveLength(1);
	});

	test('a batch creates every good invoice in one call and reports the bad one on its own item', async () => {
		const ctx = makeContext({ sim, redis, keyPrefix });
		const orders = [1, 2, 3, 4].map((n) => order(100 + n));
		const bad = { order: orders[2], settings: { ...settings, accountCode: '999' } };

		const outcomes = await createInvoicesBatch(ctx, [
			{ order: orders[0], settings },
			{ order: orders[1], settings },
			bad,
			{ order: orders[3], settings },
		]);

		expect(outcomes.map((o) => o.ok)).toEqual([true, true, false, true]);
		const failure = outcomes[2];
		if (failure.ok) throw new Error('expected a failure');
		expect(failure.error.retryable).toBe(false);
		expect(failure.error.messages).toContain(
			"Line 1: Account code '999' is not a valid code for this document.",
		);
		expect(failure.error.messages).toContain(
			"Line 2: Account code '999' is not a valid code for this document.",
		);
		expect(
			sim
				.ledger()
				.invoices.map((i) => i.Reference)
				.sort(),
		).toEqual([orders[0], orders[1], orders[3]].map((o) => o.reference).sort());
		const invoicePuts = apiCalls(sim).filter(
			(c) => c.method === 'PUT' && c.path.endsWith('/Invoices'),
		);
		expect(invoicePuts).toHaveLength(1);
		expect(invoicePuts[0].query).toContain('summarizeErrors=false');
	});

	test('a batch re-run after a crash reports every invoice as already existing and creates none', async () => {
		const ctx = makeContext({ sim, redis, keyPrefix });
		const entries = [1, 2, 3].map((n) => ({ order: order(200 + n), settings }));
		await createInvoicesBatch(ctx, entries);

		const again = await createInvoicesBatch(ctx, entries);

		expect(again.every((o) => o.ok && o.value.alreadyExisted)).toBe(true);
		expect(sim.ledger().invoices).toHaveLength(3);
	});

	test('a customer is searched once, created once, and then served from the Redis contact cache', async () => {
		const ctx = makeContext({ sim, redis, keyPrefix });
		const customer = { name: 'Acme Pty', accountNumber: 'ACME-1', email: 'ap@acme.test' };

		const first = await findOrCreateContact(ctx, customer);
		const callsAfterFirst = apiCalls(sim).length;
		const second = await findOrCreateContact(ctx, customer);

		expect(first).toMatchObject({ createdNow: true, fromCache: false });
		expect(second).toEqual({
			contactId: first.contactId,
			name: 'Acme Pty',
			createdNow: false,
			fromCache: true,
		});
		expect(apiCalls(sim)).toHaveLength(callsAfterFirst);
		expect(sim.ledger().contacts).toHaveLength(1);
		// One search (account number OR email OR name), then one create.
		expect(apiCalls(sim).map((c) => c.method)).toEqual(['GET', 'PUT']);
	});

	test('an existing contact is found by email when the account number is unknown to Xero', async () => {
		const ctx = makeContext({ sim, redis, keyPrefix, contactCacheSeconds: 0 });
		const created = await findOrCreateContact(ctx, {
			name: 'Beta LLC',
			email: 'billing@beta.test',
		});

		const found = await findOrCreateContact(ctx, {
			name: 'Beta L.L.C.',
			accountNumber: 'NEW-7',
			email: 'billing@beta.test',
		});

		expect(found).toMatchObject({
			contactId: created.contactId,
			createdNow: false,
			fromCache: false,
		});
		expect(sim.ledger().contacts).toHaveLength(1);
	});

	test('an invalid account code fails clearly, per line, and is not retried', async () => {
		const ctx = makeContext({ sim, redis, keyPrefix });
		const lines = order(5).lines;
		const input = {
			order: order(5),
			settings: { ...settings, lineMappings: [{ sku: lines[1].sku, accountCode: '999' }] },
		};

		const error = await createInvoiceFromOrder(ctx, input).catch((e: unknown) => e);

		expect(error).toBeInstanceOf(XeroApiError);
		expect((error as XeroApiError).retryable).toBe(false);
		expect((error as XeroApiError).reason).toBe('validation');
		expect((error as XeroApiError).message).toContain(
			"Line 2: Account code '999' is not a valid code",
		);
		expect((error as XeroApiError).message).not.toContain('Line 1:');
		expect(
			apiCalls(sim).filter((c) => c.method === 'PUT' && c.path.endsWith('/Invoices')),
		).toHaveLength(1);
	});

	test('an invoice is read back, authorised, and voided for compensation', async () => {
		const ctx = makeContext({ sim, redis, keyPrefix });
		const created = await createInvoiceFromOrder(ctx, { order: order(6), settings });

		const read = await getInvoice(ctx, created.invoiceId);
		const authorised = await updateInvoiceStatus(ctx, {
			invoiceId: created.invoiceId,
			action: 'authorise',
		});
		const voided = await updateInvoiceStatus(ctx, { invoiceId: created.invoiceId, action: 'void' });
		const voidedAgain = await updateInvoiceStatus(ctx, {
			invoiceId: created.invoiceId,
			action: 'void',
		});

		expect(read.reference).toBe('006000006');
		expect(authorised).toMatchObject({ status: 'AUTHORISED', previousStatus: 'DRAFT' });
		expect(voided).toMatchObject({ status: 'VOIDED', previousStatus: 'AUTHORISED' });
		expect(voidedAgain).toMatchObject({ status: 'VOIDED', alreadyExisted: true });
	});

	test('an unknown invoice id is a clear, non-retryable not-found', async () => {
		const ctx = makeContext({ sim, redis, keyPrefix });

		const error = await getInvoice(ctx, '00000000-0000-4000-8000-000000000000').catch(
			(e: unknown) => e,
		);

		expect(error).toMatchObject({ reason: 'not_found', retryable: false, status: 404 });
	});
});
