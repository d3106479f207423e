import { z } from 'zod';

/**
 * The normalised order: what the Salesforce node emits for a won opportunity and what the
 * Inventory and Xero nodes take in. Defined once here so the three nodes cannot drift apart.
 */

const nonBlank = z.string().trim().min(1);

export const orderLineSchema = z.object({
	/** Product code; the Inventory node's SKU and Xero's ItemCode. */
	sku: nonBlank.max(64),
	name: z.string().max(255).optional(),
	description: z.string().max(4000).optional(),
	quantity: z.number().finite().positive(),
	/** Price per unit before discount, in the order currency. */
	unitPrice: z.number().finite().nonnegative(),
	/** Percentage discount on the line, 0–100. */
	discountPercent: z.number().min(0).max(100).optional(),
	/** The line total as the source system computed it, after discount. */
	totalPrice: z.number().finite().optional(),
});

export const addressSchema = z.object({
	street: z.string().optional(),
	city: z.string().optional(),
	region: z.string().optional(),
	postalCode: z.string().optional(),
	country: z.string().optional(),
});

export const customerSchema = z.object({
	name: nonBlank.max(255),
	accountNumber: z.string().trim().max(50).optional(),
	email: z.string().trim().email().optional(),
	/** The customer's id in the source system, e.g. the Salesforce Account Id. */
	externalId: z.string().optional(),
	billingAddress: addressSchema.optional(),
});

export const orderSchema = z.object({
	/** Stable key of the business event, e.g. `sf:opp:006xx:closed-won`. Every step keys on it. */
	orderKey: nonBlank.max(200),
	/** Shown to the customer and searched for dedupe, e.g. the opportunity id. */
	reference: nonBlank.max(255),
	/** ISO 4217 code, upper case. */
	currency: z
		.string()
		.trim()
		.regex(/^[A-Z]{3}$/, 'must be a three-letter ISO 4217 code in upper case, e.g. "USD"'),
	/** YYYY-MM-DD */
	closeDate: z
		.string()
		.regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date as YYYY-MM-DD')
		.optional(),
	amount: z.number().finite().optional(),
	customer: customerSchema,
	lines: z.array(orderLineSchema).min(1, 'an order needs at least one line'),
	source: z
		.object({
			system: z.string(),
			id: z.string(),
			stage: z.string().optional(),
		})
		.optional(),
});

export type OrderLine = z.infer<typeof orderLineSchema>;
export type Customer = z.infer<typeof customerSchema>;
export type Order = z.infer<typeof orderSchema>;

export type ParseResult<T> = { ok: true; value: T } | { ok: false; problems: string[] };

/**
 * Validates untrusted JSON as an order.
 *
 * @returns the parsed order, or readable problems such as `lines[1].quantity: must be > 0`;
 * never throws.
 */
export function parseOrder(input: unknown): ParseResult<Order> {
	const result = orderSchema.safeParse(input);
	if (result.success) return { ok: true, value: result.data };
	return { ok: false, problems: formatZodIssues(result.error.issues) };
}

/** Turns zod issues into `path: message` lines a user can act on. */
export function formatZodIssues(issues: z.ZodIssue[]): string[] {
	return issues.map((issue) => {
		const path = issue.path
			.map((part, index) =>
				typeof part === 'number' ? `[${part}]` : index === 0 ? part : `.${part}`,
			)
			.join('');
		return path ? `${path}: ${issue.message}` : issue.message;
	});
}
