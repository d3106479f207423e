import { isNetworkError } from '../shared/errors';
import { SalesforceAuthError } from './auth';

/**
 * Sorts a Salesforce failure into what the retry policy and the user need to know: can it pass
 * on a later try, is it safe to try again right now, and which field is to blame. Pure, no n8n.
 */

export type FailureReason =
	| 'row_lock'
	| 'unavailable'
	| 'concurrent_limit'
	| 'daily_api_limit'
	| 'network'
	| 'session'
	| 'auth'
	| 'multiple_matches'
	| 'validation'
	| 'permission'
	| 'duplicate_value'
	| 'not_found'
	| 'bad_query'
	| 'unknown';

export interface SalesforceFailure {
	reason: FailureReason;
	/** Whether a later attempt can succeed without anyone changing input or setup. */
	retryable: boolean;
	/** Whether backing off and repeating the same call now is sensible (for idempotent calls). */
	retryInPlace: boolean;
	errorCode: string;
	message: string;
	/** Fields Salesforce names, or that its message names. */
	fields: string[];
	/** HTTP status when known. */
	statusCode?: number;
	retryAfterMs?: number;
	/** For HTTP 300 on upsert: the ids of the records that matched. */
	matchingIds?: string[];
}

const VALIDATION_CODES = new Set([
	'FIELD_CUSTOM_VALIDATION_EXCEPTION',
	'REQUIRED_FIELD_MISSING',
	'INVALID_FIELD',
	'INVALID_FIELD_FOR_INSERT_UPDATE',
	'JSON_PARSER_ERROR',
	'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
	'INVALID_TYPE_ON_FIELD_IN_RECORD',
	'STRING_TOO_LONG',
	'INVALID_EMAIL_ADDRESS',
	'FIELD_INTEGRITY_EXCEPTION',
	'MALFORMED_ID',
	'INVALID_ID_FIELD',
	'INVALID_CROSS_REFERENCE_KEY',
	'NUMBER_OUTSIDE_VALID_RANGE',
	'FIELD_FILTER_VALIDATION_EXCEPTION',
	'INVALID_TYPE',
	'CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY',
]);

const PERMISSION_CODES = new Set([
	'INSUFFICIENT_ACCESS',
	'INSUFFICIENT_ACCESS_OR_READONLY',
	'INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY',
	'API_DISABLED_FOR_ORG',
	'API_CURRENTLY_DISABLED',
	'FUNCTIONALITY_NOT_ENABLED',
	'NOT_ACCESSIBLE',
]);

const DAILY_LIMIT_WAIT_MS = 60 * 60 * 1000;

/** Reads a thrown error (jsforce HttpApiError, token failure, transport error) as a failure. */
export function classifySalesforceError(error: unknown): SalesforceFailure {
	if (error instanceof SalesforceAuthError) return classifyAuthError(error);

	const { errorCode, message, data } = readErrorParts(error);
	const statusCode = /^ERROR_HTTP_(\d{3})$/.exec(errorCode)?.[1];
	const base = {
		errorCode,
		message,
		fields: fieldsOf(data, message),
		statusCode: statusCode ? Number(statusCode) : undefined,
	};

	if (!errorCode && isNetworkError(error)) {
		return {
			...base,
			errorCode: 'NETWORK_ERROR',
			reason: 'network',
			retryable: true,
			retryInPlace: true,
		};
	}
	if (errorCode === 'UNABLE_TO_LOCK_ROW') {
		return { ...base, reason: 'row_lock', retryable: true, retryInPlace: true };
	}
	if (
		errorCode === 'SERVER_UNAVAILABLE' ||
		(base.statusCode !== undefined && [502, 503, 504].includes(base.statusCode))
	) {
		return { ...base, reason: 'unavailable', retryable: true, retryInPlace: true };
	}
	if (errorCode === 'REQUEST_LIMIT_EXCEEDED') {
		// Both limits share one error code; only the wording tells them apart. The concurrent limit
		// frees up within seconds, the daily allowance only as the 24-hour window rolls on.
		if (/concurrent/i.test(message)) {
			return { ...base, reason: 'concurrent_limit', retryable: true, retryInPlace: true };
		}
		return {
			...base,
			reason: 'daily_api_limit',
			retryable: true,
			retryInPlace: false,
			retryAfterMs: DAILY_LIMIT_WAIT_MS,
		};
	}
	if (errorCode === 'INVALID_SESSION_ID') {
		return { ...base, reason: 'session', retryable: false, retryInPlace: false };
	}
	if (errorCode === 'MULTIPLE_CHOICES') {
		const urls = Array.isArray(data) ? data.filter((u): u is string => typeof u === 'string') : [];
		return {
			...base,
			statusCode: 300,
			reason: 'multiple_matches',
			retryable: false,
			retryInPlace: false,
			matchingIds: urls.map((url) => url.split('/').pop() ?? url),
		};
	}
	if (errorCode === 'DUPLICATE_VALUE' || errorCode === 'DUPLICATES_DETECTED') {
		return { ...base, reason: 'duplicate_value', retryable: false, retryInPlace: false };
	}
	if (PERMISSION_CODES.has(errorCode)) {
		return { ...base, reason: 'permission', retryable: false, retryInPlace: false };
	}
	if (errorCode === 'MALFORMED_QUERY' || errorCode === 'INVALID_QUERY_FILTER_OPERATOR') {
		return { ...base, reason: 'bad_query', retryable: false, retryInPlace: false };
	}
	if (VALIDATION_CODES.has(errorCode)) {
		return { ...base, reason: 'validation', retryable: false, retryInPlace: false };
	}
	if (errorCode === 'NOT_FOUND' || errorCode === 'ENTITY_IS_DELETED') {
		return { ...base, reason: 'not_found', retryable: false, retryInPlace: false };
	}
	if (base.statusCode !== undefined && base.statusCode >= 500) {
		return { ...base, reason: 'unavailable', retryable: true, retryInPlace: false };
	}
	return {
		...base,
		errorCode: errorCode || 'UNKNOWN',
		reason: 'unknown',
		retryable: false,
		retryInPlace: false,
	};
}

function classifyAuthError(error: SalesforceAuthError): SalesforceFailure {
	const base = {
		errorCode: error.oauthError,
		message: error.message,
		fields: [],
		statusCode: error.statusCode,
	};
	if (error.statusCode >= 500 || error.statusCode === 429) {
		return { ...base, reason: 'unavailable', retryable: true, retryInPlace: true };
	}
	if (error.oauthError === 'REQUEST_LIMIT_EXCEEDED' && /concurrent/i.test(error.message)) {
		return { ...base, reason: 'concurrent_limit', retryable: true, retryInPlace: true };
	}
	return { ...base, reason: 'auth', retryable: false, retryInPlace: false };
}

function readErrorParts(error: unknown): { errorCode: string; message: string; data: unknown } {
	if (!error || typeof error !== 'object') {
		return { errorCode: '', message: String(error), data: undefined };
	}
	const record = error as { errorCode?: unknown; message?: unknown; data?: unknown };
	return {
		errorCode: typeof record.errorCode === 'string' ? record.errorCode : '',
		message: typeof record.message === 'string' ? record.message : String(error),
		data: record.data,
	};
}

const FIELD_PATTERNS: RegExp[] = [
	/No such column '([^']+)'/,
	/duplicate value found: (\S+) duplicates/,
	/Unable to create\/update fields: ([^.]+)\./,
	/Required fields are missing: \[([^\]]+)\]/,
	/^(\w+): bad value for restricted picklist/,
	/^(\w+): invalid email address/,
	/^(\w+): data value too large/,
];

/**
 * The fields an error names: Salesforce's `fields` array when it has entries, otherwise the
 * field its message mentions (INVALID_FIELD and DUPLICATE_VALUE carry the name only there).
 */
export function fieldsOf(data: unknown, message: string): string[] {
	const entries = Array.isArray(data) ? data : [data];
	const listed = entries.flatMap((entry) => {
		const fields = (entry as { fields?: unknown } | undefined)?.fields;
		return Array.isArray(fields) ? fields.filter((f): f is string => typeof f === 'string') : [];
	});
	if (listed.length > 0) return [...new Set(listed)];
	for (const pattern of FIELD_PATTERNS) {
		const match = pattern.exec(message);
		if (match)
			return match[1]
				.split(',')
				.map((name) => name.trim())
				.filter(Boolean);
	}
	return [];
}
