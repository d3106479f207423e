import { hash } from 'node:crypto';

/**
 * The Idempotency Gate's pure logic: key building, fingerprints, result records and the reading
 * of script replies. No n8n and no Redis here, so all of it is testable on its own.
 */

/** Longest accepted key, in UTF-8 bytes, before namespacing. Longer keys are almost always a whole payload pasted into the key by mistake. */
export const MAX_KEY_BYTES = 512;

/** Largest result record Complete stores, in UTF-8 bytes of its JSON. */
export const MAX_RESULT_BYTES = 8_192;

const NAMESPACE_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/** A mistake in the node's input or settings, found before anything is sent to Redis. */
export class GateInputError extends Error {
	constructor(
		message: string,
		readonly description?: string,
	) {
		super(message);
		this.name = 'GateInputError';
	}
}

/** Where keys live: one workflow, every workflow on the Redis, or a namespace the user names. */
export type GateScope =
	| { kind: 'workflow'; workflowId: string }
	| { kind: 'global' }
	| { kind: 'custom'; namespace: string };

/**
 * Checks a key produced by the Key expression and returns it as a string.
 *
 * @throws GateInputError when the key is missing, empty, not a string or number, or longer than
 * {@link MAX_KEY_BYTES}.
 */
export function normaliseKey(value: unknown): string {
	if (value === undefined || value === null || (typeof value === 'string' && !value.trim())) {
		throw new GateInputError(
			'The idempotency key is empty',
			'The default key reads {{ $json.verification.deliveryId }}, which the Signed Webhook node sets. When items come from another node, set Key to a business key such as sf:opp:{{ $json.Id }}:closed-won.',
		);
	}
	if (typeof value !== 'string' && typeof value !== 'number') {
		throw new GateInputError(
			`The idempotency key must be text or a number, not ${Array.isArray(value) ? 'an array' : typeof value}`,
			'Point Key at a single field, or build the key from several fields, e.g. order:{{ $json.orderId }}:{{ $json.stage }}.',
		);
	}
	const key = String(value);
	// A UTF-16 unit takes at most 3 UTF-8 bytes, so most keys need no byte count.
	if (key.length * 3 <= MAX_KEY_BYTES) return key;
	const bytes = Buffer.byteLength(key, 'utf8');
	if (bytes > MAX_KEY_BYTES) {
		throw new GateInputError(
			`The idempotency key is ${bytes} bytes long; the limit is ${MAX_KEY_BYTES}`,
			'Use an identifier (a delivery ID, an opportunity ID and stage) rather than a payload. If the identity really is long, hash it first.',
		);
	}
	return key;
}

/**
 * The Redis key for a user key: `<prefix>:gate:<scope>:<key>`.
 *
 * @throws GateInputError for a custom namespace that is empty or holds characters other than
 * letters, digits, `_`, `.` and `-` (a `:` would let two namespaces share keys).
 */
export function buildRedisKey(options: { prefix: string; scope: GateScope; key: string }): string {
	return `${options.prefix}:gate:${scopeSegment(options.scope)}:${options.key}`;
}

function scopeSegment(scope: GateScope): string {
	if (scope.kind === 'global') return 'global';
	if (scope.kind === 'workflow') return `wf:${scope.workflowId || 'unsaved'}`;
	const namespace = scope.namespace.trim();
	if (!NAMESPACE_PATTERN.test(namespace)) {
		throw new GateInputError(
			`The namespace "${namespace.slice(0, 80)}" is not allowed`,
			'Use 1 to 64 letters, digits, underscores, dots or hyphens, e.g. billing or sf-closed-won.',
		);
	}
	return `ns:${namespace}`;
}

/** What the fingerprint covers: the whole item, chosen fields, or nothing (no conflict check). */
export type FingerprintMode = 'payload' | 'fields' | 'none';

/**
 * A SHA-256 over the canonical JSON (sorted keys) of the item or of the picked fields, so key
 * order and formatting never change it.
 *
 * @returns the digest in base64url (43 characters: every claim sends it, so shorter than hex),
 * or '' for mode `none`.
 * @throws GateInputError for mode `fields` with no field names.
 */
export function fingerprintItem(options: {
	mode: FingerprintMode;
	json: unknown;
	fields?: string[];
}): string {
	if (options.mode === 'none') return '';
	let subject: unknown = options.json;
	if (options.mode === 'fields') {
		const fields = options.fields ?? [];
		if (!fields.length) {
			throw new GateInputError(
				'Fingerprint is set to selected fields, but no fields are listed',
				'List the fields that identify the request, e.g. Id, StageName, Amount, or choose the whole payload.',
			);
		}
		subject = Object.fromEntries(
			fields.map((path) => [path, readPath(options.json, path) ?? null]),
		);
	}
	return hash('sha256', canonicalJson(subject), 'base64url');
}

/** Splits a comma-separated field list, dropping blanks and duplicates. */
export function parseFieldList(text: string): string[] {
	return [
		...new Set(
			text
				.split(',')
				.map((field) => field.trim())
				.filter(Boolean),
		),
	];
}

function readPath(value: unknown, path: string): unknown {
	let current = value;
	for (const part of path.split('.')) {
		if (current === null || typeof current !== 'object') return undefined;
		current = (current as Record<string, unknown>)[part];
	}
	return current;
}

/**
 * JSON with every object's keys in a fixed order (sorted, except that JavaScript always puts
 * integer-like keys first, ascending), so the same data always gives the same text whatever
 * order its keys arrived in. `undefined` members are left out, as JSON does.
 */
export function canonicalJson(value: unknown): string {
	try {
		return writeCanonical(value, 0);
	} catch (error) {
		if (error !== UNUSUAL) throw error;
	}
	// Anything beyond plain JSON data (toJSON, class instances, boxed values, functions, bigint,
	// very deep nesting): native stringify with a key-sorting replacer defines the text.
	return JSON.stringify(value, sortKeys) ?? 'null';
}

/** Thrown inside writeCanonical to hand a value over to the replacer path. */
const UNUSUAL = Symbol('unusual value');

/** Deeper than this is either a cycle or not item data; the replacer path decides (and throws). */
const MAX_FAST_DEPTH = 64;

/**
 * The same text as the replacer path, written directly for plain objects, arrays and primitives:
 * a replacer takes native stringify off its fast path, and this runs several times faster. Every
 * claim fingerprints its item, so this is on the gate's hot path.
 */
function writeCanonical(value: unknown, depth: number): string {
	switch (typeof value) {
		case 'string':
		case 'number':
			return JSON.stringify(value);
		case 'boolean':
			return value ? 'true' : 'false';
		case 'object':
			break;
		default:
			throw UNUSUAL;
	}
	if (value === null) return 'null';
	if (depth > MAX_FAST_DEPTH || typeof (value as { toJSON?: unknown }).toJSON === 'function') {
		throw UNUSUAL;
	}
	if (Array.isArray(value)) {
		let text = '[';
		for (let index = 0; index < value.length; index++) {
			const member: unknown = value[index];
			if (index) text += ',';
			text += member === undefined ? 'null' : writeCanonical(member, depth + 1);
		}
		return text + ']';
	}
	const prototype = Object.getPrototypeOf(value) as unknown;
	if (prototype !== Object.prototype && prototype !== null) throw UNUSUAL;

	const record = value as Record<string, unknown>;
	let text = '{';
	for (const key of canonicalKeyOrder(record)) {
		const member = record[key];
		if (member === undefined) continue;
		if (text.length > 1) text += ',';
		text += JSON.stringify(key) + ':' + writeCanonical(member, depth + 1);
	}
	return text + '}';
}

/** Sorted keys, except that integer-like keys come first, ascending, as in any JS object. */
function canonicalKeyOrder(record: Record<string, unknown>): string[] {
	const keys = sortedKeys(record);
	// Sorted, so any key starting with a digit comes before the first letter-led key.
	let digitLed = false;
	for (const key of keys) {
		const first = key.charCodeAt(0);
		if (first > 57) break;
		if (first >= 48) {
			digitLed = true;
			break;
		}
	}
	if (!digitLed) return keys;
	const ordered: Record<string, true> = Object.create(null) as Record<string, true>;
	for (const key of keys) ordered[key] = true;
	return Object.keys(ordered);
}

/**
 * Object.keys in the order of a default sort (UTF-16 code units). Item objects have few keys, and
 * for those an insertion sort beats Array.prototype.sort's general machinery.
 */
function sortedKeys(record: Record<string, unknown>): string[] {
	const keys = Object.keys(record);
	if (keys.length > 16) return keys.sort();
	for (let i = 1; i < keys.length; i++) {
		const key = keys[i];
		let j = i - 1;
		for (; j >= 0 && keys[j] > key; j--) keys[j + 1] = keys[j];
		keys[j + 1] = key;
	}
	return keys;
}

function sortKeys(_key: string, value: unknown): unknown {
	if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
	const sorted: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
	for (const key of Object.keys(value).sort())
		sorted[key] = (value as Record<string, unknown>)[key];
	return sorted;
}

/**
 * Serialises the result record Complete stores.
 *
 * @throws GateInputError when the record is not a JSON object or is larger than
 * {@link MAX_RESULT_BYTES}.
 */
export function encodeResult(value: unknown): string {
	let record = value;
	if (typeof record === 'string') {
		try {
			record = JSON.parse(record) as unknown;
		} catch {
			throw new GateInputError(
				'The result record is not valid JSON',
				'Give an object such as { "invoiceNumber": "INV-0042" }.',
			);
		}
	}
	if (record === null || typeof record !== 'object' || Array.isArray(record)) {
		throw new GateInputError(
			'The result record must be a JSON object',
			'Give an object such as { "invoiceNumber": "INV-0042" }; a retried webhook is answered with it.',
		);
	}
	const text = JSON.stringify(record);
	const bytes = Buffer.byteLength(text, 'utf8');
	if (bytes > MAX_RESULT_BYTES) {
		throw new GateInputError(
			`The result record is ${bytes} bytes; the limit is ${MAX_RESULT_BYTES}`,
			'Store identifiers (invoice number, reservation ID), not whole documents: the record is kept for every key for the whole retention.',
		);
	}
	return text;
}

/** Reads a stored result record back; a record that is not valid JSON comes back as `{ raw }`. */
export function decodeResult(text: string): Record<string, unknown> {
	if (!text) return {};
	try {
		const parsed = JSON.parse(text) as unknown;
		if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
			return parsed as Record<string, unknown>;
		}
	} catch {
		// Written by something other than this node; hand it over untouched rather than fail.
	}
	return { raw: text };
}

/** The Claim script's verdict for one key. */
export type ClaimOutcome =
	| {
			outcome: 'new';
			fencingToken: number;
			leaseExpiresAt: number;
			takeover: 'none' | 'expired' | 'released';
	  }
	| {
			outcome: 'completed';
			fencingToken: number;
			result: Record<string, unknown>;
			completedAt: number;
	  }
	| { outcome: 'inProgress'; fencingToken: number; retryAfterMs: number }
	| { outcome: 'conflict'; fencingToken: number; storedFingerprint: string; state: string };

/** The Complete script's verdict for one key. */
export type CompleteOutcome =
	| { outcome: 'completed'; fencingToken: number; leaseLapsed: boolean }
	| { outcome: 'alreadyCompleted'; fencingToken: number }
	| { outcome: 'tokenMismatch'; fencingToken: number; state: string }
	| { outcome: 'missing' };

/** The Release script's verdict for one key. */
export type ReleaseOutcome =
	| { outcome: 'released'; fencingToken: number }
	| { outcome: 'stale'; fencingToken: number; state: string }
	| { outcome: 'missing' };

/**
 * Reads a Claim script reply.
 *
 * @throws Error for a reply the script cannot produce (a foreign script under the same name).
 */
export function parseClaimReply(reply: unknown): ClaimOutcome {
	const [tag, a, b, c] = asReply(reply);
	switch (tag) {
		case 'new':
			return {
				outcome: 'new',
				fencingToken: toNumber(a),
				leaseExpiresAt: toNumber(b),
				takeover: c === 'claimed' ? 'expired' : c === 'released' ? 'released' : 'none',
			};
		case 'completed':
			return {
				outcome: 'completed',
				result: decodeResult(String(a ?? '')),
				fencingToken: toNumber(b),
				completedAt: toNumber(c),
			};
		case 'in_progress':
			return { outcome: 'inProgress', retryAfterMs: toNumber(a), fencingToken: toNumber(b) };
		case 'conflict':
			return {
				outcome: 'conflict',
				storedFingerprint: String(a),
				fencingToken: toNumber(b),
				state: String(c),
			};
		default:
			throw new Error(`Unexpected reply from the claim script: ${JSON.stringify(reply)}`);
	}
}

/**
 * Reads a Complete script reply.
 *
 * @throws Error for a reply the script cannot produce.
 */
export function parseCompleteReply(reply: unknown): CompleteOutcome {
	const [tag, a, b] = asReply(reply);
	switch (tag) {
		case 'completed':
			return { outcome: 'completed', fencingToken: toNumber(a), leaseLapsed: toNumber(b) === 1 };
		case 'already_completed':
			return { outcome: 'alreadyCompleted', fencingToken: toNumber(a) };
		case 'token_mismatch':
			return { outcome: 'tokenMismatch', state: String(a), fencingToken: toNumber(b) };
		case 'missing':
			return { outcome: 'missing' };
		default:
			throw new Error(`Unexpected reply from the complete script: ${JSON.stringify(reply)}`);
	}
}

/**
 * Reads a Release script reply.
 *
 * @throws Error for a reply the script cannot produce.
 */
export function parseReleaseReply(reply: unknown): ReleaseOutcome {
	const [tag, a, b] = asReply(reply);
	switch (tag) {
		case 'released':
			return { outcome: 'released', fencingToken: toNumber(a) };
		case 'stale':
			return { outcome: 'stale', state: String(a), fencingToken: toNumber(b) };
		case 'missing':
			return { outcome: 'missing' };
		default:
			throw new Error(`Unexpected reply from the release script: ${JSON.stringify(reply)}`);
	}
}

function asReply(reply: unknown): unknown[] {
	if (!Array.isArray(reply) || typeof reply[0] !== 'string') {
		throw new Error(`Unexpected reply from a gate script: ${JSON.stringify(reply)}`);
	}
	return reply as unknown[];
}

function toNumber(value: unknown): number {
	const number = typeof value === 'number' ? value : Number(value);
	return Number.isFinite(number) ? number : 0;
}

/** Fields of a problem-details body (RFC 9457), as an HTTP responder would send them. */
export interface ProblemDetails {
	type: string;
	title: string;
	status: number;
	detail: string;
}

const IDEMPOTENCY_DRAFT =
	'https://datatracker.ietf.org/doc/draft-ietf-httpapi-idempotency-key-header/';

/**
 * The answer for a key reused with another payload, shaped as the IETF Idempotency-Key draft
 * asks: HTTP 422 with a problem-details body.
 */
export function conflictProblem(key: string): ProblemDetails {
	return {
		type: IDEMPOTENCY_DRAFT,
		title: 'Idempotency key reused with a different payload',
		status: 422,
		detail: `The key "${key}" was first used with a different payload. Send a new key for a new request, or resend the original payload unchanged.`,
	};
}

/**
 * The answer for a key whose first request is still running, shaped as the draft asks for a
 * concurrent request: HTTP 409 with a problem-details body.
 */
export function inProgressProblem(key: string, retryAfterMs: number): ProblemDetails {
	return {
		type: IDEMPOTENCY_DRAFT,
		title: 'A request with this idempotency key is still being processed',
		status: 409,
		detail: `The key "${key}" is held by another execution for up to ${Math.ceil(retryAfterMs / 1000)} more seconds. Retry after that.`,
	};
}
