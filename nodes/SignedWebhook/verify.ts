/**
 * Signature verification as a pipeline of small pure steps:
 *
 *   parse the headers → build the signed content → compute the expected MACs
 *     → compare each candidate → check the timestamp window
 *
 * The window is checked last, after a signature has matched, so an unauthenticated caller
 * learns nothing about the tolerance. Every step returns a value; bad input never throws. The
 * one thing that throws is a secret that cannot be a key for the scheme (`SecretFormatError`),
 * because that is a setup problem the workflow owner must see, not a 4xx for the caller.
 */

import { bytesEqual, decodeSignature, hmac } from './bytes';
import type { ParsedSignature, Scheme } from './presets';

/** The secrets from the credential. `previous` keeps the old key valid during a rotation. */
export interface SigningSecrets {
	current: string;
	previous?: string;
}

export type SecretSlot = 'current' | 'previous';

export type Rejection =
	/** A header or field the scheme requires is absent: 401. */
	| { reason: 'missing'; what: string }
	/** The signature header cannot be read as the scheme writes it: the scheme's mismatch status. */
	| { reason: 'malformed'; what: string }
	/** The timestamp is not whole Unix seconds: 401. */
	| { reason: 'invalidTimestamp' }
	/** No candidate matches any secret: the scheme's mismatch status. */
	| { reason: 'mismatch' }
	/** A signature matched but the timestamp is outside the window: 401. */
	| { reason: 'outsideTolerance' };

export type Verdict =
	| { ok: true; secret: SecretSlot; timestamp: number | null }
	| ({ ok: false } & Rejection);

export interface VerifyOptions {
	scheme: Scheme;
	headers: unknown;
	/** The request body exactly as received. */
	rawBody: Buffer;
	secrets: SigningSecrets;
	/** Current time in Unix seconds. @default Math.floor(Date.now() / 1000) */
	nowSeconds?: number;
}

// Whole seconds only; 12 digits reach the year 33658, more is not a clock.
const UNIX_SECONDS = /^\d{1,12}$/;

/**
 * Verifies a request against a scheme.
 *
 * @returns `{ ok: true, secret, timestamp }` naming the secret that matched, or `{ ok: false,
 * reason }`. Never throws for anything in the request; throws `SecretFormatError` when a stored
 * secret cannot be turned into a key.
 */
export function verifySignature(options: VerifyOptions): Verdict {
	const { scheme, rawBody, secrets } = options;

	const parsed = scheme.parse(options.headers);
	if (parsed.kind !== 'parsed') return rejectParse(parsed);

	let timestamp: number | null = null;
	if (parsed.timestamp !== undefined) {
		if (!UNIX_SECONDS.test(parsed.timestamp)) return { ok: false, reason: 'invalidTimestamp' };
		timestamp = Number(parsed.timestamp);
	}

	const candidates = decodeCandidates({ scheme, encoded: parsed.candidates });
	if (candidates.length === 0) {
		return {
			ok: false,
			reason: 'malformed',
			what: `signature header ${scheme.signatureHeaders[0]}`,
		};
	}

	const chunks = [scheme.signedPrefix(parsed), rawBody];
	const secret = matchingSecret({ scheme, chunks, candidates, secrets });
	if (!secret) return { ok: false, reason: 'mismatch' };

	if (timestamp !== null && scheme.tolerance) {
		const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
		if (!withinTolerance({ timestamp, now, tolerance: scheme.tolerance })) {
			return { ok: false, reason: 'outsideTolerance' };
		}
	}
	return { ok: true, secret, timestamp };
}

function rejectParse(parsed: Exclude<ParsedSignature, { kind: 'parsed' }>): Verdict {
	return parsed.kind === 'missing'
		? { ok: false, reason: 'missing', what: parsed.what }
		: { ok: false, reason: 'malformed', what: parsed.what };
}

/**
 * Decodes the candidates that are strictly in the scheme's encoding and drops the rest.
 *
 * @returns the decoded MACs; empty when none could be decoded.
 */
export function decodeCandidates(options: {
	scheme: Scheme;
	encoded: readonly string[];
}): Buffer[] {
	const decoded: Buffer[] = [];
	for (const text of options.encoded) {
		const bytes = decodeSignature({ text, encoding: options.scheme.encoding });
		if (bytes) decoded.push(bytes);
	}
	return decoded;
}

/**
 * The expected MAC over the signed content for one secret.
 *
 * @returns the MAC bytes. Throws `SecretFormatError` for a secret the scheme cannot use.
 */
export function expectedMac(options: {
	scheme: Scheme;
	secret: string;
	chunks: readonly Buffer[];
}): Buffer {
	return hmac({
		algorithm: options.scheme.algorithm,
		key: options.scheme.key(options.secret),
		chunks: options.chunks,
	});
}

/**
 * Compares every candidate with the MAC of every configured secret, current first.
 *
 * All candidates are compared even after a match would be found, so the time taken does not
 * depend on which candidate matched.
 *
 * @returns the slot of the secret that matched, or `undefined`.
 */
export function matchingSecret(options: {
	scheme: Scheme;
	chunks: readonly Buffer[];
	candidates: readonly Buffer[];
	secrets: SigningSecrets;
}): SecretSlot | undefined {
	const slots: Array<[SecretSlot, string | undefined]> = [
		['current', options.secrets.current],
		['previous', options.secrets.previous],
	];
	for (const [slot, secret] of slots) {
		if (!secret) continue;
		const expected = expectedMac({ scheme: options.scheme, secret, chunks: options.chunks });
		let matched = false;
		for (const actual of options.candidates) {
			if (bytesEqual({ expected, actual })) matched = true;
		}
		if (matched) return slot;
	}
	return undefined;
}

/**
 * Whether a timestamp lies inside the replay window.
 *
 * @returns `true` when `now - timestamp` is at most the tolerance (and, for `both`, when
 * `timestamp - now` is too).
 */
export function withinTolerance(options: {
	timestamp: number;
	now: number;
	tolerance: { seconds: number; direction: 'past' | 'both' };
}): boolean {
	const age = options.now - options.timestamp;
	if (age > options.tolerance.seconds) return false;
	return options.tolerance.direction === 'past' || -age <= options.tolerance.seconds;
}
