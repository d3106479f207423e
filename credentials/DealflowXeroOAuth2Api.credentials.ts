import type { ICredentialTestRequest, ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * A Xero app connected with the authorization-code flow. n8n's OAuth2 machinery runs the consent
 * screen, stores the tokens and refreshes them; the Dealflow Xero node reads the access token
 * from here. The endpoints are editable so a sandbox, a proxy or a simulator can stand in.
 */
export class DealflowXeroOAuth2Api implements ICredentialType {
	name = 'dealflowXeroOAuth2Api';

	extends = ['oAuth2Api'];

	displayName = 'Dealflow Xero OAuth2 API';

	// Lists the organisations the connected account may use; fails when the token is not valid.
	test: ICredentialTestRequest = {
		request: { url: '={{$credentials.connectionsUrl}}', method: 'GET' },
	};

	properties: INodeProperties[] = [
		{
			displayName: 'Grant Type',
			name: 'grantType',
			type: 'hidden',
			default: 'authorizationCode',
		},
		{
			displayName: 'Authorization URL',
			name: 'authUrl',
			type: 'string',
			default: 'https://login.xero.com/identity/connect/authorize',
			required: true,
		},
		{
			displayName: 'Access Token URL',
			name: 'accessTokenUrl',
			type: 'string',
			default: 'https://identity.xero.com/connect/token',
			required: true,
		},
		{
			displayName: 'Scope',
			name: 'scope',
			type: 'string',
			default:
				'offline_access accounting.transactions accounting.contacts accounting.settings.read',
			description:
				'offline_access is needed for refresh tokens; the node reads and writes invoices and contacts',
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
			default: 'header',
		},
		{
			displayName: 'Tenant ID',
			name: 'tenantId',
			type: 'string',
			default: '',
			description:
				'The default organisation; the node can pick another from the connections this app is allowed to use',
		},
		{
			displayName: 'Daily Call Limit',
			name: 'dailyCallLimit',
			type: 'number',
			default: 5000,
			description:
				"Xero's calls per day for this organisation: 5,000 on most plans, 1,000 on the Starter plan",
		},
		{
			displayName: 'API Base URL',
			name: 'apiBaseUrl',
			type: 'string',
			default: 'https://api.xero.com/api.xro/2.0',
			description: 'Change only for a sandbox, a corporate proxy or a simulator',
		},
		{
			displayName: 'Connections URL',
			name: 'connectionsUrl',
			type: 'string',
			default: 'https://api.xero.com/connections',
		},
	];
}
