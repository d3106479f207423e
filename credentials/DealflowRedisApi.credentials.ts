import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * The Redis the dealflow nodes share: the Idempotency Gate's claims, the rate limiter and the
 * Retry Queue. The field names match `RedisCredentialData` in nodes/shared/redis.ts.
 *
 * Sentinel and Cluster are not offered: the gate's scripts and the queue's keys have not been
 * checked against failover and slot routing, and a gate that misbehaves in a failover would
 * break the exactly-once promise silently.
 */
export class DealflowRedisApi implements ICredentialType {
	name = 'dealflowRedisApi';

	displayName = 'Dealflow Redis API';

	properties: INodeProperties[] = [
		{
			displayName: 'Connect With',
			name: 'connectionType',
			type: 'options',
			options: [
				{ name: 'Host and Port', value: 'fields' },
				{ name: 'URL', value: 'url' },
			],
			default: 'fields',
		},
		{
			displayName: 'URL',
			name: 'url',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			placeholder: 'redis://user:password@redis.internal:6379/0',
			description:
				'A redis:// URL, or rediss:// for TLS. Username, password and database number may be part of it.',
			displayOptions: { show: { connectionType: ['url'] } },
		},
		{
			displayName: 'Host',
			name: 'host',
			type: 'string',
			default: '127.0.0.1',
			displayOptions: { show: { connectionType: ['fields'] } },
		},
		{
			displayName: 'Port',
			name: 'port',
			type: 'number',
			default: 6379,
			displayOptions: { show: { connectionType: ['fields'] } },
		},
		{
			displayName: 'Database Number',
			name: 'database',
			type: 'number',
			default: 0,
			displayOptions: { show: { connectionType: ['fields'] } },
		},
		{
			displayName: 'Username',
			name: 'username',
			type: 'string',
			default: '',
			description: 'Leave empty unless Redis uses ACL users (Redis 6 and later)',
			displayOptions: { show: { connectionType: ['fields'] } },
		},
		{
			displayName: 'Password',
			name: 'password',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			displayOptions: { show: { connectionType: ['fields'] } },
		},
		{
			displayName: 'Use TLS',
			name: 'tls',
			type: 'boolean',
			default: false,
			description: 'Whether to connect over TLS. A rediss:// URL turns TLS on by itself.',
		},
		{
			displayName: 'CA Certificate',
			name: 'tlsCa',
			type: 'string',
			typeOptions: { rows: 4 },
			default: '',
			placeholder: '-----BEGIN CERTIFICATE-----',
			description:
				"The PEM certificate of the authority that signed the server's certificate, when it is not a public one",
		},
		{
			displayName: 'Verify TLS Certificate',
			name: 'tlsRejectUnauthorized',
			type: 'boolean',
			default: true,
			description:
				'Whether to check the server certificate. Turn off only for a test server: without the check anyone on the network path can pose as Redis.',
		},
		// A namespace for Redis keys, not a secret: masking it would only hide a typo.
		{
			displayName: 'Key Prefix',
			name: 'keyPrefix',
			// eslint-disable-next-line n8n-nodes-base/cred-class-field-type-options-password-missing
			type: 'string',
			default: 'dealflow',
			description:
				'Every key the dealflow nodes write starts with this, so several n8n installs or environments can share one Redis',
		},
	];
}
