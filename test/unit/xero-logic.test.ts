import {
	buildInvoice,
	checkOrderForInvoice,
	contactSearches,
	describeXeroErrorBody,
	dueDate,
	idempotencyKey,
	pickContact,
	unitDecimalPlaces,
	whereString,
	type InvoiceSettings,
} from '../../nodes/Xero/logic';
import { MemoryXeroLimiter, DEFAULT_XERO_LIMITS } from '../../nodes/Xero/limiter';
import { classifyRejection, parseXeroRejection } from '../../nodes/Xero/transport';
import type { Order } from '../../nodes/shared/order';

const settings: InvoiceSettings = {
	status: 'AUTHORISED',
	accountCode: '200',
	taxType: 'OUTPUT',
	useSkuAsItemCode: false,
	paymentTerms: { type: 'daysAfterInvoiceDate', days: 30 },
	lineAmountTypes: 'Exclusive',
	lineMappings: [
		{ sku: 'SVC-1', accountCode: '260', taxType: 'NONE' },
		{ sku: '*', itemCode: 'GENERIC' },
	],
};

const order: Order = {
	orderKey: 'sf:opp:006A:closed-won',
	reference: '006A',
	currency: 'NZD',
	closeDate: '2026-01-31',
	customer: { name: 'Kiwi Ltd' },
	lines: [
		{ sku: 'SVC-1', description: 'Set-up', quantity: 1, unitPrice: 500 },
		{ sku: 'BOX-2', name: 'Box', quantity: 3, unitPrice: 9.99, discountPercent: 10 },
	],
};

describe('Xero invoice rules', () => {
	test('an order maps to an ACCREC invoice with per-SKU account, tax and item codes and the defaults elsewhere', () => {
		const invoice = buildInvoice({ order, contactId: 'c-1', settings });

		expect(invoice).toEqual({
			type: 'ACCREC',
			contact: { contactID: 'c-1' },
			lineItems: [
				{
					description: 'Set-up',
					quantity: 1,
					unitAmount: 500,
					itemCode: 'GENERIC',
					accountCode: '260',
					taxType: 'NONE',
				},
				{
					description: 'Box',
					quantity: 3,
					unitAmount: 9.99,
					itemCode: 'GENERIC',
					accountCode: '200',
					taxType: 'OUTPUT',
					discountRate: 10,
				},
			],
			date: '2026-01-31',
			dueDate: '2026-03-02',
			reference: '006A',
			status: 'AUTHORISED',
			currencyCode: 'NZD',
			lineAmountTypes: 'Exclusive',
		});
	});

	test('the same order always builds the same invoice, which a reused Idempotency-Key requires', () => {
		const at = (iso: string) =>
			buildInvoice({
				order: { ...order, closeDate: undefined },
				contactId: 'c',
				settings,
				now: new Date(iso),
			});

		expect(at('2026-05-01T10:00:00Z')).toEqual(at('2026-05-01T23:59:00Z'));
	});

	test('due dates follow the payment terms, clamping "day 31" to the end of a short month', () => {
		expect(dueDate('2026-01-15', { type: 'daysAfterInvoiceDate', days: 20 })).toBe('2026-02-04');
		expect(dueDate('2026-01-15', { type: 'dayOfFollowingMonth', day: 31 })).toBe('2026-02-28');
		expect(dueDate('2026-12-15', { type: 'dayOfFollowingMonth', day: 20 })).toBe('2027-01-20');
	});

	test('unit amounts with more than two decimals ask Xero for unitdp=4', () => {
		expect(unitDecimalPlaces({ lines: [{ sku: 'a', quantity: 1, unitPrice: 12.34 }] })).toBe(2);
		expect(unitDecimalPlaces({ lines: [{ sku: 'a', quantity: 1, unitPrice: 12.345 }] })).toBe(4);
	});

	test('idempotency keys are readable when short and hashed to at most 128 characters when long', () => {
		expect(idempotencyKey('invoice', 'sf:opp:1')).toBe('dealflow:invoice:sf:opp:1');
		const long = idempotencyKey('invoice', 'x'.repeat(300));
		expect(long.length).toBeLessThanOrEqual(128);
		expect(long).toBe(idempotencyKey('invoice', 'x'.repeat(300)));
		expect(idempotencyKey('invoice', 'ünïcode key')).toMatch(
			/^dealflow:invoice:sha256:[0-9a-f]{64}$/,
		);
	});

	test('where values escape quotes and backslashes so a customer name cannot change the filter', () => {
		expect(whereString('Bob "The" \\Builder')).toBe('"Bob \\"The\\" \\\\Builder"');
		expect(contactSearches({ name: 'A', accountNumber: 'N1', email: 'a@b.co' })).toEqual([
			'AccountNumber=="N1"',
			'EmailAddress=="a@b.co"',
			'Name=="A"',
		]);
	});

	test('a contact is matched by account number before email before name, and never when archived', () => {
		const customer = { name: 'Acme', accountNumber: 'A-1', email: 'ap@acme.test' };
		const byName = { contactID: 'name', name: 'ACME', archived: false };
		const byEmail = {
			contactID: 'email',
			emailAddress: 'AP@acme.test',
			name: 'Other',
			archived: false,
		};
		const byNumber = {
			contactID: 'number',
			accountNumber: 'A-1',
			name: 'Old Acme',
			archived: true,
		};

		expect(pickContact(customer, [byName, byEmail, byNumber])?.contactID).toBe('email');
		expect(pickContact(customer, [byName, { ...byNumber, archived: false }])?.contactID).toBe(
			'number',
		);
		expect(pickContact({ name: 'Nobody' }, [byName, byEmail])).toBeUndefined();
	});

	test('bad orders and bad settings are reported together, in words', () => {
		const checked = checkOrderForInvoice(
			{ ...order, lines: [], currency: 'nz' },
			{ ...settings, accountCode: '' },
		);

		expect(checked.ok).toBe(false);
		if (checked.ok) return;
		expect(checked.problems).toEqual(
			expect.arrayContaining([
				'lines: an order needs at least one line',
				expect.stringContaining('currency: must be a three-letter ISO 4217 code'),
				expect.stringContaining('accountCode: a default account code is required'),
			]),
		);
	});
});

describe("reading Xero's errors", () => {
	test('line-level validation errors name the line and are not repeated at invoice level', () => {
		const body = {
			Type: 'ValidationException',
			Elements: [
				{
					ValidationErrors: [
						{ Message: "Account code '999' is not a valid code for this document." },
						{ Message: 'Reference is too long' },
					],
					LineItems: [
						{ ValidationErrors: [] },
						{
							ValidationErrors: [
								{ Message: "Account code '999' is not a valid code for this document." },
							],
						},
					],
				},
			],
		};

		expect(describeXeroErrorBody(body)).toEqual([
			'Reference is too long',
			"Line 2: Account code '999' is not a valid code for this document.",
		]);
	});

	test('xero-node rejections are read whether they are JSON strings, objects or garbage', () => {
		const rejection = JSON.stringify({
			response: {
				statusCode: 400,
				body: {
					Type: 'ValidationException',
					Elements: [{ ValidationErrors: [{ Message: 'Bad' }] }],
				},
				headers: {},
			},
		});

		expect(parseXeroRejection(rejection)).toMatchObject({ status: 400 });
		expect(classifyRejection(parseXeroRejection(rejection), 'create invoice')).toMatchObject({
			reason: 'validation',
			retryable: false,
			messages: ['Bad'],
		});
		expect(parseXeroRejection('not json at all')).toMatchObject({ status: 0 });
		expect(parseXeroRejection(undefined)).toMatchObject({ status: 0 });
		expect(parseXeroRejection(new Error('boom'))).toMatchObject({
			status: 0,
			transportMessage: 'boom',
		});
	});

	test('a 429 is retryable with its Retry-After, and the day problem is called a daily limit', () => {
		const minute = classifyRejection(
			{ status: 429, body: '', headers: { 'retry-after': '7', 'x-rate-limit-problem': 'minute' } },
			'x',
		);
		const day = classifyRejection(
			{ status: 429, body: '', headers: { 'retry-after': '3600', 'x-rate-limit-problem': 'day' } },
			'x',
		);

		expect(minute).toMatchObject({ reason: 'rate_limited', retryable: true, retryAfterMs: 7_000 });
		expect(day).toMatchObject({ reason: 'daily_limit', retryAfterMs: 3_600_000 });
	});

	test('5xx and transport failures are retryable; auth and not-found are not', () => {
		expect(classifyRejection({ status: 503, body: {}, headers: {} }, 'x').retryable).toBe(true);
		expect(
			classifyRejection(
				{ status: 0, body: undefined, headers: {}, transportMessage: 'timeout of 5ms exceeded' },
				'x',
			),
		).toMatchObject({ reason: 'timeout', retryable: true });
		expect(classifyRejection({ status: 401, body: {}, headers: {} }, 'x').retryable).toBe(false);
		expect(classifyRejection({ status: 404, body: 'nope', headers: {} }, 'x').retryable).toBe(
			false,
		);
	});
});

describe('the in-memory limiter (no Redis)', () => {
	const scope = { tenantId: 't', appId: 'a' };

	test('grants the minute budget, then asks to wait until the oldest finished call leaves the window', async () => {
		const limiter = new MemoryXeroLimiter({
			...DEFAULT_XERO_LIMITS,
			minuteLimit: 2,
			concurrentLimit: 5,
		});
		const a = await limiter.tryAcquire(scope);
		const b = await limiter.tryAcquire(scope);
		if (!a.granted || !b.granted) throw new Error('expected two grants');
		await limiter.release(scope, a.token);

		const third = await limiter.tryAcquire(scope);

		expect(third).toMatchObject({ granted: false, problem: 'minute' });
		expect(third.granted === false && third.waitMs).toBeGreaterThan(59_000);
	});

	test('holds back a sixth concurrent call until one finishes', async () => {
		const limiter = new MemoryXeroLimiter(DEFAULT_XERO_LIMITS);
		const grants = await Promise.all(
			Array.from({ length: 5 }, async () => await limiter.tryAcquire(scope)),
		);

		expect(await limiter.tryAcquire(scope)).toMatchObject({
			granted: false,
			problem: 'concurrent',
		});
		const first = grants[0];
		if (first.granted) await limiter.release(scope, first.token);
		expect(await limiter.tryAcquire(scope)).toMatchObject({ granted: true });
	});
});
