import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * The shared secret a webhook sender signs with, for the Signed Webhook trigger.
 *
 * Two slots so a secret can be rotated without downtime: put the new secret in Current, keep
 * the old one in Previous until the sender has switched, then clear Previous. The trigger
 * accepts a signature made with either and reports which one matched.
 *
 * The test button is the node's `credentialTest` (there is no remote service to call): it checks
 * the secrets for the copy-and-paste mistakes that make every signature fail.
 */
export class DealflowSigningSecretApi implements ICredentialType {
	name = 'dealflowSigningSecretApi';

	displayName = 'Dealflow Signing Secret API';

	properties: INodeProperties[] = [
		{
			displayName: 'Current Secret',
			name: 'secret',
			type: 'string',
			typeOptions: { password: true },
			required: true,
			default: '',
			description:
				"The signing secret exactly as the sender shows it: Stripe's and Standard Webhooks' whole whsec_… string, Xero's webhook key, GitHub's or Shopify's secret, Slack's signing secret",
		},
		{
			displayName: 'Previous Secret',
			name: 'previousSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description:
				'The secret being rotated out. Requests signed with it are still accepted until this field is cleared.',
		},
	];
}
