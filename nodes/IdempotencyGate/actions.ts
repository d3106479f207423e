import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import {
	NodeApiError,
	NodeOperationError,
	type IExecuteFunctions,
	type INodeExecutionData,
	type JsonObject,
} from 'n8n-workflow';

import { markError } from '../shared/errors';
import {
	buildRedisKey,
	conflictProblem,
	encodeResult,
	fingerprintItem,
	GateInputError,
	inProgressProblem,
	normaliseKey,
	parseFieldList,
	type ClaimOutcome,
	type FingerprintMode,
	type GateScope,
} from './GateLogic';
import {
	claimMany,
	completeMany,
	GateUnavailableError,
	releaseMany,
	type BatchEntry,
	type ClaimRequest,
	type CompleteRequest,
	type ReleaseRequest,
} from './transport';

/**
 * The three operations of the Idempotency Gate, run over a whole batch: every item is checked
 * first (bad input fails before anything is written), then all keys go to Redis in one pipeline.
 */

/** Output indexes of the Claim operation, in the order the node declares them. */
export const CLAIM_OUTPUT = { new: 0, completed: 1, inProgress: 2, conflict: 3 } as const;

const DAY_MS = 86_400_000;

interface GateContext {
	fn: IExecuteFunctions;
	client: Redis;
	prefix: string;
}

type Pending<T> = { index: number; key: string; request: T };

/**
 * Claim: sends each item to New, Completed, In Progress or Conflict.
 *
 * With "continue on fail", a failed item goes to In Progress (or to the error output when that
 * is on), never to New: an item the gate could not decide must not proceed.
 */
export async function runClaim(ctx: GateContext): Promise<INodeExecutionData[][]> {
	const items = ctx.fn.getInputData();
	const outputs: INodeExecutionData[][] = [[], [], [], []];
	const pending: Array<Pending<ClaimRequest>> = [];

	for (let index = 0; index < items.length; index++) {
		try {
			const key = readKey(ctx.fn, index);
			const mode = ctx.fn.getNodeParameter('fingerprint', index) as FingerprintMode;
			const fields =
				mode === 'fields'
					? parseFieldList(ctx.fn.getNodeParameter('fingerprintFields', index, '') as string)
					: [];
			pending.push({
				index,
				key,
				request: {
					redisKey: buildRedisKey({ prefix: ctx.prefix, scope: readScope(ctx.fn, index), key }),
					fingerprint: fingerprintItem({ mode, json: items[index].json, fields }),
					token: randomUUID(),
					leaseMs: Math.round(
						(ctx.fn.getNodeParameter('leaseSeconds', index, 300) as number) * 1000,
					),
					retentionMs: Math.round(
						(ctx.fn.getNodeParameter('retentionDays', index, 7) as number) * DAY_MS,
					),
				},
			});
		} catch (error) {
			outputs[CLAIM_OUTPUT.inProgress].push(
				failItem(ctx.fn, toItemError(ctx.fn, error, index), index),
			);
		}
	}

	const entries = await sendBatch(
		ctx.fn,
		pending,
		async (requests) => await claimMany(ctx.client, requests),
	);
	const counts = { new: 0, completed: 0, inProgress: 0, conflict: 0, failed: 0 };
	entries.forEach((entry, position) => {
		const { index, key, request } = pending[position];
		if (!entry.ok) {
			counts.failed++;
			outputs[CLAIM_OUTPUT.inProgress].push(
				failItem(ctx.fn, redisItemError(ctx.fn, entry.error, index), index),
			);
			return;
		}
		counts[entry.value.outcome]++;
		outputs[CLAIM_OUTPUT[entry.value.outcome]].push({
			json: { ...items[index].json, idempotency: describeClaim(key, request.token, entry.value) },
			pairedItem: { item: index },
		});
	});

	ctx.fn.logger.debug('Idempotency Gate claimed a batch', { items: items.length, ...counts });
	return outputs;
}

function describeClaim(key: string, token: string, outcome: ClaimOutcome) {
	switch (outcome.outcome) {
		case 'new':
			return {
				outcome: 'new',
				key,
				token,
				fencingToken: outcome.fencingToken,
				leaseExpiresAt: new Date(outcome.leaseExpiresAt).toISOString(),
				takeover: outcome.takeover,
			};
		case 'completed':
			return {
				outcome: 'completed',
				key,
				fencingToken: outcome.fencingToken,
				result: outcome.result,
				completedAt: new Date(outcome.completedAt).toISOString(),
			};
		case 'inProgress':
			return {
				outcome: 'inProgress',
				key,
				fencingToken: outcome.fencingToken,
				retryAfterMs: outcome.retryAfterMs,
				status: 409,
				problem: { ...inProgressProblem(key, outcome.retryAfterMs) },
			};
		case 'conflict':
			return {
				outcome: 'conflict',
				key,
				fencingToken: outcome.fencingToken,
				status: 422,
				problem: { ...conflictProblem(key) },
			};
	}
}

/**
 * Complete: stores the result record under the key if the token still holds the claim.
 *
 * A token that no longer holds the claim is an error (not retryable): the work was done under a
 * claim that lapsed or was taken over, and a user must look at it.
 */
export async function runComplete(ctx: GateContext): Promise<INodeExecutionData[][]> {
	const items = ctx.fn.getInputData();
	const output: INodeExecutionData[] = [];
	const pending: Array<Pending<CompleteRequest>> = [];

	for (let index = 0; index < items.length; index++) {
		try {
			const key = readKey(ctx.fn, index);
			pending.push({
				index,
				key,
				request: {
					redisKey: buildRedisKey({ prefix: ctx.prefix, scope: readScope(ctx.fn, index), key }),
					token: readToken(ctx.fn, index),
					resultJson: encodeResult(ctx.fn.getNodeParameter('result', index, '{}')),
					retentionMs: Math.round(
						(ctx.fn.getNodeParameter('retentionDays', index, 7) as number) * DAY_MS,
					),
				},
			});
		} catch (error) {
			output.push(failItem(ctx.fn, toItemError(ctx.fn, error, index), index));
		}
	}

	const entries = await sendBatch(
		ctx.fn,
		pending,
		async (requests) => await completeMany(ctx.client, requests),
	);
	entries.forEach((entry, position) => {
		const { index, key, request } = pending[position];
		if (!entry.ok) {
			output.push(failItem(ctx.fn, redisItemError(ctx.fn, entry.error, index), index));
			return;
		}
		const outcome = entry.value;
		if (outcome.outcome === 'missing' || outcome.outcome === 'tokenMismatch') {
			output.push(failItem(ctx.fn, claimLostError(ctx.fn, { key, index, outcome }), index));
			return;
		}
		output.push({
			json: {
				...items[index].json,
				idempotency: {
					outcome: 'completed',
					key,
					fencingToken: outcome.fencingToken,
					result: JSON.parse(request.resultJson) as JsonObject,
					alreadyCompleted: outcome.outcome === 'alreadyCompleted',
					leaseLapsed: outcome.outcome === 'completed' && outcome.leaseLapsed,
				},
			},
			pairedItem: { item: index },
		});
	});
	return [output];
}

function claimLostError(
	fn: IExecuteFunctions,
	options: {
		key: string;
		index: number;
		outcome:
			| { outcome: 'missing' }
			| { outcome: 'tokenMismatch'; fencingToken: number; state: string };
	},
): NodeOperationError {
	const { key, index, outcome } = options;
	let description: string;
	if (outcome.outcome === 'missing') {
		description =
			'No claim exists for this key in this scope: it was never claimed here, or its record expired. Check that Key and Scope match the Claim step.';
	} else if (outcome.state === 'claimed') {
		description = `Another execution claimed the key after this claim's lease ran out (it now holds fencing number ${outcome.fencingToken}). The work done under the old claim may be repeated; raise the lease above the longest run of this workflow.`;
	} else if (outcome.state === 'completed') {
		description = `The key was already completed under another claim (fencing number ${outcome.fencingToken}).`;
	} else {
		description = 'The claim was released. Claim the key again before completing it.';
	}
	const error = new NodeOperationError(
		fn.getNode(),
		`The claim on key "${key}" is not held by this token`,
		{ itemIndex: index, description },
	);
	return markError(error, { retryable: false, reason: 'claim_lost', service: 'redis' });
}

/** Release: drops the claim if the token still holds it; a stale token changes nothing. */
export async function runRelease(ctx: GateContext): Promise<INodeExecutionData[][]> {
	const items = ctx.fn.getInputData();
	const output: INodeExecutionData[] = [];
	const pending: Array<Pending<ReleaseRequest>> = [];

	for (let index = 0; index < items.length; index++) {
		try {
			const key = readKey(ctx.fn, index);
			pending.push({
				index,
				key,
				request: {
					redisKey: buildRedisKey({ prefix: ctx.prefix, scope: readScope(ctx.fn, index), key }),
					token: readToken(ctx.fn, index),
				},
			});
		} catch (error) {
			output.push(failItem(ctx.fn, toItemError(ctx.fn, error, index), index));
		}
	}

	const entries = await sendBatch(
		ctx.fn,
		pending,
		async (requests) => await releaseMany(ctx.client, requests),
	);
	entries.forEach((entry, position) => {
		const { index, key } = pending[position];
		if (!entry.ok) {
			output.push(failItem(ctx.fn, redisItemError(ctx.fn, entry.error, index), index));
			return;
		}
		const outcome = entry.value;
		const idempotency =
			outcome.outcome === 'released'
				? { outcome: 'released', key, released: true, fencingToken: outcome.fencingToken }
				: {
						outcome: 'notReleased',
						key,
						released: false,
						reason: outcome.outcome === 'missing' ? 'notFound' : 'staleToken',
						state: outcome.outcome === 'missing' ? null : outcome.state,
						fencingToken: outcome.outcome === 'missing' ? null : outcome.fencingToken,
					};
		output.push({ json: { ...items[index].json, idempotency }, pairedItem: { item: index } });
	});
	return [output];
}

function readScope(fn: IExecuteFunctions, index: number): GateScope {
	const scope = fn.getNodeParameter('scope', index, 'workflow') as string;
	if (scope === 'global') return { kind: 'global' };
	if (scope === 'custom') {
		return { kind: 'custom', namespace: fn.getNodeParameter('namespace', index, '') as string };
	}
	return { kind: 'workflow', workflowId: String(fn.getWorkflow().id ?? '') };
}

function readKey(fn: IExecuteFunctions, index: number): string {
	let value: unknown;
	try {
		value = fn.getNodeParameter('key', index);
	} catch (error) {
		// Most often the default key meeting items that did not come from the Signed Webhook.
		throw new GateInputError(
			`The Key expression failed: ${(error as Error).message}`,
			'The default key reads {{ $json.verification.deliveryId }}, which the Signed Webhook node sets. When items come from another node, set Key to a field they have, e.g. sf:opp:{{ $json.Id }}:closed-won.',
		);
	}
	return normaliseKey(value);
}

function readToken(fn: IExecuteFunctions, index: number): string {
	const token = fn.getNodeParameter('token', index, '') as unknown;
	if (typeof token !== 'string' || !token.trim()) {
		throw new GateInputError(
			'The claim token is empty',
			"The token comes from the Claim step's New output: {{ $('Idempotency Gate').item.json.idempotency.token }}. Point Token at it.",
		);
	}
	return token.trim();
}

/**
 * Sends the batch; when Redis cannot be asked, fails the whole batch closed.
 *
 * @throws NodeApiError marked retryable, unless continue-on-fail is on: then every item of the
 * batch comes back as a failure entry.
 */
async function sendBatch<R, T>(
	fn: IExecuteFunctions,
	pending: Array<Pending<R>>,
	send: (requests: R[]) => Promise<Array<BatchEntry<T>>>,
): Promise<Array<BatchEntry<T>>> {
	try {
		return await send(pending.map((entry) => entry.request));
	} catch (error) {
		if (!(error instanceof GateUnavailableError)) throw error;
		fn.logger.warn('Idempotency Gate could not reach Redis; failing closed', {
			items: pending.length,
			cause: (error.cause as Error)?.message,
		});
		if (!fn.continueOnFail()) throw unavailableError(fn, error);
		return pending.map(() => ({ ok: false as const, error }));
	}
}

function unavailableError(
	fn: IExecuteFunctions,
	error: GateUnavailableError,
	itemIndex?: number,
): NodeApiError {
	const cause = error.cause as { message?: string; code?: string };
	const apiError = new NodeApiError(
		fn.getNode(),
		{
			message: cause?.message ?? 'unknown',
			code: cause?.code ?? 'REDIS_UNAVAILABLE',
		} as JsonObject,
		{
			message:
				'Redis is unreachable, so the Idempotency Gate cannot decide and lets nothing through',
			description: `Redis did not answer (${cause?.message ?? 'no reply'}). Check that Redis is running and that the Dealflow Redis credential points at it. No item was treated as new; the execution can be retried once Redis is back.`,
			itemIndex,
		},
	);
	return markError(apiError, { retryable: true, reason: 'unavailable', service: 'redis' });
}

function redisItemError(
	fn: IExecuteFunctions,
	error: Error,
	index: number,
): NodeApiError | NodeOperationError {
	if (error instanceof GateUnavailableError) return unavailableError(fn, error, index);
	const apiError = new NodeApiError(fn.getNode(), { message: error.message } as JsonObject, {
		message: `Redis refused the gate's command: ${error.message}`,
		description: /WRONGTYPE/.test(error.message)
			? 'Another program uses the same Redis key for other data. Set a distinct Key Prefix in the credential or a custom namespace.'
			: 'The gate could not decide for this item, so it was not let through.',
		itemIndex: index,
	});
	return markError(apiError, { retryable: false, reason: 'redis_error', service: 'redis' });
}

function toItemError(
	fn: IExecuteFunctions,
	error: unknown,
	index: number,
): NodeOperationError | NodeApiError {
	if (error instanceof NodeOperationError || error instanceof NodeApiError) return error;
	const itemError =
		error instanceof GateInputError
			? new NodeOperationError(fn.getNode(), error.message, {
					itemIndex: index,
					description: error.description,
				})
			: new NodeOperationError(fn.getNode(), error as Error, { itemIndex: index });
	return markError(itemError, { retryable: false, reason: 'validation', service: 'redis' });
}

/**
 * Returns the error item for continue-on-fail; otherwise throws the error.
 *
 * @throws the given error when continue-on-fail is off.
 */
function failItem(
	fn: IExecuteFunctions,
	error: NodeApiError | NodeOperationError,
	index: number,
): INodeExecutionData {
	if (!fn.continueOnFail()) throw error;
	return {
		json: { error: error.message, details: error.description ?? '' },
		error,
		pairedItem: { item: index },
	};
}
