import type { IncomingMessage, ServerResponse } from 'node:http';

import type {
	ICredentialTestFunctions,
	ICredentialsDecrypted,
	IDataObject,
	INodeCredentialTestResult,
	INodeType,
	INodeTypeDescription,
	IWebhookFunctions,
	IWebhookResponseData,
} from 'n8n-workflow';
import {
	fromFunction,
	fromParameter,
	NodeOperationError,
	webhookDescriptionFields,
} from 'n8n-workflow';

import type { GenericSettings, PresetName } from './presets';
import { GENERIC_DEFAULTS, SecretFormatError, schemeFor } from './presets';
import type { Rejection } from './request';
import { decideRequest, precheckRequest } from './request';
import { SecretCache } from './secretCache';
import { secretProblems } from './secretProblems';
import type { SigningSecrets } from './verify';

const CREDENTIAL = 'dealflowSigningSecretApi';
const DEFAULT_MAX_BODY_KB = 1024;
const DEFAULT_SECRET_CACHE_SECONDS = 60;

/** One cache per process; n8n loads a node type once. See secretCache.ts for why it exists. */
const secretCache = new SecretCache();

interface SigningSecretCredential {
	secret?: string;
	previousSecret?: string;
}

interface SignedWebhookOptions {
	maxBodySizeKb?: number;
	requireJson?: boolean;
	secretCacheSeconds?: number;
}

/**
 * The webhook description is resolved on every request. Declaring each field through
 * `webhookDescriptionFields` gives n8n a native resolver next to the editor's expression
 * template, so static parameters are read directly instead of through the expression engine.
 * The resolver functions must be self-contained: n8n inlines their source into the template.
 */
const webhookFields = webhookDescriptionFields({
	path: fromParameter('path'),
	responseMode: fromParameter('responseMode', 'onReceived'),
	// Xero's delivery contract is exactly 200 with no body.
	responseCode: fromFunction((parameters) =>
		parameters.preset === 'xero' ? 200 : parameters.responseCode || 200,
	),
	responseData: fromFunction((parameters) =>
		parameters.responseMode === 'lastNode' ? parameters.responseData || 'firstEntryJson' : 'noData',
	),
});

export class SignedWebhook implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Signed Webhook',
		name: 'signedWebhook',
		icon: { light: 'file:signedWebhook.svg', dark: 'file:signedWebhook.dark.svg' },
		group: ['trigger'],
		// Version 2 from the start: for a version-1 trigger n8n evaluates an expression
		// ($parameter.options.binaryData) on every request before calling webhook(), which needs
		// an expression isolate. From version 2 on it does not.
		version: 2,
		subtitle: '={{ $parameter["preset"] }}',
		description:
			'Starts the workflow when a webhook arrives with a valid HMAC signature (Stripe, GitHub, Shopify, Slack, Xero, Standard Webhooks or your own scheme)',
		eventTriggerDescription: 'Waiting for a signed request',
		activationMessage: 'Signed requests to the production URL now start this workflow.',
		defaults: { name: 'Signed Webhook' },
		// A trigger has no inputs; the rule only recognises nodes whose name ends in "Trigger", and
		// this one is named like n8n's own Webhook node.
		// eslint-disable-next-line n8n-nodes-base/node-class-description-inputs-wrong-regular-node
		inputs: [],
		outputs: ['main'],
		credentials: [{ name: CREDENTIAL, required: true, testedBy: 'dealflowSigningSecretTest' }],
		webhooks: [
			{
				name: 'default',
				httpMethod: 'POST',
				isFullPath: true,
				...webhookFields,
				path: webhookFields.path as string,
			},
		],
		properties: [
			{
				displayName: 'Path',
				name: 'path',
				type: 'string',
				default: '',
				placeholder: 'closed-won',
				description:
					'The path to listen on, under /webhook/. Leave empty to use the webhook ID n8n gave this node.',
			},
			{
				displayName: 'Preset',
				name: 'preset',
				type: 'options',
				noDataExpression: true,
				options: [
					{
						name: 'Generic',
						value: 'generic',
						description: 'Your own scheme: header, algorithm, encoding and prefix are configurable',
					},
					{
						name: 'GitHub',
						value: 'github',
						description: 'X-Hub-Signature-256: sha256= and the hex HMAC of the body',
					},
					{
						name: 'Shopify',
						value: 'shopify',
						description: 'X-Shopify-Hmac-Sha256: base64 over the body',
					},
					{
						name: 'Slack',
						value: 'slack',
						description:
							'X-Slack-Signature: v0= and the hex HMAC of v0:timestamp:body, 5 minute window',
					},
					{
						name: 'Standard Webhooks',
						value: 'standardWebhooks',
						description:
							'Webhook-ID, -Timestamp and -Signature (v1, and the base64 HMAC), 5 minute window',
					},
					{
						name: 'Stripe',
						value: 'stripe',
						description: 'Stripe-Signature: t=…,v1=… over timestamp.body, 300 second window',
					},
					{
						name: 'Xero',
						value: 'xero',
						description: 'X-Xero-Signature: base64 over the body; passes Intent to Receive',
					},
				],
				default: 'generic',
			},
			{
				displayName: 'Signature Header',
				name: 'signatureHeader',
				type: 'string',
				default: 'x-clickdone-signature',
				description: 'The request header that carries the signature (any case)',
				displayOptions: { show: { preset: ['generic'] } },
			},
			{
				displayName: 'Algorithm',
				name: 'algorithm',
				type: 'options',
				options: [
					{ name: 'HMAC-SHA1', value: 'sha1' },
					{ name: 'HMAC-SHA256', value: 'sha256' },
					{ name: 'HMAC-SHA512', value: 'sha512' },
				],
				default: 'sha256',
				displayOptions: { show: { preset: ['generic'] } },
			},
			{
				displayName: 'Encoding',
				name: 'encoding',
				type: 'options',
				options: [
					{ name: 'Base64', value: 'base64' },
					{ name: 'Hex', value: 'hex' },
				],
				default: 'base64',
				displayOptions: { show: { preset: ['generic'] } },
			},
			{
				displayName: 'Signature Prefix',
				name: 'signaturePrefix',
				type: 'string',
				default: '',
				placeholder: 'sha256=',
				description: 'Text the sender puts before the encoded signature, if any',
				displayOptions: { show: { preset: ['generic'] } },
			},
			{
				displayName: 'Delivery ID Header',
				name: 'deliveryIdHeader',
				type: 'string',
				default: 'x-clickdone-delivery-id',
				description:
					"The header that carries the sender's delivery ID. Without it the delivery ID is a SHA-256 of the body.",
				displayOptions: { show: { preset: ['generic'] } },
			},
			{
				displayName:
					'Xero requests are answered 200 with an empty body. Intent to Receive probes (an empty events list) are answered at once and start no execution.',
				name: 'xeroNotice',
				type: 'notice',
				default: '',
				displayOptions: { show: { preset: ['xero'] } },
			},
			{
				displayName: 'Respond',
				name: 'responseMode',
				type: 'options',
				options: [
					{
						name: 'Immediately',
						value: 'onReceived',
						description: 'As soon as the signature is verified, with an empty body',
					},
					{
						name: 'When Last Node Finishes',
						value: 'lastNode',
						description: 'With the data of the last node executed',
					},
					{
						name: "Using 'Respond to Webhook' Node",
						value: 'responseNode',
						description: 'Response defined in that node',
					},
				],
				default: 'onReceived',
				description: 'When to answer a request whose signature is valid',
			},
			{
				displayName: 'Response Code',
				name: 'responseCode',
				type: 'options',
				options: [
					{ name: '200 OK', value: 200 },
					{ name: '202 Accepted', value: 202 },
				],
				default: 200,
				displayOptions: { show: { responseMode: ['onReceived'] }, hide: { preset: ['xero'] } },
			},
			{
				displayName: 'Response Data',
				name: 'responseData',
				type: 'options',
				options: [
					{
						name: 'All Entries',
						value: 'allEntries',
						description: 'All items of the last node, as an array',
					},
					{
						name: 'First Entry JSON',
						value: 'firstEntryJson',
						description: 'The JSON of the first item of the last node',
					},
					{
						name: 'No Response Body',
						value: 'noData',
						description: 'An empty body',
					},
				],
				default: 'firstEntryJson',
				displayOptions: { show: { responseMode: ['lastNode'] } },
			},
			{
				displayName:
					"Add a 'Respond to Webhook' node at version 1. Its later versions only accept n8n's own Webhook, Form, Chat and Wait nodes as the trigger.",
				name: 'responseNodeNotice',
				type: 'notice',
				default: '',
				displayOptions: { show: { responseMode: ['responseNode'] } },
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				options: [
					{
						displayName: 'Maximum Body Size (KB)',
						name: 'maxBodySizeKb',
						type: 'number',
						typeOptions: { minValue: 1 },
						default: 1024,
						description: 'Larger requests are answered 413 before their signature is checked',
					},
					{
						displayName: 'Require JSON Body',
						name: 'requireJson',
						type: 'boolean',
						default: false,
						description:
							'Whether a correctly signed body that is not JSON is answered 400. When off, its text is passed on as the body.',
					},
					{
						displayName: 'Secret Cache (Seconds)',
						name: 'secretCacheSeconds',
						type: 'number',
						typeOptions: { minValue: 0 },
						default: 60,
						description:
							'How long decrypted secrets are reused between requests. A rotated secret works at once; a removed one stops working after this long. 0 loads the credential on every request.',
					},
				],
			},
		],
	};

	methods = {
		credentialTest: {
			async dealflowSigningSecretTest(
				this: ICredentialTestFunctions,
				credential: ICredentialsDecrypted,
			): Promise<INodeCredentialTestResult> {
				const data = (credential.data ?? {}) as SigningSecretCredential;
				const problems = secretProblems({ current: data.secret, previous: data.previousSecret });
				if (problems.length > 0) return { status: 'Error', message: problems.join(' ') };
				return { status: 'OK', message: 'The secrets are usable' };
			},
		},
	};

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		const req = this.getRequestObject() as unknown as IncomingMessage & { query?: unknown };
		const res = this.getResponseObject() as unknown as ServerResponse;
		const preset = this.getNodeParameter('preset', 'generic') as PresetName;
		const options = this.getNodeParameter('options', {}) as SignedWebhookOptions;
		const maxBodyBytes = Math.floor((options.maxBodySizeKb ?? DEFAULT_MAX_BODY_KB) * 1024);
		const scheme = schemeFor({
			preset,
			generic: preset === 'generic' ? readGenericSettings(this) : undefined,
		});
		const log = { preset, node: this.getNode().name, workflowId: this.getWorkflow().id };

		const early = precheckRequest({ headers: req.headers, maxBodyBytes });
		if (early) return reject(this, res, early, log);

		const rawBody = await readRawBody(req);
		if (!Buffer.isBuffer(rawBody)) return reject(this, res, rawBody, log);

		const cacheTtlMs = (options.secretCacheSeconds ?? DEFAULT_SECRET_CACHE_SECONDS) * 1000;
		const decide = (secrets: SigningSecrets) =>
			decideRequest({
				scheme,
				headers: req.headers,
				query: req.query,
				rawBody,
				secrets,
				maxBodyBytes,
				requireJson: options.requireJson === true,
			});

		try {
			let secrets = await loadSecrets(this, { cacheTtlMs, fresh: false });
			let decision = decide(secrets.value);
			// A sender may already sign with a secret rotated in after the cache was filled.
			if (secrets.cached && decision.action === 'reject' && decision.reason === 'mismatch') {
				secrets = await loadSecrets(this, { cacheTtlMs, fresh: true });
				decision = decide(secrets.value);
			}

			if (decision.action === 'reject') return reject(this, res, decision, log);
			if (decision.action === 'acknowledge') {
				this.logger.debug('Signed Webhook acknowledged a probe', {
					...log,
					reason: decision.reason,
				});
				res.writeHead(200);
				res.end();
				return { noWebhookResponse: true };
			}
			return { workflowData: [[{ json: decision.output as unknown as IDataObject }]] };
		} catch (error) {
			if (error instanceof SecretFormatError) {
				throw new NodeOperationError(this.getNode(), error.message, {
					description: `The ${preset} preset cannot use the secret stored in the credential.`,
				});
			}
			throw error;
		}
	}
}

function readGenericSettings(context: IWebhookFunctions): Partial<GenericSettings> {
	const read = <K extends keyof GenericSettings>(parameter: string, key: K) =>
		context.getNodeParameter(parameter, GENERIC_DEFAULTS[key]) as GenericSettings[K];
	return {
		signatureHeader: read('signatureHeader', 'signatureHeader'),
		algorithm: read('algorithm', 'algorithm'),
		encoding: read('encoding', 'encoding'),
		prefix: read('signaturePrefix', 'prefix'),
		deliveryIdHeader: read('deliveryIdHeader', 'deliveryIdHeader'),
	};
}

/** Answers a rejected request and tells n8n not to start an execution. */
function reject(
	context: IWebhookFunctions,
	res: ServerResponse,
	rejection: Rejection,
	log: IDataObject,
): IWebhookResponseData {
	context.logger.warn('Signed Webhook rejected a request', {
		...log,
		status: rejection.status,
		reason: rejection.reason,
	});
	res.writeHead(rejection.status, { 'content-type': 'text/plain; charset=utf-8' });
	res.end(rejection.message);
	return { noWebhookResponse: true };
}

/**
 * The request body as received. n8n has read it already for JSON, text, form and XML bodies;
 * for anything else it is read here.
 *
 * @returns the bytes, or a rejection when the client's body cannot be read (aborted, too large
 * for n8n's own limit, broken compression).
 */
async function readRawBody(req: IncomingMessage): Promise<Buffer | Rejection> {
	if (Buffer.isBuffer(req.rawBody)) return req.rawBody;
	try {
		await req.readRawBody();
	} catch (error) {
		const status = (error as { status?: unknown; statusCode?: unknown }).status;
		if (status === 413) {
			return {
				action: 'reject',
				status: 413,
				message: 'Request body is larger than this webhook accepts',
				reason: 'bodyTooLarge',
			};
		}
		return {
			action: 'reject',
			status: 400,
			message: 'Request body could not be read',
			reason: 'unreadableBody',
		};
	}
	return Buffer.isBuffer(req.rawBody) ? req.rawBody : Buffer.alloc(0);
}

/**
 * The signing secrets, from the cache when fresh enough.
 *
 * @returns the secrets and whether they came from the cache. Throws NodeOperationError when the
 * credential holds no current secret.
 */
async function loadSecrets(
	context: IWebhookFunctions,
	options: { cacheTtlMs: number; fresh: boolean },
): Promise<{ value: SigningSecrets; cached: boolean }> {
	const credentialId = context.getNode().credentials?.[CREDENTIAL]?.id;
	const key = credentialId ? String(credentialId) : undefined;
	if (key && !options.fresh) {
		const hit = secretCache.get({ key, ttlMs: options.cacheTtlMs });
		if (hit) return { value: hit, cached: true };
	}

	const data = (await context.getCredentials(CREDENTIAL)) as SigningSecretCredential;
	if (typeof data.secret !== 'string' || data.secret.length === 0) {
		throw new NodeOperationError(context.getNode(), 'The signing secret credential is empty', {
			description: 'Open the Dealflow Signing Secret credential and fill in Current Secret.',
		});
	}
	const value: SigningSecrets = {
		current: data.secret,
		previous: data.previousSecret ? data.previousSecret : undefined,
	};
	if (key && options.cacheTtlMs > 0) secretCache.set({ key, secrets: value });
	return { value, cached: false };
}
