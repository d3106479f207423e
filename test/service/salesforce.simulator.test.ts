// The simulator's own contract: the checks a real org makes that the node tests rely on.
import {
	JWT_GRANT,
	LIMIT_MESSAGES,
	signJwtAssertion,
	startSalesforceSimulator,
	type SalesforceSimulator,
} from '../simulators/salesforce';

let sim: SalesforceSimulator;

beforeAll(async () => {
	sim = await startSalesforceSimulator();
});

afterAll(async () => {
	await sim.close();
});

beforeEach(() => sim.reset());

async function token(form: Record<string, string>) {
	const response = await fetch(`${sim.url}/services/oauth2/token`, {
		method: 'POST',
		headers: { 'content-type': 'application/x-www-form-urlencoded' },
		body: new URLSearchParams(form).toString(),
	});
	return { status: response.status, body: (await response.json()) as Record<string, string> };
}

function assertion(
	overrides: { audience?: string; expiresInSec?: number; username?: string } = {},
) {
	return signJwtAssertion({
		clientId: sim.clientId,
		username: overrides.username ?? sim.username,
		audience: overrides.audience ?? 'https://login.salesforce.com',
		privateKeyPem: sim.privateKeyPem ?? '',
		expiresInSec: overrides.expiresInSec,
	});
}

describe('JWT bearer grant checks', () => {
	it('issues a token with the instance URL for a valid assertion', async () => {
		const result = await token({ grant_type: JWT_GRANT, assertion: assertion() });

		expect(result.status).toBe(200);
		expect(result.body).toMatchObject({ instance_url: sim.url, token_type: 'Bearer' });
	});

	it.each([
		['a foreign audience', { audience: 'https://acme.my.salesforce.com' }, 'audience is invalid'],
		['an expired assertion', { expiresInSec: -5 }, 'expired authorization code'],
		['an unknown user', { username: 'nobody@x.com' }, "user hasn't approved this consumer"],
	])('refuses %s', async (_label, overrides, description) => {
		const result = await token({ grant_type: JWT_GRANT, assertion: assertion(overrides) });

		expect(result).toEqual({
			status: 400,
			body: { error: 'invalid_grant', error_description: description },
		});
	});

	it('refuses a tampered signature', async () => {
		const [header, , signature] = assertion().split('.');
		const forged = Buffer.from(
			JSON.stringify({ iss: sim.clientId, sub: 'admin@x.com', aud: sim.url, exp: 9e9 }),
		).toString('base64url');

		const result = await token({
			grant_type: JWT_GRANT,
			assertion: `${header}.${forged}.${signature}`,
		});

		expect(result.body.error).toBe('invalid_grant');
	});
});

describe('REST behaviour', () => {
	it('answers 204 to an upsert that updates on an API version before 46.0', async () => {
		const accessToken = sim.issueAccessToken();
		const response = await fetch(
			`${sim.url}/services/data/v45.0/sobjects/Account/Dealflow_External_Id__c/acme`,
			{
				method: 'PATCH',
				headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
				body: JSON.stringify({ Phone: '555' }),
			},
		);

		expect(response.status).toBe(204);
	});

	it('counts API usage in Sforce-Limit-Info and refuses calls past the daily allowance', async () => {
		sim.configure({ apiLimit: 2, apiUsed: 1 });
		const accessToken = sim.issueAccessToken();
		const call = () =>
			fetch(`${sim.url}/services/data/v62.0/limits`, {
				headers: { authorization: `Bearer ${accessToken}` },
			});

		const within = await call();
		const over = await call();

		expect(within.headers.get('sforce-limit-info')).toBe('api-usage=2/2');
		expect(over.status).toBe(403);
		expect(await over.json()).toEqual([
			{ message: LIMIT_MESSAGES.daily, errorCode: 'REQUEST_LIMIT_EXCEEDED' },
		]);
	});
});

describe('control API over HTTP', () => {
	it('injects a fault, and the ledger shows the call that got it', async () => {
		await fetch(`${sim.url}/__sim/faults`, {
			method: 'POST',
			body: JSON.stringify({ kind: 'UNABLE_TO_LOCK_ROW', method: 'GET' }),
		});
		const accessToken = sim.issueAccessToken();

		const response = await fetch(
			`${sim.url}/services/data/v62.0/sobjects/Opportunity/${sim.seedIds.wonOpportunity}`,
			{ headers: { authorization: `Bearer ${accessToken}` } },
		);
		const ledger = (await (await fetch(`${sim.url}/__sim/ledger`)).json()) as {
			calls: Array<{ fault?: string; status?: number }>;
		};

		expect(response.status).toBe(400);
		expect(((await response.json()) as Array<{ errorCode: string }>)[0].errorCode).toBe(
			'UNABLE_TO_LOCK_ROW',
		);
		expect(ledger.calls).toEqual([
			expect.objectContaining({ fault: 'UNABLE_TO_LOCK_ROW', status: 400 }),
		]);
	});
});
