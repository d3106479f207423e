import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * Server-to-server access with the OAuth 2.0 client credentials flow: a connected app (or
 * external client app) with a run-as user. Salesforce only serves this grant on the org's My
 * Domain, never on login.salesforce.com. The session is cached in the n8n process and reused.
 */
export class DealflowSalesforceClientCredentialsApi implements ICredentialType {
	name = 'dealflowSalesforceClientCredentialsApi';

	displayName = 'Dealflow Salesforce Client Credentials API';

	icon = {
		light: 'file:../nodes/Salesforce/salesforce.svg',
		dark: 'file:../nodes/Salesforce/salesforce.dark.svg',
	} as const;

	properties: INodeProperties[] = [
		{
			displayName: 'My Domain URL',
			name: 'loginUrl',
			type: 'string',
			default: '',
			required: true,
			placeholder: 'https://acme.my.salesforce.com',
			description:
				"Your org's My Domain URL (Setup > My Domain), or the Dealflow Salesforce simulator URL",
		},
		{
			displayName: 'Consumer Key',
			name: 'clientId',
			type: 'string',
			default: '',
			required: true,
		},
		{
			displayName: 'Consumer Secret',
			name: 'clientSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
		},
		{
			displayName: 'Instance URL',
			name: 'instanceUrl',
			type: 'string',
			default: '',
			description:
				'Leave empty to use the instance URL Salesforce returns with the token; set it only for a proxy or a simulator',
		},
		{
			displayName: 'Session Lifetime (Minutes)',
			name: 'sessionLifetimeMinutes',
			type: 'number',
			typeOptions: { minValue: 1 },
			default: 30,
			description:
				"How long a session is reused before a new one is requested. Keep it below the org's session timeout; a session Salesforce rejects earlier is replaced at once.",
		},
	];
}
