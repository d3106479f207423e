/**
 * The delivery id of a verified request: the key the Idempotency Gate dedupes on.
 *
 * Each provider names its deliveries differently (a header, a field of the event, or nothing at
 * all). When the provider's id is absent the id is a SHA-256 of the raw body, which is stable
 * across a provider's retries of the same bytes and different for different payloads.
 */

import { createHash } from 'node:crypto';
import { z } from 'zod';

import { readSingleHeader } from './headers';
import type { DeliveryIdSource } from './presets';

/**
 * Xero sends no delivery id, so one is derived from the events themselves.
 *
 * The hash covers, per event, tenantId, eventCategory, resourceId, eventDateUtc and eventType,
 * sorted so that event order does not matter. It leaves out `entropy` and the sequence numbers:
 * those describe one HTTP send, and a redelivery of the same events must get the same id.
 */
const xeroPayloadSchema = z.object({
	events: z
		.array(
			z
				.object({
					resourceId: z.string(),
					eventDateUtc: z.string(),
					eventType: z.string(),
					eventCategory: z.string(),
					tenantId: z.string().optional(),
				})
				.passthrough(),
		)
		.min(1),
});

/**
 * A SHA-256 of the raw body, written `sha256:<hex>`.
 *
 * @returns the id; never throws.
 */
export function bodyHashId(rawBody: Buffer): string {
	return `sha256:${createHash('sha256').update(rawBody).digest('hex')}`;
}

/**
 * The id Xero events are known by; see {@link xeroPayloadSchema} for what it covers.
 *
 * @returns `xero:<hex>`, or `undefined` when the body holds no well-formed events.
 */
export function xeroDeliveryId(body: unknown): string | undefined {
	const parsed = xeroPayloadSchema.safeParse(body);
	if (!parsed.success) return undefined;
	const keys = parsed.data.events
		.map((event) =>
			[
				event.tenantId ?? '',
				event.eventCategory,
				event.resourceId,
				event.eventDateUtc,
				event.eventType,
			].join('\u001f'),
		)
		.sort();
	return `xero:${createHash('sha256').update(keys.join('\u001e')).digest('hex')}`;
}

/**
 * Whether a verified Xero body is an Intent to Receive probe: a payload with an empty events
 * list, which Xero sends when a subscription is created or re-enabled.
 */
export function isXeroIntentToReceive(body: unknown): boolean {
	if (body === null || typeof body !== 'object' || Array.isArray(body)) return false;
	const events = (body as Record<string, unknown>).events;
	return Array.isArray(events) && events.length === 0;
}

/**
 * The delivery id for a verified request.
 *
 * @returns the provider's id when it sent one, otherwise {@link bodyHashId}. Never throws.
 */
export function deliveryIdFor(options: {
	source: DeliveryIdSource;
	headers: unknown;
	body: unknown;
	rawBody: Buffer;
}): string {
	const { source, headers, body, rawBody } = options;
	let id: string | undefined;

	if (source.from === 'header') {
		const read = readSingleHeader({ headers, name: source.name });
		if (read.kind === 'value') id = read.value;
	} else if (source.from === 'bodyField') {
		if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
			const value = (body as Record<string, unknown>)[source.field];
			if ((typeof value === 'string' && value.length > 0) || typeof value === 'number') {
				id = String(value);
			}
		}
	} else {
		id = xeroDeliveryId(body);
	}
	return id ?? bodyHashId(rawBody);
}
