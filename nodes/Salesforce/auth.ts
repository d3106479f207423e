import { createHash, createPrivateKey, sign } from 'node:crypto';

/**
 * Getting and caching Salesforce access tokens for the modes where this package, not n8n, holds
 * the session: JWT bearer, client credentials and username-password. No n8n imports, so it is
 * testable against the simulator alone.
 *
 * A token is cached per process, keyed by a hash of everything that identifies the session (mode,
 * login URL, consumer key, user, a hash of the secret material), and reused by every item and
 * execution until it is due to expire or Salesforce rejects it. Minting one per request is what
 * drives orgs into "login rate exceeded".
 */

export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/** An access token and the org's instance URL, as the token endpoint returns them. */
export interface SalesforceSession {
	accessToken: string;
	instanceUrl: string;
}

export interface HttpRequestSpec {
	method: string;
	url: string;
	headers: Record<string, string>;
	body?: string;
}

export interface HttpResponseSpec {
	statusCode: number;
	headers: Record<string, string>;
	body: string;
}

/** One HTTP exchange. Resolves for every status; rejects only for transport failures. */
export type HttpSend = (request: HttpRequestSpec) => Promise<HttpResponseSpec>;

/** A failed token request, with the OAuth error code and no secret in it. */
export class SalesforceAuthError extends Error {
	readonly oauthError: string;
	readonly statusCode: number;

	constructor(options: { oauthError: string; description: string; statusCode: number }) {
		super(options.description);
		this.name = 'SalesforceAuthError';
		this.oauthError = options.oauthError;
		this.statusCode = options.statusCode;
	}
}

export type TokenAuthConfig =
	| {
			mode: 'jwt';
			loginUrl: string;
			clientId: string;
			username: string;
			privateKeyPem: string;
			/** The JWT `aud`; Salesforce wants login or test.salesforce.com, not the My Domain URL. */
			audience: string;
			/** How long a minted token is reused before a fresh one is asked for. */
			sessionTtlMs: number;
	  }
	| {
			mode: 'clientCredentials';
			loginUrl: string;
			clientId: string;
			clientSecret: string;
			sessionTtlMs: number;
	  }
	| {
			mode: 'password';
			loginUrl: string;
			username: string;
			password: string;
			securityToken: string;
			/** With a consumer key and secret the OAuth password grant is used, else SOAP login. */
			clientId?: string;
			clientSecret?: string;
			apiVersion: string;
			sessionTtlMs: number;
	  };

/** Signs an RS256 JWT bearer assertion valid for three minutes. Throws on an unreadable key. */
export function signJwtAssertion(options: {
	clientId: string;
	username: string;
	audience: string;
	privateKeyPem: string;
	now?: number;
}): string {
	const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
	const issuedAt = Math.floor((options.now ?? Date.now()) / 1000);
	const header = encode({ alg: 'RS256', typ: 'JWT' });
	const payload = encode({
		iss: options.clientId,
		sub: options.username,
		aud: options.audience,
		exp: issuedAt + 180,
	});
	const key = createPrivateKey(normalisePem(options.privateKeyPem));
	const signature = sign('RSA-SHA256', Buffer.from(`${header}.${payload}`), key);
	return `${header}.${payload}.${signature.toString('base64url')}`;
}

/**
 * Restores line breaks in a PEM pasted into a single-line field (n8n password fields keep `\n`
 * as two characters, and some users paste with spaces instead of newlines).
 */
export function normalisePem(pem: string): string {
	const text = pem.replace(/\\n/g, '\n').trim();
	if (text.includes('\n')) return text;
	const match = /^(-----BEGIN [A-Z ]+-----)(.+)(-----END [A-Z ]+-----)$/.exec(text);
	if (!match) return text;
	const body = match[2].replace(/\s+/g, '').replace(/(.{64})/g, '$1\n');
	return `${match[1]}\n${body.trim()}\n${match[3]}`;
}

/** The hash a cached session is filed under; secrets enter it only as their own hash. */
export function sessionCacheKey(config: TokenAuthConfig): string {
	const secret =
		config.mode === 'jwt'
			? config.privateKeyPem
			: config.mode === 'clientCredentials'
				? config.clientSecret
				: `${config.password}\u0000${config.securityToken}\u0000${config.clientSecret ?? ''}`;
	const identity = [
		config.mode,
		trimSlash(config.loginUrl),
		'clientId' in config ? (config.clientId ?? '') : '',
		'username' in config ? config.username : '',
		createHash('sha256').update(secret).digest('hex'),
	];
	return createHash('sha256').update(JSON.stringify(identity)).digest('hex');
}

interface CacheEntry {
	session?: SalesforceSession;
	expiresAt: number;
	pending?: Promise<SalesforceSession>;
}

const sessionCache = new Map<string, CacheEntry>();

/**
 * A per-process cache of sessions. Concurrent callers for the same key share one token request.
 */
export class SessionCache {
	constructor(
		private readonly entries: Map<string, CacheEntry> = sessionCache,
		private readonly now: () => number = Date.now,
	) {}

	/**
	 * Returns the cached session for `key`, or mints one with `mint` and keeps it for `ttlMs`.
	 * Throws what `mint` throws; a failed mint is not cached.
	 */
	async get(
		key: string,
		ttlMs: number,
		mint: () => Promise<SalesforceSession>,
	): Promise<SalesforceSession> {
		const entry = this.entries.get(key);
		if (entry?.session && entry.expiresAt > this.now()) return entry.session;
		if (entry?.pending) return await entry.pending;

		const pending = mint();
		this.entries.set(key, { expiresAt: 0, pending });
		try {
			const session = await pending;
			this.entries.set(key, { session, expiresAt: this.now() + ttlMs });
			return session;
		} catch (error) {
			this.entries.delete(key);
			throw error;
		}
	}

	/**
	 * Drops `accessToken` from the cache after Salesforce rejected it. A newer token that another
	 * caller already minted stays.
	 */
	invalidate(key: string, accessToken: string): void {
		const entry = this.entries.get(key);
		if (entry?.session?.accessToken === accessToken) this.entries.delete(key);
	}
}

/** Forgets every cached session of this process (tests, credential rotation). */
export function clearSessionCache(): void {
	sessionCache.clear();
}

/**
 * Asks the token endpoint (or SOAP login) for a fresh session. Throws SalesforceAuthError for a
 * refusal and lets transport errors through for the caller's retry policy.
 */
export async function mintSession(
	config: TokenAuthConfig,
	send: HttpSend,
	soapLogin: (options: {
		loginUrl: string;
		username: string;
		password: string;
		apiVersion: string;
	}) => Promise<SalesforceSession>,
): Promise<SalesforceSession> {
	const loginUrl = trimSlash(config.loginUrl);
	if (config.mode === 'password' && !(config.clientId && config.clientSecret)) {
		return await soapLogin({
			loginUrl,
			username: config.username,
			password: `${config.password}${config.securityToken}`,
			apiVersion: config.apiVersion,
		});
	}

	const form = new URLSearchParams();
	if (config.mode === 'jwt') {
		form.set('grant_type', JWT_BEARER_GRANT);
		form.set(
			'assertion',
			signJwtAssertion({
				clientId: config.clientId,
				username: config.username,
				audience: config.audience,
				privateKeyPem: config.privateKeyPem,
			}),
		);
	} else if (config.mode === 'clientCredentials') {
		form.set('grant_type', 'client_credentials');
		form.set('client_id', config.clientId);
		form.set('client_secret', config.clientSecret);
	} else {
		form.set('grant_type', 'password');
		form.set('client_id', config.clientId ?? '');
		form.set('client_secret', config.clientSecret ?? '');
		form.set('username', config.username);
		form.set('password', `${config.password}${config.securityToken}`);
	}

	const response = await send({
		method: 'POST',
		url: `${loginUrl}/services/oauth2/token`,
		headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
		body: form.toString(),
	});
	return readTokenResponse(response);
}

function readTokenResponse(response: HttpResponseSpec): SalesforceSession {
	let body: Record<string, unknown> = {};
	try {
		const parsed: unknown = JSON.parse(response.body);
		if (Array.isArray(parsed) && parsed[0] && typeof parsed[0] === 'object') {
			const first = parsed[0] as Record<string, unknown>;
			body = { error: first.errorCode, error_description: first.message };
		} else if (parsed && typeof parsed === 'object') {
			body = parsed as Record<string, unknown>;
		}
	} catch {
		body = {};
	}
	if (response.statusCode >= 400 || typeof body.access_token !== 'string') {
		throw new SalesforceAuthError({
			oauthError: typeof body.error === 'string' ? body.error : `HTTP_${response.statusCode}`,
			description:
				typeof body.error_description === 'string'
					? body.error_description
					: `The token endpoint answered HTTP ${response.statusCode} without a token`,
			statusCode: response.statusCode,
		});
	}
	if (typeof body.instance_url !== 'string') {
		throw new SalesforceAuthError({
			oauthError: 'invalid_response',
			description: 'The token endpoint returned no instance_url',
			statusCode: response.statusCode,
		});
	}
	return { accessToken: body.access_token, instanceUrl: trimSlash(body.instance_url) };
}

/** The URL without trailing slashes. */
export function trimSlash(url: string): string {
	return url.trim().replace(/\/+$/, '');
}
