/**
 * The gate's Redis scripts, one per atomic step. Each touches a single hash (KEYS[1]):
 *
 * | field       | meaning                                                            |
 * |-------------|--------------------------------------------------------------------|
 * | `state`     | `claimed`, `completed` or `released`                               |
 * | `fp`        | fingerprint of the payload that claimed the key ('' = not checked) |
 * | `token`     | the current holder's claim token                                   |
 * | `fence`     | fencing number, incremented by every successful claim              |
 * | `lease`     | when the current claim lapses (ms since the epoch, Redis clock)    |
 * | `result`    | the result record stored by Complete (JSON text)                   |
 * | `done`      | when Complete ran (ms since the epoch, Redis clock)                |
 *
 * The lease is a field compared with Redis' own clock, not the key's TTL, so the fencing counter
 * outlives an expired lease and the next claimer gets a higher number. Time comes from Redis
 * (`TIME`), never from the workers, so workers with skewed clocks still agree on expiry.
 *
 * Kept as TypeScript constants rather than .lua files so that tsc alone puts them into dist/ and
 * the packed package cannot ship without them.
 */

/**
 * ARGV: fingerprint, new token, lease ms, retention ms.
 * Replies: `{'conflict', storedFp, fence, state}`, `{'completed', result, fence, doneAt}`,
 * `{'in_progress', msLeft, fence}` or `{'new', fence, leaseEnd, previousState}`.
 */
export const CLAIM_SCRIPT = `
local key = KEYS[1]
local fingerprint = ARGV[1]
local leaseMs = tonumber(ARGV[3])
local retentionMs = tonumber(ARGV[4])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)

local rec = redis.call('HMGET', key, 'state', 'fp', 'fence', 'lease', 'result', 'done')
local state = rec[1]
local storedFp = rec[2]
local fence = tonumber(rec[3]) or 0
local leaseEnd = tonumber(rec[4]) or 0
local held = state == 'claimed' and leaseEnd > now

-- A second payload under a key that is held or done is a client bug, not a retry.
if (held or state == 'completed') and fingerprint ~= '' and storedFp and storedFp ~= ''
	and storedFp ~= fingerprint then
	return {'conflict', storedFp, fence, state}
end
if state == 'completed' then
	return {'completed', rec[5] or '', fence, tonumber(rec[6]) or 0}
end
if held then
	return {'in_progress', leaseEnd - now, fence}
end

-- Free, released, or a lapsed lease (a crashed holder): take it with the next fencing number.
fence = redis.call('HINCRBY', key, 'fence', 1)
leaseEnd = now + leaseMs
redis.call('HSET', key, 'state', 'claimed', 'fp', fingerprint, 'token', ARGV[2], 'lease', leaseEnd)
redis.call('HDEL', key, 'result', 'done')
redis.call('PEXPIRE', key, leaseMs + retentionMs)
return {'new', fence, leaseEnd, state or ''}
`;

/**
 * ARGV: token, result JSON, retention ms.
 * Replies: `{'missing'}`, `{'token_mismatch', state, fence}`, `{'already_completed', fence}` or
 * `{'completed', fence, leaseLapsed}`.
 */
export const COMPLETE_SCRIPT = `
local key = KEYS[1]
local rec = redis.call('HMGET', key, 'state', 'token', 'fence', 'lease')
local state = rec[1]
if not state then
	return {'missing'}
end
local fence = tonumber(rec[3]) or 0
if rec[2] ~= ARGV[1] then
	return {'token_mismatch', state, fence}
end
if state == 'completed' then
	return {'already_completed', fence}
end
if state ~= 'claimed' then
	return {'token_mismatch', state, fence}
end

local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
-- The token still matching means nobody re-claimed after a lapse, so the holder may finish.
local lapsed = 0
if (tonumber(rec[4]) or 0) <= now then
	lapsed = 1
end
redis.call('HSET', key, 'state', 'completed', 'result', ARGV[2], 'done', now)
redis.call('HDEL', key, 'lease')
redis.call('PEXPIRE', key, tonumber(ARGV[3]))
return {'completed', fence, lapsed}
`;

/**
 * ARGV: token.
 * Replies: `{'missing'}`, `{'stale', state, fence}` or `{'released', fence}`.
 */
export const RELEASE_SCRIPT = `
local key = KEYS[1]
local rec = redis.call('HMGET', key, 'state', 'token', 'fence')
local state = rec[1]
if not state then
	return {'missing'}
end
local fence = tonumber(rec[3]) or 0
if state ~= 'claimed' or rec[2] ~= ARGV[1] then
	return {'stale', state, fence}
end
-- The record and its fencing counter stay (with their TTL) so the next claimer gets fence + 1.
redis.call('HSET', key, 'state', 'released')
redis.call('HDEL', key, 'token', 'lease')
return {'released', fence}
`;
