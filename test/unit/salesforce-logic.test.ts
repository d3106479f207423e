import { generateKeyPairSync, verify } from 'node:crypto';

import { normalisePem, SessionCache, signJwtAssertion } from '../../nodes/Salesforce/auth';
import { classifySalesforceError, fieldsOf } from '../../nodes/Salesforce/classify';
import { CredentialConfigError, toTokenAuthConfig } from '../../nodes/Salesforce/credentialConfig';
import { buildOpportunitySoql, checkOpportunityOptions } from '../../nodes/Salesforce/opportunity';

function apiError(errorCode: string, message: string, data?: unknown) {
	return Object.assign(new Error(message), { errorCode, name: errorCode, data });
}

describe('classifySalesforceError', () => {
	it('retries the concurrent request limit in place but not the daily one', () => {
		const concurrent = classifySalesforceError(
			apiError(
				'REQUEST_LIMIT_EXCEEDED',
				'ConcurrentRequests (Concurrent API Requests) Limit exceeded.',
			),
		);
		const longTxn = classifySalesforceError(
			apiError('REQUEST_LIMIT_EXCEEDED', 'ConcurrentPerOrgLongTxn Limit exceeded.'),
		);
		const daily = classifySalesforceError(
			apiError('REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.'),
		);

		expect(concurrent).toMatchObject({ reason: 'concurrent_limit', retryInPlace: true });
		expect(longTxn).toMatchObject({ reason: 'concurrent_limit', retryInPlace: true });
		expect(daily).toMatchObject({
			reason: 'daily_api_limit',
			retryInPlace: false,
			retryable: true,
		});
	});

	it('treats row locks, 503 and transport errors as transient', () => {
		const reset = Object.assign(new TypeError('fetch failed'), {
			cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
		});

		expect(classifySalesforceError(apiError('UNABLE_TO_LOCK_ROW', 'locked'))).toMatchObject({
			retryInPlace: true,
		});
		expect(classifySalesforceError(apiError('ERROR_HTTP_503', '<html>'))).toMatchObject({
			reason: 'unavailable',
			retryInPlace: true,
		});
		expect(classifySalesforceError(reset)).toMatchObject({ reason: 'network', retryInPlace: true });
	});

	it('treats validation, permission, duplicate and session errors as final', () => {
		for (const code of [
			'FIELD_CUSTOM_VALIDATION_EXCEPTION',
			'INSUFFICIENT_ACCESS_OR_READONLY',
			'DUPLICATE_VALUE',
			'INVALID_SESSION_ID',
			'MULTIPLE_CHOICES',
		]) {
			expect(classifySalesforceError(apiError(code, 'no'))).toMatchObject({
				retryable: false,
				retryInPlace: false,
			});
		}
	});
});

describe('fieldsOf', () => {
	it('prefers the fields Salesforce lists and falls back to the one its message names', () => {
		expect(fieldsOf({ fields: ['StageName'] }, 'whatever')).toEqual(['StageName']);
		expect(
			fieldsOf({ fields: [] }, "No such column 'Foo__c' on sobject of type Opportunity"),
		).toEqual(['Foo__c']);
		expect(
			fieldsOf(
				[],
				'duplicate value found: Invoice_Number__c duplicates value on record with id: 006x',
			),
		).toEqual(['Invoice_Number__c']);
		expect(fieldsOf(undefined, 'Required fields are missing: [Name, CloseDate]')).toEqual([
			'Name',
			'CloseDate',
		]);
	});
});

describe('SessionCache', () => {
	it('shares one mint between concurrent callers and reuses it until it expires', async () => {
		let now = 0;
		let mints = 0;
		const cache = new SessionCache(new Map(), () => now);
		const mint = async () => {
			mints += 1;
			return { accessToken: `t${mints}`, instanceUrl: 'https://x' };
		};

		const [a, b] = await Promise.all([cache.get('k', 1000, mint), cache.get('k', 1000, mint)]);
		now = 999;
		const c = await cache.get('k', 1000, mint);
		now = 1000;
		const d = await cache.get('k', 1000, mint);

		expect([a.accessToken, b.accessToken, c.accessToken, d.accessToken]).toEqual([
			't1',
			't1',
			't1',
			't2',
		]);
	});

	it('forgets a rejected token but keeps a newer one another caller already got', async () => {
		const cache = new SessionCache(new Map(), () => 0);
		let n = 0;
		const mint = async () => ({ accessToken: `t${++n}`, instanceUrl: 'https://x' });
		await cache.get('k', 1000, mint);
		cache.invalidate('k', 't1');
		await cache.get('k', 1000, mint);

		cache.invalidate('k', 't1');

		expect((await cache.get('k', 1000, mint)).accessToken).toBe('t2');
	});

	it('does not cache a failed mint', async () => {
		const cache = new SessionCache(new Map(), () => 0);
		await expect(
			cache.get('k', 1000, async () => {
				throw new Error('down');
			}),
		).rejects.toThrow('down');

		const session = await cache.get('k', 1000, async () => ({
			accessToken: 'ok',
			instanceUrl: 'https://x',
		}));

		expect(session.accessToken).toBe('ok');
	});
});

describe('JWT assertion', () => {
	it('is RS256-signed with iss, sub, aud and a three-minute exp', () => {
		const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
		const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

		const jwt = signJwtAssertion({
			clientId: 'key',
			username: 'u@x.com',
			audience: 'https://login.salesforce.com',
			privateKeyPem: pem,
			now: 1_000_000,
		});
		const [header, payload, signature] = jwt.split('.');

		expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toEqual({
			alg: 'RS256',
			typ: 'JWT',
		});
		expect(JSON.parse(Buffer.from(payload, 'base64url').toString())).toEqual({
			iss: 'key',
			sub: 'u@x.com',
			aud: 'https://login.salesforce.com',
			exp: 1180,
		});
		expect(
			verify(
				'RSA-SHA256',
				Buffer.from(`${header}.${payload}`),
				publicKey,
				Buffer.from(signature, 'base64url'),
			),
		).toBe(true);
	});

	it('accepts a PEM pasted on one line', () => {
		const pem = generateKeyPairSync('rsa', { modulusLength: 2048 })
			.privateKey.export({ type: 'pkcs8', format: 'pem' })
			.toString();

		expect(normalisePem(pem.replace(/\n/g, ' '))).toBe(pem.trim());
		expect(normalisePem(pem.replace(/\n/g, '\\n'))).toBe(pem.trim());
	});
});

describe('credential configuration', () => {
	it('uses test.salesforce.com as login host and JWT audience for sandboxes', () => {
		const pem = generateKeyPairSync('rsa', { modulusLength: 2048 })
			.privateKey.export({ type: 'pkcs8', format: 'pem' })
			.toString();

		const config = toTokenAuthConfig(
			'jwt',
			{ environment: 'sandbox', clientId: 'k', username: 'u', privateKey: pem },
			'62.0',
		);

		expect(config).toMatchObject({
			loginUrl: 'https://test.salesforce.com',
			audience: 'https://test.salesforce.com',
		});
	});

	it('names the missing field', () => {
		expect(() =>
			toTokenAuthConfig(
				'clientCredentials',
				{ loginUrl: 'https://acme.my.salesforce.com', clientId: 'k' },
				'62.0',
			),
		).toThrow(new CredentialConfigError('Consumer Secret is empty in the Salesforce credential'));
	});
});

describe('opportunity query', () => {
	it('asks for everything the invoice needs in one statement with an escaped id', () => {
		const soql = buildOpportunitySoql({
			opportunityId: '006000000000001AAA',
			includeCurrency: true,
			accountEmailField: 'Invoice_Email__c',
		});

		expect(soql).toContain('IsWon, IsClosed, StageName, CloseDate, Amount, CurrencyIsoCode');
		expect(soql).toContain('Account.BillingPostalCode');
		expect(soql).toContain('Account.Invoice_Email__c');
		expect(soql).toContain('Product2.ProductCode');
		expect(soql).toContain('FROM OpportunityLineItems');
		expect(soql.match(/SELECT/g)).toHaveLength(3);
		expect(soql.endsWith("WHERE Id = '006000000000001AAA'")).toBe(true);
	});

	it('refuses ids and field names that could change the query', () => {
		expect(
			checkOpportunityOptions({
				opportunityId: "006' OR Id != '",
				includeCurrency: false,
				referenceField: 'Name) FROM User --',
			}),
		).toHaveLength(2);
	});
});
