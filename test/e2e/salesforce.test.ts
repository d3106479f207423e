// The Dealflow Salesforce node inside a real n8n: a webhook starts a workflow that reads a won
// opportunity from the simulator as an order. With a JWT bearer credential the n8n process keeps
// the session across executions; with an n8n-managed OAuth2 credential whose access token has
// expired, n8n itself refreshes it once and the read goes through.
import * as crypto from 'node:crypto';

import { parseOrder } from '../../nodes/shared/order';
import { nodeOutput, startN8n, type N8nInstance, type WorkflowJson } from './harness';
import {
	JWT_GRANT,
	startSalesforceSimulator,
	type SalesforceSimulator,
} from '../simulators/salesforce';

const NODE_NAME = 'Read Deal';

const CREDENTIAL_TYPES = {
	jwt: 'dealflowSalesforceJwtApi',
	oAuth2: 'dealflowSalesforceOAuth2Api',
} as const;

function workflow(options: {
	webhookPath: string;
	credentialId: string;
	authentication: keyof typeof CREDENTIAL_TYPES;
}): WorkflowJson {
	return {
		name: `Salesforce e2e: read a won deal (${options.authentication})`,
		nodes: [
			{
				id: crypto.randomUUID(),
				name: 'Webhook',
				type: 'n8n-nodes-base.webhook',
				typeVersion: 2,
				position: [0, 0],
				webhookId: crypto.randomUUID(),
				parameters: {
					httpMethod: 'POST',
					path: options.webhookPath,
					responseMode: 'onReceived',
					options: {},
				},
			},
			{
				id: crypto.randomUUID(),
				name: NODE_NAME,
				type: 'n8n-nodes-dealflow.salesforce',
				typeVersion: 1,
				position: [240, 0],
				parameters: {
					authentication: options.authentication,
					operation: 'getOpportunityForInvoicing',
					opportunityId: '={{ $json.body.opportunityId }}',
					requireWon: true,
					orderOptions: {},
					settings: {},
				},
				credentials: {
					[CREDENTIAL_TYPES[options.authentication]]: {
						id: options.credentialId,
						name: `Salesforce ${options.authentication}`,
					},
				},
			},
		],
		connections: {
			Webhook: { main: [[{ node: NODE_NAME, type: 'main', index: 0 }]] },
		},
	};
}

async function postDeal(url: string, opportunityId: string): Promise<number> {
	const response = await fetch(url, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ opportunityId }),
	});
	return response.status;
}

describe('Dealflow Salesforce in real n8n', () => {
	let sim: SalesforceSimulator;
	let n8n: N8nInstance;
	const jwtPath = `sf-jwt-${crypto.randomBytes(4).toString('hex')}`;
	const oauthPath = `sf-oauth-${crypto.randomBytes(4).toString('hex')}`;
	const jwtCredentialId = crypto.randomBytes(8).toString('hex');
	const oauthCredentialId = crypto.randomBytes(8).toString('hex');

	beforeAll(async () => {
		sim = await startSalesforceSimulator();
		const expiredAccessToken = sim.issueAccessToken();
		sim.expireSessions();
		n8n = await startN8n({
			mode: 'regular',
			name: 'salesforce',
			credentials: [
				{
					id: jwtCredentialId,
					name: 'Salesforce jwt',
					type: CREDENTIAL_TYPES.jwt,
					data: {
						environment: 'custom',
						loginUrl: sim.url,
						clientId: sim.clientId,
						username: sim.username,
						privateKey: sim.privateKeyPem,
						sessionLifetimeMinutes: 30,
					},
				},
				{
					id: oauthCredentialId,
					name: 'Salesforce oAuth2',
					type: CREDENTIAL_TYPES.oAuth2,
					data: {
						environment: 'custom',
						loginUrl: sim.url,
						clientId: sim.clientId,
						clientSecret: sim.clientSecret,
						oauthTokenData: {
							access_token: expiredAccessToken,
							refresh_token: sim.issueRefreshToken(),
							instance_url: sim.url,
							token_type: 'Bearer',
						},
					},
				},
			],
			workflows: [
				workflow({ webhookPath: jwtPath, credentialId: jwtCredentialId, authentication: 'jwt' }),
				workflow({
					webhookPath: oauthPath,
					credentialId: oauthCredentialId,
					authentication: 'oAuth2',
				}),
			],
		});
	});

	afterAll(async () => {
		await n8n?.stop();
		await sim?.close();
	});

	it('reads a won opportunity as a valid order, and reuses the JWT session across executions', async () => {
		const workflowId = n8n.workflows[0].id;
		expect(await postDeal(n8n.webhookUrl(jwtPath), sim.seedIds.wonOpportunity)).toBe(200);
		await n8n.waitForExecutions({ workflowId, count: 1 });
		expect(await postDeal(n8n.webhookUrl(jwtPath), sim.seedIds.wonOpportunity)).toBe(200);

		const executions = await n8n.waitForExecutions({ workflowId, count: 2, status: 'success' });
		const [item] = nodeOutput(executions[0], NODE_NAME);

		expect(parseOrder(item.json).ok).toBe(true);
		expect(item.json).toMatchObject({
			orderKey: `sf:opp:${sim.seedIds.wonOpportunity}:closed-won`,
			customer: { name: 'Acme Corporation' },
			lines: [{ sku: 'WID-001' }, { sku: 'GAD-002' }, { sku: 'SVC-010' }],
		});
		expect(nodeOutput(executions[1], NODE_NAME)).toHaveLength(1);
		expect(sim.tokenCalls(JWT_GRANT)).toHaveLength(1);
	});

	it('lets n8n refresh an expired OAuth2 access token once and then reads the deal', async () => {
		const workflowId = n8n.workflows[1].id;
		expect(await postDeal(n8n.webhookUrl(oauthPath), sim.seedIds.globexWonOpportunity)).toBe(200);

		const [execution] = await n8n.waitForExecutions({ workflowId, count: 1, status: 'success' });
		const [item] = nodeOutput(execution, NODE_NAME);

		expect(item.json).toMatchObject({ currency: 'EUR', customer: { name: 'Globex GmbH' } });
		expect(sim.tokenCalls('refresh_token')).toHaveLength(1);
	});
});
