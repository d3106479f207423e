import fc from 'fast-check';

import type { PresetName } from '../../../nodes/SignedWebhook/presets';
import { PRESET_NAMES, schemeFor } from '../../../nodes/SignedWebhook/presets';
import { decideRequest, precheckRequest } from '../../../nodes/SignedWebhook/request';
import type { SignedHeaders } from '../../../nodes/SignedWebhook/signing';
import {
	signGeneric,
	signGithub,
	signShopify,
	signSlack,
	signStandardWebhooks,
	signStripe,
	signXero,
} from '../../../nodes/SignedWebhook/signing';
import { verifySignature } from '../../../nodes/SignedWebhook/verify';

const NOW = 1_760_000_000;
const SW_SECRET = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;

/** Signs like each provider, with the signature-carrying header and any timestamp header named. */
const presets: Record<
	PresetName,
	{
		sign: (options: { secret: string; body: Buffer; timestamp: number }) => SignedHeaders;
		signatureHeader: string;
		/** What precedes the encoded MAC inside the header value. */
		macAfter: string;
		timestamp?: { header: string; rewrite: (value: string, next: string) => string };
		hex: boolean;
	}
> = {
	generic: {
		sign: ({ secret, body }) => signGeneric({ secret, body }),
		signatureHeader: 'x-clickdone-signature',
		macAfter: '',
		hex: false,
	},
	xero: {
		sign: ({ secret, body }) => signXero({ webhookKey: secret, body }),
		signatureHeader: 'x-xero-signature',
		macAfter: '',
		hex: false,
	},
	github: {
		sign: ({ secret, body }) => signGithub({ secret, body }),
		signatureHeader: 'x-hub-signature-256',
		macAfter: 'sha256=',
		hex: true,
	},
	shopify: {
		sign: ({ secret, body }) => signShopify({ secret, body }),
		signatureHeader: 'x-shopify-hmac-sha256',
		macAfter: '',
		hex: false,
	},
	stripe: {
		sign: (options) => signStripe(options),
		signatureHeader: 'stripe-signature',
		macAfter: ',v1=',
		timestamp: {
			header: 'stripe-signature',
			rewrite: (value, next) => value.replace(/^t=\d+/, `t=${next}`),
		},
		hex: true,
	},
	slack: {
		sign: (options) => signSlack(options),
		signatureHeader: 'x-slack-signature',
		macAfter: 'v0=',
		timestamp: { header: 'x-slack-request-timestamp', rewrite: (_value, next) => next },
		hex: true,
	},
	standardWebhooks: {
		sign: ({ body, timestamp }) =>
			signStandardWebhooks({ secret: SW_SECRET, id: 'msg_1', body, timestamp }),
		signatureHeader: 'webhook-signature',
		macAfter: 'v1,',
		timestamp: { header: 'webhook-timestamp', rewrite: (_value, next) => next },
		hex: false,
	},
};

const secretFor = (preset: PresetName, secret: string) =>
	preset === 'standardWebhooks' ? SW_SECRET : secret;

function verify(options: { preset: PresetName; headers: unknown; body: Buffer; secret: string }) {
	return verifySignature({
		scheme: schemeFor({ preset: options.preset }),
		headers: options.headers,
		rawBody: options.body,
		secrets: { current: secretFor(options.preset, options.secret) },
		nowSeconds: NOW,
	});
}

const secretArb = fc.string({ minLength: 1, maxLength: 64, unit: 'binary' });
const bodyArb = fc.uint8Array({ maxLength: 512 }).map((bytes) => Buffer.from(bytes));
const timestampArb = fc.integer({ min: NOW - 200, max: NOW + 200 });

describe.each(PRESET_NAMES)('property: the %s preset', (preset) => {
	const rules = presets[preset];

	it('accepts any body signed with any secret', () => {
		fc.assert(
			fc.property(secretArb, bodyArb, timestampArb, (secret, body, timestamp) => {
				const headers = rules.sign({ secret: secretFor(preset, secret), body, timestamp });
				expect(verify({ preset, headers, body, secret })).toMatchObject({ ok: true });
			}),
		);
	});

	it('rejects any change to the body', () => {
		fc.assert(
			fc.property(secretArb, bodyArb, bodyArb, timestampArb, (secret, body, other, timestamp) => {
				fc.pre(!body.equals(other));
				const headers = rules.sign({ secret: secretFor(preset, secret), body, timestamp });
				expect(verify({ preset, headers, body: other, secret })).toMatchObject({ ok: false });
			}),
		);
	});

	it('rejects any change to the signature', () => {
		fc.assert(
			fc.property(
				secretArb,
				bodyArb,
				timestampArb,
				fc.nat(),
				fc.string({ minLength: 1, maxLength: 3, unit: 'binary' }),
				(secret, body, timestamp, at, inserted) => {
					const headers = rules.sign({ secret: secretFor(preset, secret), body, timestamp });
					// The change lands in the encoded MAC itself: list headers may legitimately carry
					// entries the verifier skips, so junk around the MAC is not a signature change.
					const value = headers[rules.signatureHeader];
					const start = value.indexOf(rules.macAfter) + rules.macAfter.length;
					const original = value.slice(start);
					const index = at % (original.length + 1);
					const deleteCount = at % 2;
					const changed = original.slice(0, index) + inserted + original.slice(index + deleteCount);
					// Hex is read in either case, so a case change is not a change of signature bytes.
					const same = rules.hex
						? changed.toLowerCase() === original.toLowerCase()
						: changed === original;
					fc.pre(!same);
					const tampered = { ...headers, [rules.signatureHeader]: value.slice(0, start) + changed };
					expect(verify({ preset, headers: tampered, body, secret })).toMatchObject({ ok: false });
				},
			),
		);
	});

	if (rules.timestamp) {
		const { header, rewrite } = rules.timestamp;
		it('rejects any change to the timestamp', () => {
			fc.assert(
				fc.property(
					secretArb,
					bodyArb,
					timestampArb,
					fc.oneof(
						timestampArb.map(String),
						fc.nat().map((n) => `0${n}`),
						fc.string({ unit: 'binary' }),
					),
					(secret, body, timestamp, next) => {
						fc.pre(next !== String(timestamp));
						const headers = rules.sign({ secret: secretFor(preset, secret), body, timestamp });
						const tampered = { ...headers, [header]: rewrite(headers[header], next) };
						fc.pre(tampered[header] !== headers[header]);
						expect(verify({ preset, headers: tampered, body, secret })).toMatchObject({
							ok: false,
						});
					},
				),
			);
		});
	}
});

/** Every header name any preset reads, so random values land where the parsers look. */
const knownHeaders = [
	'x-clickdone-signature',
	'x-clickdone-delivery-id',
	'x-xero-signature',
	'x-hub-signature-256',
	'x-github-delivery',
	'x-shopify-hmac-sha256',
	'x-shopify-webhook-id',
	'stripe-signature',
	'x-slack-signature',
	'x-slack-request-timestamp',
	'webhook-id',
	'webhook-timestamp',
	'webhook-signature',
	'content-type',
	'content-length',
	'__proto__',
	'constructor',
];

const headerValueArb = fc.oneof(
	fc.string({ unit: 'binary' }),
	fc.string({ unit: 'grapheme' }),
	fc.constantFrom(
		'',
		' ',
		'v1,',
		't=,v1=',
		'sha256=',
		'v0=',
		'v1, v1,',
		't=1,t=2,v1=00',
		'=',
		',,,',
	),
	fc.array(fc.string({ unit: 'binary' }), { maxLength: 3 }),
	fc.constant(undefined),
	fc.constant(null),
	fc.integer(),
	fc.object({ maxDepth: 1 }),
);

const headersArb = fc.dictionary(
	fc.oneof(fc.constantFrom(...knownHeaders), fc.string({ unit: 'binary' })),
	headerValueArb,
);

describe('property: headers of any shape', () => {
	it('never make verification, pre-checks or decisions throw, for every preset', () => {
		fc.assert(
			fc.property(
				fc.constantFrom(...PRESET_NAMES),
				headersArb,
				bodyArb,
				secretArb,
				(preset, headers, body, secret) => {
					const scheme = schemeFor({ preset });
					const secrets = { current: secretFor(preset, secret) };
					const verdict = verifySignature({
						scheme,
						headers,
						rawBody: body,
						secrets,
						nowSeconds: NOW,
					});
					expect(typeof verdict.ok).toBe('boolean');
					expect(() => precheckRequest({ headers, maxBodyBytes: 1024 })).not.toThrow();
					const decision = decideRequest({
						scheme,
						headers,
						query: {},
						rawBody: body,
						secrets,
						maxBodyBytes: 1 << 20,
						requireJson: false,
						nowSeconds: NOW,
					});
					if (decision.action === 'reject') {
						expect([401, 403, 413]).toContain(decision.status);
					}
				},
			),
			{ numRuns: 500 },
		);
	});

	it('are never accepted without a valid signature', () => {
		fc.assert(
			fc.property(
				fc.constantFrom(...PRESET_NAMES),
				headersArb,
				bodyArb,
				(preset, headers, body) => {
					const verdict = verify({ preset, headers, body, secret: 'secret-nobody-signed-with' });
					expect(verdict.ok).toBe(false);
				},
			),
			{ numRuns: 300 },
		);
	});
});
