import { createHash } from 'node:crypto';

import { isXeroIntentToReceive, xeroDeliveryId } from '../../../nodes/SignedWebhook/delivery';
import type { PresetName } from '../../../nodes/SignedWebhook/presets';
import { schemeFor } from '../../../nodes/SignedWebhook/presets';
import type { DecideOptions } from '../../../nodes/SignedWebhook/request';
import { decideRequest, parseBody, precheckRequest } from '../../../nodes/SignedWebhook/request';
import {
	signGeneric,
	signGithub,
	signShopify,
	signSlack,
	signStandardWebhooks,
	signStripe,
	signXero,
} from '../../../nodes/SignedWebhook/signing';

const NOW = 1_760_000_000;
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const MB = 1024 * 1024;

function decide(
	overrides: Partial<DecideOptions> & { preset?: PresetName; body: string | Buffer },
) {
	const { preset = 'generic', body, ...rest } = overrides;
	return decideRequest({
		scheme: schemeFor({ preset }),
		headers: {},
		query: { source: 'test' },
		rawBody: Buffer.isBuffer(body) ? body : Buffer.from(body),
		secrets: { current: SECRET },
		maxBodyBytes: MB,
		requireJson: false,
		nowSeconds: NOW,
		...rest,
	});
}

describe('rejections', () => {
	it('answers 401 naming the header when the signature is missing', () => {
		expect(decide({ body: '{}' })).toEqual({
			action: 'reject',
			status: 401,
			message: 'Missing signature header x-clickdone-signature',
			reason: 'missing',
		});
	});

	it('answers 403 when the signature is wrong', () => {
		const headers = signGeneric({ secret: 'wrong', body: '{}' });
		expect(decide({ body: '{}', headers })).toMatchObject({
			status: 403,
			message: 'Signature does not match',
		});
	});

	it('answers 403 when the signature header is garbage', () => {
		expect(
			decide({ body: '{}', headers: { 'x-clickdone-signature': '\u00e9\u00e9\u00e9' } }),
		).toMatchObject({
			status: 403,
			reason: 'malformed',
		});
	});

	it('answers 401 when a valid signature carries a timestamp outside the window', () => {
		const body = '{"type":"event"}';
		const headers = signStandardWebhooks({
			secret: SECRET,
			id: 'msg_1',
			body,
			timestamp: NOW - 3600,
		});
		expect(decide({ preset: 'standardWebhooks', body, headers })).toMatchObject({
			status: 401,
			message: 'Timestamp is outside the allowed window',
		});
	});

	it('answers 401 to a Xero request whose signature is wrong, as Intent to Receive requires', () => {
		const body = '{"events":[],"firstEventSequence":0,"lastEventSequence":0,"entropy":"X"}';
		const headers = signXero({ webhookKey: 'not-the-key', body });
		expect(decide({ preset: 'xero', body, headers })).toMatchObject({ status: 401 });
	});

	it('answers 413 for a body over the maximum before looking at the signature', () => {
		const body = Buffer.alloc(2048, 'a');
		expect(decide({ body, maxBodyBytes: 1024 })).toMatchObject({
			status: 413,
			reason: 'bodyTooLarge',
		});
	});

	it('answers 400 to a correctly signed body that is not JSON when JSON is required', () => {
		const body = 'plain words';
		const headers = signGeneric({ secret: SECRET, body });
		expect(decide({ body, headers, requireJson: true })).toMatchObject({
			status: 400,
			message: 'Request body is not JSON',
		});
	});

	it('never mentions a secret or the expected signature in a rejection text', () => {
		const body = '{"a":1}';
		const expected = signGeneric({ secret: SECRET, body })['x-clickdone-signature'];
		const texts = [
			decide({ body }),
			decide({ body, headers: signGeneric({ secret: 'x', body }) }),
			decide({ body, headers: { 'x-clickdone-signature': 'zz' } }),
		].map((decision) => JSON.stringify(decision));
		for (const text of texts) {
			expect(text).not.toContain(SECRET);
			expect(text).not.toContain(expected);
		}
	});
});

describe('checks before the body is read', () => {
	it('answers 413 when Content-Length already says the body is too large', () => {
		expect(
			precheckRequest({ headers: { 'content-length': '2000000' }, maxBodyBytes: MB }),
		).toMatchObject({
			status: 413,
		});
	});

	it('lets a declared length within the maximum through', () => {
		expect(
			precheckRequest({ headers: { 'content-length': '20' }, maxBodyBytes: MB }),
		).toBeUndefined();
		expect(precheckRequest({ headers: {}, maxBodyBytes: MB })).toBeUndefined();
	});

	it('answers 415 to a multipart body, which n8n consumes before it could be verified', () => {
		expect(
			precheckRequest({
				headers: { 'content-type': 'multipart/form-data; boundary=x' },
				maxBodyBytes: MB,
			}),
		).toMatchObject({ status: 415 });
	});
});

describe('accepted requests', () => {
	it('output the parsed body, redacted headers, the query and the verification', () => {
		const body = '{"Id":"006xx","StageName":"Closed Won"}';
		const headers = {
			...signGeneric({ secret: SECRET, body, deliveryId: 'dlv-1' }),
			'content-type': 'application/json',
			authorization: 'Bearer abc',
		};
		expect(decide({ body, headers })).toEqual({
			action: 'accept',
			output: {
				body: { Id: '006xx', StageName: 'Closed Won' },
				headers: {
					'x-clickdone-signature': '[redacted]',
					'x-clickdone-delivery-id': 'dlv-1',
					'content-type': 'application/json',
					authorization: '[redacted]',
				},
				query: { source: 'test' },
				verification: {
					preset: 'generic',
					secret: 'current',
					timestamp: null,
					deliveryId: 'dlv-1',
				},
			},
		});
	});

	it('pass a correctly signed body that is not JSON on as its text', () => {
		const body = 'token=abc&command=%2Fdeal';
		const headers = signSlack({ secret: SECRET, body, timestamp: NOW });
		const decision = decide({ preset: 'slack', body, headers });
		expect(decision).toMatchObject({
			action: 'accept',
			output: { body, verification: { preset: 'slack', timestamp: NOW } },
		});
	});

	it('report the previous secret when the sender still signs with it', () => {
		const body = '{}';
		const headers = signGithub({ secret: 'old', body });
		expect(
			decide({ preset: 'github', body, headers, secrets: { current: 'new', previous: 'old' } }),
		).toMatchObject({ output: { verification: { secret: 'previous' } } });
	});
});

describe('delivery ids', () => {
	const bodyHash = (body: string) => `sha256:${createHash('sha256').update(body).digest('hex')}`;
	const idOf = (decision: ReturnType<typeof decide>) =>
		decision.action === 'accept' ? decision.output.verification.deliveryId : decision.action;

	it('use webhook-id for Standard Webhooks', () => {
		const body = '{}';
		const headers = signStandardWebhooks({ secret: SECRET, id: 'msg_42', body, timestamp: NOW });
		expect(idOf(decide({ preset: 'standardWebhooks', body, headers }))).toBe('msg_42');
	});

	it('use X-GitHub-Delivery for GitHub', () => {
		const body = '{}';
		const headers = signGithub({
			secret: SECRET,
			body,
			deliveryId: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
		});
		expect(idOf(decide({ preset: 'github', body, headers }))).toBe(
			'72d3162e-cc78-11e3-81ab-4c9367dc0958',
		);
	});

	it('use X-Shopify-Webhook-Id for Shopify', () => {
		const body = '{}';
		const headers = signShopify({
			secret: SECRET,
			body,
			webhookId: 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
		});
		expect(idOf(decide({ preset: 'shopify', body, headers }))).toBe(
			'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
		);
	});

	it("use the event's id for Stripe", () => {
		const body = '{"id":"evt_1NG8Du2eZvKYlo2CUI79vXWy","type":"invoice.paid"}';
		const headers = signStripe({ secret: SECRET, body, timestamp: NOW });
		expect(idOf(decide({ preset: 'stripe', body, headers }))).toBe('evt_1NG8Du2eZvKYlo2CUI79vXWy');
	});

	it("use the event_id for Slack's Events API", () => {
		const body = '{"type":"event_callback","event_id":"Ev08MFMKH6"}';
		const headers = signSlack({ secret: SECRET, body, timestamp: NOW });
		expect(idOf(decide({ preset: 'slack', body, headers }))).toBe('Ev08MFMKH6');
	});

	it('fall back to a hash of the body when the Generic sender sends no delivery header', () => {
		const body = '{"Id":"006xx"}';
		const headers = signGeneric({ secret: SECRET, body });
		expect(idOf(decide({ body, headers }))).toBe(bodyHash(body));
	});

	it('derive a Xero id from the events that ignores their order and the per-send entropy', () => {
		const event = (resourceId: string) => ({
			resourceUrl: `https://api.xero.com/api.xro/2.0/Invoices/${resourceId}`,
			resourceId,
			eventDateUtc: '2026-12-03T10:00:00.000',
			eventType: 'UPDATE',
			eventCategory: 'INVOICE',
			tenantId: 'c2cc9b6e-9458-4c7d-93cc-f02b81b0594f',
			tenantType: 'ORGANISATION',
		});
		const first = xeroDeliveryId({ events: [event('a'), event('b')], entropy: 'ONE' });
		const again = xeroDeliveryId({ events: [event('b'), event('a')], entropy: 'TWO' });
		const other = xeroDeliveryId({ events: [event('a'), event('c')], entropy: 'ONE' });
		expect(first).toMatch(/^xero:[0-9a-f]{64}$/);
		expect(again).toBe(first);
		expect(other).not.toBe(first);

		const body = JSON.stringify({
			events: [event('a'), event('b')],
			firstEventSequence: 1,
			lastEventSequence: 2,
			entropy: 'ONE',
		});
		const headers = signXero({ webhookKey: SECRET, body });
		expect(idOf(decide({ preset: 'xero', body, headers }))).toBe(first);
	});
});

describe("Xero's Intent to Receive", () => {
	const probe =
		'{"events":[],"lastEventSequence":0,"firstEventSequence":0,"entropy":"S0m3r4Nd0mt3xt"}';

	it('acknowledges a correctly signed probe without starting anything', () => {
		const headers = signXero({ webhookKey: SECRET, body: probe });
		expect(decide({ preset: 'xero', body: probe, headers })).toEqual({
			action: 'acknowledge',
			reason: 'xeroIntentToReceive',
		});
	});

	it('answers an incorrectly signed probe 401', () => {
		const headers = signXero({ webhookKey: 'a different key', body: probe });
		expect(decide({ preset: 'xero', body: probe, headers })).toMatchObject({ status: 401 });
	});

	it('recognises only an empty events list as a probe', () => {
		expect(isXeroIntentToReceive({ events: [] })).toBe(true);
		expect(isXeroIntentToReceive({ events: [{}] })).toBe(false);
		expect(isXeroIntentToReceive([])).toBe(false);
		expect(isXeroIntentToReceive('events')).toBe(false);
	});
});

describe('body parsing after verification', () => {
	it('reads JSON with or without a byte-order mark and keeps anything else as text', () => {
		expect(parseBody(Buffer.from('{"a":1}'))).toEqual({ json: true, value: { a: 1 } });
		expect(parseBody(Buffer.from('\ufeff{"a":1}'))).toEqual({ json: true, value: { a: 1 } });
		expect(parseBody(Buffer.from('<xml/>'))).toEqual({ json: false, value: '<xml/>' });
		expect(parseBody(Buffer.alloc(0))).toEqual({ json: false, value: '' });
	});
});
