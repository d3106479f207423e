import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';

/**
 * Xero's rate limits, enforced before each call so no n8n process earns a 429:
 * calls per minute and calls at once per tenant, calls per day per tenant, calls per minute per
 * app. The Redis limiter is shared by every process that uses the same Redis and key prefix;
 * the memory limiter only protects one process and exists for setups without Redis.
 *
 * Counting rule: a call holds its slot from the moment it is granted until it completes, and
 * then counts in the minute window from its completion time. Xero counts a call when it
 * arrives, which is between those two moments, so our count is never lower than Xero's.
 */

export interface XeroLimits {
	/** Calls per tenant per window. @default 60 */
	minuteLimit: number;
	/** The sliding window, in ms. Xero's is 60,000; tests scale it down. @default 60000 */
	windowMs: number;
	/** Calls in flight per tenant. @default 5 */
	concurrentLimit: number;
	/** Calls per tenant per UTC day: 5,000, or 1,000 on the Starter plan. @default 5000 */
	dayLimit: number;
	/** Calls per app (client id) per window across all tenants. @default 10000 */
	appMinuteLimit: number;
	/** How long a granted slot may be held before it is presumed lost with a crashed process. */
	leaseMs: number;
}

export const DEFAULT_XERO_LIMITS: XeroLimits = {
	minuteLimit: 60,
	windowMs: 60_000,
	concurrentLimit: 5,
	dayLimit: 5_000,
	appMinuteLimit: 10_000,
	leaseMs: 120_000,
};

export type AcquireResult =
	| { granted: true; token: string }
	| { granted: false; waitMs: number; problem: 'minute' | 'concurrent' | 'appminute' | 'blocked' }
	| { granted: false; waitMs: number; problem: 'day' };

export interface LimiterScope {
	tenantId: string;
	appId: string;
}

/** One attempt to take a slot, and the bookkeeping around it. */
export interface XeroRateLimiter {
	tryAcquire(scope: LimiterScope): Promise<AcquireResult>;
	release(scope: LimiterScope, token: string): Promise<void>;
	/** Makes every process hold off this tenant for `ms`, e.g. after a 429 or a 0 remaining. */
	block(scope: LimiterScope, ms: number, problem: string): Promise<void>;
}

// KEYS: 1 tenant window zset, 2 app window zset, 3 tenant day counter, 4 tenant block key
// ARGV: 1 token, 2 windowMs, 3 minuteLimit, 4 concurrentLimit, 5 dayLimit, 6 appLimit, 7 leaseMs
// Returns {1, token} when granted, else {0, waitMs, problem}.
// Scores: a call in flight scores its lease deadline (in the future); a finished one its finish
// time. So in-flight = score > now, and in the window = score > now - window.
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[2])
local block = redis.call('GET', KEYS[4])
if block then
  local sep = string.find(block, ':', 1, true)
  local blockedUntil = tonumber(string.sub(block, 1, sep - 1))
  if blockedUntil > now then
    local why = string.sub(block, sep + 1)
    if why == 'day' then return {0, blockedUntil - now, 'day'} end
    return {0, blockedUntil - now, 'blocked'}
  end
end
local day = tonumber(redis.call('GET', KEYS[3]) or '0')
if day >= tonumber(ARGV[5]) then
  local msToday = now % 86400000
  return {0, 86400000 - msToday, 'day'}
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[6]) then
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  return {0, math.max(1, math.min(tonumber(oldest[2]) + window - now, window)), 'appminute'}
end
local inWindow = redis.call('ZCARD', KEYS[1])
local inFlight = redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
if inWindow >= tonumber(ARGV[3]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  local wait = tonumber(oldest[2]) + window - now
  if wait > window then wait = 50 end
  return {0, math.max(1, wait), 'minute'}
end
if inFlight >= tonumber(ARGV[4]) then return {0, 25, 'concurrent'} end
local lease = now + tonumber(ARGV[7])
redis.call('ZADD', KEYS[1], lease, ARGV[1])
redis.call('ZADD', KEYS[2], lease, ARGV[1])
redis.call('PEXPIRE', KEYS[1], window + tonumber(ARGV[7]))
redis.call('PEXPIRE', KEYS[2], window + tonumber(ARGV[7]))
redis.call('INCR', KEYS[3])
redis.call('PEXPIRE', KEYS[3], 90000000)
return {1, ARGV[1]}
`;

// KEYS: 1 tenant window zset, 2 app window zset. ARGV: 1 token.
const RELEASE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], 'XX', now, ARGV[1])
redis.call('ZADD', KEYS[2], 'XX', now, ARGV[1])
return 1
`;

// KEYS: 1 block key. ARGV: 1 ms, 2 problem. Only ever extends a block. Value: "untilMs:problem".
const BLOCK = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local untilMs = now + tonumber(ARGV[1])
local current = redis.call('GET', KEYS[1])
local currentUntil = 0
if current then currentUntil = tonumber(string.sub(current, 1, string.find(current, ':', 1, true) - 1)) end
if untilMs > currentUntil then
  redis.call('SET', KEYS[1], untilMs .. ':' .. ARGV[2], 'PX', tonumber(ARGV[1]))
end
return 1
`;

type RedisWithScripts = Redis & {
	dealflowXeroAcquire(...args: Array<string | number>): Promise<[number, string | number, string?]>;
	dealflowXeroRelease(...args: Array<string | number>): Promise<number>;
	dealflowXeroBlock(...args: Array<string | number>): Promise<number>;
};

/** A limiter whose state lives in Redis, so every n8n process shares one budget per tenant. */
export class RedisXeroLimiter implements XeroRateLimiter {
	private readonly redis: RedisWithScripts;

	constructor(
		redis: Redis,
		private readonly options: { keyPrefix: string; limits: XeroLimits },
	) {
		this.redis = redis as RedisWithScripts;
		// defineCommand is idempotent per name; EVALSHA with a fallback to EVAL comes with it.
		if (!('dealflowXeroAcquire' in redis)) {
			redis.defineCommand('dealflowXeroAcquire', { numberOfKeys: 4, lua: ACQUIRE });
			redis.defineCommand('dealflowXeroRelease', { numberOfKeys: 2, lua: RELEASE });
			redis.defineCommand('dealflowXeroBlock', { numberOfKeys: 1, lua: BLOCK });
		}
	}

	private keys(scope: LimiterScope) {
		const base = `${this.options.keyPrefix}:xero:rl`;
		const day = new Date().toISOString().slice(0, 10);
		return {
			window: `${base}:${scope.tenantId}:window`,
			app: `${base}:app:${scope.appId}:window`,
			day: `${base}:${scope.tenantId}:day:${day}`,
			block: `${base}:${scope.tenantId}:block`,
		};
	}

	async tryAcquire(scope: LimiterScope): Promise<AcquireResult> {
		const keys = this.keys(scope);
		const limits = this.options.limits;
		const token = randomUUID();
		const [granted, value, problem] = await this.redis.dealflowXeroAcquire(
			keys.window,
			keys.app,
			keys.day,
			keys.block,
			token,
			limits.windowMs,
			limits.minuteLimit,
			limits.concurrentLimit,
			limits.dayLimit,
			limits.appMinuteLimit,
			limits.leaseMs,
		);
		if (granted === 1) return { granted: true, token: String(value) };
		return { granted: false, waitMs: Number(value), problem: problem as 'minute' };
	}

	async release(scope: LimiterScope, token: string): Promise<void> {
		const keys = this.keys(scope);
		await this.redis.dealflowXeroRelease(keys.window, keys.app, token);
	}

	async block(scope: LimiterScope, ms: number, problem: string): Promise<void> {
		if (!(ms > 0)) return;
		await this.redis.dealflowXeroBlock(this.keys(scope).block, Math.ceil(ms), problem);
	}
}

/** The same rules in one process's memory; for running without a Redis credential. */
export class MemoryXeroLimiter implements XeroRateLimiter {
	private readonly calls = new Map<string, Map<string, number>>();
	private readonly days = new Map<string, number>();
	private readonly blocks = new Map<string, { until: number; problem: string }>();

	constructor(private readonly limits: XeroLimits) {}

	async tryAcquire(scope: LimiterScope): Promise<AcquireResult> {
		const now = Date.now();
		const { windowMs, minuteLimit, concurrentLimit, dayLimit, appMinuteLimit, leaseMs } =
			this.limits;
		const block = this.blocks.get(scope.tenantId);
		if (block && block.until > now) {
			const waitMs = block.until - now;
			return block.problem === 'day'
				? { granted: false, waitMs, problem: 'day' }
				: { granted: false, waitMs, problem: 'blocked' };
		}
		const dayKey = `${scope.tenantId}:${new Date(now).toISOString().slice(0, 10)}`;
		if ((this.days.get(dayKey) ?? 0) >= dayLimit) {
			return { granted: false, waitMs: 86_400_000 - (now % 86_400_000), problem: 'day' };
		}
		const tenant = this.window(`t:${scope.tenantId}`, now);
		const app = this.window(`a:${scope.appId}`, now);
		if (app.size >= appMinuteLimit) {
			return { granted: false, waitMs: oldestWait(app, now, windowMs), problem: 'appminute' };
		}
		if (tenant.size >= minuteLimit) {
			return { granted: false, waitMs: oldestWait(tenant, now, windowMs), problem: 'minute' };
		}
		const inFlight = [...tenant.values()].filter((score) => score > now).length;
		if (inFlight >= concurrentLimit) return { granted: false, waitMs: 25, problem: 'concurrent' };

		const token = randomUUID();
		tenant.set(token, now + leaseMs);
		app.set(token, now + leaseMs);
		this.days.set(dayKey, (this.days.get(dayKey) ?? 0) + 1);
		return { granted: true, token };
	}

	async release(scope: LimiterScope, token: string): Promise<void> {
		const now = Date.now();
		for (const key of [`t:${scope.tenantId}`, `a:${scope.appId}`]) {
			const window = this.calls.get(key);
			if (window?.has(token)) window.set(token, now);
		}
	}

	async block(scope: LimiterScope, ms: number, problem: string): Promise<void> {
		const until = Date.now() + ms;
		if (until > (this.blocks.get(scope.tenantId)?.until ?? 0)) {
			this.blocks.set(scope.tenantId, { until, problem });
		}
	}

	private window(key: string, now: number): Map<string, number> {
		let window = this.calls.get(key);
		if (!window) {
			window = new Map();
			this.calls.set(key, window);
		}
		for (const [token, score] of window)
			if (score <= now - this.limits.windowMs) window.delete(token);
		return window;
	}
}

function oldestWait(window: Map<string, number>, now: number, windowMs: number): number {
	const oldest = Math.min(...window.values());
	const wait = oldest + windowMs - now;
	// The oldest entry is still in flight: its finish time is unknown, so poll.
	return wait > windowMs ? 50 : Math.max(1, wait);
}
