import fc from 'fast-check';

import {
	backoffCeiling,
	parseRetryAfter,
	retryDelay,
	withRetry,
} from '../../../nodes/shared/backoff';

const policy = { baseMs: 100, capMs: 5_000 };

describe('full-jitter backoff', () => {
	it('doubles the jitter window per attempt until the cap', () => {
		expect([1, 2, 3, 4, 5, 6, 7].map((a) => backoffCeiling(a, policy))).toEqual([
			100, 200, 400, 800, 1600, 3200, 5000,
		]);
		expect(backoffCeiling(10_000, policy)).toBe(5_000);
	});

	it('always draws a delay between zero and the window, never above the cap', () => {
		fc.assert(
			fc.property(
				fc.integer({ min: 1, max: 2_000 }),
				fc.double({ min: 0, max: 0.9999999, noNaN: true }),
				(attempt, r) => {
					const delay = retryDelay({ attempt, policy, random: () => r });
					expect(delay).toBeGreaterThanOrEqual(0);
					expect(delay).toBeLessThanOrEqual(backoffCeiling(attempt, policy));
					expect(delay).toBeLessThanOrEqual(policy.capMs);
				},
			),
		);
	});

	it('waits at least as long as the server asked, even beyond the cap', () => {
		expect(retryDelay({ attempt: 1, policy, retryAfterMs: 30_000, random: () => 0.5 })).toBe(
			30_000,
		);
		expect(retryDelay({ attempt: 6, policy, retryAfterMs: 10, random: () => 0.5 })).toBe(1_600);
	});
});

describe('Retry-After parsing', () => {
	it('reads delta-seconds, including fractions', () => {
		expect(parseRetryAfter('30')).toBe(30_000);
		expect(parseRetryAfter(' 1.5 ')).toBe(1_500);
		expect(parseRetryAfter(['2', '9'])).toBe(2_000);
	});

	it('reads an HTTP date relative to now and clamps a past date to zero', () => {
		const now = Date.parse('2026-12-03T12:00:00Z');
		expect(parseRetryAfter('Thu, 03 Dec 2026 12:00:45 GMT', now)).toBe(45_000);
		expect(parseRetryAfter('Thu, 03 Dec 2026 11:00:00 GMT', now)).toBe(0);
	});

	it('returns undefined for a missing or unreadable header', () => {
		expect(parseRetryAfter(undefined)).toBeUndefined();
		expect(parseRetryAfter('soon')).toBeUndefined();
		expect(parseRetryAfter('-5')).toBeUndefined();
	});
});

describe('withRetry', () => {
	const noSleep = async () => undefined;

	it('retries retryable failures and returns the first success', async () => {
		let calls = 0;
		const result = await withRetry(
			async () => {
				calls++;
				if (calls < 3) throw new Error('transient');
				return 'ok';
			},
			{ policy, maxAttempts: 5, classify: () => ({ retryable: true }), sleep: noSleep },
		);
		expect(result).toBe('ok');
		expect(calls).toBe(3);
	});

	it('throws a non-retryable failure at once, unchanged', async () => {
		const failure = new Error('invalid account code');
		let calls = 0;
		await expect(
			withRetry(
				async () => {
					calls++;
					throw failure;
				},
				{ policy, maxAttempts: 5, classify: () => ({ retryable: false }), sleep: noSleep },
			),
		).rejects.toBe(failure);
		expect(calls).toBe(1);
	});

	it('gives up after the last attempt', async () => {
		let calls = 0;
		await expect(
			withRetry(
				async () => {
					calls++;
					throw new Error(`down ${calls}`);
				},
				{ policy, maxAttempts: 4, classify: () => ({ retryable: true }), sleep: noSleep },
			),
		).rejects.toThrow('down 4');
		expect(calls).toBe(4);
	});

	it('hands a wait longer than the in-place limit back to the caller instead of sleeping', async () => {
		const waits: number[] = [];
		await expect(
			withRetry(
				async () => {
					throw new Error('429');
				},
				{
					policy,
					maxAttempts: 5,
					maxWaitInPlaceMs: 2_000,
					classify: () => ({ retryable: true, retryAfterMs: 60_000 }),
					sleep: async (ms) => {
						waits.push(ms);
					},
				},
			),
		).rejects.toThrow('429');
		expect(waits).toEqual([]);
	});

	it('reports each wait before sleeping it', async () => {
		const seen: Array<{ attempt: number; delayMs: number }> = [];
		const slept: number[] = [];
		let calls = 0;
		await withRetry(
			async () => {
				if (++calls < 3) throw new Error('x');
				return calls;
			},
			{
				policy,
				maxAttempts: 3,
				classify: () => ({ retryable: true }),
				random: () => 0.5,
				onRetry: ({ attempt, delayMs }) => seen.push({ attempt, delayMs }),
				sleep: async (ms) => {
					slept.push(ms);
				},
			},
		);
		expect(seen).toEqual([
			{ attempt: 1, delayMs: 50 },
			{ attempt: 2, delayMs: 100 },
		]);
		expect(slept).toEqual([50, 100]);
	});
});
