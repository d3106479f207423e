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
 * | `leaseEnd`    | when the current claim lapses (ms since the epoch, Redis clock)    |
 * | `doneAt`      | when Complete ran (ms since the epoch, Redis clock)                |
 * | `fingerprint` | hash of the payload that claimed the key ('' = not checked)        |
 * | `token`       | the current holder's claim token (a UUID)                          |
 * | `result`      | the result record stored by Complete; last, so it may hold any text |
 *
 * Why this shape: every Redis command a script issues has a fixed cost, and that cost, not the
 * logic, decides the gate's speed. Measured on this project's 2-core machine, a hash record
 * (HMGET, HSET, PEXPIRE per key) cost about 19 µs of Redis time per key against 3 µs for a plain
 * SET NX. With one string, a key never seen before costs a single `SET NX PX GET`: it writes
 * the claim and tells us the key was free in one command. A duplicate costs the same single
 * command, which returns the existing record without writing. Only a takeover, Complete and
 * Release need a second command. Chunks of {@link SCRIPT_CHUNK_SIZE} keys spread each script's
 * setup cost while keeping every run short, so other clients of the Redis never wait long.
 *
 * The lease is a field compared with Redis' own clock (`TIME`), not the key's TTL, so the
 * fencing counter outlives a lapsed lease and the next claimer gets a higher number, and workers
 * with skewed clocks still agree on expiry. The TTL only bounds how long a record is kept.
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

local function parse(raw)
	local state, fence, leaseEnd, doneAt, fp, token, result =
		string.match(raw, '^dfg1|(%l+)|(%d+)|(%d*)|(%d*)|([^|]*)|([^|]*)|(.*)$')
	if not state then
		return nil
	end
	return {
		state = state, fence = tonumber(fence), leaseEnd = tonumber(leaseEnd) or 0,
		doneAt = tonumber(doneAt) or 0, fp = fp, token = token, result = result,
	}
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
 * KEYS: one record per key. ARGV, 4 per key: fingerprint, new token, lease ms, retention ms.
 * Replies, one per key: `{'conflict', storedFp, fence, state}`,
 * `{'completed', result, fence, doneAt}`, `{'in_progress', msLeft, fence}`,
 * `{'new', fence, leaseEnd, previousState}` or `{'error', message}`.
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

local replies = {}
for i, key in ipairs(KEYS) do
	local base = (i - 1) * 4
	local fingerprint = ARGV[base + 1]
	local token = ARGV[base + 2]
	local leaseMs = tonumber(ARGV[base + 3])
	local ttl = leaseMs + tonumber(ARGV[base + 4])
	local leaseEnd = now + leaseMs

	local old = claimIfFree(key, record('claimed', 1, leaseEnd, '', fingerprint, token, ''), ttl)
	if isError(old) then
		replies[i] = {'error', old.err}
	elseif old == false then
		replies[i] = {'new', 1, leaseEnd, ''}
	else
		local rec = parse(old)
		if not rec then
			replies[i] = {'error', FOREIGN}
		else
			local held = rec.state == 'claimed' and rec.leaseEnd > now
			if (held or rec.state == 'completed') and fingerprint ~= '' and rec.fp ~= ''
				and rec.fp ~= fingerprint then
				-- A second payload under a key that is held or done is a client bug, not a retry.
				replies[i] = {'conflict', rec.fp, rec.fence, rec.state}
			elseif rec.state == 'completed' then
				replies[i] = {'completed', rec.result, rec.fence, rec.doneAt}
			elseif held then
				replies[i] = {'in_progress', rec.leaseEnd - now, rec.fence}
			else
				-- Released, or a lapsed lease (a crashed holder): take it with the next number.
				local fence = rec.fence + 1
				redis.call('SET', key, record('claimed', fence, leaseEnd, '', fingerprint, token, ''),
					'PX', ttl)
				replies[i] = {'new', fence, leaseEnd, rec.state}
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
		if rec.leaseEnd <= now then
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
