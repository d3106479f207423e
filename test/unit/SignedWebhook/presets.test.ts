import { createHmac } from 'node:crypto';

import type { PresetName } from '../../../nodes/SignedWebhook/presets';
import { schemeFor, SecretFormatError } from '../../../nodes/SignedWebhook/presets';
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
import type { SigningSecrets } from '../../../nodes/SignedWebhook/verify';
import { verifySignature } from '../../../nodes/SignedWebhook/verify';

const NOW = 1_760_000_000;
const BODY = Buffer.from('{"event":"deal.won","amount":"12.50","name":"Zoë"}', 'utf8');
const SW_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

function verify(options: {
	preset: PresetName;
	headers: SignedHeaders | Record<string, unknown>;
	body?: Buffer;
	secrets: SigningSecrets;
	now?: number;
}) {
	return verifySignature({
		scheme: schemeFor({ preset: options.preset }),
		headers: options.headers,
		rawBody: options.body ?? BODY,
		secrets: options.secrets,
		nowSeconds: options.now ?? NOW,
	});
}

/** Each preset signed by its helper, with the secret used. */
const signedRequests: Array<{
	preset: PresetName;
	secret: string;
	sign: (secret: string) => SignedHeaders;
}> = [
	{
		preset: 'generic',
		secret: 'generic-secret',
		sign: (secret) => signGeneric({ secret, body: BODY }),
	},
	{
		preset: 'xero',
		secret: 'xero-webhook-key',
		sign: (secret) => signXero({ webhookKey: secret, body: BODY }),
	},
	{
		preset: 'stripe',
		secret: 'whsec_test_stripe',
		sign: (secret) => signStripe({ secret, body: BODY, timestamp: NOW - 10 }),
	},
	{ preset: 'github', secret: 'gh-secret', sign: (secret) => signGithub({ secret, body: BODY }) },
	{
		preset: 'shopify',
		secret: 'shpss_secret',
		sign: (secret) => signShopify({ secret, body: BODY }),
	},
	{
		preset: 'slack',
		secret: '8f742231b10e8888abcd99yyyzzz85a5',
		sign: (secret) => signSlack({ secret, body: BODY, timestamp: NOW }),
	},
	{
		preset: 'standardWebhooks',
		secret: SW_SECRET,
		sign: (secret) => signStandardWebhooks({ secret, id: 'msg_1', body: BODY, timestamp: NOW }),
	},
];

describe.each(signedRequests)('the $preset preset', ({ preset, secret, sign }) => {
	it('accepts what its signing helper produces, with the current secret', () => {
		const verdict = verify({ preset, headers: sign(secret), secrets: { current: secret } });
		expect(verdict).toMatchObject({ ok: true, secret: 'current' });
	});

	it('accepts a signature made with the previous secret during a rotation', () => {
		const verdict = verify({
			preset,
			headers: sign(secret),
			secrets: {
				current: preset === 'standardWebhooks' ? 'whsec_AAAAAAAA' : 'the-new-one',
				previous: secret,
			},
		});
		expect(verdict).toMatchObject({ ok: true, secret: 'previous' });
	});

	it('rejects a signature made with another secret', () => {
		const other = preset === 'standardWebhooks' ? 'whsec_QUJDREVGR0g=' : `${secret}x`;
		const verdict = verify({ preset, headers: sign(other), secrets: { current: secret } });
		expect(verdict).toEqual({ ok: false, reason: 'mismatch' });
	});

	it('rejects the same signature over a body changed by one byte', () => {
		const changed = Buffer.from(BODY);
		changed[changed.length - 2] ^= 1;
		const verdict = verify({
			preset,
			headers: sign(secret),
			body: changed,
			secrets: { current: secret },
		});
		expect(verdict).toEqual({ ok: false, reason: 'mismatch' });
	});

	it('reports a missing signature header as missing', () => {
		const verdict = verify({ preset, headers: {}, secrets: { current: secret } });
		expect(verdict).toMatchObject({ ok: false, reason: 'missing' });
	});
});

describe('published vectors', () => {
	it("verifies GitHub's documented example", () => {
		// docs.github.com, "Validating webhook deliveries": secret, payload and expected signature.
		const headers = {
			'x-hub-signature-256':
				'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
		};
		expect(
			verify({
				preset: 'github',
				headers,
				body: Buffer.from('Hello, World!'),
				secrets: { current: "It's a Secret to Everybody" },
			}),
		).toEqual({ ok: true, secret: 'current', timestamp: null });
		expect(signGithub({ secret: "It's a Secret to Everybody", body: 'Hello, World!' })).toEqual(
			headers,
		);
	});

	it("verifies Slack's documented example inside its five-minute window", () => {
		// api.slack.com, "Verifying requests from Slack".
		const body =
			'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
		const headers = {
			'x-slack-request-timestamp': '1531420618',
			'x-slack-signature': 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
		};
		const secrets = { current: '8f742231b10e8888abcd99yyyzzz85a5' };
		expect(
			verify({ preset: 'slack', headers, body: Buffer.from(body), secrets, now: 1531420618 + 60 }),
		).toEqual({ ok: true, secret: 'current', timestamp: 1531420618 });
		expect(signSlack({ secret: secrets.current, body, timestamp: 1531420618 })).toEqual(headers);
	});

	it("signs the Standard Webhooks reference library's test vector", () => {
		// standard-webhooks/standard-webhooks, libraries/javascript/src/webhook.test.ts, "sign function works".
		const headers = signStandardWebhooks({
			secret: SW_SECRET,
			id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
			timestamp: 1614265330,
			body: '{"test": 2432232314}',
		});
		expect(headers['webhook-signature']).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
		expect(
			verify({
				preset: 'standardWebhooks',
				headers,
				body: Buffer.from('{"test": 2432232314}'),
				secrets: { current: SW_SECRET },
				now: 1614265330,
			}),
		).toMatchObject({ ok: true });
	});
});

describe('vendor rules that differ between presets', () => {
	it('keys Stripe with the whole whsec_ string, not its decoded form', () => {
		const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
		const mac = createHmac('sha256', secret).update(`${NOW}.`).update(BODY).digest('hex');
		const headers = { 'stripe-signature': `t=${NOW},v1=${mac}` };
		expect(verify({ preset: 'stripe', headers, secrets: { current: secret } })).toMatchObject({
			ok: true,
		});
	});

	it('accepts a Stripe header where any one of several v1 signatures matches', () => {
		const good = signStripe({ secret: 'whsec_a', body: BODY, timestamp: NOW })['stripe-signature'];
		const header = `t=${NOW},v1=${'0'.repeat(64)},v0=${'1'.repeat(64)},${good.split(',')[1]}`;
		expect(
			verify({
				preset: 'stripe',
				headers: { 'stripe-signature': header },
				secrets: { current: 'whsec_a' },
			}),
		).toMatchObject({ ok: true, timestamp: NOW });
	});

	it('signs one v1 entry per secret while Stripe rolls an endpoint secret', () => {
		const header = signStripe({
			secret: 'whsec_old',
			extraSecrets: ['whsec_new'],
			body: BODY,
			timestamp: NOW,
		});
		expect(header['stripe-signature'].match(/v1=/g)).toHaveLength(2);
		expect(
			verify({ preset: 'stripe', headers: header, secrets: { current: 'whsec_new' } }),
		).toMatchObject({ ok: true, secret: 'current' });
	});

	it('treats a Stripe header without any v1 entry as malformed and without t= as missing', () => {
		const secrets = { current: 'whsec_a' };
		expect(
			verify({ preset: 'stripe', headers: { 'stripe-signature': `t=${NOW},v0=abcd` }, secrets }),
		).toMatchObject({ ok: false, reason: 'malformed' });
		expect(
			verify({ preset: 'stripe', headers: { 'stripe-signature': 'v1=abcd' }, secrets }),
		).toMatchObject({ ok: false, reason: 'missing' });
	});

	it('rejects Stripe events older than 300 seconds but, like Stripe, not future ones', () => {
		const secret = 'whsec_a';
		const at = (timestamp: number) => signStripe({ secret, body: BODY, timestamp });
		expect(
			verify({ preset: 'stripe', headers: at(NOW - 300), secrets: { current: secret } }),
		).toMatchObject({ ok: true });
		expect(
			verify({ preset: 'stripe', headers: at(NOW - 301), secrets: { current: secret } }),
		).toEqual({
			ok: false,
			reason: 'outsideTolerance',
		});
		expect(
			verify({ preset: 'stripe', headers: at(NOW + 3600), secrets: { current: secret } }),
		).toMatchObject({ ok: true });
	});

	it.each(['slack', 'standardWebhooks'] as const)(
		'rejects %s timestamps more than five minutes away in either direction',
		(preset) => {
			const secret = SW_SECRET;
			const at = (timestamp: number) =>
				preset === 'slack'
					? signSlack({ secret, body: BODY, timestamp })
					: signStandardWebhooks({ secret, id: 'msg_1', body: BODY, timestamp });
			const run = (timestamp: number) =>
				verify({ preset, headers: at(timestamp), secrets: { current: secret } });
			expect(run(NOW - 300)).toMatchObject({ ok: true });
			expect(run(NOW + 300)).toMatchObject({ ok: true });
			expect(run(NOW - 301)).toEqual({ ok: false, reason: 'outsideTolerance' });
			expect(run(NOW + 301)).toEqual({ ok: false, reason: 'outsideTolerance' });
		},
	);

	it('checks the signature before the window, so a stale forgery is a mismatch', () => {
		const headers = signSlack({ secret: 'other', body: BODY, timestamp: NOW - 10_000 });
		expect(verify({ preset: 'slack', headers, secrets: { current: 'real' } })).toEqual({
			ok: false,
			reason: 'mismatch',
		});
	});

	it('rejects a timestamp that is not whole seconds', () => {
		const headers = {
			...signSlack({ secret: 's', body: BODY, timestamp: NOW }),
			'x-slack-request-timestamp': `${NOW}.5`,
		};
		expect(verify({ preset: 'slack', headers, secrets: { current: 's' } })).toEqual({
			ok: false,
			reason: 'invalidTimestamp',
		});
	});

	it('accepts any v1 entry of a space-separated Standard Webhooks list and skips other versions', () => {
		const signed = signStandardWebhooks({
			secret: SW_SECRET,
			id: 'msg_1',
			body: BODY,
			timestamp: NOW,
		});
		const headers = {
			...signed,
			'webhook-signature': `v1a,${'A'.repeat(86)}== v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= ${signed['webhook-signature']}`,
		};
		expect(
			verify({ preset: 'standardWebhooks', headers, secrets: { current: SW_SECRET } }),
		).toMatchObject({ ok: true });
	});

	it('binds the Standard Webhooks id into the signature', () => {
		const headers = {
			...signStandardWebhooks({ secret: SW_SECRET, id: 'msg_1', body: BODY, timestamp: NOW }),
			'webhook-id': 'msg_2',
		};
		expect(
			verify({ preset: 'standardWebhooks', headers, secrets: { current: SW_SECRET } }),
		).toEqual({
			ok: false,
			reason: 'mismatch',
		});
	});

	it('accepts a Standard Webhooks secret with or without its whsec_ prefix', () => {
		const headers = signStandardWebhooks({
			secret: SW_SECRET,
			id: 'msg_1',
			body: BODY,
			timestamp: NOW,
		});
		const bare = SW_SECRET.slice('whsec_'.length);
		expect(
			verify({ preset: 'standardWebhooks', headers, secrets: { current: bare } }),
		).toMatchObject({ ok: true });
	});

	it('refuses a Standard Webhooks secret that is not base64 as a setup error, not a bad request', () => {
		const headers = signStandardWebhooks({
			secret: SW_SECRET,
			id: 'msg_1',
			body: BODY,
			timestamp: NOW,
		});
		expect(() =>
			verify({ preset: 'standardWebhooks', headers, secrets: { current: 'whsec_not base64!' } }),
		).toThrow(SecretFormatError);
	});

	it('requires the sha256= prefix on GitHub signatures', () => {
		const bare = signGithub({ secret: 's', body: BODY })['x-hub-signature-256'].slice(
			'sha256='.length,
		);
		expect(
			verify({
				preset: 'github',
				headers: { 'x-hub-signature-256': bare },
				secrets: { current: 's' },
			}),
		).toMatchObject({
			ok: false,
			reason: 'malformed',
		});
	});

	it('rejects Xero signatures with the 401 status Xero requires', () => {
		expect(schemeFor({ preset: 'xero' }).mismatchStatus).toBe(401);
		expect(schemeFor({ preset: 'github' }).mismatchStatus).toBe(403);
	});
});

describe('the Generic preset', () => {
	it('defaults to base64 HMAC-SHA256 of the raw body in x-clickdone-signature', () => {
		const expected = createHmac('sha256', 'k').update(BODY).digest('base64');
		expect(signGeneric({ secret: 'k', body: BODY })).toEqual({ 'x-clickdone-signature': expected });
		expect(
			verify({
				preset: 'generic',
				headers: { 'x-clickdone-signature': expected },
				secrets: { current: 'k' },
			}),
		).toMatchObject({ ok: true });
	});

	it.each([
		['sha1', 'hex', 'sha1='],
		['sha512', 'base64', ''],
		['sha256', 'hex', 'v1:'],
	] as const)(
		'round-trips %s in %s with prefix "%s" in a custom header',
		(algorithm, encoding, prefix) => {
			const settings = { signatureHeader: 'X-Sender-Signature', algorithm, encoding, prefix };
			const headers = signGeneric({ secret: 'k', body: BODY, ...settings });
			expect(Object.keys(headers)).toEqual(['x-sender-signature']);
			const verdict = verifySignature({
				scheme: schemeFor({ preset: 'generic', generic: settings }),
				headers,
				rawBody: BODY,
				secrets: { current: 'k' },
			});
			expect(verdict).toMatchObject({ ok: true });
		},
	);

	it('rejects a signature without the configured prefix as malformed', () => {
		const verdict = verifySignature({
			scheme: schemeFor({ preset: 'generic', generic: { prefix: 'sha256=' } }),
			headers: signGeneric({ secret: 'k', body: BODY }),
			rawBody: BODY,
			secrets: { current: 'k' },
		});
		expect(verdict).toMatchObject({ ok: false, reason: 'malformed' });
	});
});
