import { NodeApiError, NodeOperationError, type INode } from 'n8n-workflow';

import {
	isNetworkError,
	isRetryableStatus,
	markError,
	readRetryHint,
} from '../../../nodes/shared/errors';

const node: INode = {
	id: '1',
	name: 'Xero',
	type: 'n8n-nodes-dealflow.xero',
	typeVersion: 1,
	position: [0, 0],
	parameters: {},
};

describe('the retry contract', () => {
	it('round-trips a hint through an n8n error and its JSON form in execution data', () => {
		const error = markError(
			new NodeApiError(node, { message: 'rate limited' }, { httpCode: '429' }),
			{
				retryable: true,
				retryAfterMs: 30_000,
				reason: 'rate_limited',
				service: 'xero',
			},
		);
		const expected = {
			retryable: true,
			retryAfterMs: 30_000,
			reason: 'rate_limited',
			service: 'xero',
		};
		expect(readRetryHint(error)).toEqual(expected);
		expect(readRetryHint(JSON.parse(JSON.stringify(error)))).toEqual(expected);
	});

	it('finds a hint on a wrapped cause', () => {
		const inner = markError(new NodeOperationError(node, 'short stock'), {
			retryable: false,
			reason: 'validation',
		});
		const outer = new NodeOperationError(node, 'reserve failed');
		(outer as unknown as { cause: unknown }).cause = inner;
		expect(readRetryHint(outer)).toEqual({ retryable: false, reason: 'validation' });
	});

	it('says nothing for errors without a hint or with a malformed one', () => {
		expect(readRetryHint(new Error('plain'))).toBeUndefined();
		expect(readRetryHint({ context: { dealflow: { retryable: 'yes' } } })).toBeUndefined();
		expect(readRetryHint(null)).toBeUndefined();
		expect(readRetryHint('a string')).toBeUndefined();
	});

	it('drops a negative or non-numeric retryAfterMs rather than trusting it', () => {
		expect(readRetryHint({ context: { dealflow: { retryable: true, retryAfterMs: -1 } } })).toEqual(
			{
				retryable: true,
				reason: 'unknown',
			},
		);
	});

	it('treats 408, 409, 425, 429 and 5xx as retryable and other 4xx as final', () => {
		expect([408, 409, 425, 429, 500, 502, 503, 504].every(isRetryableStatus)).toBe(true);
		expect([400, 401, 403, 404, 410, 413, 422].some(isRetryableStatus)).toBe(false);
	});

	it('recognises transport failures, also when wrapped', () => {
		expect(isNetworkError(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBe(true);
		expect(isNetworkError({ cause: { code: 'UND_ERR_CONNECT_TIMEOUT' } })).toBe(true);
		expect(isNetworkError(Object.assign(new Error('t'), { name: 'TimeoutError' }))).toBe(true);
		expect(isNetworkError(new Error('validation'))).toBe(false);
	});
});
