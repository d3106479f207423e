import { normalisePem, trimSlash, type TokenAuthConfig } from './auth';

/**
 * Reads the Dealflow Salesforce credentials into the transport's auth configuration. Pure, no
 * n8n; throws CredentialConfigError with a message that names the field to fix.
 */

export type SalesforceAuthMode = 'oAuth2' | 'jwt' | 'clientCredentials' | 'password';

export const CREDENTIAL_TYPES: Record<SalesforceAuthMode, string> = {
	oAuth2: 'dealflowSalesforceOAuth2Api',
	jwt: 'dealflowSalesforceJwtApi',
	clientCredentials: 'dealflowSalesforceClientCredentialsApi',
	password: 'dealflowSalesforcePasswordApi',
};

export class CredentialConfigError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'CredentialConfigError';
	}
}

type CredentialData = Record<string, unknown>;

const PRODUCTION = 'https://login.salesforce.com';
const SANDBOX = 'https://test.salesforce.com';

function str(data: CredentialData, key: string): string {
	const value = data[key];
	return typeof value === 'string' ? value.trim() : '';
}

function checkUrl(value: string, label: string): string {
	let url: URL;
	try {
		url = new URL(value);
	} catch {
		throw new CredentialConfigError(
			`${label} "${value}" is not a URL; use e.g. https://acme.my.salesforce.com`,
		);
	}
	if (url.protocol !== 'https:' && url.protocol !== 'http:') {
		throw new CredentialConfigError(`${label} must start with https://`);
	}
	return trimSlash(value);
}

/** The login host a credential points at: production, test.salesforce.com, or its custom URL. */
export function resolveLoginUrl(data: CredentialData): string {
	const environment = str(data, 'environment') || 'production';
	if (environment === 'sandbox') return SANDBOX;
	if (environment === 'custom') {
		const url = str(data, 'loginUrl');
		if (!url)
			throw new CredentialConfigError(
				'Login URL is empty; fill it in or pick Production or Sandbox',
			);
		return checkUrl(url, 'Login URL');
	}
	return PRODUCTION;
}

/** The optional instance URL override, or undefined. */
export function instanceUrlOverride(data: CredentialData): string | undefined {
	const url = str(data, 'instanceUrl');
	return url ? checkUrl(url, 'Instance URL') : undefined;
}

function ttlMs(data: CredentialData): number {
	const minutes = Number(data.sessionLifetimeMinutes ?? 30);
	return (Number.isFinite(minutes) && minutes > 0 ? minutes : 30) * 60_000;
}

function rawPassword(data: CredentialData): string {
	const value = data.password;
	// Not trimmed: a password may legitimately begin or end with spaces.
	if (typeof value !== 'string' || value === '') {
		throw new CredentialConfigError('Password is empty in the Salesforce credential');
	}
	return value;
}

/**
 * Builds the token configuration for a JWT, client-credentials or password credential.
 * @returns the configuration; throws CredentialConfigError naming a missing or wrong field
 */
export function toTokenAuthConfig(
	mode: Exclude<SalesforceAuthMode, 'oAuth2'>,
	data: CredentialData,
	apiVersion: string,
): TokenAuthConfig {
	const required = (key: string, label: string) => {
		const value = str(data, key);
		if (!value) throw new CredentialConfigError(`${label} is empty in the Salesforce credential`);
		return value;
	};

	if (mode === 'jwt') {
		const loginUrl = resolveLoginUrl(data);
		const privateKeyPem = normalisePem(required('privateKey', 'Private Key'));
		if (!/-----BEGIN (RSA |ENCRYPTED )?PRIVATE KEY-----/.test(privateKeyPem)) {
			throw new CredentialConfigError(
				'Private Key is not a PEM private key; paste the whole key including the BEGIN and END lines',
			);
		}
		if (privateKeyPem.includes('ENCRYPTED')) {
			throw new CredentialConfigError('Private Key is encrypted; export it without a passphrase');
		}
		const environment = str(data, 'environment');
		return {
			mode: 'jwt',
			loginUrl,
			clientId: required('clientId', 'Consumer Key'),
			username: required('username', 'Username'),
			privateKeyPem,
			audience: str(data, 'audience') || (environment === 'sandbox' ? SANDBOX : PRODUCTION),
			sessionTtlMs: ttlMs(data),
		};
	}

	if (mode === 'clientCredentials') {
		const loginUrl = checkUrl(required('loginUrl', 'My Domain URL'), 'My Domain URL');
		const host = new URL(loginUrl).hostname;
		if (host === 'login.salesforce.com' || host === 'test.salesforce.com') {
			throw new CredentialConfigError(
				'Salesforce serves the client credentials flow only on your My Domain URL (e.g. https://acme.my.salesforce.com), not on login or test.salesforce.com',
			);
		}
		return {
			mode: 'clientCredentials',
			loginUrl,
			clientId: required('clientId', 'Consumer Key'),
			clientSecret: required('clientSecret', 'Consumer Secret'),
			sessionTtlMs: ttlMs(data),
		};
	}

	const clientId = str(data, 'clientId');
	const clientSecret = str(data, 'clientSecret');
	if (Boolean(clientId) !== Boolean(clientSecret)) {
		throw new CredentialConfigError(
			'Fill in both Consumer Key and Consumer Secret for the OAuth flow, or neither for SOAP login',
		);
	}
	return {
		mode: 'password',
		loginUrl: resolveLoginUrl(data),
		username: required('username', 'Username'),
		password: rawPassword(data),
		securityToken: str(data, 'securityToken'),
		clientId: clientId || undefined,
		clientSecret: clientSecret || undefined,
		apiVersion,
		sessionTtlMs: ttlMs(data),
	};
}
