/**
 * Byte-level primitives for signature checks: strict decoders and a constant-time comparison.
 *
 * Signatures are compared as bytes, never as strings. A string comparison either leaks timing
 * or, with `timingSafeEqual` on encoded text, throws when a multibyte character makes the byte
 * lengths differ from the string lengths. Decoding first and checking byte lengths first turns
 * every odd header into a plain "no match".
 */

import { createHmac, timingSafeEqual } from 'node:crypto';

export type HmacAlgorithm = 'sha1' | 'sha256' | 'sha512';
export type SignatureEncoding = 'base64' | 'hex';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const HEX = /^(?:[0-9a-fA-F]{2})+$/;

/**
 * Decodes canonical, padded base64 (RFC 4648 section 4).
 *
 * Node's own decoder skips characters it does not know and ignores stray padding bits, so two
 * different strings can decode to the same bytes. Here only the one canonical spelling of a
 * byte string is accepted.
 *
 * @returns the bytes, or `undefined` for an empty string or anything that is not canonical
 * base64. Never throws.
 */
export function decodeBase64Strict(text: string): Buffer | undefined {
	if (text.length === 0 || !BASE64.test(text)) return undefined;
	const bytes = Buffer.from(text, 'base64');
	// Non-zero bits in the last character's unused tail would survive the regex.
	return bytes.toString('base64') === text ? bytes : undefined;
}

/**
 * Decodes hex with an even number of digits, either case.
 *
 * @returns the bytes, or `undefined` for an empty string or anything else. Never throws.
 */
export function decodeHexStrict(text: string): Buffer | undefined {
	if (text.length === 0 || !HEX.test(text)) return undefined;
	return Buffer.from(text, 'hex');
}

/**
 * Decodes a signature candidate in the given encoding.
 *
 * @returns the bytes, or `undefined` when the text is not strictly in that encoding.
 */
export function decodeSignature(options: {
	text: string;
	encoding: SignatureEncoding;
}): Buffer | undefined {
	return options.encoding === 'hex'
		? decodeHexStrict(options.text)
		: decodeBase64Strict(options.text);
}

/**
 * Compares two byte strings in time that depends only on their length.
 *
 * @returns whether they are equal; `false` at once when the byte lengths differ (the length of a
 * MAC is public, so that early exit leaks nothing).
 */
export function bytesEqual(options: { expected: Buffer; actual: Buffer }): boolean {
	if (options.expected.length !== options.actual.length) return false;
	return timingSafeEqual(options.expected, options.actual);
}

/**
 * HMAC over a list of chunks, fed in order, so a prefix and a large body are hashed without
 * first copying them into one buffer.
 *
 * @returns the raw MAC bytes. Throws only for an unknown algorithm (a programming error).
 */
export function hmac(options: {
	algorithm: HmacAlgorithm;
	key: Buffer;
	chunks: readonly Buffer[];
}): Buffer {
	const mac = createHmac(options.algorithm, options.key);
	for (const chunk of options.chunks) mac.update(chunk);
	return mac.digest();
}

/** Encodes MAC bytes the way a provider writes them into its header. */
export function encodeSignature(options: { bytes: Buffer; encoding: SignatureEncoding }): string {
	return options.bytes.toString(options.encoding);
}
