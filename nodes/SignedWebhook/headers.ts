/**
 * Reading untrusted request headers without ever throwing.
 *
 * Node lowercases header names, joins most repeated headers with ", " and keeps some as arrays.
 * Callers of the pure verifier (tests, other runtimes) may hand over anything at all, so every
 * value is treated as `unknown` until proven to be one plain string.
 */

/** Request headers as Node gives them, or anything that claims to be headers. */
export type RequestHeaders = Readonly<Record<string, unknown>>;

export type HeaderRead =
	| { kind: 'missing' }
	| { kind: 'ambiguous' }
	| { kind: 'value'; value: string };

/**
 * Reads one header that must appear once.
 *
 * @returns `missing` when absent or blank, `ambiguous` when repeated (an array of more than one
 * value) or not a string, otherwise the value with surrounding spaces and tabs removed. Never
 * throws, whatever `headers` holds.
 */
export function readSingleHeader(options: { headers: unknown; name: string }): HeaderRead {
	const { headers, name } = options;
	if (headers === null || typeof headers !== 'object') return { kind: 'missing' };

	// Own properties only: a header called "constructor" or "__proto__" must not reach the prototype.
	if (!Object.prototype.hasOwnProperty.call(headers, name)) return { kind: 'missing' };
	let raw: unknown = (headers as Record<string, unknown>)[name];

	if (Array.isArray(raw)) {
		if (raw.length === 0) return { kind: 'missing' };
		if (raw.length > 1) return { kind: 'ambiguous' };
		raw = raw[0];
	}
	if (raw === undefined || raw === null) return { kind: 'missing' };
	if (typeof raw !== 'string') return { kind: 'ambiguous' };

	const value = raw.replace(/^[ \t]+|[ \t]+$/g, '');
	return value.length === 0 ? { kind: 'missing' } : { kind: 'value', value };
}

/**
 * Copies headers for the output item with the named ones replaced by `[redacted]`.
 *
 * @returns a new object; the request's own headers are left untouched.
 */
export function redactHeaders(options: {
	headers: RequestHeaders;
	names: readonly string[];
}): Record<string, unknown> {
	const copy: Record<string, unknown> = {};
	for (const [key, value] of Object.entries(options.headers)) {
		copy[key] = options.names.includes(key.toLowerCase()) ? '[redacted]' : value;
	}
	return copy;
}
