import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * The warehouse database the Inventory node moves stock in: PostgreSQL, or MySQL/MariaDB.
 * The field names match `InventoryDbCredential` in nodes/Inventory/transport.ts. The Test button
 * is the Inventory node's `dealflowInventoryDbConnectionTest`, which opens one connection and
 * runs `SELECT 1`.
 */
export class DealflowInventoryDbApi implements ICredentialType {
	name = 'dealflowInventoryDbApi';

	displayName = 'Dealflow Inventory Database API';

	properties: INodeProperties[] = [
		{
			displayName: 'Engine',
			name: 'engine',
			type: 'options',
			options: [
				{ name: 'MySQL / MariaDB', value: 'mysql' },
				{ name: 'PostgreSQL', value: 'postgres' },
			],
			default: 'postgres',
		},
		{
			displayName: 'Connect With',
			name: 'connectionType',
			type: 'options',
			options: [
				{ name: 'Host and Port', value: 'fields' },
				{ name: 'Connection URL', value: 'url' },
			],
			default: 'fields',
		},
		{
			displayName: 'Connection URL',
			name: 'url',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			placeholder: 'postgres://user:password@db.internal:5432/warehouse',
			description:
				'A postgres:// URL for PostgreSQL, or a mysql:// URL for MySQL and MariaDB. User, password and database may be part of it.',
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
			typeOptions: { minValue: 0, maxValue: 65535 },
			default: 0,
			description:
				"Leave 0 for the engine's usual port: 5432 for PostgreSQL, 3306 for MySQL and MariaDB",
			displayOptions: { show: { connectionType: ['fields'] } },
		},
		{
			displayName: 'Database',
			name: 'database',
			type: 'string',
			default: '',
			placeholder: 'warehouse',
			displayOptions: { show: { connectionType: ['fields'] } },
		},
		{
			displayName: 'User',
			name: 'user',
			type: 'string',
			default: '',
			description:
				'Needs SELECT, INSERT and UPDATE on the stock table and the ledger, and CREATE and ALTER for "Set Up Tables"',
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
			displayName: 'Use SSL',
			name: 'ssl',
			type: 'boolean',
			default: false,
			description: 'Whether to connect over TLS',
		},
		{
			displayName: 'CA Certificate',
			name: 'sslCa',
			type: 'string',
			typeOptions: { rows: 4 },
			default: '',
			placeholder: '-----BEGIN CERTIFICATE-----',
			description: "PEM certificate of the authority that signed the server's certificate",
			displayOptions: { show: { ssl: [true] } },
		},
		{
			displayName: 'Client Certificate',
			name: 'sslCert',
			type: 'string',
			typeOptions: { rows: 4 },
			default: '',
			description: 'PEM client certificate, when the server requires one',
			displayOptions: { show: { ssl: [true] } },
		},
		{
			displayName: 'Client Key',
			name: 'sslKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'PEM private key of the client certificate',
			displayOptions: { show: { ssl: [true] } },
		},
		{
			displayName: 'Reject Unauthorized',
			name: 'sslRejectUnauthorized',
			type: 'boolean',
			default: true,
			description:
				'Whether to refuse a server certificate that the CA does not vouch for. Turn off only for a test server with a self-signed certificate.',
			displayOptions: { show: { ssl: [true] } },
		},
		{
			displayName: 'Pool Size',
			name: 'poolSize',
			type: 'number',
			typeOptions: { minValue: 1, maxValue: 100 },
			default: 10,
			description:
				'Most connections this n8n process keeps open to the database. Every worker in queue mode has its own pool of this size.',
		},
		{
			displayName: 'Statement Timeout (Ms)',
			name: 'statementTimeoutMs',
			type: 'number',
			typeOptions: { minValue: 100 },
			default: 30000,
			description: 'Longest a single statement may run before the server cancels it',
		},
		{
			displayName: 'Lock Timeout (Ms)',
			name: 'lockTimeoutMs',
			type: 'number',
			typeOptions: { minValue: 1000 },
			default: 10000,
			description:
				'Longest a transaction waits for a stock row another transaction holds; the node then retries the whole transaction. MySQL counts it in whole seconds.',
		},
	];
}
