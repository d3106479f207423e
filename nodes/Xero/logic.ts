import { createHash } from 'node:crypto';
import { z } from 'zod';

import { formatZodIssues, orderSchema, type Customer, type Order } from '../shared/order';

/**
 * Pure rules of the Dealflow Xero node: how an order becomes a Xero invoice, how keys and
 * searches are built, and how Xero's error bodies read to a person. No n8n and no network here,
 * so every rule is testable on its own.
 */

export const XERO_IDEMPOTENCY_KEY_MAX = 128;
/** Xero accepts up to 50 invoices in one PUT before it slows down or rejects the request. */
export const XERO_MAX_BATCH = 50;

export type InvoiceStatusChoice = 'DRAFT' | 'AUTHORISED';

export interface LineMapping {
	/** The order line's SKU this rule applies to; `*` matches every line. */
	sku: string;
	accountCode?: string;
	taxType?: string;
	itemCode?: string;
}

export const invoiceSettingsSchema = z.object({
	status: z.enum(['DRAFT', 'AUTHORISED']),
	accountCode: z.string().trim().min(1, 'a default account code is required, e.g. "200"'),
	taxType: z.string().trim().optional(),
	useSkuAsItemCode: z.boolean(),
	paymentTerms: z.discriminatedUnion('type', [
		z.object({ type: z.literal('daysAfterInvoiceDate'), days: z.number().int().min(0).max(365) }),
		z.object({ type: z.literal('dayOfFollowingMonth'), day: z.number().int().min(1).max(31) }),
	]),
	lineAmountTypes: z.enum(['Exclusive', 'Inclusive', 'NoTax']),
	lineMappings: z.array(
		z.object({
			sku: z.string().trim().min(1),
			accountCode: z.string().trim().optional(),
			taxType: z.string().trim().optional(),
			itemCode: z.string().trim().optional(),
		}),
	),
	/** Set when the order dictates the number; Xero then enforces uniqueness for us. */
	invoiceNumber: z.string().trim().max(255).optional(),
});

export type InvoiceSettings = z.infer<typeof invoiceSettingsSchema>;

/** The invoice as xero-node's models take it (camelCase; xero-node maps to Xero's PascalCase). */
export interface InvoiceDraft {
	type: 'ACCREC';
	contact: { contactID: string };
	lineItems: Array<{
		description: string;
		quantity: number;
		unitAmount: number;
		itemCode?: string;
		accountCode: string;
		taxType?: string;
		discountRate?: number;
	}>;
	date: string;
	dueDate: string;
	reference: string;
	invoiceNumber?: string;
	status: InvoiceStatusChoice;
	currencyCode: string;
	lineAmountTypes: 'Exclusive' | 'Inclusive' | 'NoTax';
}

export type Checked<T> = { ok: true; value: T } | { ok: false; problems: string[] };

/**
 * Validates an order and the node's invoice settings before any call is made.
 *
 * @returns the parsed values or a list of readable problems; never throws.
 */
export function checkOrderForInvoice(
	orderInput: unknown,
	settingsInput: unknown,
): Checked<{ order: Order; settings: InvoiceSettings }> {
	const order = orderSchema.safeParse(orderInput);
	const settings = invoiceSettingsSchema.safeParse(settingsInput);
	const problems = [
		...(order.success ? [] : formatZodIssues(order.error.issues)),
		...(settings.success ? [] : formatZodIssues(settings.error.issues)),
	];
	if (!order.success || !settings.success) return { ok: false, problems };
	return { ok: true, value: { order: order.data, settings: settings.data } };
}

/** Xero rounds unit amounts to 2 decimals unless asked for 4 with `unitdp=4`. */
export function unitDecimalPlaces(order: Pick<Order, 'lines'>): 2 | 4 {
	return order.lines.some((line) => !Number.isInteger(Math.round(line.unitPrice * 1e6) / 1e4))
		? 4
		: 2;
}

/** The invoice date: the order's close date when present, else today in UTC (YYYY-MM-DD). */
export function invoiceDate(order: Pick<Order, 'closeDate'>, now: Date = new Date()): string {
	return order.closeDate ?? now.toISOString().slice(0, 10);
}

/** The due date from payment terms, as YYYY-MM-DD in UTC. */
export function dueDate(date: string, terms: InvoiceSettings['paymentTerms']): string {
	const [year, month, day] = date.split('-').map(Number);
	if (terms.type === 'daysAfterInvoiceDate') {
		return new Date(Date.UTC(year, month - 1, day + terms.days)).toISOString().slice(0, 10);
	}
	// Day 31 of a 30-day month means its last day, as Xero's own terms do.
	const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
	return new Date(Date.UTC(year, month, Math.min(terms.day, lastDay))).toISOString().slice(0, 10);
}

/** The mapping for a SKU, field by field: the SKU's own rule first, then the `*` rule. */
function mappingFor(sku: string, mappings: LineMapping[]): Omit<LineMapping, 'sku'> {
	const exact = mappings.find((m) => m.sku === sku);
	const wildcard = mappings.find((m) => m.sku === '*');
	return {
		accountCode: exact?.accountCode || wildcard?.accountCode,
		taxType: exact?.taxType || wildcard?.taxType,
		itemCode: exact?.itemCode || wildcard?.itemCode,
	};
}

/**
 * Builds the Xero invoice for an order; deterministic for the same order and settings, which the
 * Idempotency-Key relies on (Xero rejects a reused key with a different body).
 */
export function buildInvoice(options: {
	order: Order;
	contactId: string;
	settings: InvoiceSettings;
	now?: Date;
}): InvoiceDraft {
	const { order, contactId, settings } = options;
	const date = invoiceDate(order, options.now);
	return {
		type: 'ACCREC',
		contact: { contactID: contactId },
		lineItems: order.lines.map((line) => {
			const mapping = mappingFor(line.sku, settings.lineMappings);
			const itemCode = mapping.itemCode || (settings.useSkuAsItemCode ? line.sku : undefined);
			const taxType = mapping.taxType || settings.taxType || undefined;
			return {
				description: line.description || line.name || line.sku,
				quantity: line.quantity,
				unitAmount: line.unitPrice,
				...(itemCode ? { itemCode } : {}),
				accountCode: mapping.accountCode || settings.accountCode,
				...(taxType ? { taxType } : {}),
				...(line.discountPercent ? { discountRate: line.discountPercent } : {}),
			};
		}),
		date,
		dueDate: dueDate(date, settings.paymentTerms),
		reference: order.reference,
		...(settings.invoiceNumber ? { invoiceNumber: settings.invoiceNumber } : {}),
		status: settings.status,
		currencyCode: order.currency,
		lineAmountTypes: settings.lineAmountTypes,
	};
}

/**
 * An Idempotency-Key for a write, at most 128 characters: readable when the parts fit, else a
 * SHA-256 of them. The same parts always give the same key.
 */
export function idempotencyKey(kind: string, ...parts: string[]): string {
	const readable = `dealflow:${kind}:${parts.join(':')}`;
	if (readable.length <= XERO_IDEMPOTENCY_KEY_MAX && /^[\x21-\x7e]+$/.test(readable)) {
		return readable;
	}
	const digest = createHash('sha256').update(parts.join('\u0000')).digest('hex');
	return `dealflow:${kind}:sha256:${digest}`;
}

/** Quotes a value for Xero's `where` syntax, escaping backslashes and double quotes. */
export function whereString(value: string): string {
	return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * The `where` filter that finds invoices this node already made for these references: sales
 * invoices not deleted or voided, so a compensated (voided) order can be billed again. With
 * several references the clause stays a flat list of ORs and the caller filters type and status.
 */
export function invoicesByReferenceWhere(references: string[]): string {
	const anyReference = references.map((ref) => `Reference==${whereString(ref)}`).join(' OR ');
	const single = references.length === 1;
	return single
		? `Type=="ACCREC" AND Status!="DELETED" AND Status!="VOIDED" AND ${anyReference}`
		: anyReference;
}

/** Statuses that count as "this order is already invoiced". */
export function isLiveInvoiceStatus(status: unknown): boolean {
	return status !== 'DELETED' && status !== 'VOIDED';
}

/**
 * The clauses that find a customer's contact, most reliable first: account number, then email,
 * then name. Sent as one `where` joined by OR, so a lookup costs one call.
 */
export function contactSearches(customer: Customer): string[] {
	const searches: string[] = [];
	if (customer.accountNumber)
		searches.push(`AccountNumber==${whereString(customer.accountNumber)}`);
	if (customer.email) searches.push(`EmailAddress==${whereString(customer.email)}`);
	searches.push(`Name==${whereString(customer.name)}`);
	return searches;
}

/**
 * Picks the customer's contact among search results, most reliable match first: account number,
 * then email, then name (case-insensitive, as Xero compares). Archived contacts never match.
 *
 * @returns the matching contact, or `undefined`.
 */
export function pickContact<
	C extends { accountNumber?: string; emailAddress?: string; name?: string; archived: boolean },
>(customer: Customer, candidates: C[]): C | undefined {
	const live = candidates.filter((c) => !c.archived);
	const same = (a: string | undefined, b: string | undefined) =>
		!!a && !!b && a.trim().toLowerCase() === b.trim().toLowerCase();
	return (
		(customer.accountNumber
			? live.find((c) => same(c.accountNumber, customer.accountNumber))
			: undefined) ??
		(customer.email ? live.find((c) => same(c.emailAddress, customer.email)) : undefined) ??
		live.find((c) => same(c.name, customer.name))
	);
}

/** A stable, secret-free cache key for a customer within a tenant. */
export function contactCacheKey(tenantId: string, customer: Customer): string {
	const identity = [
		customer.accountNumber ?? '',
		customer.email?.toLowerCase() ?? '',
		customer.name,
	];
	const digest = createHash('sha256').update(identity.join('\u0000')).digest('hex').slice(0, 32);
	return `${tenantId || 'default'}:${digest}`;
}

/** The contact to create when no search finds one. */
export function contactFromCustomer(customer: Customer): Record<string, unknown> {
	const address = customer.billingAddress;
	return {
		name: customer.name,
		...(customer.accountNumber ? { accountNumber: customer.accountNumber } : {}),
		...(customer.email ? { emailAddress: customer.email } : {}),
		isCustomer: true,
		...(address
			? {
					addresses: [
						{
							addressType: 'POBOX',
							addressLine1: address.street,
							city: address.city,
							region: address.region,
							postalCode: address.postalCode,
							country: address.country,
						},
					],
				}
			: {}),
	};
}

// ---- Xero's error bodies ------------------------------------------------------------------------

const validationErrorsSchema = z
	.array(z.object({ Message: z.string().optional() }).passthrough())
	.optional()
	.catch(undefined);

const elementSchema = z
	.object({
		ValidationErrors: validationErrorsSchema,
		LineItems: z
			.array(z.object({ ValidationErrors: validationErrorsSchema }).passthrough())
			.optional()
			.catch(undefined),
		InvoiceNumber: z.string().optional().catch(undefined),
		Reference: z.string().optional().catch(undefined),
	})
	.passthrough();

const validationBodySchema = z
	.object({
		Type: z.string().optional(),
		Message: z.string().optional(),
		Elements: z.array(elementSchema).optional().catch(undefined),
	})
	.passthrough();

/**
 * Turns one Xero element's validation errors into sentences, naming the line for line errors
 * ("Line 2: Account code '999' is not a valid code for this document.").
 *
 * Xero repeats line messages at the element level; those repeats are dropped.
 */
export function describeElementErrors(element: unknown): string[] {
	const parsed = elementSchema.safeParse(element);
	if (!parsed.success) return [];
	const lineMessages: string[] = [];
	const seen = new Set<string>();
	(parsed.data.LineItems ?? []).forEach((line, index) => {
		for (const error of line.ValidationErrors ?? []) {
			if (!error.Message) continue;
			seen.add(error.Message);
			lineMessages.push(`Line ${index + 1}: ${error.Message}`);
		}
	});
	const elementMessages = (parsed.data.ValidationErrors ?? [])
		.map((error) => error.Message)
		.filter((message): message is string => !!message && !seen.has(message));
	return [...new Set(elementMessages), ...lineMessages];
}

/**
 * Validation sentences for one element of a 200 response sent with `summarizeErrors=false`.
 * Reads Xero's raw JSON element first, because xero-node's models drop line-level errors, and
 * falls back to the model's own `validationErrors`.
 */
export function describeResultErrors(options: {
	raw: unknown;
	model: { validationErrors?: Array<{ message?: string }> };
}): string[] {
	const fromRaw = describeElementErrors(options.raw);
	if (fromRaw.length) return fromRaw;
	const fromModel = (options.model.validationErrors ?? [])
		.map((e) => e.message)
		.filter((m): m is string => !!m);
	return fromModel.length ? fromModel : ['Xero marked the record as failed without a message'];
}

/** The n-th element of a raw Xero list response (`{ Invoices: [...] }`), if there is one. */
export function rawElement(raw: unknown, collection: string, index: number): unknown {
	if (!raw || typeof raw !== 'object') return undefined;
	const list = (raw as Record<string, unknown>)[collection];
	return Array.isArray(list) ? list[index] : undefined;
}

/**
 * Reads the sentences out of a Xero error body: a ValidationException's elements, or the
 * Title/Detail of an authentication problem, or a plain-text body.
 *
 * @returns at least one sentence; never throws.
 */
export function describeXeroErrorBody(body: unknown): string[] {
	if (typeof body === 'string') return [body.trim() || 'Xero returned an empty error body'];
	const parsed = validationBodySchema.safeParse(body);
	if (!parsed.success) return ['Xero returned an error body that could not be read'];
	const messages = (parsed.data.Elements ?? []).flatMap(describeElementErrors);
	if (messages.length) return messages;
	const { Title, Detail, Message } = parsed.data as Record<string, unknown>;
	const parts = [Message, Title, Detail].filter((p): p is string => typeof p === 'string' && !!p);
	return parts.length ? [parts.join(': ')] : ['Xero returned an error without a message'];
}

/** Whether a message is Xero's duplicate invoice number rejection. */
export function isDuplicateNumberMessage(message: string): boolean {
	return /invoice\s*#\s*must be unique/i.test(message);
}
