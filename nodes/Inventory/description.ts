import type { INodeProperties } from 'n8n-workflow';

/** The Inventory node's parameters. Kept apart from the node class so the class stays short. */

const lineOperations = ['reserve', 'receive', 'adjust'];
const transactionOperations = ['reserve', 'release', 'receive', 'adjust'];

export const operationProperty: INodeProperties = {
	displayName: 'Operation',
	name: 'operation',
	type: 'options',
	noDataExpression: true,
	options: [
		{
			name: 'Adjust Stock',
			value: 'adjust',
			description: 'Change on-hand by a signed amount, e.g. after a stock count',
			action: 'Adjust stock',
		},
		{
			name: 'Get Stock Levels',
			value: 'getLevels',
			description: 'Read on-hand, reserved and available for SKUs, or list low stock',
			action: 'Get stock levels',
		},
		{
			name: 'Receive Stock',
			value: 'receive',
			description: 'Add delivered stock to on-hand',
			action: 'Receive stock',
		},
		{
			name: 'Release Reservation',
			value: 'release',
			description: "Give back an order's reserved stock, e.g. when the deal is lost",
			action: 'Release a reservation',
		},
		{
			name: 'Reserve for Order',
			value: 'reserve',
			description: 'Reserve every line of an order in one transaction, or none of them',
			action: 'Reserve stock for an order',
		},
		{
			name: 'Set Up Tables',
			value: 'setup',
			description: 'Create or migrate the movements ledger, and optionally a simple stock table',
			action: 'Set up the inventory tables',
		},
	],
	default: 'reserve',
};

const mappingProperties: INodeProperties[] = [
	{
		displayName: 'Stock Table',
		name: 'stockTable',
		type: 'string',
		required: true,
		default: 'dealflow_stock',
		placeholder: 'warehouse.stock_items',
		description:
			'The table that holds stock counts, optionally as schema.table. Letters, digits and underscores only.',
	},
	{
		displayName: 'SKU Column',
		name: 'skuColumn',
		type: 'string',
		required: true,
		default: 'sku',
		description:
			'The column holding the product code. Index it (or make it the key) so row locks stay narrow.',
	},
	{
		displayName: 'On-Hand Column',
		name: 'onHandColumn',
		type: 'string',
		required: true,
		default: 'on_hand',
		description: 'The column holding the quantity on hand, a whole number',
	},
	{
		displayName: 'Table Options',
		name: 'tableOptions',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: [
			{
				displayName: 'Ledger Table',
				name: 'ledgerTable',
				type: 'string',
				default: 'dealflow_stock_moves',
				description:
					'The movements ledger this node keeps: one row per SKU per move, unique per order key and kind. "Set Up Tables" creates it.',
			},
			{
				displayName: 'Location',
				name: 'location',
				type: 'string',
				default: '',
				placeholder: 'MAIN',
				description: 'Which location to move stock at. Used only when a Location Column is set.',
			},
			{
				displayName: 'Location Column',
				name: 'locationColumn',
				type: 'string',
				default: '',
				placeholder: 'warehouse_code',
				description:
					'Set when the table has one row per SKU and location; leave empty for one row per SKU',
			},
			{
				displayName: 'Reserved Column',
				name: 'reservedColumn',
				type: 'string',
				default: '',
				placeholder: 'qty_allocated',
				description:
					'Set when the table tracks reservations separately: reserving then raises this column and leaves on-hand alone, and available means on-hand minus reserved. Leave empty to decrement on-hand.',
			},
		],
	},
];

const reserveProperties: INodeProperties[] = [
	{
		displayName: 'Input',
		name: 'inputMode',
		type: 'options',
		noDataExpression: true,
		options: [
			{
				name: 'Order Object',
				value: 'order',
				description: 'Each item is an order with orderKey and lines[].sku and lines[].quantity',
			},
			{
				name: 'One Item per Line',
				value: 'items',
				description: 'Each item is one line; items with the same order key are reserved together',
			},
		],
		default: 'order',
		displayOptions: { show: { operation: ['reserve'] } },
	},
	{
		displayName: 'Order',
		name: 'order',
		type: 'json',
		default: '={{ $json }}',
		description: 'The order, as the Dealflow Salesforce node emits it',
		displayOptions: { show: { operation: ['reserve'], inputMode: ['order'] } },
	},
];

const keyProperties: INodeProperties[] = [
	{
		displayName: 'Order Key',
		name: 'orderKey',
		type: 'string',
		required: true,
		default: '={{ $json.orderKey }}',
		description:
			'The stable key of the order, e.g. sf:opp:006xx:closed-won. The same key never moves stock twice.',
		displayOptions: { show: { operation: ['reserve'], inputMode: ['items'] } },
	},
	{
		displayName: 'Order Key',
		name: 'orderKey',
		type: 'string',
		required: true,
		default: '={{ $json.orderKey }}',
		description: 'The key the order was reserved under',
		displayOptions: { show: { operation: ['release'] } },
	},
	{
		displayName: 'Movement Key',
		name: 'movementKey',
		type: 'string',
		required: true,
		default: '={{ $json.movementKey }}',
		placeholder: 'GRN-2024-0042',
		description:
			'A stable key of this delivery or count, e.g. the goods-receipt number. Items with the same key move together, and the same key never moves stock twice.',
		displayOptions: { show: { operation: ['receive', 'adjust'] } },
	},
	{
		displayName: 'SKU',
		name: 'sku',
		type: 'string',
		required: true,
		default: '={{ $json.sku }}',
		displayOptions: { show: { operation: ['receive', 'adjust'] } },
	},
	{
		displayName: 'SKU',
		name: 'sku',
		type: 'string',
		required: true,
		default: '={{ $json.sku }}',
		displayOptions: { show: { operation: ['reserve'], inputMode: ['items'] } },
	},
	{
		displayName: 'Quantity',
		name: 'quantity',
		type: 'string',
		required: true,
		default: '={{ $json.quantity }}',
		description: 'A whole number greater than zero',
		displayOptions: { show: { operation: ['reserve'], inputMode: ['items'] } },
	},
	{
		displayName: 'Quantity',
		name: 'quantity',
		type: 'string',
		required: true,
		default: '={{ $json.quantity }}',
		description: 'A whole number greater than zero',
		displayOptions: { show: { operation: ['receive'] } },
	},
	{
		displayName: 'Quantity Change',
		name: 'quantity',
		type: 'string',
		required: true,
		default: '={{ $json.quantity }}',
		description: 'A whole number, negative to remove stock, never zero',
		displayOptions: { show: { operation: ['adjust'] } },
	},
];

const levelProperties: INodeProperties[] = [
	{
		displayName: 'Levels For',
		name: 'levelsMode',
		type: 'options',
		noDataExpression: true,
		options: [
			{ name: 'Given SKUs', value: 'skus' },
			{ name: 'SKUs Below a Threshold', value: 'below', description: 'A low-stock alert' },
		],
		default: 'skus',
		displayOptions: { show: { operation: ['getLevels'] } },
	},
	{
		displayName: 'SKUs',
		name: 'skus',
		type: 'string',
		required: true,
		default: '={{ $json.sku }}',
		description: 'One SKU, a comma-separated list, or an array from an expression',
		displayOptions: { show: { operation: ['getLevels'], levelsMode: ['skus'] } },
	},
	{
		displayName: 'Available Below',
		name: 'threshold',
		type: 'number',
		default: 5,
		description: 'Returns SKUs whose available quantity (on-hand minus reserved) is below this',
		displayOptions: { show: { operation: ['getLevels'], levelsMode: ['below'] } },
	},
	{
		displayName: 'Limit',
		name: 'limit',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 50,
		description: 'Max number of results to return',
		displayOptions: { show: { operation: ['getLevels'], levelsMode: ['below'] } },
	},
	{
		displayName: 'Create Stock Table',
		name: 'createStockTable',
		type: 'boolean',
		default: false,
		description:
			'Whether to also create a simple stock table with the mapped names, for a warehouse that has none yet. An existing table is left as it is.',
		displayOptions: { show: { operation: ['setup'] } },
	},
];

const optionProperties: INodeProperties[] = [
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: { show: { operation: transactionOperations } },
		options: [
			{
				displayName: 'Allow Backorders',
				name: 'allowBackorders',
				type: 'boolean',
				default: false,
				description:
					'Whether to reserve short lines anyway, taking available stock below zero; such lines are flagged with their backordered quantity',
				displayOptions: { show: { '/operation': ['reserve'] } },
			},
			{
				displayName: 'Allow Negative Stock',
				name: 'allowNegative',
				type: 'boolean',
				default: false,
				description: 'Whether an adjustment may take available stock below zero',
				displayOptions: { show: { '/operation': ['adjust'] } },
			},
			{
				displayName: 'Cancel If Not Yet Reserved',
				name: 'cancelIfUnreserved',
				type: 'boolean',
				default: false,
				description:
					'Whether a release for an order that has reserved nothing yet is recorded anyway, so a reservation arriving later (e.g. from a retry queue) is refused with status "cancelled"',
				displayOptions: { show: { '/operation': ['release'] } },
			},
			{
				displayName: 'Create Missing SKUs',
				name: 'createMissing',
				type: 'boolean',
				default: false,
				description:
					'Whether a receipt for a SKU the stock table lacks adds a row for it. Leave off for a table with other required columns.',
				displayOptions: { show: { '/operation': ['receive'] } },
			},
			{
				displayName: 'Duplicate SKU Lines',
				name: 'duplicateLines',
				type: 'options',
				options: [
					{ name: 'Merge', value: 'merge', description: 'Add up their quantities' },
					{ name: 'Reject', value: 'reject', description: 'Fail the order before any write' },
				],
				default: 'merge',
				description: 'What to do when two lines of one order or movement name the same SKU',
				displayOptions: { show: { '/operation': lineOperations } },
			},
			{
				displayName: 'Max Attempts',
				name: 'maxAttempts',
				type: 'number',
				typeOptions: { minValue: 1, maxValue: 20 },
				default: 5,
				description:
					'Tries of the whole transaction on deadlocks, serialization failures, lock timeouts and dropped connections',
			},
			{
				displayName: 'On Shortage',
				name: 'onShortage',
				type: 'options',
				options: [
					{
						name: 'Output the Short Lines',
						value: 'output',
						description: 'Emit the order with status "insufficient" and reserved false',
					},
					{
						name: 'Fail',
						value: 'error',
						description: 'Fail the item as retryable, so a retry queue can try again later',
					},
				],
				default: 'output',
				displayOptions: { show: { '/operation': ['reserve'] } },
			},
			{
				displayName: 'Unknown SKUs',
				name: 'unknownSku',
				type: 'options',
				options: [
					{ name: 'Fail', value: 'error', description: 'Fail the order before any write' },
					{
						name: 'Ignore',
						value: 'ignore',
						description: 'Skip such lines (e.g. services) and list them as ignored',
					},
				],
				default: 'error',
				description: 'What to do with a line whose SKU has no row in the stock table',
				displayOptions: { show: { '/operation': lineOperations } },
			},
		],
	},
];

export const inventoryProperties: INodeProperties[] = [
	operationProperty,
	...mappingProperties,
	...reserveProperties,
	...keyProperties,
	...levelProperties,
	...optionProperties,
];
