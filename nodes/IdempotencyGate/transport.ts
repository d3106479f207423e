import type Redis from 'ioredis';
import type { ChainableCommander } from 'ioredis';

import { isNetworkError } from '../shared/errors';
import {
	parseClaimReply,
	parseCompleteReply,
	parseReleaseReply,
	type ClaimOutcome,
	type CompleteOutcome,
	type ReleaseOutcome,
} from './GateLogic';
import { CLAIM_SCRIPT, COMPLETE_SCRIPT, RELEASE_SCRIPT, SCRIPT_CHUNK_SIZE } from './scripts';

/**
 * The gate's Redis transport: the three scripts registered on the shared client, and batches
 * sent as one pipeline of script calls, each call covering a chunk of keys. ioredis sends the
 * first use of a script on a connection as EVAL and the rest as EVALSHA, and resends on
 * NOSCRIPT, so a batch is one round trip even on a fresh connection or after Redis lost its
 * script cache.
 */

const COMMANDS = {
	claim: 'dealflowGateClaim',
	complete: 'dealflowGateComplete',
	release: 'dealflowGateRelease',
} as const;

type ScriptCommand = (...args: Array<string | number>) => unknown;

const prepared = new WeakSet<Redis>();

function prepare(client: Redis): void {
	if (prepared.has(client)) return;
	// No fixed key count: each call passes its chunk's count first, as EVALSHA expects.
	client.defineCommand(COMMANDS.claim, { lua: CLAIM_SCRIPT });
	client.defineCommand(COMMANDS.complete, { lua: COMPLETE_SCRIPT });
	client.defineCommand(COMMANDS.release, { lua: RELEASE_SCRIPT });
	prepared.add(client);
}

/** One key's claim: its full Redis key, the payload fingerprint and the new claim's token. */
export interface ClaimRequest {
	redisKey: string;
	fingerprint: string;
	token: string;
	leaseMs: number;
	retentionMs: number;
}

/** One key's completion: the holder's token and the result record as JSON text. */
export interface CompleteRequest {
	redisKey: string;
	token: string;
	resultJson: string;
	retentionMs: number;
}

/** One key's release by the holder's token. */
export interface ReleaseRequest {
	redisKey: string;
	token: string;
}

/** A per-key answer from a batch: the script's verdict, or the error Redis gave for that key. */
export type BatchEntry<T> = { ok: true; value: T } | { ok: false; error: Error };

/**
 * Raised when Redis could not be reached or did not answer in time. The gate must fail closed
 * on it: no key in the batch may be treated as new.
 */
export class GateUnavailableError extends Error {
	constructor(readonly cause: unknown) {
		super(`Redis did not answer: ${(cause as Error)?.message ?? String(cause)}`);
		this.name = 'GateUnavailableError';
	}
}

/**
 * Claims many keys in one pipelined round trip: one claim-script call per chunk of
 * {@link SCRIPT_CHUNK_SIZE} keys, each deciding its keys in one atomic run.
 *
 * Each key is sent the claim to write if it is free, already built here (see
 * {@link freshClaimRecord}), and its TTL, so the script's common case is one
 * `SET NX PX GET` per key and a one-integer reply.
 *
 * @returns one entry per request, in order.
 * @throws GateUnavailableError when Redis is unreachable or a reply is lost to a connection
 * failure (fail closed: then no entry is returned at all).
 */
export async function claimMany(
	client: Redis,
	requests: ClaimRequest[],
): Promise<Array<BatchEntry<ClaimOutcome>>> {
	const args: Array<string | number> = [];
	for (const request of requests) {
		args.push(freshClaimRecord(request), request.leaseMs + request.retentionMs);
	}
	const chunks = await sendChunks({
		client,
		command: COMMANDS.claim,
		keys: requests.map((request) => request.redisKey),
		args,
		argsPerKey: 2,
	});

	const entries: Array<BatchEntry<ClaimOutcome>> = [];
	for (const { start, end, error, reply } of chunks) {
		// The script's reply: the Redis time, then one reply per key.
		const replies = Array.isArray(reply) ? (reply as unknown[]) : [];
		const now = Number(replies[0]);
		for (let index = start; index < end; index++) {
			const keyReply = replies[index - start + 1];
			entries.push(
				keyReply === 0 && !error
					? {
							ok: true,
							value: {
								outcome: 'new',
								fencingToken: 1,
								leaseExpiresAt: now + requests[index].leaseMs,
								takeover: 'none',
							},
						}
					: toEntry(error, keyReply, parseClaimReply),
			);
		}
	}
	return entries;
}

/**
 * The record a claim writes: state `claimed`, fencing number 1 (the script raises it on a
 * takeover), and in place of the lease end `r<retention ms>`. The key is set with PX
 * lease + retention, so the lease ends exactly the retention before the key expires, on the Redis
 * clock, without the client knowing that clock. Same field order as the scripts' records (see
 * scripts.ts).
 *
 * @throws Error when the fingerprint or token holds a `|` or the times are not whole
 * non-negative milliseconds: the record could not be read back, so nothing is sent.
 */
export function freshClaimRecord(request: ClaimRequest): string {
	const { fingerprint, token, leaseMs, retentionMs } = request;
	if (fingerprint.includes('|') || token.includes('|')) {
		throw new Error('A claim fingerprint or token must not contain "|"');
	}
	if (![leaseMs, retentionMs].every((ms) => Number.isSafeInteger(ms) && ms >= 0)) {
		throw new Error('A claim lease and retention must be whole, non-negative milliseconds');
	}
	return `dfg1|claimed|1|r${retentionMs}||${fingerprint}|${token}|`;
}

/**
 * Completes many keys in one pipelined round trip (compare-and-set on each token).
 *
 * @returns one entry per request, in order.
 * @throws GateUnavailableError when Redis is unreachable.
 */
export async function completeMany(
	client: Redis,
	requests: CompleteRequest[],
): Promise<Array<BatchEntry<CompleteOutcome>>> {
	return await runBatch({
		client,
		command: COMMANDS.complete,
		keys: requests.map((r) => r.redisKey),
		args: requests.map((r) => [r.token, r.resultJson, r.retentionMs]),
		parse: parseCompleteReply,
	});
}

/**
 * Releases many keys in one pipelined round trip; a stale token changes nothing.
 *
 * @returns one entry per request, in order.
 * @throws GateUnavailableError when Redis is unreachable.
 */
export async function releaseMany(
	client: Redis,
	requests: ReleaseRequest[],
): Promise<Array<BatchEntry<ReleaseOutcome>>> {
	return await runBatch({
		client,
		command: COMMANDS.release,
		keys: requests.map((r) => r.redisKey),
		args: requests.map((r) => [r.token]),
		parse: parseReleaseReply,
	});
}

async function runBatch<T>(options: {
	client: Redis;
	command: string;
	keys: string[];
	args: Array<Array<string | number>>;
	parse: (reply: unknown) => T;
}): Promise<Array<BatchEntry<T>>> {
	const chunks = await sendChunks({
		client: options.client,
		command: options.command,
		keys: options.keys,
		args: options.args.flat(),
		argsPerKey: options.args[0]?.length ?? 0,
	});
	const entries: Array<BatchEntry<T>> = [];
	for (const { start, end, error, reply } of chunks) {
		const perKey = Array.isArray(reply) ? (reply as unknown[]) : [];
		for (let index = start; index < end; index++) {
			entries.push(toEntry(error, perKey[index - start], options.parse));
		}
	}
	return entries;
}

interface ChunkReply {
	start: number;
	end: number;
	error: Error | undefined;
	reply: unknown;
}

/**
 * Sends one script call per chunk of keys, all in one pipeline.
 *
 * @returns each chunk's key range with its reply or the error Redis gave for it.
 * @throws GateUnavailableError when Redis could not be asked or a reply was lost.
 */
async function sendChunks(options: {
	client: Redis;
	command: string;
	keys: string[];
	args: Array<string | number>;
	argsPerKey: number;
}): Promise<ChunkReply[]> {
	const { keys, args, argsPerKey } = options;
	if (!keys.length) return [];
	prepare(options.client);

	const pipeline = options.client.pipeline();
	const queue = pipeline as unknown as Record<string, ScriptCommand>;
	const chunks: ChunkReply[] = [];
	for (let start = 0; start < keys.length; start += SCRIPT_CHUNK_SIZE) {
		const end = Math.min(start + SCRIPT_CHUNK_SIZE, keys.length);
		chunks.push({ start, end, error: undefined, reply: undefined });
		queue[options.command].call(
			pipeline,
			end - start,
			...keys.slice(start, end),
			...args.slice(start * argsPerKey, end * argsPerKey),
		);
	}

	const replies = await execOrFailClosed(pipeline, chunks.length);
	replies.forEach(([error, reply], chunkIndex) => {
		if (error && isConnectionFailure(error)) throw new GateUnavailableError(error);
		chunks[chunkIndex].error = error ?? undefined;
		chunks[chunkIndex].reply = reply;
	});
	return chunks;
}

type PipelineReplies = NonNullable<Awaited<ReturnType<ChainableCommander['exec']>>>;

async function execOrFailClosed(
	pipeline: ChainableCommander,
	expected: number,
): Promise<PipelineReplies> {
	let replies: Awaited<ReturnType<ChainableCommander['exec']>>;
	try {
		replies = await pipeline.exec();
	} catch (error) {
		throw new GateUnavailableError(error);
	}
	if (!replies || replies.length !== expected) {
		throw new GateUnavailableError(new Error('the pipeline returned no replies'));
	}
	return replies;
}

function toEntry<T>(
	chunkError: Error | undefined,
	reply: unknown,
	parse: (reply: unknown) => T,
): BatchEntry<T> {
	if (chunkError) return { ok: false, error: chunkError };
	if (Array.isArray(reply) && reply[0] === 'error') {
		return { ok: false, error: new Error(String(reply[1])) };
	}
	try {
		return { ok: true, value: parse(reply) };
	} catch (parseError) {
		return { ok: false, error: parseError as Error };
	}
}

/**
 * Whether an error from ioredis means "Redis could not be asked" (down, unreachable, timed out)
 * rather than "Redis answered with an error".
 */
export function isConnectionFailure(error: unknown): boolean {
	if (isNetworkError(error)) return true;
	const { name, message } = (error ?? {}) as { name?: string; message?: string };
	if (name === 'MaxRetriesPerRequestError') return true;
	return /Connection is closed|Command timed out|Stream isn't writeable|Reached the max retries|connect ETIMEDOUT|LOADING|MASTERDOWN|READONLY|CLUSTERDOWN/i.test(
		message ?? '',
	);
}
