import fc from 'fast-check';

import {
	decideAfterFailure,
	effectiveMaxAttempts,
	ENQUEUE_ATTEMPTS,
	jobIdToKey,
	keyToJobId,
	outcomeOfRun,
	queueNameProblem,
} from '../../nodes/RetryQueue/policy';

describe('idempotency keys as BullMQ job ids', () => {
	it('round-trips every non-empty key and never yields an id BullMQ rejects', () => {
		fc.assert(
			fc.property(fc.string({ minLength: 1 }), (key) => {
				const id = keyToJobId(key);
				expect(jobIdToKey(id)).toBe(key);
				expect(id.includes(':')).toBe(false);
				expect(/^\d+$/.test(id)).toBe(false);
			}),
		);
	});

	it('maps different keys to different ids', () => {
		fc.assert(
			fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (a, b) => {
				fc.pre(a !== b);
				expect(keyToJobId(a)).not.toBe(keyToJobId(b));
			}),
		);
	});

	it('keeps plain keys readable', () => {
		expect(keyToJobId('order-006A')).toBe('order-006A');
		expect(keyToJobId('sf:006')).toBe('sf%3A006');
		expect(keyToJobId('42')).toBe('%N42');
	});
});

describe('outcome of an execution', () => {
	it('counts a successful run as done', () => {
		expect(outcomeOfRun({ status: 'success', finished: true, data: { resultData: {} } })).toEqual({
			ok: true,
		});
	});

	it('reads the retry hint of the failing node from the run data', () => {
		const outcome = outcomeOfRun({
			status: 'error',
			data: {
				resultData: {
					lastNodeExecuted: 'Xero',
					error: { message: 'Workflow failed' },
					runData: {
						Xero: [
							{
								error: {
									message: 'Rate limited',
									node: { name: 'Xero' },
									context: {
										dealflow: { retryable: true, retryAfterMs: 30_000, reason: 'rate_limited' },
									},
								},
							},
						],
					},
				},
			},
		});
		expect(outcome).toEqual({
			ok: false,
			error: {
				message: 'Rate limited',
				node: 'Xero',
				hint: { retryable: true, retryAfterMs: 30_000, reason: 'rate_limited' },
			},
		});
	});

	it('treats crashed and canceled runs and a missing result as failures without a hint', () => {
		for (const status of ['crashed', 'canceled']) {
			const outcome = outcomeOfRun({ status, data: { resultData: {} } });
			expect(outcome.ok).toBe(false);
		}
		expect(outcomeOfRun(undefined)).toMatchObject({ ok: false });
	});

	it('treats a run paused in a Wait node as a failure that retrying cannot fix', () => {
		expect(outcomeOfRun({ status: 'waiting' })).toMatchObject({
			ok: false,
			error: { hint: { retryable: false } },
		});
	});
});

describe('decision after a failed attempt', () => {
	const policy = { baseMs: 1_000, capMs: 8_000, maxAttempts: 5 };
	const base = { firstQueuedAt: 0, now: 0, policy, error: { message: 'boom' } };

	it('dead-letters a non-retryable error on the first attempt', () => {
		const decision = decideAfterFailure({
			...base,
			attempt: 1,
			maxAttempts: 5,
			error: { message: 'bad', hint: { retryable: false, reason: 'validation' } },
		});
		expect(decision).toEqual({ action: 'deadLetter', reason: 'not_retryable' });
	});

	it('retries an unmarked error within the jitter window until attempts run out', () => {
		for (let attempt = 1; attempt < 5; attempt++) {
			const decision = decideAfterFailure({
				...base,
				attempt,
				maxAttempts: 5,
				random: () => 0.999,
			});
			expect(decision.action).toBe('retry');
			if (decision.action === 'retry') {
				expect(decision.delayMs).toBeLessThanOrEqual(Math.min(8_000, 1_000 * 2 ** (attempt - 1)));
			}
		}
		expect(decideAfterFailure({ ...base, attempt: 5, maxAttempts: 5 })).toEqual({
			action: 'deadLetter',
			reason: 'attempts_exhausted',
		});
	});

	it('waits at least the Retry-After, above the cap', () => {
		const decision = decideAfterFailure({
			...base,
			attempt: 1,
			maxAttempts: 5,
			random: () => 0,
			error: {
				message: '429',
				hint: { retryable: true, retryAfterMs: 60_000, reason: 'rate_limited' },
			},
		});
		expect(decision).toEqual({ action: 'retry', delayMs: 60_000 });
	});

	it('dead-letters when the next try would start after the maximum age', () => {
		const decision = decideAfterFailure({
			...base,
			attempt: 3,
			policy: { baseMs: 1_000, capMs: 8_000, maxAgeMs: 10_000 },
			now: 9_500,
			random: () => 0.5,
		});
		expect(decision).toEqual({ action: 'deadLetter', reason: 'max_age_exceeded' });
	});

	it('lets a smaller attempts limit set by another producer win over the policy', () => {
		expect(effectiveMaxAttempts({ ...policy, maxAttempts: 10 }, 3)).toBe(3);
		expect(effectiveMaxAttempts({ ...policy, maxAttempts: 10 }, ENQUEUE_ATTEMPTS)).toBe(10);
		expect(effectiveMaxAttempts({ baseMs: 1, capMs: 1, maxAgeMs: 1 }, ENQUEUE_ATTEMPTS)).toBe(
			undefined,
		);
	});
});

describe('queue names', () => {
	it('accepts plain names and explains what is wrong with others', () => {
		expect(queueNameProblem('dealflow-orders')).toBeUndefined();
		expect(queueNameProblem('')).toMatch(/empty/);
		expect(queueNameProblem('a:b')).toMatch(/letters, digits/);
		expect(queueNameProblem('x.dead-letters')).toMatch(/own use/);
	});
});
