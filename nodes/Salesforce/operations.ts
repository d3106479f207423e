import {
	NodeApiError,
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type IHttpRequestMethods,
	type INode,
	type JsonObject,
} from 'n8n-workflow';

import { markError, readRetryHint } from '../shared/errors';
import type { HttpResponseSpec, HttpSend } from './auth';
import type { SalesforceFailure } from './classify';
import {
	CREDENTIAL_TYPES,
	CredentialConfigError,
	instanceUrlOverride,
	toTokenAuthConfig,
	type SalesforceAuthMode,
} from './credentialConfig';
import {
	buildOpportunitySoql,
	checkOpportunityOptions,
	mapOpportunityToOrder,
	summariseOpportunity,
} from './opportunity';
import {
	DEFAULT_API_VERSION,
	DEFAULT_RETRY,
	fetchSend,
	SalesforceCallError,
	SalesforceClient,
	type ApiUsage,
} from './transport';

/**
 * What the node does per item, and how failures become n8n errors. The node file keeps only the
 * description; the SOQL, mapping and transport live in their own n8n-free files.
 */

export interface ClientSettings {
	apiVersion?: string;
	timeoutSeconds?: number;
	maxAttempts?: number;
}

/** Opens the client for one execution. Throws NodeOperationError for a bad credential setup. */
export async function createClient(
	ctx: IExecuteFunctions,
	mode: SalesforceAuthMode,
	settings: ClientSettings,
): Promise<SalesforceClient> {
	const apiVersion = settings.apiVersion?.trim() || DEFAULT_API_VERSION;
	const timeoutMs = Math.max(1, settings.timeoutSeconds ?? 30) * 1000;
	const retry = { ...DEFAULT_RETRY, maxAttempts: Math.max(1, settings.maxAttempts ?? 4) };
	const logger = {
		debug: (message: string, meta?: Record<string, unknown>) => ctx.logger.debug(message, meta),
		warn: (message: string, meta?: Record<string, unknown>) => ctx.logger.warn(message, meta),
	};
	try {
		const data = (await ctx.getCredentials(CREDENTIAL_TYPES[mode])) as Record<string, unknown>;
		if (mode === 'oAuth2') {
			const tokenData = (data.oauthTokenData ?? {}) as Record<string, unknown>;
			const instanceUrl =
				instanceUrlOverride(data) ??
				(typeof tokenData.instance_url === 'string' ? tokenData.instance_url : undefined);
			if (!instanceUrl) {
				throw new CredentialConfigError(
					'The OAuth2 credential has no instance URL: reconnect it, or set Instance URL',
				);
			}
			return new SalesforceClient({
				send: n8nOAuth2Send(ctx, timeoutMs),
				auth: { kind: 'n8n', instanceUrl },
				apiVersion,
				retry,
				logger,
			});
		}
		return new SalesforceClient({
			send: fetchSend({ timeoutMs }),
			auth: {
				kind: 'token',
				config: toTokenAuthConfig(mode, data, apiVersion),
				instanceUrl: instanceUrlOverride(data),
			},
			apiVersion,
			retry,
			logger,
		});
	} catch (error) {
		throw toNodeError(ctx.getNode(), error);
	}
}

/**
 * Sends through n8n's OAuth2 helper: n8n signs the request, and on a 401 refreshes the token
 * once, saves it in the credential and repeats the request. Every other status comes back as a
 * response for jsforce to read.
 */
function n8nOAuth2Send(ctx: IExecuteFunctions, timeoutMs: number): HttpSend {
	return async (request) => {
		try {
			const response = (await ctx.helpers.httpRequestWithAuthentication.call(
				ctx,
				CREDENTIAL_TYPES.oAuth2,
				{
					method: request.method as IHttpRequestMethods,
					url: request.url,
					headers: request.headers,
					body: request.body,
					json: false,
					encoding: 'text',
					returnFullResponse: true,
					timeout: timeoutMs,
					ignoreHttpStatusErrors: { ignore: true, except: [401] },
				},
			)) as { statusCode: number; headers: Record<string, unknown>; body: unknown };
			return toResponse(response.statusCode, response.headers, response.body);
		} catch (error) {
			const response = findHttpResponse(error);
			if (response) return toResponse(response.status, response.headers, response.data);
			throw error;
		}
	};
}

function findHttpResponse(
	error: unknown,
): { status: number; headers: Record<string, unknown>; data: unknown } | undefined {
	let current: unknown = error;
	for (let depth = 0; depth < 4 && current && typeof current === 'object'; depth++) {
		const response = (current as { response?: { status?: unknown } }).response;
		if (response && typeof response.status === 'number') {
			return response as { status: number; headers: Record<string, unknown>; data: unknown };
		}
		current = (current as { cause?: unknown }).cause;
	}
	return undefined;
}

function toResponse(
	status: number,
	headers: Record<string, unknown>,
	body: unknown,
): HttpResponseSpec {
	const flat: Record<string, string> = {};
	for (const [name, value] of Object.entries(headers ?? {})) {
		if (value !== undefined) flat[name.toLowerCase()] = String(value);
	}
	const text =
		body === undefined || body === null
			? ''
			: typeof body === 'string'
				? body
				: Buffer.isBuffer(body)
					? body.toString('utf8')
					: JSON.stringify(body);
	return { statusCode: status, headers: flat, body: text };
}

/** Runs the selected operation for one item and returns its output JSON objects. */
export async function runOperation(
	ctx: IExecuteFunctions,
	client: SalesforceClient,
	operation: string,
	itemIndex: number,
): Promise<IDataObject[]> {
	switch (operation) {
		case 'getOpportunityForInvoicing':
			return [await getOpportunityForInvoicing(ctx, client, itemIndex)];
		case 'update':
			return [await updateRecord(ctx, client, itemIndex)];
		case 'upsert':
			return [await upsertRecord(ctx, client, itemIndex)];
		case 'create':
			return [await createRecord(ctx, client, itemIndex)];
		case 'get':
			return [await getRecord(ctx, client, itemIndex)];
		case 'query':
			return await runQuery(ctx, client, itemIndex);
		default:
			throw new NodeOperationError(ctx.getNode(), `Unknown operation "${operation}"`, {
				itemIndex,
			});
	}
}

function metadata(client: SalesforceClient, extra: IDataObject = {}): IDataObject {
	const usage: ApiUsage | undefined = client.apiUsage();
	return { ...extra, apiVersion: client.apiVersion, ...(usage ? { apiUsage: { ...usage } } : {}) };
}

function logicError(
	ctx: IExecuteFunctions,
	itemIndex: number,
	options: { message: string; description?: string; reason: string },
): NodeOperationError {
	return markError(
		new NodeOperationError(ctx.getNode(), options.message, {
			itemIndex,
			description: options.description,
		}),
		{ retryable: false, reason: options.reason, service: 'salesforce' },
	);
}

async function getOpportunityForInvoicing(
	ctx: IExecuteFunctions,
	client: SalesforceClient,
	itemIndex: number,
): Promise<IDataObject> {
	const opportunityId = String(ctx.getNodeParameter('opportunityId', itemIndex, '')).trim();
	const requireWon = ctx.getNodeParameter('requireWon', itemIndex, true) as boolean;
	const options = ctx.getNodeParameter('orderOptions', itemIndex, {}) as {
		orderKey?: string;
		referenceField?: string;
		accountEmailField?: string;
		multiCurrency?: 'detect' | 'on' | 'off';
		defaultCurrency?: string;
	};
	const query = {
		opportunityId,
		includeCurrency: false,
		accountEmailField: options.accountEmailField?.trim() || undefined,
		referenceField: options.referenceField?.trim() || undefined,
	};
	const problems = checkOpportunityOptions(query);
	if (problems.length > 0) {
		throw logicError(ctx, itemIndex, { message: problems.join('; '), reason: 'invalid_input' });
	}

	const multiCurrency = options.multiCurrency ?? 'detect';
	query.includeCurrency =
		multiCurrency === 'on' ||
		(multiCurrency === 'detect' && (await client.hasField('Opportunity', 'CurrencyIsoCode')));

	const result = await client.query(buildOpportunitySoql(query), { limit: 1 });
	const record = result.records[0];
	if (!record) {
		throw logicError(ctx, itemIndex, {
			message: `Opportunity ${opportunityId} was not found`,
			description:
				'Check the id, and that the Salesforce user of this credential can see the opportunity (sharing rules).',
			reason: 'not_found',
		});
	}

	const summary = summariseOpportunity(record);
	if (requireWon && !summary.isWon) {
		throw logicError(ctx, itemIndex, {
			message: `Opportunity ${opportunityId} is not won (stage "${summary.stageName ?? 'unknown'}")`,
			description:
				'Only Closed Won deals are invoiced. Check the trigger that started this workflow, or turn off "Require Closed Won" to read the deal anyway.',
			reason: 'not_won',
		});
	}

	const mapped = mapOpportunityToOrder(record, {
		orderKey: options.orderKey?.trim() || undefined,
		referenceField: query.referenceField,
		accountEmailField: query.accountEmailField,
		defaultCurrency: options.defaultCurrency,
	});
	if (!mapped.ok) {
		throw logicError(ctx, itemIndex, {
			message: `Opportunity ${opportunityId} cannot be invoiced: ${mapped.problems.join('; ')}`,
			description: 'Fix the opportunity in Salesforce (or the node options), then run again.',
			reason: 'invalid_order',
		});
	}
	ctx.logger.debug('Salesforce opportunity read as an order', {
		opportunityId: summary.id,
		orderKey: mapped.order.orderKey,
		lines: mapped.order.lines.length,
		apiUsage: client.apiUsage(),
	});
	return {
		...(mapped.order as unknown as IDataObject),
		salesforce: metadata(client, {
			opportunityId: summary.id,
			opportunityName: summary.name,
			stageName: summary.stageName,
			isWon: summary.isWon,
			isClosed: summary.isClosed,
		}),
	};
}

function readFields(ctx: IExecuteFunctions, itemIndex: number): Record<string, unknown> {
	const raw = ctx.getNodeParameter('fields', itemIndex, '{}') as unknown;
	let value: unknown = raw;
	if (typeof raw === 'string') {
		try {
			value = raw.trim() ? JSON.parse(raw) : {};
		} catch (error) {
			throw logicError(ctx, itemIndex, {
				message: `Fields is not valid JSON: ${(error as Error).message}`,
				description:
					'Give an object of field API names and values, e.g. {"Sync_Status__c": "Invoiced"}',
				reason: 'invalid_input',
			});
		}
	}
	if (!value || typeof value !== 'object' || Array.isArray(value)) {
		throw logicError(ctx, itemIndex, {
			message: 'Fields must be a JSON object of field API names and values',
			description: 'For example {"Invoice_Number__c": "INV-0042", "Sync_Status__c": "Invoiced"}',
			reason: 'invalid_input',
		});
	}
	const fields = { ...(value as Record<string, unknown>) };
	delete fields.attributes;
	const bad = Object.keys(fields).filter((name) => !/^[A-Za-z][A-Za-z0-9_]*$/.test(name));
	if (bad.length > 0) {
		throw logicError(ctx, itemIndex, {
			message: `Not a field API name: ${bad.join(', ')}`,
			description: 'Use API names such as Invoice_Number__c, not labels.',
			reason: 'invalid_input',
		});
	}
	return fields;
}

function readName(
	ctx: IExecuteFunctions,
	itemIndex: number,
	parameter: string,
	label: string,
): string {
	const value = String(ctx.getNodeParameter(parameter, itemIndex, '')).trim();
	if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(value)) {
		throw logicError(ctx, itemIndex, {
			message: `${label} "${value}" is not an API name`,
			description: 'Use the API name, e.g. Opportunity or Invoice_Number__c.',
			reason: 'invalid_input',
		});
	}
	return value;
}

function readRecordId(ctx: IExecuteFunctions, itemIndex: number): string {
	const id = String(ctx.getNodeParameter('recordId', itemIndex, '')).trim();
	if (!/^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/.test(id)) {
		throw logicError(ctx, itemIndex, {
			message: `Record ID "${id}" is not a Salesforce record id (15 or 18 letters and digits)`,
			reason: 'invalid_input',
		});
	}
	return id;
}

async function updateRecord(
	ctx: IExecuteFunctions,
	client: SalesforceClient,
	itemIndex: number,
): Promise<IDataObject> {
	const sobject = readName(ctx, itemIndex, 'sobject', 'Object');
	const id = readRecordId(ctx, itemIndex);
	const fields = readFields(ctx, itemIndex);
	delete fields.Id;
	await client.update(sobject, id, fields);
	ctx.logger.debug('Salesforce record updated', { sobject, id, fields: Object.keys(fields) });
	return { id, success: true, sobject, salesforce: metadata(client) };
}

async function upsertRecord(
	ctx: IExecuteFunctions,
	client: SalesforceClient,
	itemIndex: number,
): Promise<IDataObject> {
	const sobject = readName(ctx, itemIndex, 'sobject', 'Object');
	const externalIdField = readName(ctx, itemIndex, 'externalIdField', 'External ID Field');
	const externalId = String(ctx.getNodeParameter('externalIdValue', itemIndex, '')).trim();
	if (!externalId) {
		throw logicError(ctx, itemIndex, {
			message: 'External ID Value is empty',
			description: 'An upsert needs the value to match on, e.g. the order key.',
			reason: 'invalid_input',
		});
	}
	const fields = readFields(ctx, itemIndex);
	try {
		const outcome = await client.upsert({ sobject, externalIdField, externalId, fields });
		ctx.logger.debug('Salesforce record upserted', {
			sobject,
			id: outcome.id,
			externalIdField,
			created: outcome.created,
		});
		return {
			id: outcome.id,
			success: true,
			created: outcome.created,
			statusCode: outcome.statusCode,
			sobject,
			salesforce: metadata(client),
		};
	} catch (error) {
		if (error instanceof SalesforceCallError && error.failure.reason === 'multiple_matches') {
			const ids = error.failure.matchingIds ?? [];
			error.failure.message = `${ids.length || 'Several'} ${sobject} records have ${externalIdField} = "${externalId}"${ids.length ? ` (${ids.join(', ')})` : ''}; an upsert needs exactly one match or none`;
			error.failure.fields = [externalIdField];
		}
		throw error;
	}
}

async function createRecord(
	ctx: IExecuteFunctions,
	client: SalesforceClient,
	itemIndex: number,
): Promise<IDataObject> {
	const sobject = readName(ctx, itemIndex, 'sobject', 'Object');
	const fields = readFields(ctx, itemIndex);
	const { id } = await client.create(sobject, fields);
	ctx.logger.debug('Salesforce record created', { sobject, id });
	return { id, success: true, created: true, sobject, salesforce: metadata(client) };
}

async function getRecord(
	ctx: IExecuteFunctions,
	client: SalesforceClient,
	itemIndex: number,
): Promise<IDataObject> {
	const sobject = readName(ctx, itemIndex, 'sobject', 'Object');
	const id = readRecordId(ctx, itemIndex);
	const fieldList = String(ctx.getNodeParameter('fieldsToReturn', itemIndex, ''))
		.split(',')
		.map((name) => name.trim())
		.filter(Boolean);
	const record = await client.retrieve(sobject, id, fieldList);
	return { ...(stripAttributes(record) as IDataObject), salesforce: metadata(client) };
}

async function runQuery(
	ctx: IExecuteFunctions,
	client: SalesforceClient,
	itemIndex: number,
): Promise<IDataObject[]> {
	const soql = String(ctx.getNodeParameter('soql', itemIndex, '')).trim();
	if (!/^select\s/i.test(soql)) {
		throw logicError(ctx, itemIndex, {
			message: 'The SOQL query must start with SELECT',
			reason: 'invalid_input',
		});
	}
	const returnAll = ctx.getNodeParameter('returnAll', itemIndex, false) as boolean;
	const limit = returnAll ? undefined : (ctx.getNodeParameter('limit', itemIndex, 50) as number);
	const result = await client.query(soql, { limit });
	const meta = metadata(client, { totalSize: result.totalSize });
	return result.records.map((record) => ({
		...(stripAttributes(record) as IDataObject),
		salesforce: meta,
	}));
}

/** Drops jsforce's `attributes` (type and URL) at every level; they are noise in n8n items. */
export function stripAttributes(value: unknown): unknown {
	if (Array.isArray(value)) return value.map(stripAttributes);
	if (!value || typeof value !== 'object') return value;
	const out: Record<string, unknown> = {};
	for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
		if (key !== 'attributes') out[key] = stripAttributes(inner);
	}
	return out;
}

const HEADLINES: Record<SalesforceFailure['reason'], (f: SalesforceFailure) => string> = {
	row_lock: () => 'Salesforce kept the record locked (UNABLE_TO_LOCK_ROW)',
	unavailable: () => 'Salesforce is temporarily unavailable',
	concurrent_limit: () => "Salesforce's concurrent request limit is reached",
	daily_api_limit: () => "The org's daily API request limit is used up",
	network: (f) => `No answer from Salesforce: ${f.message}`,
	session: () => 'Salesforce rejected the session, also after getting a new one',
	auth: (f) => `Salesforce login failed: ${f.errorCode}: ${f.message}`,
	multiple_matches: (f) => f.message,
	validation: (f) =>
		f.fields.length > 0
			? `Salesforce rejected field ${f.fields.join(', ')}: ${f.message}`
			: `Salesforce rejected the request: ${f.message}`,
	permission: (f) =>
		`The Salesforce user may not do this${f.fields.length ? ` (field ${f.fields.join(', ')})` : ''}: ${f.message}`,
	duplicate_value: (f) =>
		`Duplicate value${f.fields.length ? ` in field ${f.fields.join(', ')}` : ''}: ${f.message}`,
	not_found: (f) => `Not found in Salesforce: ${f.message}`,
	bad_query: (f) => `Salesforce could not run the SOQL query: ${f.message}`,
	unknown: (f) => `Salesforce error ${f.errorCode}: ${f.message}`,
};

const FIXES: Partial<Record<SalesforceFailure['reason'], string>> = {
	row_lock: 'Another process is writing the same record. The Retry Queue can try again later.',
	unavailable: 'The Retry Queue can try again later.',
	concurrent_limit:
		'Too many long-running requests at once in the org. The Retry Queue can try again later.',
	daily_api_limit:
		'Wait for the 24-hour window to free up calls, or raise the limit. Setup > Company Information shows the usage.',
	network: 'Check the instance URL and the network path to Salesforce.',
	session:
		'Check that the integration user is active, the connected app still allows it, and no IP or session policy blocks it.',
	auth: 'Check the credential: consumer key, user, key or secret, and that the user is pre-authorised for the connected app.',
	multiple_matches:
		'Make the external id field unique (and clean up the duplicates) so the upsert can pick one record.',
	validation:
		'Fix the value of the named field (or the validation rule in Salesforce) and run again.',
	permission:
		"Give the integration user's profile or permission set access to the object and field.",
	duplicate_value:
		'Another record already holds this value in a unique field. Use an upsert, or change the value.',
	not_found: 'Check the id and that the integration user can see the record.',
	bad_query: 'Check the SOQL in the Developer Console or Workbench.',
};

const HTTP_CODES: Partial<Record<SalesforceFailure['reason'], string>> = {
	row_lock: '400',
	unavailable: '503',
	concurrent_limit: '403',
	daily_api_limit: '403',
	session: '401',
	auth: '400',
	multiple_matches: '300',
	validation: '400',
	permission: '403',
	duplicate_value: '400',
	not_found: '404',
	bad_query: '400',
};

/**
 * Turns any failure into the n8n error to throw, marked with the shared retry contract.
 * @returns a NodeApiError for Salesforce failures, a NodeOperationError otherwise; never throws
 */
export function toNodeError(
	node: INode,
	error: unknown,
	itemIndex?: number,
): NodeApiError | NodeOperationError {
	if (
		(error instanceof NodeOperationError || error instanceof NodeApiError) &&
		readRetryHint(error)
	) {
		return error;
	}
	if (error instanceof SalesforceCallError) {
		const failure = error.failure;
		const nodeError = new NodeApiError(
			node,
			{
				errorCode: failure.errorCode,
				message: failure.message,
				fields: failure.fields,
				operation: error.operation,
				attempts: error.attempts,
			} as JsonObject,
			{
				message: HEADLINES[failure.reason](failure),
				description: [
					FIXES[failure.reason],
					error.attempts > 1 ? `Tried ${error.attempts} times.` : undefined,
				]
					.filter(Boolean)
					.join(' '),
				httpCode: failure.statusCode ? String(failure.statusCode) : HTTP_CODES[failure.reason],
				itemIndex,
			},
		);
		return markError(nodeError, {
			retryable: failure.retryable,
			retryAfterMs: failure.retryAfterMs,
			reason: failure.reason,
			service: 'salesforce',
		});
	}
	if (error instanceof CredentialConfigError) {
		return markError(
			new NodeOperationError(node, error.message, {
				itemIndex,
				description: 'Open the Salesforce credential and correct the named field.',
			}),
			{ retryable: false, reason: 'configuration', service: 'salesforce' },
		);
	}
	const message = error instanceof Error ? error.message : String(error);
	return markError(new NodeOperationError(node, message, { itemIndex }), {
		retryable: false,
		reason: 'unknown',
		service: 'salesforce',
	});
}
