import type {
	ICredentialTestFunctions,
	ICredentialsDecrypted,
	IDataObject,
	IExecuteFunctions,
	ILoadOptionsFunctions,
	INodeCredentialTestResult,
	INodeExecutionData,
	INodePropertyOptions,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';

import { readRetryHint } from '../shared/errors';
import { customerSchema, formatZodIssues, type Order } from '../shared/order';
import {
	buildContext,
	CUSTOM_CREDENTIAL,
	fetchConnections,
	inputError,
	listTenants,
	OAUTH2_CREDENTIAL,
	REDIS_CREDENTIAL,
	toNodeError,
	type AuthMode,
} from './context';
import {
	authenticationProperties,
	contactProperties,
	invoiceProperties,
	optionProperties,
	resourceProperties,
} from './descriptions';
import { checkOrderForInvoice, XERO_MAX_BATCH, type InvoiceSettings } from './logic';
import {
	createInvoiceFromOrder,
	createInvoicesBatch,
	findOrCreateContact,
	getInvoice,
	updateInvoiceStatus,
	type OperationContext,
	type StatusAction,
} from './operations';
import { DEFAULT_CONNECTIONS_URL } from './transport';

export class Xero implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Dealflow Xero',
		name: 'xero',
		icon: { light: 'file:xero.svg', dark: 'file:xero.dark.svg' },
		group: ['output'],
		version: 1,
		subtitle: '={{ $parameter["operation"] + ": " + $parameter["resource"] }}',
		description:
			'Issue Xero invoices from orders exactly once, within Xero rate limits shared by every n8n process',
		defaults: { name: 'Dealflow Xero' },
		inputs: ['main'],
		outputs: ['main'],
		credentials: [
			{
				name: CUSTOM_CREDENTIAL,
				required: true,
				testedBy: 'dealflowXeroConnectionTest',
				displayOptions: { show: { authentication: ['customConnection'] } },
			},
			{
				name: OAUTH2_CREDENTIAL,
				required: true,
				displayOptions: { show: { authentication: ['oAuth2'] } },
			},
			{
				name: REDIS_CREDENTIAL,
				required: true,
				displayOptions: { show: { useRedis: [true] } },
			},
		],
		properties: [
			...authenticationProperties,
			...resourceProperties,
			...invoiceProperties,
			...contactProperties,
			...optionProperties,
		],
	};

	methods = {
		loadOptions: {
			async getTenants(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
				return await listTenants(this);
			},
		},
		credentialTest: {
			async dealflowXeroConnectionTest(
				this: ICredentialTestFunctions,
				credential: ICredentialsDecrypted,
			): Promise<INodeCredentialTestResult> {
				const data = credential.data as IDataObject;
				try {
					const connections = await fetchConnections({
						credential: data,
						url: (data.connectionsUrl as string) || DEFAULT_CONNECTIONS_URL,
					});
					const count = Array.isArray(connections) ? connections.length : 0;
					if (!count)
						return {
							status: 'Error',
							message: 'The token works, but it has access to no organisation',
						};
					return {
						status: 'OK',
						message: `Connected: ${count} organisation${count === 1 ? '' : 's'}`,
					};
				} catch (error) {
					return { status: 'Error', message: (error as Error).message };
				}
			},
		},
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const resource = this.getNodeParameter('resource', 0) as string;
		const operation = this.getNodeParameter('operation', 0) as string;
		const ctx = await buildContext(this, {
			mode: this.getNodeParameter('authentication', 0) as AuthMode,
			useRedis: this.getNodeParameter('useRedis', 0) as boolean,
			tenantId: this.getNodeParameter('tenantId', 0, '') as string,
			options: this.getNodeParameter('options', 0, {}) as IDataObject,
		});

		if (resource === 'invoice' && operation === 'createFromOrder')
			return [await createFromOrders(this, ctx)];
		return [await perItem(this, ctx, resource, operation)];
	}
}

function readJson(fns: IExecuteFunctions, name: string, itemIndex: number): unknown {
	const value = fns.getNodeParameter(name, itemIndex);
	if (typeof value !== 'string') return value;
	try {
		return JSON.parse(value);
	} catch {
		return value;
	}
}

function readSettings(fns: IExecuteFunctions, i: number): unknown {
	const termsType = fns.getNodeParameter('paymentTermsType', i) as string;
	const mappings = (fns.getNodeParameter('lineMappings', i, {}) as IDataObject).mapping as
		| IDataObject[]
		| undefined;
	const blankToUndefined = (value: unknown) =>
		typeof value === 'string' && value.trim() ? value.trim() : undefined;
	return {
		status: fns.getNodeParameter('status', i),
		accountCode: fns.getNodeParameter('accountCode', i),
		taxType: blankToUndefined(fns.getNodeParameter('taxType', i, '')),
		useSkuAsItemCode: fns.getNodeParameter('useSkuAsItemCode', i),
		paymentTerms:
			termsType === 'dayOfFollowingMonth'
				? { type: termsType, day: fns.getNodeParameter('paymentTermsDay', i) }
				: { type: 'daysAfterInvoiceDate', days: fns.getNodeParameter('paymentTermsDays', i) },
		lineAmountTypes: fns.getNodeParameter('lineAmountTypes', i),
		invoiceNumber: blankToUndefined(fns.getNodeParameter('invoiceNumber', i, '')),
		lineMappings: (mappings ?? []).map((m) => ({
			sku: m.sku,
			accountCode: blankToUndefined(m.accountCode),
			taxType: blankToUndefined(m.taxType),
			itemCode: blankToUndefined(m.itemCode),
		})),
	};
}

function errorItem(error: Error, itemIndex: number): INodeExecutionData {
	const hint = readRetryHint(error);
	return {
		json: { error: error.message, ...(hint ? { retry: { ...hint } } : {}) },
		pairedItem: { item: itemIndex },
	};
}

/**
 * Checks every order first, so bad input fails before any call; then creates per item or in
 * batches. Outputs keep input order, one per item.
 */
async function createFromOrders(
	fns: IExecuteFunctions,
	ctx: OperationContext,
): Promise<INodeExecutionData[]> {
	const items = fns.getInputData();
	const node = fns.getNode();
	const results: Array<INodeExecutionData | undefined> = items.map(() => undefined);
	const valid: Array<{ index: number; input: { order: Order; settings: InvoiceSettings } }> = [];

	for (let i = 0; i < items.length; i++) {
		const checked = checkOrderForInvoice(readJson(fns, 'order', i), readSettings(fns, i));
		if (checked.ok) {
			valid.push({ index: i, input: checked.value });
			continue;
		}
		const error = inputError(node, checked.problems, i);
		if (!fns.continueOnFail()) throw error;
		results[i] = errorItem(error, i);
	}

	const succeed = (index: number, value: IDataObject) => {
		results[index] = { json: value, pairedItem: { item: index } };
	};
	const failWith = (index: number, error: unknown) => {
		const nodeError = toNodeError(node, error, index);
		if (!fns.continueOnFail()) throw nodeError;
		results[index] = errorItem(nodeError, index);
	};

	if (fns.getNodeParameter('mode', 0) === 'batch') {
		const size = Math.min(
			XERO_MAX_BATCH,
			Math.max(1, Number(fns.getNodeParameter('batchSize', 0, XERO_MAX_BATCH))),
		);
		for (let start = 0; start < valid.length; start += size) {
			const chunk = valid.slice(start, start + size);
			let outcomes;
			try {
				outcomes = await createInvoicesBatch(
					ctx,
					chunk.map((c) => c.input),
				);
			} catch (error) {
				for (const entry of chunk) failWith(entry.index, error);
				continue;
			}
			outcomes.forEach((outcome, position) => {
				const { index, input } = chunk[position];
				if (outcome.ok) succeed(index, { ...outcome.value, orderKey: input.order.orderKey });
				else failWith(index, outcome.error);
			});
		}
	} else {
		for (const { index, input } of valid) {
			try {
				const outcome = await createInvoiceFromOrder(ctx, input);
				fns.logger.debug('Xero invoice ready', {
					orderKey: input.order.orderKey,
					createdNow: outcome.createdNow,
				});
				succeed(index, { ...outcome, orderKey: input.order.orderKey });
			} catch (error) {
				failWith(index, error);
			}
		}
	}
	return results.filter((r): r is INodeExecutionData => !!r);
}

async function perItem(
	fns: IExecuteFunctions,
	ctx: OperationContext,
	resource: string,
	operation: string,
): Promise<INodeExecutionData[]> {
	const items = fns.getInputData();
	const node = fns.getNode();
	const out: INodeExecutionData[] = [];
	for (let i = 0; i < items.length; i++) {
		try {
			out.push({
				json: await runOne(fns, ctx, { resource, operation, itemIndex: i }),
				pairedItem: { item: i },
			});
		} catch (error) {
			const nodeError = toNodeError(node, error, i);
			if (!fns.continueOnFail()) throw nodeError;
			out.push(errorItem(nodeError, i));
		}
	}
	return out;
}

async function runOne(
	fns: IExecuteFunctions,
	ctx: OperationContext,
	call: { resource: string; operation: string; itemIndex: number },
): Promise<IDataObject> {
	const i = call.itemIndex;
	if (call.resource === 'contact') {
		const customer = customerSchema.safeParse(readJson(fns, 'customer', i));
		if (!customer.success)
			throw inputError(fns.getNode(), formatZodIssues(customer.error.issues), i);
		return { ...(await findOrCreateContact(ctx, customer.data)) };
	}
	const invoiceId = String(fns.getNodeParameter('invoiceId', i)).trim();
	if (!invoiceId)
		throw inputError(fns.getNode(), ['invoiceId: an invoice id or number is required'], i);
	if (call.operation === 'updateStatus') {
		const action = fns.getNodeParameter('statusAction', i) as StatusAction;
		return { ...(await updateInvoiceStatus(ctx, { invoiceId, action })) };
	}
	const invoice = await getInvoice(ctx, invoiceId);
	return {
		invoiceId: invoice.invoiceID,
		invoiceNumber: invoice.invoiceNumber,
		status: String(invoice.status),
		type: String(invoice.type),
		reference: invoice.reference,
		contactId: invoice.contact?.contactID,
		contactName: invoice.contact?.name,
		date: invoice.date,
		dueDate: invoice.dueDate,
		currencyCode: String(invoice.currencyCode),
		subTotal: invoice.subTotal,
		totalTax: invoice.totalTax,
		total: invoice.total,
		amountDue: invoice.amountDue,
		amountPaid: invoice.amountPaid,
		lineItems: (invoice.lineItems ?? []).map((line) => ({
			itemCode: line.itemCode,
			description: line.description,
			quantity: line.quantity,
			unitAmount: line.unitAmount,
			accountCode: line.accountCode,
			taxType: line.taxType,
			lineAmount: line.lineAmount,
		})),
	};
}
