import { generateKeyPairSync } from 'node:crypto';

import type { ICredentialDataDecryptedObject, ICredentialTestFunctions } from 'n8n-workflow';

import { readRetryHint } from '../../nodes/shared/errors';
import { clearSessionCache } from '../../nodes/Salesforce/auth';
import { Salesforce } from '../../nodes/Salesforce/Salesforce.node';
import {
	JWT_GRANT,
	startSalesforceSimulator,
	type SalesforceSimulator,
} from '../simulators/salesforce';
import {
	allText,
	clientCredentialsCredential,
	fakeN8nOAuth2,
	jwtCredential,
	passwordCredential,
	runNode,
} from './salesforce-helpers';

let sim: SalesforceSimulator;

beforeAll(async () => {
	sim = await startSalesforceSimulator();
});

afterAll(async () => {
	await sim.close();
});

beforeEach(() => {
	sim.reset();
	clearSessionCache();
});

function getOpportunity(authentication: string) {
	return {
		authentication,
		operation: 'getOpportunityForInvoicing',
		opportunityId: sim.seedIds.wonOpportunity,
		requireWon: true,
	};
}

function dataCalls() {
	return sim.ledger().calls.filter((call) => call.kind === 'data');
}

describe('JWT bearer', () => {
	it('signs an RS256 assertion the org accepts and reads the deal on API 62.0', async () => {
		const [item] = await runNode({
			parameters: getOpportunity('jwt'),
			credentials: { dealflowSalesforceJwtApi: jwtCredential(sim) },
		});

		expect(item.json.reference).toBe(sim.seedIds.wonOpportunity);
		expect(sim.tokenCalls(JWT_GRANT)).toHaveLength(1);
		expect(sim.tokenCalls(JWT_GRANT)[0].status).toBe(200);
		expect(dataCalls().every((call) => call.apiVersion === '62.0')).toBe(true);
	});

	it('reuses one token across items and across executions instead of minting per call', async () => {
		const credentials = { dealflowSalesforceJwtApi: jwtCredential(sim) };
		const parameters = getOpportunity('jwt');

		const first = await runNode({ parameters, credentials, items: 3 });
		const second = await runNode({ parameters, credentials, items: 2 });
		const concurrent = await Promise.all([
			runNode({ parameters, credentials }),
			runNode({ parameters, credentials }),
		]);

		expect(first).toHaveLength(3);
		expect(second).toHaveLength(2);
		expect(concurrent.flat()).toHaveLength(2);
		expect(sim.tokenCalls()).toHaveLength(1);
		expect(dataCalls().filter((call) => call.soql).length).toBe(7);
	});

	it('gets a new token once when Salesforce expires the session, then keeps using it', async () => {
		const credentials = { dealflowSalesforceJwtApi: jwtCredential(sim) };
		await runNode({ parameters: getOpportunity('jwt'), credentials });
		sim.expireSessions();

		await runNode({ parameters: getOpportunity('jwt'), credentials, items: 2 });

		expect(sim.tokenCalls(JWT_GRANT)).toHaveLength(2);
		expect(dataCalls().filter((call) => call.status === 401)).toHaveLength(1);
	});

	it('refreshes once on INVALID_SESSION_ID and then fails without retrying', async () => {
		const credentials = { dealflowSalesforceJwtApi: jwtCredential(sim) };
		sim.injectFault({ kind: 'INVALID_SESSION', times: 10 });

		const failure = await runNode({ parameters: getOpportunity('jwt'), credentials }).catch(
			(error: unknown) => error,
		);

		expect(failure).toMatchObject({
			message: 'Salesforce rejected the session, also after getting a new one',
		});
		expect(readRetryHint(failure)).toMatchObject({ retryable: false, reason: 'session' });
		expect(sim.tokenCalls(JWT_GRANT)).toHaveLength(2);
		expect(dataCalls()).toHaveLength(2);
	});

	it('reports a key the connected app does not know as a login failure, without the key', async () => {
		const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 })
			.privateKey.export({ type: 'pkcs8', format: 'pem' })
			.toString();

		const failure = await runNode({
			parameters: getOpportunity('jwt'),
			credentials: { dealflowSalesforceJwtApi: jwtCredential(sim, { privateKey: stranger }) },
		}).catch((error: unknown) => error);

		expect(failure).toMatchObject({ message: expect.stringContaining('invalid_grant') });
		expect(readRetryHint(failure)).toMatchObject({ retryable: false, reason: 'auth' });
		expect(allText(failure)).not.toContain('PRIVATE KEY');
		expect(dataCalls()).toHaveLength(0);
	});
});

describe('client credentials', () => {
	it('gets a session from the My Domain token endpoint and reads the deal', async () => {
		const [item] = await runNode({
			parameters: getOpportunity('clientCredentials'),
			credentials: { dealflowSalesforceClientCredentialsApi: clientCredentialsCredential(sim) },
		});

		expect(item.json.orderKey).toBe(`sf:opp:${sim.seedIds.wonOpportunity}:closed-won`);
		expect(sim.tokenCalls('client_credentials')).toHaveLength(1);
	});

	it('refuses login.salesforce.com before calling anything, naming the fix', async () => {
		const failure = await runNode({
			parameters: getOpportunity('clientCredentials'),
			credentials: {
				dealflowSalesforceClientCredentialsApi: {
					...clientCredentialsCredential(sim),
					loginUrl: 'https://login.salesforce.com',
				},
			},
		}).catch((error: unknown) => error);

		expect(failure).toMatchObject({ message: expect.stringContaining('My Domain URL') });
		expect(readRetryHint(failure)).toMatchObject({ retryable: false, reason: 'configuration' });
		expect(sim.ledger().calls).toHaveLength(0);
	});

	it('reports a wrong consumer secret as a non-retryable login failure without the secret', async () => {
		const failure = await runNode({
			parameters: getOpportunity('clientCredentials'),
			credentials: {
				dealflowSalesforceClientCredentialsApi: {
					...clientCredentialsCredential(sim),
					clientSecret: 'wrong-secret-value',
				},
			},
		}).catch((error: unknown) => error);

		expect(failure).toMatchObject({ message: expect.stringContaining('invalid_client') });
		expect(readRetryHint(failure)).toMatchObject({ retryable: false, reason: 'auth' });
		expect(allText(failure)).not.toContain('wrong-secret-value');
	});
});

describe('username and password', () => {
	it('uses the OAuth username-password flow when a consumer key and secret are set', async () => {
		await runNode({
			parameters: getOpportunity('password'),
			credentials: {
				dealflowSalesforcePasswordApi: passwordCredential(sim, { withConsumer: true }),
			},
		});

		expect(sim.tokenCalls('password')).toHaveLength(1);
		expect(sim.tokenCalls('soap-login')).toHaveLength(0);
	});

	it('falls back to SOAP login without a consumer key, and caches that session too', async () => {
		const credentials = {
			dealflowSalesforcePasswordApi: passwordCredential(sim, { withConsumer: false }),
		};
		await runNode({ parameters: getOpportunity('password'), credentials, items: 2 });
		await runNode({ parameters: getOpportunity('password'), credentials });

		expect(sim.tokenCalls('soap-login')).toHaveLength(1);
		expect(dataCalls().filter((call) => call.soql)).toHaveLength(3);
	});

	it('reports a wrong password as a non-retryable login failure, tried once', async () => {
		const failure = await runNode({
			parameters: getOpportunity('password'),
			credentials: {
				dealflowSalesforcePasswordApi: passwordCredential(sim, {
					withConsumer: false,
					password: 'not-the-password',
				}),
			},
		}).catch((error: unknown) => error);

		expect(failure).toMatchObject({ message: expect.stringContaining('INVALID_LOGIN') });
		expect(readRetryHint(failure)).toMatchObject({ retryable: false, reason: 'auth' });
		expect(sim.tokenCalls('soap-login')).toHaveLength(1);
		expect(allText(failure)).not.toContain('not-the-password');
	});
});

describe('OAuth2 managed by n8n', () => {
	it('sends through n8n, and after an expired session n8n refreshes once and the read succeeds', async () => {
		const tokenData = {
			access_token: sim.issueAccessToken(),
			refresh_token: sim.issueRefreshToken(),
			instance_url: sim.url,
		};
		const oauth = fakeN8nOAuth2(sim, tokenData);
		const credentials = { dealflowSalesforceOAuth2Api: { oauthTokenData: tokenData } };
		sim.expireSessions();

		const output = await runNode({
			parameters: getOpportunity('oAuth2'),
			credentials,
			items: 2,
			httpRequestWithAuthentication: oauth.helper,
		});

		expect(output.map((item) => item.json.reference)).toEqual([
			sim.seedIds.wonOpportunity,
			sim.seedIds.wonOpportunity,
		]);
		expect(oauth.stats.refreshes).toBe(1);
		expect(sim.tokenCalls('refresh_token')).toHaveLength(1);
	});

	it('surfaces a session that stays invalid after the refresh as a non-retryable error', async () => {
		const tokenData = {
			access_token: sim.issueAccessToken(),
			refresh_token: sim.issueRefreshToken(),
			instance_url: sim.url,
		};
		const oauth = fakeN8nOAuth2(sim, tokenData);
		sim.injectFault({ kind: 'INVALID_SESSION', times: 10 });

		const failure = await runNode({
			parameters: getOpportunity('oAuth2'),
			credentials: { dealflowSalesforceOAuth2Api: { oauthTokenData: tokenData } },
			httpRequestWithAuthentication: oauth.helper,
		}).catch((error: unknown) => error);

		expect(readRetryHint(failure)).toMatchObject({ retryable: false, reason: 'session' });
		expect(oauth.stats.refreshes).toBe(1);
		expect(allText(failure)).not.toContain(tokenData.access_token);
		expect(allText(failure)).not.toContain(tokenData.refresh_token);
	});
});

describe('credential Test button', () => {
	const test = new Salesforce().methods.credentialTest.dealflowSalesforceTokenTest;
	const context = {} as ICredentialTestFunctions;

	it('answers OK for working JWT credentials', async () => {
		const result = await test.call(context, {
			id: '1',
			name: 'sf',
			type: 'dealflowSalesforceJwtApi',
			data: jwtCredential(sim) as ICredentialDataDecryptedObject,
		});

		expect(result).toEqual({ status: 'OK', message: 'Connected to Salesforce' });
	});

	it('answers with the login error for a wrong password, without the password', async () => {
		const result = await test.call(context, {
			id: '1',
			name: 'sf',
			type: 'dealflowSalesforcePasswordApi',
			data: passwordCredential(sim, {
				withConsumer: true,
				password: 'bad-pass-123',
			}) as ICredentialDataDecryptedObject,
		});

		expect(result.status).toBe('Error');
		expect(result.message).toContain('authentication failure');
		expect(result.message).not.toContain('bad-pass-123');
	});
});
