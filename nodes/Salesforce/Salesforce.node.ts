import type {
	ICredentialsDecrypted,
	ICredentialTestFunctions,
	IExecuteFunctions,
	INodeCredentialTestResult,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';

import { readRetryHint } from '../shared/errors';
import { SessionCache } from './auth';
import {
	CREDENTIAL_TYPES,
	instanceUrlOverride,
	toTokenAuthConfig,
	type SalesforceAuthMode,
} from './credentialConfig';
import { createClient, runOperation, toNodeError, type ClientSettings } from './operations';
import { salesforceProperties } from './descriptions';
import { DEFAULT_API_VERSION, fetchSend, SalesforceClient } from './transport';

export class Salesforce implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Dealflow Salesforce',
		name: 'salesforce',
		icon: { light: 'file:salesforce.svg', dark: 'file:salesforce.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["operation"]}}',
		description:
			'Read a won opportunity with its line items as an order, and write results back to Salesforce',
		defaults: { name: 'Dealflow Salesforce' },
		usableAsTool: true,
		inputs: ['main'],
		outputs: ['main'],
		credentials: [
			{
				name: CREDENTIAL_TYPES.oAuth2,
				required: true,
				displayOptions: { show: { authentication: ['oAuth2'] } },
			},
			{
				name: CREDENTIAL_TYPES.jwt,
				required: true,
				displayOptions: { show: { authentication: ['jwt'] } },
				testedBy: 'dealflowSalesforceTokenTest',
			},
			{
				name: CREDENTIAL_TYPES.clientCredentials,
				required: true,
				displayOptions: { show: { authentication: ['clientCredentials'] } },
				testedBy: 'dealflowSalesforceTokenTest',
			},
			{
				name: CREDENTIAL_TYPES.password,
				required: true,
				displayOptions: { show: { authentication: ['password'] } },
				testedBy: 'dealflowSalesforceTokenTest',
			},
		],
		properties: salesforceProperties,
	};

	methods = {
		credentialTest: {
			async dealflowSalesforceTokenTest(
				this: ICredentialTestFunctions,
				credential: ICredentialsDecrypted,
			): Promise<INodeCredentialTestResult> {
				const mode = (Object.keys(CREDENTIAL_TYPES) as SalesforceAuthMode[]).find(
					(key) => CREDENTIAL_TYPES[key] === credential.type,
				);
				if (!mode || mode === 'oAuth2') {
					return { status: 'Error', message: `Unsupported credential type ${credential.type}` };
				}
				try {
					const data = (credential.data ?? {}) as Record<string, unknown>;
					const client = new SalesforceClient({
						send: fetchSend({ timeoutMs: 20_000 }),
						auth: {
							kind: 'token',
							config: toTokenAuthConfig(mode, data, DEFAULT_API_VERSION),
							instanceUrl: instanceUrlOverride(data),
						},
						// A private cache: the test must log in with what is typed now, not reuse a session.
						sessionCache: new SessionCache(new Map()),
						retry: { maxAttempts: 1, policy: { baseMs: 0, capMs: 0 }, maxWaitInPlaceMs: 0 },
					});
					await client.verify();
					return { status: 'OK', message: 'Connected to Salesforce' };
				} catch (error) {
					const nodeError = toNodeError({ name: 'credential test' } as never, error);
					return { status: 'Error', message: nodeError.message };
				}
			},
		},
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const mode = this.getNodeParameter('authentication', 0) as SalesforceAuthMode;
		const operation = this.getNodeParameter('operation', 0) as string;
		const settings = this.getNodeParameter('settings', 0, {}) as ClientSettings;
		const client = await createClient(this, mode, settings);

		const output: INodeExecutionData[] = [];
		for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
			try {
				const results = await runOperation(this, client, operation, itemIndex);
				for (const json of results) output.push({ json, pairedItem: { item: itemIndex } });
			} catch (error) {
				const nodeError = toNodeError(this.getNode(), error, itemIndex);
				if (!this.continueOnFail()) throw nodeError;
				output.push({
					json: {
						error: nodeError.message,
						description: nodeError.description ?? null,
						dealflow: { ...readRetryHint(nodeError) },
					},
					pairedItem: { item: itemIndex },
				});
			}
		}
		return [output];
	}
}
