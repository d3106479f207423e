import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * Username, password and security token, for orgs that still allow it. With a consumer key and
 * secret the OAuth 2.0 username-password flow is used; without them, SOAP login(), which
 * Salesforce is retiring. The session is cached in the n8n process and reused.
 */
export class DealflowSalesforcePasswordApi implements ICredentialType {
	name = 'dealflowSalesforcePasswordApi';

	displayName = 'Dealflow Salesforce Username and Password API';

	icon = {
		light: 'file:../nodes/Salesforce/salesforce.svg',
		dark: 'file:../nodes/Salesforce/salesforce.dark.svg',
	} as const;

	properties: INodeProperties[] = [
		{
			displayName:
				"Salesforce is retiring SOAP login() (API version 65.0 and later, Summer '27) and many orgs block the username-password flow. Prefer JWT bearer or client credentials. Fill in a consumer key and secret to use the OAuth username-password flow instead of SOAP login.",
			name: 'retirementNotice',
			type: 'notice',
			default: '',
		},
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
			displayName: 'Username',
			name: 'username',
			type: 'string',
			default: '',
			required: true,
		},
		{
			displayName: 'Password',
			name: 'password',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
		},
		{
			displayName: 'Security Token',
			name: 'securityToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description:
				'Appended to the password; leave empty when the n8n host is in a trusted IP range of the org',
		},
		{
			displayName: 'Consumer Key',
			name: 'clientId',
			type: 'string',
			default: '',
			description:
				'Optional: with a consumer key and secret the OAuth username-password flow is used',
		},
		{
			displayName: 'Consumer Secret',
			name: 'clientSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
		},
		{
			displayName: 'Instance URL',
			name: 'instanceUrl',
			type: 'string',
			default: '',
			description:
				'Leave empty to use the instance URL Salesforce returns at login; set it only for a proxy or a simulator',
		},
		{
			displayName: 'Session Lifetime (Minutes)',
			name: 'sessionLifetimeMinutes',
			type: 'number',
			typeOptions: { minValue: 1 },
			default: 30,
			description:
				"How long a session is reused before logging in again. Keep it below the org's session timeout; a session Salesforce rejects earlier is replaced at once.",
		},
	];
}
