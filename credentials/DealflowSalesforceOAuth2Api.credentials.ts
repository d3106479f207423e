import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * A Salesforce connected app used with the authorization-code flow. n8n runs the consent screen,
 * stores the tokens, and refreshes the access token when Salesforce answers 401; the Dealflow
 * Salesforce node sends every request through n8n so the refreshed token is saved for the next
 * run. The login host decides which org type the consent screen belongs to.
 *
 * No `test` request here on purpose: a declarative test request is sent unsigned for OAuth2 types,
 * so it would always fail. n8n's own OAuth2 check (is there a token after Connect) runs instead.
 */
export class DealflowSalesforceOAuth2Api implements ICredentialType {
	name = 'dealflowSalesforceOAuth2Api';

	extends = ['oAuth2Api'];

	displayName = 'Dealflow Salesforce OAuth2 API';

	icon = {
		light: 'file:../nodes/Salesforce/salesforce.svg',
		dark: 'file:../nodes/Salesforce/salesforce.dark.svg',
	} as const;

	properties: INodeProperties[] = [
		{
			displayName: 'Grant Type',
			name: 'grantType',
			type: 'hidden',
			default: 'authorizationCode',
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
			displayName: 'Authorization URL',
			name: 'authUrl',
			type: 'hidden',
			default:
				'={{ ($self["environment"] === "custom" ? $self["loginUrl"] : $self["environment"] === "sandbox" ? "https://test.salesforce.com" : "https://login.salesforce.com").replace(/\\/+$/, "") + "/services/oauth2/authorize" }}',
		},
		{
			displayName: 'Access Token URL',
			name: 'accessTokenUrl',
			type: 'hidden',
			default:
				'={{ ($self["environment"] === "custom" ? $self["loginUrl"] : $self["environment"] === "sandbox" ? "https://test.salesforce.com" : "https://login.salesforce.com").replace(/\\/+$/, "") + "/services/oauth2/token" }}',
		},
		{
			displayName: 'Scope',
			name: 'scope',
			type: 'hidden',
			default: 'api refresh_token',
		},
		{
			displayName: 'Auth URI Query Parameters',
			name: 'authQueryParameters',
			type: 'hidden',
			default: '',
		},
		{
			displayName: 'Authentication',
			name: 'authentication',
			type: 'hidden',
			default: 'body',
		},
		{
			displayName: 'Instance URL',
			name: 'instanceUrl',
			type: 'string',
			default: '',
			placeholder: 'https://acme.my.salesforce.com',
			description:
				'Leave empty to use the instance URL Salesforce returns with the token; set it only for a proxy or a simulator',
		},
	];
}
