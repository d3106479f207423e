import type { INodeProperties } from 'n8n-workflow';

/** The Dealflow Xero node's parameters, grouped by resource and operation. */

export const authenticationProperties: INodeProperties[] = [
	{
		displayName: 'Authentication',
		name: 'authentication',
		type: 'options',
		options: [
			{ name: 'Custom Connection', value: 'customConnection' },
			{ name: 'OAuth2', value: 'oAuth2' },
		],
		default: 'customConnection',
	},
	{
		displayName: 'Share Limits Through Redis',
		name: 'useRedis',
		type: 'boolean',
		default: true,
		description:
			"Whether to keep the rate limiter, contact cache and token in Redis, shared by every n8n process. Without it each process counts Xero's limits on its own, which is only safe with a single n8n process.",
	},
	{
		displayName: 'Tenant Name or ID',
		name: 'tenantId',
		type: 'options',
		typeOptions: { loadOptionsMethod: 'getTenants' },
		default: '',
		description:
			'The organisation to work in. Empty uses the tenant ID of the credential. Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
	},
];

export const resourceProperties: INodeProperties[] = [
	{
		displayName: 'Resource',
		name: 'resource',
		type: 'options',
		noDataExpression: true,
		options: [
			{ name: 'Contact', value: 'contact' },
			{ name: 'Invoice', value: 'invoice' },
		],
		default: 'invoice',
	},
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['invoice'] } },
		options: [
			{
				name: 'Create From Order',
				value: 'createFromOrder',
				description: 'Create a sales invoice for an order, once, however often the order arrives',
				action: 'Create an invoice from an order',
			},
			{
				name: 'Get',
				value: 'get',
				description: 'Get an invoice by ID or number',
				action: 'Get an invoice',
			},
			{
				name: 'Update Status',
				value: 'updateStatus',
				description: 'Authorise a draft, or void an invoice for compensation',
				action: 'Update the status of an invoice',
			},
		],
		default: 'createFromOrder',
	},
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['contact'] } },
		options: [
			{
				name: 'Find or Create',
				value: 'findOrCreate',
				description: 'Find a contact by account number, email or name, or create it',
				action: 'Find or create a contact',
			},
		],
		default: 'findOrCreate',
	},
];

const createShow = { show: { resource: ['invoice'], operation: ['createFromOrder'] } };

export const invoiceProperties: INodeProperties[] = [
	{
		displayName: 'Order',
		name: 'order',
		type: 'json',
		default: '={{ $json.order ?? $json }}',
		required: true,
		displayOptions: createShow,
		description:
			'The order as the Salesforce node emits it: orderKey, reference, currency, customer, lines',
	},
	{
		displayName: 'Mode',
		name: 'mode',
		type: 'options',
		displayOptions: createShow,
		options: [
			{
				name: 'Batch',
				value: 'batch',
				description:
					'Send up to 50 invoices per call; a bad invoice fails on its own item and the rest are created',
			},
			{ name: 'One Call per Item', value: 'perItem' },
		],
		default: 'perItem',
	},
	{
		displayName: 'Batch Size',
		name: 'batchSize',
		type: 'number',
		typeOptions: { minValue: 1, maxValue: 50 },
		default: 50,
		displayOptions: { show: { ...createShow.show, mode: ['batch'] } },
	},
	{
		displayName: 'Status',
		name: 'status',
		type: 'options',
		displayOptions: createShow,
		options: [
			{ name: 'Authorised', value: 'AUTHORISED' },
			{ name: 'Draft', value: 'DRAFT' },
		],
		default: 'DRAFT',
	},
	{
		displayName: 'Account Code',
		name: 'accountCode',
		type: 'string',
		default: '200',
		required: true,
		displayOptions: createShow,
		description: 'The revenue account for lines without a mapping, e.g. 200 (Sales)',
	},
	{
		displayName: 'Tax Type',
		name: 'taxType',
		type: 'string',
		default: '',
		displayOptions: createShow,
		description:
			"Xero's tax type for lines without a mapping, e.g. OUTPUT. Empty uses the account's default.",
	},
	{
		displayName: 'Use SKU as Item Code',
		name: 'useSkuAsItemCode',
		type: 'boolean',
		default: false,
		displayOptions: createShow,
		description: "Whether to send each line's SKU as its ItemCode; the item must exist in Xero",
	},
	{
		displayName: 'Payment Terms',
		name: 'paymentTermsType',
		type: 'options',
		displayOptions: createShow,
		options: [
			{ name: 'Days After Invoice Date', value: 'daysAfterInvoiceDate' },
			{ name: 'Day of the Following Month', value: 'dayOfFollowingMonth' },
		],
		default: 'daysAfterInvoiceDate',
	},
	{
		displayName: 'Days',
		name: 'paymentTermsDays',
		type: 'number',
		typeOptions: { minValue: 0, maxValue: 365 },
		default: 30,
		displayOptions: { show: { ...createShow.show, paymentTermsType: ['daysAfterInvoiceDate'] } },
	},
	{
		displayName: 'Day of Month',
		name: 'paymentTermsDay',
		type: 'number',
		typeOptions: { minValue: 1, maxValue: 31 },
		default: 20,
		displayOptions: { show: { ...createShow.show, paymentTermsType: ['dayOfFollowingMonth'] } },
	},
	{
		displayName: 'Line Amounts',
		name: 'lineAmountTypes',
		type: 'options',
		displayOptions: createShow,
		options: [
			{ name: 'Tax Exclusive', value: 'Exclusive' },
			{ name: 'Tax Inclusive', value: 'Inclusive' },
			{ name: 'No Tax', value: 'NoTax' },
		],
		default: 'Exclusive',
	},
	{
		displayName: 'Invoice Number',
		name: 'invoiceNumber',
		type: 'string',
		default: '',
		displayOptions: createShow,
		description:
			'Empty lets Xero number the invoice. When set, Xero keeps it unique and the node also dedupes on it.',
	},
	{
		displayName: 'Line Mappings',
		name: 'lineMappings',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true },
		placeholder: 'Add Mapping',
		default: {},
		displayOptions: createShow,
		description: 'Account code, tax type or item code for particular SKUs; * matches every SKU',
		options: [
			{
				displayName: 'Mapping',
				name: 'mapping',
				values: [
					{ displayName: 'SKU', name: 'sku', type: 'string', default: '*' },
					{ displayName: 'Account Code', name: 'accountCode', type: 'string', default: '' },
					{ displayName: 'Tax Type', name: 'taxType', type: 'string', default: '' },
					{ displayName: 'Item Code', name: 'itemCode', type: 'string', default: '' },
				],
			},
		],
	},
	{
		displayName: 'Invoice ID or Number',
		name: 'invoiceId',
		type: 'string',
		default: '',
		required: true,
		displayOptions: { show: { resource: ['invoice'], operation: ['get', 'updateStatus'] } },
	},
	{
		displayName: 'Action',
		name: 'statusAction',
		type: 'options',
		displayOptions: { show: { resource: ['invoice'], operation: ['updateStatus'] } },
		options: [
			{ name: 'Authorise', value: 'authorise', description: 'Approve a draft invoice' },
			{
				name: 'Void',
				value: 'void',
				description: 'Void an approved invoice, or delete a draft (Xero cannot void drafts)',
			},
		],
		default: 'authorise',
	},
];

export const contactProperties: INodeProperties[] = [
	{
		displayName: 'Customer',
		name: 'customer',
		type: 'json',
		default: '={{ $json.customer ?? $json.order?.customer }}',
		required: true,
		displayOptions: { show: { resource: ['contact'], operation: ['findOrCreate'] } },
		description: 'Name, and optionally accountNumber, email and billingAddress',
	},
];

export const optionProperties: INodeProperties[] = [
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: [
			{
				displayName: 'Call Timeout (Ms)',
				name: 'timeoutMs',
				type: 'number',
				default: 30000,
				description: 'How long one Xero call may take before it is abandoned and retried',
			},
			{
				displayName: 'Calls per Window',
				name: 'minuteLimit',
				type: 'number',
				default: 60,
				description: "Xero's per-organisation limit; lower it to leave room for other apps",
			},
			{
				displayName: 'Concurrent Calls',
				name: 'concurrentLimit',
				type: 'number',
				default: 5,
			},
			{
				displayName: 'Contact Cache (Seconds)',
				name: 'contactCacheSeconds',
				type: 'number',
				default: 3600,
				description: 'How long a found ContactID is reused; 0 searches every time',
			},
			{
				displayName: 'Dedupe Search',
				name: 'dedupeSearch',
				type: 'options',
				options: [
					{
						name: 'Always',
						value: 'always',
						description:
							'Search Xero for an invoice with the order reference before every create: one extra call per create',
					},
					{
						name: 'After a Recorded Attempt',
						value: 'afterRecordedAttempt',
						description:
							'Search only when Redis records an earlier attempt for the order key; halves the calls, needs Redis with persistence',
					},
				],
				default: 'always',
			},
			{
				displayName: 'Max Attempts',
				name: 'maxAttempts',
				type: 'number',
				typeOptions: { minValue: 1, maxValue: 10 },
				default: 5,
				description:
					'Tries per call, including the first, for outages, timeouts and short rate limits',
			},
			{
				displayName: 'Max Wait in Place (Seconds)',
				name: 'maxWaitInPlaceSeconds',
				type: 'number',
				default: 30,
				description:
					'Longer rate-limit waits fail the item with a retryable error carrying retryAfterMs, for the Retry Queue',
			},
			{
				displayName: 'Rate Window (Seconds)',
				name: 'windowSeconds',
				type: 'number',
				default: 60,
				description: "Xero's window is 60 seconds; a shorter one is only for simulators",
			},
		],
	},
];
