import type { INodeProperties } from 'n8n-workflow';

/** The Dealflow Salesforce node's parameters. */

const recordOperations = ['update', 'upsert', 'create', 'get'];

export const salesforceProperties: INodeProperties[] = [
	{
		displayName: 'Authentication',
		name: 'authentication',
		type: 'options',
		noDataExpression: true,
		options: [
			{ name: 'Client Credentials', value: 'clientCredentials' },
			{ name: 'JWT Bearer', value: 'jwt' },
			{ name: 'OAuth2', value: 'oAuth2' },
			{ name: 'Username and Password (Legacy)', value: 'password' },
		],
		default: 'jwt',
	},
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		options: [
			{
				name: 'Create Record',
				value: 'create',
				description: 'Create a record (never retried automatically: a repeat could duplicate it)',
				action: 'Create a record',
			},
			{
				name: 'Get Opportunity for Invoicing',
				value: 'getOpportunityForInvoicing',
				description: 'Read a won opportunity, its account and line items as an order',
				action: 'Get an opportunity for invoicing',
			},
			{
				name: 'Get Record',
				value: 'get',
				description: 'Read one record by ID',
				action: 'Get a record',
			},
			{
				name: 'SOQL Query',
				value: 'query',
				description: 'Run a SOQL query, following the result pages',
				action: 'Run a SOQL query',
			},
			{
				name: 'Update Record',
				value: 'update',
				description: 'Update fields on a record by ID, e.g. write the invoice number back',
				action: 'Update a record',
			},
			{
				// Salesforce calls this operation upsert by external id; users search for that name.
				// eslint-disable-next-line n8n-nodes-base/node-param-option-name-wrong-for-upsert
				name: 'Upsert by External ID',
				value: 'upsert',
				// eslint-disable-next-line n8n-nodes-base/node-param-description-wrong-for-upsert
				description: 'Create or update the record matching an external ID field',
				action: 'Upsert a record by external ID',
			},
		],
		default: 'getOpportunityForInvoicing',
	},

	// Get opportunity for invoicing
	{
		displayName: 'Opportunity ID',
		name: 'opportunityId',
		type: 'string',
		required: true,
		default: '',
		placeholder: '0065g00000AbCdEAAV',
		description: 'The 15- or 18-character ID of the opportunity',
		displayOptions: { show: { operation: ['getOpportunityForInvoicing'] } },
	},
	{
		displayName: 'Require Closed Won',
		name: 'requireWon',
		type: 'boolean',
		default: true,
		description:
			'Whether to stop with an error when the opportunity is not won, so an open or lost deal is never invoiced',
		displayOptions: { show: { operation: ['getOpportunityForInvoicing'] } },
	},
	{
		displayName: 'Options',
		name: 'orderOptions',
		type: 'collection',
		placeholder: 'Add option',
		default: {},
		displayOptions: { show: { operation: ['getOpportunityForInvoicing'] } },
		options: [
			{
				displayName: 'Account Email Field',
				name: 'accountEmailField',
				type: 'string',
				default: '',
				placeholder: 'Invoice_Email__c',
				description:
					'An Account field with the invoice email, used when the opportunity has no primary contact with an email',
			},
			{
				displayName: 'Default Currency',
				name: 'defaultCurrency',
				type: 'string',
				default: '',
				placeholder: 'USD',
				description:
					"The org's currency (ISO 4217), used when multi-currency is off and opportunities carry no CurrencyIsoCode",
			},
			{
				displayName: 'Multi-Currency',
				name: 'multiCurrency',
				type: 'options',
				options: [
					{
						name: 'Detect',
						value: 'detect',
						description:
							'Ask Salesforce once per process whether opportunities have CurrencyIsoCode',
					},
					{ name: 'Off', value: 'off', description: 'Use the Default Currency' },
					{ name: 'On', value: 'on', description: 'Read CurrencyIsoCode from the opportunity' },
				],
				default: 'detect',
			},
			{
				displayName: 'Order Key',
				name: 'orderKey',
				type: 'string',
				default: '',
				placeholder: 'sf:opp:0065g00000AbCdEAAV:closed-won',
				description:
					'The key every later step dedupes on. Leave empty for sf:opp:&lt;ID&gt;:closed-won.',
			},
			{
				displayName: 'Reference Field',
				name: 'referenceField',
				type: 'string',
				default: '',
				placeholder: 'PO_Number__c',
				description:
					'An opportunity field to use as the order reference on the invoice. Leave empty for the opportunity ID.',
			},
		],
	},

	// Record operations
	{
		displayName: 'Object',
		name: 'sobject',
		type: 'string',
		required: true,
		default: 'Opportunity',
		description: 'API name of the object, e.g. Opportunity, Account or Invoice__c',
		displayOptions: { show: { operation: recordOperations } },
	},
	{
		displayName: 'Record ID',
		name: 'recordId',
		type: 'string',
		required: true,
		default: '',
		displayOptions: { show: { operation: ['update', 'get'] } },
	},
	{
		displayName: 'External ID Field',
		name: 'externalIdField',
		type: 'string',
		required: true,
		default: '',
		placeholder: 'Dealflow_Order_Key__c',
		description: 'API name of a field marked External ID (ideally also Unique)',
		displayOptions: { show: { operation: ['upsert'] } },
	},
	{
		displayName: 'External ID Value',
		name: 'externalIdValue',
		type: 'string',
		required: true,
		default: '',
		displayOptions: { show: { operation: ['upsert'] } },
	},
	{
		displayName: 'Fields',
		name: 'fields',
		type: 'json',
		default: '{\n  "Sync_Status__c": "Invoiced"\n}',
		description: 'Field API names and values to write, as a JSON object',
		displayOptions: { show: { operation: ['update', 'upsert', 'create'] } },
	},
	{
		displayName: 'Fields to Return',
		name: 'fieldsToReturn',
		type: 'string',
		default: '',
		placeholder: 'Name, StageName, Amount',
		description: 'Comma-separated field API names. Leave empty for all fields.',
		displayOptions: { show: { operation: ['get'] } },
	},

	// SOQL query
	{
		displayName: 'SOQL',
		name: 'soql',
		type: 'string',
		typeOptions: { rows: 4 },
		required: true,
		default: '',
		placeholder: "SELECT Id, Name FROM Opportunity WHERE StageName = 'Closed Won'",
		displayOptions: { show: { operation: ['query'] } },
	},
	{
		displayName: 'Return All',
		name: 'returnAll',
		type: 'boolean',
		default: false,
		description: 'Whether to return all results or only up to a given limit',
		displayOptions: { show: { operation: ['query'] } },
	},
	{
		displayName: 'Limit',
		name: 'limit',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 50,
		description: 'Max number of results to return',
		displayOptions: { show: { operation: ['query'], returnAll: [false] } },
	},

	{
		displayName: 'Settings',
		name: 'settings',
		type: 'collection',
		placeholder: 'Add setting',
		default: {},
		options: [
			{
				displayName: 'API Version',
				name: 'apiVersion',
				type: 'string',
				default: '62.0',
				description: 'Salesforce REST API version to call',
			},
			{
				displayName: 'Max Attempts',
				name: 'maxAttempts',
				type: 'number',
				typeOptions: { minValue: 1, maxValue: 10 },
				default: 4,
				description:
					'Tries per call for safe-to-repeat calls on transient faults (row lock, 503, concurrent limit, network), with full-jitter backoff',
			},
			{
				displayName: 'Timeout (Seconds)',
				name: 'timeoutSeconds',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 30,
				description: 'How long to wait for each Salesforce answer',
			},
		],
	},
];
