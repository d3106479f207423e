/**
 * What to do with one incoming request, decided without n8n: reject it with a status and a short
 * text, acknowledge it without starting a workflow, or accept it with the output item.
 *
 * The node file only moves bytes in and out (reads the raw body, writes the response); every
 * rule lives here so it can be tested directly.
 */

import { deliveryIdFor, isXeroIntentToReceive } from './delivery';
import type { RequestHeaders } from './headers';
import { readSingleHeader, redactHeaders } from './headers';
import type { PresetName, Scheme } from './presets';
import type { SecretSlot, SigningSecrets, Verdict } from './verify';
import { verifySignature } from './verify';

/** Headers that hold credentials of their own and never belong in an output item. */
const ALWAYS_REDACTED = ['authorization', 'proxy-authorization', 'cookie'];

export interface Verification {
	preset: PresetName;
	secret: SecretSlot;
	/** The signed timestamp in Unix seconds, or `null` for schemes that sign none. */
	timestamp: number | null;
	deliveryId: string;
}

export interface SignedWebhookOutput {
	/** The parsed JSON body, or the raw text when the body is not JSON. */
	body: unknown;
	headers: Record<string, unknown>;
	query: unknown;
	verification: Verification;
}

export type Decision =
	| { action: 'reject'; status: number; message: string; reason: string }
	/** Answer 200 with an empty body and start nothing (Xero's Intent to Receive probes). */
	| { action: 'acknowledge'; reason: string }
	| { action: 'accept'; output: SignedWebhookOutput };

export type Rejection = Extract<Decision, { action: 'reject' }>;

const tooLarge = (): Rejection => ({
	action: 'reject',
	status: 413,
	message: 'Request body is larger than this webhook accepts',
	reason: 'bodyTooLarge',
});

/**
 * The checks that can run before the body is read: a multipart body (it cannot be verified,
 * because n8n consumes it while parsing) and a declared Content-Length above the maximum.
 *
 * @returns a rejection, or `undefined` to go on reading the body.
 */
export function precheckRequest(options: {
	headers: unknown;
	maxBodyBytes: number;
}): Rejection | undefined {
	const contentType = readSingleHeader({ headers: options.headers, name: 'content-type' });
	if (contentType.kind === 'value' && /^multipart\//i.test(contentType.value)) {
		return {
			action: 'reject',
			status: 415,
			message: 'Multipart bodies cannot be signature-checked; send the payload as the raw body',
			reason: 'multipart',
		};
	}
	const length = readSingleHeader({ headers: options.headers, name: 'content-length' });
	if (length.kind === 'value' && /^\d+$/.test(length.value)) {
		if (Number(length.value) > options.maxBodyBytes) return tooLarge();
	}
	return undefined;
}

/**
 * The rejection for a failed verdict. Texts name what was wrong, never what was expected.
 *
 * @returns status, text and a machine-readable reason for the log.
 */
export function rejectionFor(options: {
	verdict: Extract<Verdict, { ok: false }>;
	scheme: Scheme;
}): Rejection {
	const { verdict, scheme } = options;
	switch (verdict.reason) {
		case 'missing':
			return {
				action: 'reject',
				status: 401,
				message: `Missing ${verdict.what}`,
				reason: 'missing',
			};
		case 'malformed':
			return {
				action: 'reject',
				status: scheme.mismatchStatus,
				message: `Malformed ${verdict.what}`,
				reason: 'malformed',
			};
		case 'invalidTimestamp':
			return {
				action: 'reject',
				status: 401,
				message: 'Timestamp is not a Unix time in whole seconds',
				reason: 'invalidTimestamp',
			};
		case 'outsideTolerance':
			return {
				action: 'reject',
				status: 401,
				message: 'Timestamp is outside the allowed window',
				reason: 'outsideTolerance',
			};
		case 'mismatch':
			return {
				action: 'reject',
				status: scheme.mismatchStatus,
				message: 'Signature does not match',
				reason: 'mismatch',
			};
	}
}

/**
 * Reads a verified body: JSON when it parses, the UTF-8 text otherwise.
 *
 * @returns `{ json: true, value }` or `{ json: false, value: text }`. Never throws.
 */
export function parseBody(rawBody: Buffer): { json: boolean; value: unknown } {
	let text = rawBody.toString('utf8');
	if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
	try {
		return { json: true, value: JSON.parse(text) as unknown };
	} catch {
		return { json: false, value: text };
	}
}

export interface DecideOptions {
	scheme: Scheme;
	headers: RequestHeaders;
	query: unknown;
	rawBody: Buffer;
	secrets: SigningSecrets;
	maxBodyBytes: number;
	/** Whether a verified body that is not JSON is answered 400 instead of passed on as text. */
	requireJson: boolean;
	/** Unix seconds. @default now */
	nowSeconds?: number;
}

/**
 * Decides one request whose raw body has been read.
 *
 * Order: actual size, then the signature over the exact bytes, then (only for a verified body)
 * parsing. Nothing about the body is looked at before the signature holds.
 *
 * @returns the decision. Never throws for anything in the request; throws `SecretFormatError`
 * when a stored secret cannot be used with the scheme.
 */
export function decideRequest(options: DecideOptions): Decision {
	const { scheme, headers, rawBody } = options;
	if (rawBody.length > options.maxBodyBytes) return tooLarge();

	const verdict = verifySignature({
		scheme,
		headers,
		rawBody,
		secrets: options.secrets,
		nowSeconds: options.nowSeconds,
	});
	if (!verdict.ok) return rejectionFor({ verdict, scheme });

	const body = parseBody(rawBody);
	if (!body.json && options.requireJson) {
		return {
			action: 'reject',
			status: 400,
			message: 'Request body is not JSON',
			reason: 'notJson',
		};
	}
	if (scheme.preset === 'xero' && isXeroIntentToReceive(body.value)) {
		return { action: 'acknowledge', reason: 'xeroIntentToReceive' };
	}

	return {
		action: 'accept',
		output: {
			body: body.value,
			headers: redactHeaders({
				headers,
				names: [...scheme.signatureHeaders, ...ALWAYS_REDACTED],
			}),
			query: options.query ?? {},
			verification: {
				preset: scheme.preset,
				secret: verdict.secret,
				timestamp: verdict.timestamp,
				deliveryId: deliveryIdFor({
					source: scheme.deliveryId,
					headers,
					body: body.value,
					rawBody,
				}),
			},
		},
	};
}
