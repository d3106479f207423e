import fc from 'fast-check';

import {
	buildRedisKey,
	canonicalJson,
	conflictProblem,
	decodeResult,
	encodeResult,
	fingerprintItem,
	GateInputError,
	MAX_RESULT_BYTES,
	normaliseKey,
	parseClaimReply,
	parseCompleteReply,
	parseFieldList,
	parseReleaseReply,
} from '../../../nodes/IdempotencyGate/GateLogic';
import { isConnectionFailure } from '../../../nodes/IdempotencyGate/transport';

describe('idempotency keys', () => {
	it('accepts text and numbers and keeps them exactly as given', () => {
		expect(normaliseKey(' sf:opp:006A:closed-won ')).toBe(' sf:opp:006A:closed-won ');
		expect(normaliseKey(42)).toBe('42');
	});

	it('rejects a missing key with a hint about the Signed Webhook default', () => {
		for (const value of [undefined, null, '', '   ']) {
			expect(() => normaliseKey(value)).toThrow(GateInputError);
		}
		try {
			normaliseKey(undefined);
		} catch (error) {
			expect((error as GateInputError).description).toContain('verification.deliveryId');
		}
	});

	it('rejects objects and arrays, which would stringify into a useless key', () => {
		expect(() => normaliseKey({ id: 1 })).toThrow('must be text or a number, not object');
		expect(() => normaliseKey([1])).toThrow('not an array');
	});

	it('counts the 512-byte limit in UTF-8 bytes, not characters', () => {
		expect(normaliseKey('é'.repeat(256))).toHaveLength(256);
		expect(() => normaliseKey('é'.repeat(257))).toThrow('514 bytes long; the limit is 512');
	});

	it('namespaces keys by prefix and scope', () => {
		expect(buildRedisKey({ prefix: 'p', scope: { kind: 'global' }, key: 'k' })).toBe(
			'p:gate:global:k',
		);
		expect(
			buildRedisKey({ prefix: 'p', scope: { kind: 'workflow', workflowId: 'Wf1' }, key: 'k' }),
		).toBe('p:gate:wf:Wf1:k');
		expect(
			buildRedisKey({ prefix: 'p', scope: { kind: 'custom', namespace: 'billing' }, key: 'k' }),
		).toBe('p:gate:ns:billing:k');
	});

	it('rejects a custom namespace with a colon, which could make two namespaces share keys', () => {
		expect(() =>
			buildRedisKey({ prefix: 'p', scope: { kind: 'custom', namespace: 'a:b' }, key: 'k' }),
		).toThrow('The namespace "a:b" is not allowed');
		expect(() =>
			buildRedisKey({ prefix: 'p', scope: { kind: 'custom', namespace: '' }, key: 'k' }),
		).toThrow(GateInputError);
	});
});

describe('fingerprints', () => {
	it('do not depend on key order or on undefined members', () => {
		fc.assert(
			fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (record) => {
				const reversed = Object.fromEntries(Object.entries(record).reverse());
				expect(fingerprintItem({ mode: 'payload', json: reversed })).toBe(
					fingerprintItem({ mode: 'payload', json: { ...record, absent: undefined } }),
				);
			}),
		);
	});

	it('change when any value in the payload changes', () => {
		expect(fingerprintItem({ mode: 'payload', json: { amount: 100 } })).not.toBe(
			fingerprintItem({ mode: 'payload', json: { amount: 101 } }),
		);
	});

	it('cover only the selected fields, read by dotted path', () => {
		const fields = parseFieldList('body.id, body.stage');
		const a = fingerprintItem({
			mode: 'fields',
			fields,
			json: { body: { id: 1, stage: 'Won', note: 'a' } },
		});
		const b = fingerprintItem({
			mode: 'fields',
			fields,
			json: { body: { id: 1, stage: 'Won', note: 'b' } },
		});
		const c = fingerprintItem({ mode: 'fields', fields, json: { body: { id: 1, stage: 'Lost' } } });

		expect(a).toBe(b);
		expect(a).not.toBe(c);
	});

	it('are empty when the user turned them off, and demand fields when set to selected fields', () => {
		expect(fingerprintItem({ mode: 'none', json: { a: 1 } })).toBe('');
		expect(() => fingerprintItem({ mode: 'fields', fields: [], json: {} })).toThrow(
			'no fields are listed',
		);
	});

	it('use canonical JSON with sorted keys at every depth', () => {
		expect(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: null } })).toBe(
			'{"a":{"c":null,"d":[2,{"e":0,"f":1}]},"b":1}',
		);
	});

	it('write exactly the text of native JSON.stringify with sorted keys, for any value, so fingerprints stored earlier still match', () => {
		// The reference the gate used before canonical JSON was written directly.
		const reference = (value: unknown) =>
			JSON.stringify(value, (_key, member: unknown) => {
				if (member === null || typeof member !== 'object' || Array.isArray(member)) return member;
				const sorted = Object.create(null) as Record<string, unknown>;
				for (const key of Object.keys(member).sort())
					sorted[key] = (member as Record<string, unknown>)[key];
				return sorted;
			}) ?? 'null';
		const sameText = (value: unknown) => {
			let expected: string | Error;
			try {
				expected = reference(value);
			} catch (error) {
				expected = error as Error;
			}
			if (expected instanceof Error)
				expect(() => canonicalJson(value)).toThrow(expected.constructor as typeof Error);
			else expect(canonicalJson(value)).toBe(expected);
		};

		fc.assert(fc.property(fc.jsonValue(), sameText), { numRuns: 2000 });
		fc.assert(
			fc.property(fc.anything({ withDate: true, withMap: true, withBoxedValues: true }), sameText),
			{ numRuns: 2000 },
		);
		sameText({ 10: 'a', 9: 'b', '1x': 'c', '-1': 'd', a: undefined, b: [undefined, () => 1] });
		sameText({ when: new Date(0), nested: { toJSON: () => ({ z: 1, a: 2 }) } });
		const cyclic: Record<string, unknown> = { a: 1 };
		cyclic.self = cyclic;
		sameText(cyclic);
	});

	it('field lists drop blanks and duplicates', () => {
		expect(parseFieldList(' a, b ,, a ,')).toEqual(['a', 'b']);
	});
});

describe('result records', () => {
	it('round-trip a JSON object given as text or as an object', () => {
		expect(decodeResult(encodeResult('{ "invoiceNumber": "INV-0042" }'))).toEqual({
			invoiceNumber: 'INV-0042',
		});
		expect(decodeResult(encodeResult({ invoiceNumber: 'INV-0042' }))).toEqual({
			invoiceNumber: 'INV-0042',
		});
	});

	it('must be a JSON object no larger than the size limit', () => {
		expect(() => encodeResult('not json')).toThrow('not valid JSON');
		expect(() => encodeResult('[1,2]')).toThrow('must be a JSON object');
		expect(() => encodeResult({ blob: 'x'.repeat(MAX_RESULT_BYTES) })).toThrow(
			`the limit is ${MAX_RESULT_BYTES}`,
		);
	});

	it('hands back a record another program wrote as raw text instead of failing', () => {
		expect(decodeResult('INV-7')).toEqual({ raw: 'INV-7' });
		expect(decodeResult('')).toEqual({});
	});
});

describe('script replies', () => {
	it('read every claim verdict', () => {
		expect(parseClaimReply(['new', 3, 1700000000000, 'claimed'])).toEqual({
			outcome: 'new',
			fencingToken: 3,
			leaseExpiresAt: 1700000000000,
			takeover: 'expired',
		});
		expect(
			parseClaimReply(['completed', '{"invoiceNumber":"INV-0042"}', 1, 1700000000000]),
		).toEqual({
			outcome: 'completed',
			fencingToken: 1,
			result: { invoiceNumber: 'INV-0042' },
			completedAt: 1700000000000,
		});
		expect(parseClaimReply(['in_progress', 1500, 2])).toEqual({
			outcome: 'inProgress',
			retryAfterMs: 1500,
			fencingToken: 2,
		});
		expect(parseClaimReply(['conflict', 'abc', 1, 'completed'])).toEqual({
			outcome: 'conflict',
			storedFingerprint: 'abc',
			fencingToken: 1,
			state: 'completed',
		});
	});

	it('read complete and release verdicts', () => {
		expect(parseCompleteReply(['completed', 4, 1])).toEqual({
			outcome: 'completed',
			fencingToken: 4,
			leaseLapsed: true,
		});
		expect(parseCompleteReply(['token_mismatch', 'claimed', 5])).toEqual({
			outcome: 'tokenMismatch',
			state: 'claimed',
			fencingToken: 5,
		});
		expect(parseReleaseReply(['stale', 'released', 2])).toEqual({
			outcome: 'stale',
			state: 'released',
			fencingToken: 2,
		});
		expect(parseReleaseReply(['missing'])).toEqual({ outcome: 'missing' });
	});

	it('refuse a reply no gate script produces, rather than guess', () => {
		expect(() => parseClaimReply('OK')).toThrow('Unexpected reply');
		expect(() => parseClaimReply(['maybe'])).toThrow('Unexpected reply');
	});
});

describe('answers shaped after the Idempotency-Key draft', () => {
	it('describe a payload mismatch as a 422 problem', () => {
		expect(conflictProblem('dlv-1')).toMatchObject({
			status: 422,
			detail: expect.stringContaining('dlv-1'),
		});
	});
});

describe('connection failures', () => {
	it('are told apart from errors Redis answered with', () => {
		expect(
			isConnectionFailure(
				Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
			),
		).toBe(true);
		expect(
			isConnectionFailure(Object.assign(new Error('x'), { name: 'MaxRetriesPerRequestError' })),
		).toBe(true);
		expect(isConnectionFailure(new Error('Command timed out'))).toBe(true);
		expect(
			isConnectionFailure(
				new Error('WRONGTYPE Operation against a key holding the wrong kind of value'),
			),
		).toBe(false);
	});
});
