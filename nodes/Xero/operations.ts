import { createHash } from 'node:crypto';
import type Redis from 'ioredis';
import {
	Contact,
	Contacts,
	Invoice,
	Invoices,
	type CurrencyCode,
	type LineAmountTypes,
} from 'xero-node';

import type { Customer, Order } from '../shared/order';
import {
	buildInvoice,
	contactCacheKey,
	contactFromCustomer,
	contactSearches,
	describeResultErrors,
	rawElement,
	idempotencyKey,
	invoicesByReferenceWhere,
	isDuplicateNumberMessage,
	isLiveInvoiceStatus,
	pickContact,
	unitDecimalPlaces,
	whereString,
	type InvoiceDraft,
	type InvoiceSettings,
} from './logic';
import { XeroApiError, type XeroClient } from './transport';

/**
 * The Dealflow Xero node's operations, on top of {@link XeroClient}. No n8n imports: the node
 * turns items into calls of these functions and their results back into items.
 */

/** Remembers which ContactID a customer resolved to, to save a search per invoice. */
export interface ContactCache {
	get(key: string): Promise<string | undefined>;
	set(key: string, contactId: string, ttlSeconds: number): Promise<void>;
}

export class RedisContactCache implements ContactCache {
	constructor(
		private readonly redis: Redis,
		private readonly keyPrefix: string,
	) {}

	async get(key: string): Promise<string | undefined> {
		return (await this.redis.get(`${this.keyPrefix}:xero:contact:${key}`)) ?? undefined;
	}

	async set(key: string, contactId: string, ttlSeconds: number): Promise<void> {
		if (ttlSeconds <= 0) return;
		await this.redis.set(`${this.keyPrefix}:xero:contact:${key}`, contactId, 'EX', ttlSeconds);
	}
}

const memoryContacts = new Map<string, { contactId: string; expiresAt: number }>();

/** Process-local fallback when no Redis credential is attached. */
export class MemoryContactCache implements ContactCache {
	async get(key: string): Promise<string | undefined> {
		const entry = memoryContacts.get(key);
		if (!entry || entry.expiresAt <= Date.now()) return undefined;
		return entry.contactId;
	}

	async set(key: string, contactId: string, ttlSeconds: number): Promise<void> {
		if (ttlSeconds > 0)
			memoryContacts.set(key, { contactId, expiresAt: Date.now() + ttlSeconds * 1000 });
	}
}

/**
 * Records that an order's invoice write was attempted, so later runs know whether a search for an
 * earlier invoice can find anything. Only consulted in the `afterRecordedAttempt` dedupe mode.
 */
export interface AttemptLog {
	/** Records the attempt; resolves true when none was recorded before. */
	recordFirst(tenantId: string, orderKey: string): Promise<boolean>;
}

/** How long attempt records live: far beyond any retry schedule, as dedupe depends on them. */
const ATTEMPT_RETENTION_SECONDS = 90 * 24 * 3600;

export class RedisAttemptLog implements AttemptLog {
	constructor(
		private readonly redis: Redis,
		private readonly keyPrefix: string,
	) {}

	async recordFirst(tenantId: string, orderKey: string): Promise<boolean> {
		const digest = createHash('sha256').update(orderKey).digest('hex').slice(0, 40);
		const key = `${this.keyPrefix}:xero:attempt:${tenantId || 'default'}:${digest}`;
		const reply = await this.redis.set(
			key,
			String(Date.now()),
			'EX',
			ATTEMPT_RETENTION_SECONDS,
			'NX',
		);
		return reply === 'OK';
	}
}

/**
 * `always`: search Xero for an invoice with the order's Reference before every create (one call
 * per create; safe even if Redis loses data). `afterRecordedAttempt`: search only when Redis
 * records an earlier attempt for the order key; a first attempt goes straight to the write,
 * still protected by its Idempotency-Key. Halves the calls per invoice, but trusts Redis to keep
 * its records (persistence on) for as long as an order can be re-delivered.
 */
export type DedupeSearch = 'always' | 'afterRecordedAttempt';

export interface OperationContext {
	client: XeroClient;
	contacts: ContactCache;
	/** @default 'always' */
	dedupeSearch?: DedupeSearch;
	/** Required for `afterRecordedAttempt`; without it every create searches. */
	attempts?: AttemptLog;
	/** How long a resolved ContactID is reused. 0 disables the cache. */
	contactCacheSeconds: number;
}

export interface ContactOutcome {
	contactId: string;
	name: string;
	createdNow: boolean;
	fromCache: boolean;
}

export interface InvoiceOutcome {
	invoiceId: string;
	invoiceNumber: string;
	status: string;
	total: number;
	currencyCode: string;
	reference: string;
	contactId: string;
	createdNow: boolean;
	alreadyExisted: boolean;
}

/**
 * Finds the customer's contact by account number, then email, then name; creates it when none
 * matches. The answer is cached per tenant.
 *
 * @throws XeroApiError when Xero fails or rejects the new contact.
 */
export async function findOrCreateContact(
	ctx: OperationContext,
	customer: Customer,
): Promise<ContactOutcome> {
	const cacheKey = contactCacheKey(ctx.client.tenantId, customer);
	if (ctx.contactCacheSeconds > 0) {
		const cached = await ctx.contacts.get(cacheKey);
		if (cached)
			return { contactId: cached, name: customer.name, createdNow: false, fromCache: true };
	}

	const { body: search } = await ctx.client.request(
		'search contacts',
		async (api, tenantId) =>
			await api.getContacts(tenantId, undefined, contactSearches(customer).join(' OR ')),
	);
	const found = pickContact(
		customer,
		(search.contacts ?? []).map((c) => ({
			contactID: c.contactID,
			accountNumber: c.accountNumber,
			emailAddress: c.emailAddress,
			name: c.name,
			archived: String(c.contactStatus) === 'ARCHIVED',
		})),
	);
	if (found?.contactID) {
		await ctx.contacts.set(cacheKey, found.contactID, ctx.contactCacheSeconds);
		return {
			contactId: found.contactID,
			name: found.name ?? customer.name,
			createdNow: false,
			fromCache: false,
		};
	}

	const payload: Contacts = { contacts: [contactFromCustomer(customer) as Contact] };
	const key = idempotencyKey('contact', ctx.client.tenantId || 'default', cacheKey.split(':')[1]);
	const { body, raw } = await ctx.client.request(
		'create contact',
		async (api, tenantId) => await api.createContacts(tenantId, payload, false, key),
	);
	const created = body.contacts?.[0];
	if (!created?.contactID || created.hasValidationErrors) {
		const messages = created
			? describeResultErrors({ raw: rawElement(raw, 'Contacts', 0), model: created })
			: ['Xero returned no contact'];
		throw new XeroApiError({
			message: `Xero rejected the contact "${customer.name}": ${messages.join('; ')}`,
			status: 400,
			reason: 'validation',
			retryable: false,
			messages,
		});
	}
	await ctx.contacts.set(cacheKey, created.contactID, ctx.contactCacheSeconds);
	return {
		contactId: created.contactID,
		name: created.name ?? customer.name,
		createdNow: true,
		fromCache: false,
	};
}

function toModel(draft: InvoiceDraft): Invoice {
	return {
		...draft,
		type: draft.type as unknown as Invoice.TypeEnum,
		status: draft.status as unknown as Invoice.StatusEnum,
		currencyCode: draft.currencyCode as unknown as CurrencyCode,
		lineAmountTypes: draft.lineAmountTypes as unknown as LineAmountTypes,
	};
}

function toOutcome(invoice: Invoice, flags: { createdNow: boolean }): InvoiceOutcome {
	return {
		invoiceId: invoice.invoiceID ?? '',
		invoiceNumber: invoice.invoiceNumber ?? '',
		status: String(invoice.status ?? ''),
		total: Number(invoice.total ?? 0),
		currencyCode: String(invoice.currencyCode ?? ''),
		reference: invoice.reference ?? '',
		contactId: invoice.contact?.contactID ?? '',
		createdNow: flags.createdNow,
		alreadyExisted: !flags.createdNow,
	};
}

/** Whether a search for an earlier invoice is needed; records the attempt as a side effect. */
async function mayHaveEarlierInvoice(ctx: OperationContext, order: Order): Promise<boolean> {
	if (ctx.dedupeSearch !== 'afterRecordedAttempt' || !ctx.attempts) return true;
	const first = await ctx.attempts.recordFirst(ctx.client.tenantId, order.orderKey);
	return !first;
}

/** Live sales invoices for these references, keyed by reference. */
async function existingByReference(
	ctx: OperationContext,
	references: string[],
): Promise<Map<string, Invoice>> {
	const found = new Map<string, Invoice>();
	if (!references.length) return found;
	const { body } = await ctx.client.request(
		'search invoices',
		async (api, tenantId) =>
			await api.getInvoices(tenantId, undefined, invoicesByReferenceWhere(references)),
	);
	for (const invoice of body.invoices ?? []) {
		if (String(invoice.type) !== 'ACCREC' || !isLiveInvoiceStatus(String(invoice.status))) continue;
		if (invoice.reference && !found.has(invoice.reference)) found.set(invoice.reference, invoice);
	}
	return found;
}

async function existingByNumber(
	ctx: OperationContext,
	invoiceNumber: string,
): Promise<Invoice | undefined> {
	const { body } = await ctx.client.request(
		'search invoices by number',
		async (api, tenantId) =>
			await api.getInvoices(tenantId, undefined, `InvoiceNumber==${whereString(invoiceNumber)}`),
	);
	return (body.invoices ?? []).find((i) => isLiveInvoiceStatus(String(i.status)));
}

/**
 * Creates the invoice for an order exactly once: an invoice already carrying the order's
 * Reference (or its InvoiceNumber) is returned with `alreadyExisted: true`, and the create
 * itself carries an Idempotency-Key derived from the order key.
 *
 * @throws XeroApiError for Xero failures; validation errors are not retryable.
 */
export async function createInvoiceFromOrder(
	ctx: OperationContext,
	input: { order: Order; settings: InvoiceSettings },
): Promise<InvoiceOutcome> {
	const { order, settings } = input;
	if (await mayHaveEarlierInvoice(ctx, order)) {
		const existing = (await existingByReference(ctx, [order.reference])).get(order.reference);
		if (existing) return toOutcome(existing, { createdNow: false });
		if (settings.invoiceNumber) {
			const numbered = await existingByNumber(ctx, settings.invoiceNumber);
			if (numbered) return toOutcome(numbered, { createdNow: false });
		}
	}

	const contact = await findOrCreateContact(ctx, order.customer);
	const draft = buildInvoice({ order, contactId: contact.contactId, settings });
	const key = idempotencyKey('invoice', order.orderKey);
	const unitdp = unitDecimalPlaces(order);
	const { body, raw } = await ctx.client.request(
		'create invoice',
		async (api, tenantId) =>
			await api.createInvoices(tenantId, { invoices: [toModel(draft)] }, false, unitdp, key),
	);
	const created = body.invoices?.[0];
	if (!created)
		throw new XeroApiError({
			message: 'Xero returned no invoice',
			status: 502,
			reason: 'unavailable',
			retryable: true,
		});
	if (created.hasErrors || !created.invoiceID) {
		const messages = describeResultErrors({ raw: rawElement(raw, 'Invoices', 0), model: created });
		// Someone else created the number between our search and our write: that is a dedupe.
		if (settings.invoiceNumber && messages.some(isDuplicateNumberMessage)) {
			const numbered = await existingByNumber(ctx, settings.invoiceNumber);
			if (numbered) return toOutcome(numbered, { createdNow: false });
		}
		throw invoiceValidationError(order, messages);
	}
	return toOutcome(created, { createdNow: true });
}

function invoiceValidationError(order: Order, messages: string[]): XeroApiError {
	return new XeroApiError({
		message: `Xero rejected the invoice for ${order.reference}: ${messages.join('; ')}`,
		status: 400,
		reason: 'validation',
		retryable: false,
		messages,
	});
}

export type BatchOutcome<T> = { ok: true; value: T } | { ok: false; error: XeroApiError };

/**
 * Creates up to 50 invoices with one PUT (`summarizeErrors=false`), after one search for those
 * already made. Each order gets its own outcome in input order; one bad invoice fails alone.
 *
 * @throws XeroApiError only when the whole call fails (rate limit, outage, auth).
 */
export async function createInvoicesBatch(
	ctx: OperationContext,
	entries: Array<{ order: Order; settings: InvoiceSettings }>,
): Promise<Array<BatchOutcome<InvoiceOutcome>>> {
	if (entries.length > 50) throw new RangeError('Xero takes at most 50 invoices per call');
	const outcomes: Array<BatchOutcome<InvoiceOutcome> | undefined> = entries.map(() => undefined);
	const seenBefore = await Promise.all(
		entries.map(async (e) => await mayHaveEarlierInvoice(ctx, e.order)),
	);
	const existing = await existingByReference(ctx, [
		...new Set(entries.filter((_, i) => seenBefore[i]).map((e) => e.order.reference)),
	]);

	const toCreate: Array<{ index: number; draft: InvoiceDraft; order: Order }> = [];
	const claimed = new Set<string>();
	for (const [index, { order, settings }] of entries.entries()) {
		const found = existing.get(order.reference);
		if (found) {
			outcomes[index] = { ok: true, value: toOutcome(found, { createdNow: false }) };
			continue;
		}
		// Two items for the same order in one batch: the second reports the first's invoice.
		if (claimed.has(order.reference)) continue;
		claimed.add(order.reference);
		try {
			const contact = await findOrCreateContact(ctx, order.customer);
			toCreate.push({
				index,
				order,
				draft: buildInvoice({ order, contactId: contact.contactId, settings }),
			});
		} catch (error) {
			if (!(error instanceof XeroApiError) || error.retryable) throw error;
			outcomes[index] = { ok: false, error };
		}
	}

	if (toCreate.length) {
		const key = idempotencyKey('invoices', ...toCreate.map((c) => c.order.orderKey));
		const unitdp = toCreate.some((c) => unitDecimalPlaces(c.order) === 4) ? 4 : 2;
		const { body, raw } = await ctx.client.request(
			'create invoices',
			async (api, tenantId) =>
				await api.createInvoices(
					tenantId,
					{ invoices: toCreate.map((c) => toModel(c.draft)) },
					false,
					unitdp,
					key,
				),
		);
		const results: Invoices['invoices'] = body.invoices ?? [];
		toCreate.forEach((entry, position) => {
			const result = results[position];
			if (result && !result.hasErrors && result.invoiceID) {
				outcomes[entry.index] = { ok: true, value: toOutcome(result, { createdNow: true }) };
			} else {
				const messages = result
					? describeResultErrors({ raw: rawElement(raw, 'Invoices', position), model: result })
					: ['Xero returned no result for this invoice'];
				outcomes[entry.index] = { ok: false, error: invoiceValidationError(entry.order, messages) };
			}
		});
	}

	return entries.map((entry, index) => {
		const outcome = outcomes[index];
		if (outcome) return outcome;
		const first = entries.findIndex((e) => e.order.reference === entry.order.reference);
		const sibling = outcomes[first];
		if (sibling?.ok)
			return { ok: true, value: { ...sibling.value, createdNow: false, alreadyExisted: true } };
		return sibling ?? { ok: false, error: invoiceValidationError(entry.order, ['no outcome']) };
	});
}

/**
 * Reads one invoice by id or number.
 *
 * @throws XeroApiError (`not_found` when Xero has no such invoice).
 */
export async function getInvoice(ctx: OperationContext, invoiceId: string): Promise<Invoice> {
	const { body } = await ctx.client.request(
		'get invoice',
		async (api, tenantId) => await api.getInvoice(tenantId, invoiceId),
	);
	const invoice = body.invoices?.[0];
	if (!invoice)
		throw new XeroApiError({
			message: `Xero has no invoice ${invoiceId}`,
			status: 404,
			reason: 'not_found',
			retryable: false,
		});
	return invoice;
}

export type StatusAction = 'authorise' | 'void';

/**
 * Authorises a draft, or voids an invoice for compensation. A draft cannot be voided in Xero, so
 * "void" deletes a draft instead. Already in the target state: returned unchanged.
 *
 * @throws XeroApiError, e.g. validation when a paid invoice is voided.
 */
export async function updateInvoiceStatus(
	ctx: OperationContext,
	input: { invoiceId: string; action: StatusAction },
): Promise<InvoiceOutcome & { previousStatus: string }> {
	const current = await getInvoice(ctx, input.invoiceId);
	const previousStatus = String(current.status);
	const target =
		input.action === 'authorise'
			? 'AUTHORISED'
			: previousStatus === 'DRAFT' || previousStatus === 'SUBMITTED'
				? 'DELETED'
				: 'VOIDED';
	if (
		previousStatus === target ||
		(input.action === 'void' && ['VOIDED', 'DELETED'].includes(previousStatus))
	) {
		return { ...toOutcome(current, { createdNow: false }), alreadyExisted: true, previousStatus };
	}
	const invoiceId = current.invoiceID ?? input.invoiceId;
	const key = idempotencyKey('invoice-status', invoiceId, target);
	const update: Invoices = {
		invoices: [{ invoiceID: invoiceId, status: target as unknown as Invoice.StatusEnum }],
	};
	const { body, raw } = await ctx.client.request(
		`set invoice status to ${target}`,
		async (api, tenantId) => await api.updateInvoice(tenantId, invoiceId, update, undefined, key),
	);
	const updated = body.invoices?.[0];
	if (!updated || updated.hasErrors) {
		const messages = updated
			? describeResultErrors({ raw: rawElement(raw, 'Invoices', 0), model: updated })
			: ['Xero returned no invoice'];
		throw new XeroApiError({
			message: `Xero refused to set invoice ${current.invoiceNumber ?? invoiceId} to ${target}: ${messages.join('; ')}`,
			status: 400,
			reason: 'validation',
			retryable: false,
			messages,
		});
	}
	return { ...toOutcome(updated, { createdNow: false }), alreadyExisted: false, previousStatus };
}
