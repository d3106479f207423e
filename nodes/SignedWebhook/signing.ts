/**
 * Signing helpers, one per preset: they produce exactly the headers the verifier checks.
 *
 * They exist so that tests, the demo sender and users' own senders (a Salesforce callout, a
 * script replaying a delivery) sign the way the node verifies, from the same scheme rules.
 * Each returns a plain header object to merge into the request; send `body` as the exact bytes
 * that were signed.
 */

import type { HmacAlgorithm, SignatureEncoding } from './bytes';
import { encodeSignature } from './bytes';
import type { GenericSettings, Scheme } from './presets';
import { GENERIC_DEFAULTS, schemeFor } from './presets';
import { expectedMac } from './verify';

export type SignedHeaders = Record<string, string>;

/** The body to sign: a string is signed as its UTF-8 bytes. */
export type SignableBody = string | Buffer;

const toBytes = (body: SignableBody): Buffer =>
	Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

function sign(options: {
	scheme: Scheme;
	secret: string;
	body: SignableBody;
	timestamp?: string;
	messageId?: string;
}): string {
	const { scheme } = options;
	const mac = expectedMac({
		scheme,
		secret: options.secret,
		chunks: [scheme.signedPrefix(options), toBytes(options.body)],
	});
	return encodeSignature({ bytes: mac, encoding: scheme.encoding });
}

/**
 * Signs for the Generic preset.
 *
 * @returns `{ [signatureHeader]: prefix + MAC }`, plus the delivery-id header when `deliveryId`
 * is given. Defaults match {@link GENERIC_DEFAULTS}: base64 HMAC-SHA256 of the body in
 * `x-clickdone-signature`.
 */
export function signGeneric(options: {
	secret: string;
	body: SignableBody;
	signatureHeader?: string;
	algorithm?: HmacAlgorithm;
	encoding?: SignatureEncoding;
	prefix?: string;
	deliveryIdHeader?: string;
	deliveryId?: string;
}): SignedHeaders {
	const settings: GenericSettings = {
		signatureHeader: options.signatureHeader ?? GENERIC_DEFAULTS.signatureHeader,
		algorithm: options.algorithm ?? GENERIC_DEFAULTS.algorithm,
		encoding: options.encoding ?? GENERIC_DEFAULTS.encoding,
		prefix: options.prefix ?? GENERIC_DEFAULTS.prefix,
		deliveryIdHeader: options.deliveryIdHeader ?? GENERIC_DEFAULTS.deliveryIdHeader,
	};
	const scheme = schemeFor({ preset: 'generic', generic: settings });
	const headers: SignedHeaders = {
		[settings.signatureHeader.toLowerCase()]: settings.prefix + sign({ scheme, ...options }),
	};
	if (options.deliveryId !== undefined) {
		headers[settings.deliveryIdHeader.toLowerCase()] = options.deliveryId;
	}
	return headers;
}

/**
 * Signs like Xero: base64 HMAC-SHA256 of the body, keyed with the webhook key as text.
 *
 * @returns `{ 'x-xero-signature': ... }`.
 */
export function signXero(options: { webhookKey: string; body: SignableBody }): SignedHeaders {
	const scheme = schemeFor({ preset: 'xero' });
	return { 'x-xero-signature': sign({ scheme, secret: options.webhookKey, body: options.body }) };
}

/**
 * Signs like Stripe: hex HMAC-SHA256 of `<t>.<body>`, keyed with the whole `whsec_...` string.
 *
 * @returns `{ 'stripe-signature': 't=<t>,v1=<mac>' }`; with `extraSecrets`, one more `v1=`
 * entry per secret, the way Stripe signs while an endpoint secret is being rolled.
 */
export function signStripe(options: {
	secret: string;
	body: SignableBody;
	/** Unix seconds. @default now */
	timestamp?: number;
	extraSecrets?: string[];
}): SignedHeaders {
	const scheme = schemeFor({ preset: 'stripe' });
	const timestamp = String(options.timestamp ?? nowSeconds());
	const entries = [options.secret, ...(options.extraSecrets ?? [])].map(
		(secret) => `v1=${sign({ scheme, secret, body: options.body, timestamp })}`,
	);
	return { 'stripe-signature': [`t=${timestamp}`, ...entries].join(',') };
}

/**
 * Signs like GitHub: hex HMAC-SHA256 of the body.
 *
 * @returns `{ 'x-hub-signature-256': 'sha256=<hex>' }`, plus `x-github-delivery` when given.
 */
export function signGithub(options: {
	secret: string;
	body: SignableBody;
	deliveryId?: string;
}): SignedHeaders {
	const scheme = schemeFor({ preset: 'github' });
	const headers: SignedHeaders = {
		'x-hub-signature-256': `sha256=${sign({ scheme, secret: options.secret, body: options.body })}`,
	};
	if (options.deliveryId !== undefined) headers['x-github-delivery'] = options.deliveryId;
	return headers;
}

/**
 * Signs like Shopify: base64 HMAC-SHA256 of the body, keyed with the app's client secret.
 *
 * @returns `{ 'x-shopify-hmac-sha256': ... }`, plus `x-shopify-webhook-id` when given.
 */
export function signShopify(options: {
	secret: string;
	body: SignableBody;
	webhookId?: string;
}): SignedHeaders {
	const scheme = schemeFor({ preset: 'shopify' });
	const headers: SignedHeaders = {
		'x-shopify-hmac-sha256': sign({ scheme, secret: options.secret, body: options.body }),
	};
	if (options.webhookId !== undefined) headers['x-shopify-webhook-id'] = options.webhookId;
	return headers;
}

/**
 * Signs like Slack: hex HMAC-SHA256 of `v0:<timestamp>:<body>`.
 *
 * @returns `{ 'x-slack-signature': 'v0=<hex>', 'x-slack-request-timestamp': '<t>' }`.
 */
export function signSlack(options: {
	secret: string;
	body: SignableBody;
	/** Unix seconds. @default now */
	timestamp?: number;
}): SignedHeaders {
	const scheme = schemeFor({ preset: 'slack' });
	const timestamp = String(options.timestamp ?? nowSeconds());
	return {
		'x-slack-signature': `v0=${sign({ scheme, secret: options.secret, body: options.body, timestamp })}`,
		'x-slack-request-timestamp': timestamp,
	};
}

/**
 * Signs per the Standard Webhooks spec: base64 HMAC-SHA256 of `<id>.<timestamp>.<body>`, keyed
 * with the base64-decoded secret (a `whsec_` prefix is dropped first).
 *
 * @returns `webhook-id`, `webhook-timestamp` and `webhook-signature: v1,<mac>` headers. Throws
 * `SecretFormatError` when the secret is not base64.
 */
export function signStandardWebhooks(options: {
	secret: string;
	id: string;
	body: SignableBody;
	/** Unix seconds. @default now */
	timestamp?: number;
}): SignedHeaders {
	const scheme = schemeFor({ preset: 'standardWebhooks' });
	const timestamp = String(options.timestamp ?? nowSeconds());
	const mac = sign({
		scheme,
		secret: options.secret,
		body: options.body,
		timestamp,
		messageId: options.id,
	});
	return {
		'webhook-id': options.id,
		'webhook-timestamp': timestamp,
		'webhook-signature': `v1,${mac}`,
	};
}
