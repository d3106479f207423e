import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * A Xero custom connection: one organisation, client-credentials grant. The Dealflow Xero node
 * fetches the token itself (no scope sent, as Xero requires for custom connections), caches it
 * and renews it before its 30-minute expiry, so this credential has no `authenticate` block.
 * The Test button is the node's `dealflowXeroConnectionTest` method.
 */
export class DealflowXeroCustomConnectionApi implements ICredentialType {
	name = 'dealflowXeroCustomConnectionApi';

	displayName = 'Dealflow Xero Custom Connection API';

	properties: INodeProperties[] = [
		{
			displayName: 'Client ID',
			name: 'clientId',
			type: 'string',
			default: '',
			required: true,
		},
		{
			displayName: 'Client Secret',
			name: 'clientSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
		},
		{
			displayName: 'Tenant ID',
			name: 'tenantId',
			type: 'string',
			default: '',
			description:
				'The organisation to use. A custom connection has exactly one, so this may stay empty; the node can also pick it from the connections.',
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
			displayName: 'Token URL',
			name: 'tokenUrl',
			type: 'string',
			default: 'https://identity.xero.com/connect/token',
		},
		{
			displayName: 'Connections URL',
			name: 'connectionsUrl',
			type: 'string',
			default: 'https://api.xero.com/connections',
		},
	];
}
