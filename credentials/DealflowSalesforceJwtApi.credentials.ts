import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * Server-to-server access with the OAuth 2.0 JWT bearer flow: a connected app with a certificate,
 * pre-authorised for the integration user. The node signs an assertion with the private key,
 * caches the resulting session in the n8n process until it is due to expire, and reuses it across
 * items and executions instead of logging in on every request.
 */
export class DealflowSalesforceJwtApi implements ICredentialType {
	name = 'dealflowSalesforceJwtApi';

	displayName = 'Dealflow Salesforce JWT Bearer API';

	icon = {
		light: 'file:../nodes/Salesforce/salesforce.svg',
		dark: 'file:../nodes/Salesforce/salesforce.dark.svg',
	} as const;

	properties: INodeProperties[] = [
		{
			displayName: 'Environment',
			name: 'environment',
			type: 'options',
			options: [
				{ name: 'Production', value: 'production' },
				{ name: 'Sandbox (test.salesforce.com)', value: 'sandbox' },
				{ name: 'My Domain or Custom Login URL', value: 'custom' },
			],
			default: 'production',
		},
		{
			displayName: 'Login URL',
			name: 'loginUrl',
			type: 'string',
			default: '',
			placeholder: 'https://acme.my.salesforce.com',
			description: 'Your My Domain login URL, or the Dealflow Salesforce simulator URL',
			displayOptions: { show: { environment: ['custom'] } },
		},
		{
			displayName: 'Consumer Key',
			name: 'clientId',
			type: 'string',
			default: '',
			required: true,
			description: "The connected app's consumer key; it becomes the JWT issuer",
		},
		{
			displayName: 'Username',
			name: 'username',
			type: 'string',
			default: '',
			required: true,
			placeholder: 'integration@acme.com',
			description:
				'The Salesforce user the integration acts as; it must be pre-authorised for the app',
		},
		{
			displayName: 'Private Key',
			name: 'privateKey',
			type: 'string',
			typeOptions: { password: true, rows: 6 },
			default: '',
			required: true,
			placeholder: '-----BEGIN PRIVATE KEY-----',
			description: 'PEM private key matching the certificate uploaded to the connected app',
		},
		{
			displayName: 'JWT Audience',
			name: 'audience',
			type: 'string',
			default: '',
			placeholder: 'https://login.salesforce.com',
			description:
				'Leave empty for https://login.salesforce.com (https://test.salesforce.com for sandboxes); Salesforce does not accept a My Domain URL here',
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
				"How long a session is reused before a new one is requested. Keep it below the org's session timeout (Setup > Session Settings); a session Salesforce rejects earlier is replaced at once.",
		},
	];
}
