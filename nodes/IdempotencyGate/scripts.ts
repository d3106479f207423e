/**
 * The gate's Redis scripts, one per atomic step (claim, complete, release). Each call handles a
 * chunk of keys, deciding every key with the same rules in turn inside one atomic script run;
 * per key it touches a single hash:
 *
 * | field    | meaning                                                            |
 * |----------|--------------------------------------------------------------------|
 * | `state`  | `claimed`, `completed` or `released`                               |
 * | `fp`     | fingerprint of the payload that claimed the key ('' = not checked) |
 * | `token`  | the current holder's claim token                                   |
 * | `fence`  | fencing number, incremented by every successful claim              |
 * | `lease`  | when the current claim lapses (ms since the epoch, Redis clock)    |
 * | `result` | the result record stored by Complete (JSON text)                   |
 * | `done`   | when Complete ran (ms since the epoch, Redis clock)                |
 *
 * Why chunks rather than one script call per key: every script call costs Redis a fixed setup,
 * and at 1,000 keys that setup, not the work, dominated (measured: about 3x slower than
 * pipelined SET NX). A chunk of {@link SCRIPT_CHUNK_SIZE} keys keeps each script run short, so
 * other clients of the same Redis wait at most a few milliseconds behind it.
 *
 * The lease is a field compared with Redis' own clock, not the key's TTL, so the fencing counter
 * outlives an expired lease and the next claimer gets a higher number. Time comes from Redis
 * (`TIME`), never from the workers, so workers with skewed clocks still agree on expiry.
 *
 * A key that holds another Redis type answers `{'error', message}` for itself alone (pcall), so
 * one foreign key cannot abort the rest of its chunk half-way.
 *
 * Kept as TypeScript constants rather than .lua files so that tsc alone puts them into dist/ and
 * the packed package cannot ship without them.
 */

/** Keys per script call. */
export const SCRIPT_CHUNK_SIZE = 200;

const NOW = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
`;

/**
 * KEYS: one gate record per key. ARGV, 4 per key: fingerprint, new token, lease ms, retention ms.
 * Replies, one per key: `{'conflict', storedFp, fence, state}`,
 * `{'completed', result, fence, doneAt}`, `{'in_progress', msLeft, fence}`,
 * `{'new', fence, leaseEnd, previousState}` or `{'error', message}`.
 */
export const CLAIM_SCRIPT = `${NOW}
local replies = {}
for i, key in ipairs(KEYS) do
	local base = (i - 1) * 4
	local fingerprint = ARGV[base + 1]
	local rec = redis.pcall('HMGET', key, 'state', 'fp', 'fence', 'lease', 'result', 'done')
	if rec.err then
		replies[i] = {'error', rec.err}
	else
		local state = rec[1]
		local storedFp = rec[2]
		local fence = tonumber(rec[3]) or 0
		local leaseEnd = tonumber(rec[4]) or 0
		local held = state == 'claimed' and leaseEnd > now

		if (held or state == 'completed') and fingerprint ~= '' and storedFp and storedFp ~= ''
			and storedFp ~= fingerprint then
			-- A second payload under a key that is held or done is a client bug, not a retry.
			replies[i] = {'conflict', storedFp, fence, state}
		elseif state == 'completed' then
			replies[i] = {'completed', rec[5] or '', fence, tonumber(rec[6]) or 0}
		elseif held then
			replies[i] = {'in_progress', leaseEnd - now, fence}
		else
			-- Free, released, or a lapsed lease (a crashed holder): take it with the next number.
			local leaseMs = tonumber(ARGV[base + 3])
			fence = fence + 1
			leaseEnd = now + leaseMs
			redis.call('HSET', key, 'state', 'claimed', 'fp', fingerprint, 'token', ARGV[base + 2],
				'lease', leaseEnd, 'fence', fence)
			if rec[5] or rec[6] then
				redis.call('HDEL', key, 'result', 'done')
			end
			redis.call('PEXPIRE', key, leaseMs + tonumber(ARGV[base + 4]))
			replies[i] = {'new', fence, leaseEnd, state or ''}
		end
	end
end
return replies
`;

/**
 * KEYS: gate records. ARGV, 3 per key: token, result JSON, retention ms.
 * Replies, one per key: `{'missing'}`, `{'token_mismatch', state, fence}`,
 * `{'already_completed', fence}`, `{'completed', fence, leaseLapsed}` or `{'error', message}`.
 */
export const COMPLETE_SCRIPT = `${NOW}
local replies = {}
for i, key in ipairs(KEYS) do
	local base = (i - 1) * 3
	local rec = redis.pcall('HMGET', key, 'state', 'token', 'fence', 'lease')
	if rec.err then
		replies[i] = {'error', rec.err}
	elseif not rec[1] then
		replies[i] = {'missing'}
	else
		local state = rec[1]
		local fence = tonumber(rec[3]) or 0
		if rec[2] ~= ARGV[base + 1] then
			replies[i] = {'token_mismatch', state, fence}
		elseif state == 'completed' then
			-- The same holder completing twice (a retried step) is not an error.
			replies[i] = {'already_completed', fence}
		elseif state ~= 'claimed' then
			replies[i] = {'token_mismatch', state, fence}
		else
			-- The token still matching means nobody re-claimed after a lapse: the holder may finish.
			local lapsed = 0
			if (tonumber(rec[4]) or 0) <= now then
				lapsed = 1
			end
			redis.call('HSET', key, 'state', 'completed', 'result', ARGV[base + 2], 'done', now)
			redis.call('HDEL', key, 'lease')
			redis.call('PEXPIRE', key, tonumber(ARGV[base + 3]))
			replies[i] = {'completed', fence, lapsed}
		end
	end
end
return replies
`;

/**
 * KEYS: gate records. ARGV, 1 per key: token.
 * Replies, one per key: `{'missing'}`, `{'stale', state, fence}`, `{'released', fence}` or
 * `{'error', message}`.
 */
export const RELEASE_SCRIPT = `
local replies = {}
for i, key in ipairs(KEYS) do
	local rec = redis.pcall('HMGET', key, 'state', 'token', 'fence')
	if rec.err then
		replies[i] = {'error', rec.err}
	elseif not rec[1] then
		replies[i] = {'missing'}
	elseif rec[1] ~= 'claimed' or rec[2] ~= ARGV[i] then
		replies[i] = {'stale', rec[1], tonumber(rec[3]) or 0}
	else
		-- The record and its fencing counter stay (with their TTL) so the next claimer gets +1.
		redis.call('HSET', key, 'state', 'released')
		redis.call('HDEL', key, 'token', 'lease')
		replies[i] = {'released', tonumber(rec[3]) or 0}
	end
end
return replies
`;
