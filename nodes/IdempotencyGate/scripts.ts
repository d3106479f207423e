/**
 * The gate's Redis scripts, one per atomic step (claim, complete, release). Each call handles a
 * chunk of keys and decides every key with the same rules, in turn, inside one atomic run.
 *
 * A key's record is one string with a fixed field order:
 *
 *     dfg1|<state>|<fence>|<leaseEnd>|<doneAt>|<fingerprint>|<token>|<result JSON>
 *
 * | field         | meaning                                                            |
 * |---------------|--------------------------------------------------------------------|
 * | `state`       | `claimed`, `completed` or `released`                               |
 * | `fence`       | fencing number, incremented by every successful claim              |
 * | `leaseEnd`    | when the claim lapses: `r<retention ms>` (see below) or, in records |
 * |               | of earlier versions, ms since the epoch on the Redis clock          |
 * | `doneAt`      | when Complete ran (ms since the epoch, Redis clock)                |
 * | `fingerprint` | hash of the payload that claimed the key ('' = not checked)        |
 * | `token`       | the current holder's claim token (a UUID)                          |
 * | `result`      | the result record stored by Complete; last, so it may hold any text |
 *
 * Why this shape: every Redis command a script issues has a fixed cost, and that cost, not the
 * logic, decides the gate's speed. Measured on this project's 2-core machine, a hash record
 * (HMGET, HSET, PEXPIRE per key) cost about 19 µs of Redis time per key against 3 µs for a plain
 * SET NX. With one string, a key never seen before costs a single `SET NX PX GET`: it writes
 * the claim and tells us the key was free in one command. The client builds that claim record
 * itself and the script answers such a key with a bare `0`, so the common case moves as few bytes
 * and Lua values as it can. A duplicate costs the same single command, which returns the existing
 * record without writing. Only a takeover, Complete and Release need a second command. Chunks of
 * {@link SCRIPT_CHUNK_SIZE} keys spread each script's setup cost while keeping every run short,
 * so other clients of the Redis never wait long.
 *
 * The lease is judged by Redis' own clock, never the workers', so workers with skewed clocks still
 * agree on expiry. A claim is written with PX lease + retention and stores `r<retention ms>` in
 * place of its lease end, so its lease ends exactly the retention before the key expires: the
 * scripts read the key's expiry (PEXPIRETIME, or TIME + PTTL before Redis 7) to get it, and the
 * client can build the record without knowing the Redis clock. The fencing counter lives in the
 * record, so it outlives a lapsed lease and the next claimer gets a higher number; the TTL only
 * bounds how long a record is kept. A claim whose key lost its expiry (PERSIST by hand) has no
 * readable lease, and the gate answers it with an error rather than guess.
 *
 * A key that holds other data answers `{'error', message}` for itself alone, so one foreign key
 * cannot stop the rest of its chunk half-way.
 *
 * Kept as TypeScript constants rather than .lua files so that tsc alone puts them into dist/ and
 * the packed package cannot ship without them.
 */

/** Keys per script call. */
export const SCRIPT_CHUNK_SIZE = 200;

const COMMON = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local FOREIGN = 'the key holds data that is not an Idempotency Gate record'
local NO_EXPIRY = 'the claim record lost its expiry outside the gate, so its lease cannot be read; delete the key to reset it'

local function parse(raw)
	local state, fence, lease, doneAt, fp, token, result =
		string.match(raw, '^dfg1|(%l+)|(%d+)|(r?%d*)|(%d*)|([^|]*)|([^|]*)|(.*)$')
	if not state then
		return nil
	end
	return {
		state = state, fence = tonumber(fence), lease = lease,
		doneAt = tonumber(doneAt) or 0, fp = fp, token = token, result = result,
	}
end

-- When a claim's lease ends, on the Redis clock. A claim written by the client's fast path stores
-- 'r<retention ms>': it was set with PX lease + retention, so its lease ends that long before the
-- key expires. Returns nil when such a key has lost its expiry (changed outside the gate).
local function leaseEndOf(rec, key)
	if string.sub(rec.lease, 1, 1) ~= 'r' then
		return tonumber(rec.lease) or 0
	end
	local expiresAt = redis.pcall('PEXPIRETIME', key)
	if type(expiresAt) ~= 'number' then
		-- Redis before 7.0 has no PEXPIRETIME; PTTL gives the same on its clock.
		local ttl = redis.call('PTTL', key)
		expiresAt = ttl >= 0 and now + ttl or ttl
	end
	if expiresAt < 0 then
		return nil
	end
	return expiresAt - tonumber(string.sub(rec.lease, 2))
end

local function record(state, fence, leaseEnd, doneAt, fp, token, result)
	return 'dfg1|' .. state .. '|' .. fence .. '|' .. leaseEnd .. '|' .. doneAt .. '|' .. fp .. '|'
		.. token .. '|' .. result
end

local function isError(reply)
	return type(reply) == 'table' and reply.err ~= nil
end
`;

/**
 * KEYS: one record per key. ARGV, 2 per key: the claim to write if the key is free (a record in
 * state `claimed` with fencing number 1, its lease as `r<retention ms>`, the fingerprint and the
 * new token; see `freshClaimRecord` in transport.ts) and its TTL in ms (lease + retention).
 *
 * Reply: `{now, reply1, reply2, ...}`, the Redis time first, then one reply per key: `0` for a
 * free key claimed now with fencing number 1 (its lease ends at now + lease), or
 * `{'conflict', storedFp, fence, state}`, `{'completed', result, fence, doneAt}`,
 * `{'in_progress', msLeft, fence}`, `{'new', fence, leaseEnd, previousState}` (a takeover) or
 * `{'error', message}`. A bare `0` keeps the reply for the common case to one small integer.
 */
export const CLAIM_SCRIPT = `${COMMON}
-- Writes the claim only if the key is free and returns what was there (false when free).
-- Redis before 7.0 refuses NX together with GET; there the same is done in two commands.
local function claimIfFree(key, value, ttl)
	local old = redis.pcall('SET', key, value, 'NX', 'PX', ttl, 'GET')
	if isError(old) and string.find(old.err, 'syntax', 1, true) then
		old = redis.pcall('GET', key)
		if old == false then
			redis.call('SET', key, value, 'PX', ttl)
		end
	end
	return old
end

local replies = {now}
for i, key in ipairs(KEYS) do
	local fresh = ARGV[i * 2 - 1]
	local ttl = ARGV[i * 2]

	local old = claimIfFree(key, fresh, ttl)
	if isError(old) then
		replies[i + 1] = {'error', old.err}
	elseif old == false then
		replies[i + 1] = 0
	else
		local rec = parse(old)
		local claimant = parse(fresh)
		-- false when the record is not a claim, nil when a claim's lease cannot be read.
		local heldUntil = rec and rec.state == 'claimed' and leaseEndOf(rec, key)
		if not claimant or claimant.fence ~= 1 or string.sub(claimant.lease, 1, 1) ~= 'r' then
			replies[i + 1] = {'error', 'the claim to write is not a fresh claim record'}
		elseif not rec then
			replies[i + 1] = {'error', FOREIGN}
		elseif heldUntil == nil then
			replies[i + 1] = {'error', NO_EXPIRY}
		else
			local held = heldUntil and heldUntil > now
			local fingerprint = claimant.fp
			if (held or rec.state == 'completed') and fingerprint ~= '' and rec.fp ~= ''
				and rec.fp ~= fingerprint then
				-- A second payload under a key that is held or done is a client bug, not a retry.
				replies[i + 1] = {'conflict', rec.fp, rec.fence, rec.state}
			elseif rec.state == 'completed' then
				replies[i + 1] = {'completed', rec.result, rec.fence, rec.doneAt}
			elseif held then
				replies[i + 1] = {'in_progress', heldUntil - now, rec.fence}
			else
				-- Released, or a lapsed lease (a crashed holder): take it with the next number.
				local fence = rec.fence + 1
				redis.call('SET', key,
					record('claimed', fence, claimant.lease, '', fingerprint, claimant.token, ''), 'PX', ttl)
				local leaseMs = tonumber(ttl) - tonumber(string.sub(claimant.lease, 2))
				replies[i + 1] = {'new', fence, now + leaseMs, rec.state}
			end
		end
	end
end
return replies
`;

/**
 * KEYS: records. ARGV, 3 per key: token, result JSON, retention ms.
 * Replies, one per key: `{'missing'}`, `{'token_mismatch', state, fence}`,
 * `{'already_completed', fence}`, `{'completed', fence, leaseLapsed}` or `{'error', message}`.
 */
export const COMPLETE_SCRIPT = `${COMMON}
local replies = {}
for i, key in ipairs(KEYS) do
	local base = (i - 1) * 3
	local raw = redis.pcall('GET', key)
	local rec = raw and not isError(raw) and parse(raw)
	if isError(raw) then
		replies[i] = {'error', raw.err}
	elseif raw == false then
		replies[i] = {'missing'}
	elseif not rec then
		replies[i] = {'error', FOREIGN}
	elseif rec.token ~= ARGV[base + 1] then
		replies[i] = {'token_mismatch', rec.state, rec.fence}
	elseif rec.state == 'completed' then
		-- The same holder completing twice (a retried step) is not an error.
		replies[i] = {'already_completed', rec.fence}
	elseif rec.state ~= 'claimed' then
		replies[i] = {'token_mismatch', rec.state, rec.fence}
	else
		-- The token still matching means nobody re-claimed after a lapse: the holder may finish.
		local lapsed = 0
		local leaseEnd = leaseEndOf(rec, key)
		if leaseEnd ~= nil and leaseEnd <= now then
			lapsed = 1
		end
		redis.call('SET', key, record('completed', rec.fence, '', now, rec.fp, rec.token, ARGV[base + 2]),
			'PX', tonumber(ARGV[base + 3]))
		replies[i] = {'completed', rec.fence, lapsed}
	end
end
return replies
`;

/**
 * KEYS: records. ARGV, 1 per key: token.
 * Replies, one per key: `{'missing'}`, `{'stale', state, fence}`, `{'released', fence}` or
 * `{'error', message}`.
 */
export const RELEASE_SCRIPT = `${COMMON}
local replies = {}
for i, key in ipairs(KEYS) do
	local raw = redis.pcall('GET', key)
	local rec = raw and not isError(raw) and parse(raw)
	if isError(raw) then
		replies[i] = {'error', raw.err}
	elseif raw == false then
		replies[i] = {'missing'}
	elseif not rec then
		replies[i] = {'error', FOREIGN}
	elseif rec.state ~= 'claimed' or rec.token ~= ARGV[i] then
		replies[i] = {'stale', rec.state, rec.fence}
	else
		-- The record and its fencing number stay, with their TTL, so the next claimer gets +1.
		redis.call('SET', key, record('released', rec.fence, '', '', rec.fp, '', ''), 'KEEPTTL')
		replies[i] = {'released', rec.fence}
	end
end
return replies
`;
