/**
 * Each provider's signing rules, written down as data plus a header parser.
 *
 * A scheme answers four questions: which headers carry the signature (and the timestamp or
 * message id, if any), what exact bytes were signed, how the secret becomes the HMAC key, and
 * how far the timestamp may drift. The verifier in `verify.ts` runs the same pipeline for all of
 * them; nothing here looks at the request body.
 */

import type { HmacAlgorithm, SignatureEncoding } from './bytes';
import { decodeBase64Strict } from './bytes';
import { readSingleHeader } from './headers';

export type PresetName =
	| 'generic'
	| 'github'
	| 'shopify'
	| 'slack'
	| 'standardWebhooks'
	| 'stripe'
	| 'xero';

export const PRESET_NAMES: readonly PresetName[] = [
	'generic',
	'github',
	'shopify',
	'slack',
	'standardWebhooks',
	'stripe',
	'xero',
];

/** The configurable part of the Generic preset. */
export interface GenericSettings {
	/** Header that carries the signature, any case. @default 'x-clickdone-signature' */
	signatureHeader: string;
	/** @default 'sha256' */
	algorithm: HmacAlgorithm;
	/** @default 'base64' */
	encoding: SignatureEncoding;
	/** Text before the encoded MAC, e.g. `sha256=`. @default '' */
	prefix: string;
	/** Header that carries the sender's delivery id; a hash of the body when absent. @default 'x-clickdone-delivery-id' */
	deliveryIdHeader: string;
}

/** The scheme in our source design: base64 HMAC-SHA256 of the raw body in `x-clickdone-signature`. */
export const GENERIC_DEFAULTS: Readonly<GenericSettings> = {
	signatureHeader: 'x-clickdone-signature',
	algorithm: 'sha256',
	encoding: 'base64',
	prefix: '',
	deliveryIdHeader: 'x-clickdone-delivery-id',
};

/** What the signature headers of one request say, before any MAC is computed. */
export type ParsedSignature =
	/** A required header or field is absent; `what` names it for the rejection text. */
	| { kind: 'missing'; what: string }
	/** The signature header exists but cannot be read as this scheme writes it. */
	| { kind: 'malformed'; what: string }
	| {
			kind: 'parsed';
			/** Encoded signatures, any of which may match (several during a provider's key roll). */
			candidates: string[];
			/** The timestamp exactly as sent; it is part of the signed bytes for some schemes. */
			timestamp?: string;
			/** Standard Webhooks' `webhook-id`, also part of the signed bytes. */
			messageId?: string;
	  };

/** Where a scheme finds the provider's delivery or event id; see `delivery.ts`. */
export type DeliveryIdSource =
	| { from: 'header'; name: string }
	| { from: 'bodyField'; field: string }
	| { from: 'xeroEvents' };

export interface Scheme {
	preset: PresetName;
	algorithm: HmacAlgorithm;
	encoding: SignatureEncoding;
	/** Lower-case names of every header that carries signature material; redacted in output. */
	signatureHeaders: readonly string[];
	/** Replay window. `past` rejects only old timestamps, `both` also ones from the future. */
	tolerance?: { seconds: number; direction: 'past' | 'both' };
	/** The status for a signature that does not match. Xero's Intent to Receive demands 401. */
	mismatchStatus: 401 | 403;
	deliveryId: DeliveryIdSource;
	/** Reads the signature headers. Never throws. */
	parse(headers: unknown): ParsedSignature;
	/** The bytes signed before the body (empty when only the body is signed). */
	signedPrefix(parts: { timestamp?: string; messageId?: string }): Buffer;
	/** Turns the stored secret into the HMAC key. Throws {@link SecretFormatError}. */
	key(secret: string): Buffer;
}

/** The stored secret cannot be used with this scheme; a setup problem, not a bad request. */
export class SecretFormatError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'SecretFormatError';
	}
}

const EMPTY = Buffer.alloc(0);
const utf8Key = (secret: string): Buffer => Buffer.from(secret, 'utf8');

/** A scheme whose one header holds `<prefix><encoded MAC>` over the raw body alone. */
function bodyOnlyScheme(options: {
	preset: PresetName;
	header: string;
	prefix: string;
	algorithm: HmacAlgorithm;
	encoding: SignatureEncoding;
	mismatchStatus?: 401 | 403;
	deliveryId: DeliveryIdSource;
}): Scheme {
	const { header, prefix } = options;
	return {
		preset: options.preset,
		algorithm: options.algorithm,
		encoding: options.encoding,
		signatureHeaders: [header],
		mismatchStatus: options.mismatchStatus ?? 403,
		deliveryId: options.deliveryId,
		parse(headers) {
			const read = readSingleHeader({ headers, name: header });
			if (read.kind === 'missing') return { kind: 'missing', what: `signature header ${header}` };
			if (read.kind === 'ambiguous' || !read.value.startsWith(prefix)) {
				return { kind: 'malformed', what: `signature header ${header}` };
			}
			return { kind: 'parsed', candidates: [read.value.slice(prefix.length)] };
		},
		signedPrefix: () => EMPTY,
		key: utf8Key,
	};
}

const GITHUB = bodyOnlyScheme({
	preset: 'github',
	header: 'x-hub-signature-256',
	prefix: 'sha256=',
	algorithm: 'sha256',
	encoding: 'hex',
	deliveryId: { from: 'header', name: 'x-github-delivery' },
});

const SHOPIFY = bodyOnlyScheme({
	preset: 'shopify',
	header: 'x-shopify-hmac-sha256',
	prefix: '',
	algorithm: 'sha256',
	encoding: 'base64',
	deliveryId: { from: 'header', name: 'x-shopify-webhook-id' },
});

const XERO = bodyOnlyScheme({
	preset: 'xero',
	header: 'x-xero-signature',
	prefix: '',
	algorithm: 'sha256',
	encoding: 'base64',
	mismatchStatus: 401,
	deliveryId: { from: 'xeroEvents' },
});

const STRIPE_HEADER = 'stripe-signature';

const STRIPE: Scheme = {
	preset: 'stripe',
	algorithm: 'sha256',
	encoding: 'hex',
	signatureHeaders: [STRIPE_HEADER],
	// Stripe's own libraries reject only old events; a future timestamp is the sender's clock.
	tolerance: { seconds: 300, direction: 'past' },
	mismatchStatus: 403,
	deliveryId: { from: 'bodyField', field: 'id' },
	parse(headers) {
		const read = readSingleHeader({ headers, name: STRIPE_HEADER });
		if (read.kind === 'missing') {
			return { kind: 'missing', what: `signature header ${STRIPE_HEADER}` };
		}
		const malformed = { kind: 'malformed', what: `signature header ${STRIPE_HEADER}` } as const;
		if (read.kind === 'ambiguous') return malformed;

		let timestamp: string | undefined;
		const candidates: string[] = [];
		for (const item of read.value.split(',')) {
			const equals = item.indexOf('=');
			if (equals <= 0) continue;
			const name = item.slice(0, equals).trim();
			const value = item.slice(equals + 1).trim();
			if (name === 't') {
				// Two different timestamps leave no single signed content to rebuild.
				if (timestamp !== undefined && timestamp !== value) return malformed;
				timestamp = value;
			} else if (name === 'v1') {
				candidates.push(value);
			}
		}
		if (timestamp === undefined) return { kind: 'missing', what: `timestamp in ${STRIPE_HEADER}` };
		// Only v1 is a live scheme; v0 entries are test-mode signatures with another secret.
		if (candidates.length === 0) return malformed;
		return { kind: 'parsed', candidates, timestamp };
	},
	signedPrefix: ({ timestamp }) => Buffer.from(`${timestamp ?? ''}.`, 'utf8'),
	// The whole `whsec_...` string, prefix included, is the key; it is not decoded.
	key: utf8Key,
};

const SLACK_SIGNATURE = 'x-slack-signature';
const SLACK_TIMESTAMP = 'x-slack-request-timestamp';

const SLACK: Scheme = {
	preset: 'slack',
	algorithm: 'sha256',
	encoding: 'hex',
	signatureHeaders: [SLACK_SIGNATURE],
	tolerance: { seconds: 300, direction: 'both' },
	mismatchStatus: 403,
	deliveryId: { from: 'bodyField', field: 'event_id' },
	parse(headers) {
		const signature = readSingleHeader({ headers, name: SLACK_SIGNATURE });
		if (signature.kind === 'missing') {
			return { kind: 'missing', what: `signature header ${SLACK_SIGNATURE}` };
		}
		if (signature.kind === 'ambiguous' || !signature.value.startsWith('v0=')) {
			return { kind: 'malformed', what: `signature header ${SLACK_SIGNATURE}` };
		}
		const timestamp = readSingleHeader({ headers, name: SLACK_TIMESTAMP });
		if (timestamp.kind === 'missing') return { kind: 'missing', what: `header ${SLACK_TIMESTAMP}` };
		if (timestamp.kind === 'ambiguous') {
			return { kind: 'malformed', what: `header ${SLACK_TIMESTAMP}` };
		}
		return {
			kind: 'parsed',
			candidates: [signature.value.slice('v0='.length)],
			timestamp: timestamp.value,
		};
	},
	signedPrefix: ({ timestamp }) => Buffer.from(`v0:${timestamp ?? ''}:`, 'utf8'),
	key: utf8Key,
};

const SW_ID = 'webhook-id';
const SW_TIMESTAMP = 'webhook-timestamp';
const SW_SIGNATURE = 'webhook-signature';

const STANDARD_WEBHOOKS: Scheme = {
	preset: 'standardWebhooks',
	algorithm: 'sha256',
	encoding: 'base64',
	signatureHeaders: [SW_SIGNATURE],
	tolerance: { seconds: 300, direction: 'both' },
	mismatchStatus: 403,
	deliveryId: { from: 'header', name: SW_ID },
	parse(headers) {
		const signature = readSingleHeader({ headers, name: SW_SIGNATURE });
		if (signature.kind === 'missing') {
			return { kind: 'missing', what: `signature header ${SW_SIGNATURE}` };
		}
		const malformed = { kind: 'malformed', what: `signature header ${SW_SIGNATURE}` } as const;
		if (signature.kind === 'ambiguous') return malformed;

		const candidates: string[] = [];
		for (const entry of signature.value.split(' ')) {
			// Entries for other versions (v1a is asymmetric) are skipped, as the spec asks.
			if (entry.startsWith('v1,')) candidates.push(entry.slice('v1,'.length));
		}
		if (candidates.length === 0) return malformed;

		const id = readSingleHeader({ headers, name: SW_ID });
		if (id.kind === 'missing') return { kind: 'missing', what: `header ${SW_ID}` };
		if (id.kind === 'ambiguous') return { kind: 'malformed', what: `header ${SW_ID}` };
		const timestamp = readSingleHeader({ headers, name: SW_TIMESTAMP });
		if (timestamp.kind === 'missing') return { kind: 'missing', what: `header ${SW_TIMESTAMP}` };
		if (timestamp.kind === 'ambiguous') {
			return { kind: 'malformed', what: `header ${SW_TIMESTAMP}` };
		}
		return { kind: 'parsed', candidates, timestamp: timestamp.value, messageId: id.value };
	},
	signedPrefix: ({ timestamp, messageId }) =>
		Buffer.from(`${messageId ?? ''}.${timestamp ?? ''}.`, 'utf8'),
	key: standardWebhooksKey,
};

/**
 * The Standard Webhooks key: the secret without its `whsec_` prefix, base64-decoded.
 *
 * @returns the key bytes. Throws {@link SecretFormatError} when the rest is not base64.
 */
export function standardWebhooksKey(secret: string): Buffer {
	const encoded = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret;
	const key = decodeBase64Strict(encoded);
	if (!key) {
		throw new SecretFormatError(
			'The Standard Webhooks secret must be "whsec_" followed by base64; check the credential for missing characters or spaces',
		);
	}
	return key;
}

function genericScheme(settings: GenericSettings): Scheme {
	const deliveryHeader = settings.deliveryIdHeader.trim().toLowerCase();
	return bodyOnlyScheme({
		preset: 'generic',
		header: settings.signatureHeader.trim().toLowerCase(),
		prefix: settings.prefix,
		algorithm: settings.algorithm,
		encoding: settings.encoding,
		// An empty header name falls through to the body hash in delivery.ts.
		deliveryId: { from: 'header', name: deliveryHeader },
	});
}

const FIXED: Readonly<Record<Exclude<PresetName, 'generic'>, Scheme>> = {
	github: GITHUB,
	shopify: SHOPIFY,
	slack: SLACK,
	standardWebhooks: STANDARD_WEBHOOKS,
	stripe: STRIPE,
	xero: XERO,
};

const DEFAULT_GENERIC = genericScheme(GENERIC_DEFAULTS);

/**
 * The scheme for a preset. Fixed presets are shared constants; Generic is built from its
 * settings (missing settings take {@link GENERIC_DEFAULTS}).
 *
 * @returns the scheme. Throws only for an unknown preset name (a programming error).
 */
export function schemeFor(options: {
	preset: PresetName;
	generic?: Partial<GenericSettings>;
}): Scheme {
	if (options.preset !== 'generic') {
		const scheme = FIXED[options.preset];
		if (!scheme) throw new Error(`Unknown signature preset "${String(options.preset)}"`);
		return scheme;
	}
	if (!options.generic) return DEFAULT_GENERIC;
	return genericScheme({ ...GENERIC_DEFAULTS, ...pruneEmpty(options.generic) });
}

function pruneEmpty(settings: Partial<GenericSettings>): Partial<GenericSettings> {
	const result: Partial<GenericSettings> = {};
	for (const [key, value] of Object.entries(settings) as Array<[keyof GenericSettings, string]>) {
		// An empty prefix is meaningful; an empty header name is not.
		if (value !== undefined && (value !== '' || key === 'prefix' || key === 'deliveryIdHeader')) {
			(result as Record<string, string>)[key] = value;
		}
	}
	return result;
}
