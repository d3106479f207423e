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
 * Claims many keys in one pipelined round trip.
 *
 * @returns one entry per request, in order.
 * @throws GateUnavailableError when Redis is unreachable or a reply is lost to a connection
 * failure (fail closed: then no entry is returned at all).
 */
export async function claimMany(
	client: Redis,
	requests: ClaimRequest[],
): Promise<Array<BatchEntry<ClaimOutcome>>> {
	return await runBatch({
		client,
		command: COMMANDS.claim,
		keys: requests.map((r) => r.redisKey),
		args: requests.map((r) => [r.fingerprint, r.token, r.leaseMs, r.retentionMs]),
		parse: parseClaimReply,
	});
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
	const { keys, args } = options;
	if (!keys.length) return [];
	prepare(options.client);

	const pipeline = options.client.pipeline();
	const queue = pipeline as unknown as Record<string, ScriptCommand>;
	const chunks: Array<{ start: number; end: number }> = [];
	for (let start = 0; start < keys.length; start += SCRIPT_CHUNK_SIZE) {
		const end = Math.min(start + SCRIPT_CHUNK_SIZE, keys.length);
		chunks.push({ start, end });
		queue[options.command].call(
			pipeline,
			end - start,
			...keys.slice(start, end),
			...args.slice(start, end).flat(),
		);
	}

	let replies: Awaited<ReturnType<ChainableCommander['exec']>>;
	try {
		replies = await pipeline.exec();
	} catch (error) {
		throw new GateUnavailableError(error);
	}
	if (!replies || replies.length !== chunks.length) {
		throw new GateUnavailableError(new Error('the pipeline returned no replies'));
	}

	const entries: Array<BatchEntry<T>> = [];
	replies.forEach(([error, reply], chunkIndex) => {
		const { start, end } = chunks[chunkIndex];
		if (error && isConnectionFailure(error)) throw new GateUnavailableError(error);
		const perKey = Array.isArray(reply) ? (reply as unknown[]) : [];
		for (let index = start; index < end; index++) {
			entries.push(toEntry(error ?? undefined, perKey[index - start], options.parse));
		}
	});
	return entries;
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
