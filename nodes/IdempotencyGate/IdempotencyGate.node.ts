import type {
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';

import { getRedisClient, redisKeyPrefix, type RedisCredentialData } from '../shared/redis';
import { dealflowRedisConnectionTest } from '../shared/redisCredentialTest';
import { runClaim, runComplete, runRelease } from './actions';
import { MAX_KEY_BYTES, MAX_RESULT_BYTES } from './GateLogic';

// Claim has four outputs, Complete and Release one. n8n evaluates this in the editor and the
// engine alike; a missing operation means the default, Claim.
const OUTPUTS_EXPRESSION =
	"={{ ($parameter.operation ?? 'claim') === 'claim' ? [{ type: 'main', displayName: 'New' }, { type: 'main', displayName: 'Completed' }, { type: 'main', displayName: 'In Progress' }, { type: 'main', displayName: 'Conflict' }] : [{ type: 'main', displayName: 'Done' }] }}" as const;

export class IdempotencyGate implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Idempotency Gate',
		name: 'idempotencyGate',
		icon: { light: 'file:idempotencyGate.svg', dark: 'file:idempotencyGate.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{ $parameter["operation"] }}',
		description:
			'Lets each delivery or business key through once, across executions and queue-mode workers, using Redis',
		defaults: { name: 'Idempotency Gate' },
		inputs: ['main'],
		outputs: OUTPUTS_EXPRESSION,
		credentials: [
			{ name: 'dealflowRedisApi', required: true, testedBy: 'dealflowRedisConnectionTest' },
		],
		properties: [
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				options: [
					{
						name: 'Claim',
						value: 'claim',
						description: 'Claim each key once: new, already completed, in progress, or conflict',
						action: 'Claim an idempotency key',
					},
					{
						name: 'Complete',
						value: 'complete',
						description: 'Mark a claimed key done and store its result record',
						action: 'Complete an idempotency key',
					},
					{
						name: 'Release',
						value: 'release',
						description: 'Give a claimed key back so a retry can claim it',
						action: 'Release an idempotency key',
					},
				],
				default: 'claim',
			},
			{
				displayName:
					'New: go ahead. Completed: done before, the stored result is attached. In Progress: another execution holds the key (and failed items land here with "continue on fail"; nothing undecided reaches New). Conflict: same key, different payload (HTTP 422).',
				name: 'claimNotice',
				type: 'notice',
				default: '',
				displayOptions: { show: { operation: ['claim'] } },
			},
			{
				displayName: 'Key',
				name: 'key',
				type: 'string',
				required: true,
				default: '={{ $json.verification.deliveryId }}',
				description: `The idempotency key. The default is the delivery ID set by the Signed Webhook node; a business key built from the opportunity ID and stage (sf:opp:…:closed-won) also works. At most ${MAX_KEY_BYTES} bytes.`,
				displayOptions: { show: { operation: ['claim'] } },
			},
			{
				displayName: 'Key',
				name: 'key',
				type: 'string',
				required: true,
				default: "={{ $('Idempotency Gate').item.json.idempotency.key }}",
				description:
					'The key given to Claim. The default reads it from a Claim node named "Idempotency Gate"; adjust the node name if yours differs.',
				displayOptions: { show: { operation: ['complete', 'release'] } },
			},
			{
				displayName: 'Claim Token',
				name: 'token',
				type: 'string',
				typeOptions: { password: true },
				required: true,
				default: "={{ $('Idempotency Gate').item.json.idempotency.token }}",
				description:
					"The token from Claim's New output. Only its holder can complete or release the key.",
				displayOptions: { show: { operation: ['complete', 'release'] } },
			},
			{
				displayName: 'Scope',
				name: 'scope',
				type: 'options',
				options: [
					{
						name: 'Custom Namespace',
						value: 'custom',
						description: 'Workflows that name the same namespace share keys',
					},
					{
						name: 'Global',
						value: 'global',
						description: 'Every workflow using this Redis credential shares keys',
					},
					{
						name: 'This Workflow',
						value: 'workflow',
						description: 'Keys are private to this workflow',
					},
				],
				default: 'workflow',
				description: 'Where keys are unique. Claim, Complete and Release must use the same scope.',
			},
			{
				displayName: 'Namespace',
				name: 'namespace',
				type: 'string',
				required: true,
				default: '',
				placeholder: 'billing',
				description: '1 to 64 letters, digits, underscores, dots or hyphens',
				displayOptions: { show: { scope: ['custom'] } },
			},
			{
				displayName: 'Fingerprint',
				name: 'fingerprint',
				type: 'options',
				options: [
					{
						name: 'Selected Fields',
						value: 'fields',
						description: 'Hash only the fields that identify the request',
					},
					{
						name: 'Whole Payload',
						value: 'payload',
						description: "Hash the whole item's JSON",
					},
					{
						name: 'None',
						value: 'none',
						description: 'Do not compare payloads; a reused key is never a conflict',
					},
				],
				default: 'payload',
				description:
					'What must stay the same when a key is sent again. A different fingerprint under a known key goes to Conflict.',
				displayOptions: { show: { operation: ['claim'] } },
			},
			{
				displayName: 'Fields to Fingerprint',
				name: 'fingerprintFields',
				type: 'string',
				required: true,
				default: '',
				placeholder: 'body.opportunityId, body.stage, body.amount',
				description: 'Comma-separated field names; use dots for nested fields',
				displayOptions: { show: { operation: ['claim'], fingerprint: ['fields'] } },
			},
			{
				displayName: 'Lease (Seconds)',
				name: 'leaseSeconds',
				type: 'number',
				typeOptions: { minValue: 1, maxValue: 86400 },
				default: 300,
				description:
					'How long a claim stays held without Complete or Release. After that another execution may claim the key (with a higher fencing number), so a crashed worker does not block the order for ever. Set it above the longest normal run.',
				displayOptions: { show: { operation: ['claim'] } },
			},
			{
				displayName: 'Result',
				name: 'result',
				type: 'json',
				default: '{\n  "invoiceNumber": "INV-0042"\n}',
				description: `A small JSON object kept with the key, e.g. the invoice number, so a retried delivery can be answered from Completed. At most ${MAX_RESULT_BYTES} bytes.`,
				displayOptions: { show: { operation: ['complete'] } },
			},
			{
				displayName: 'Retention (Days)',
				name: 'retentionDays',
				type: 'number',
				typeOptions: { minValue: 0.001, maxValue: 3650, numberPrecision: 3 },
				default: 7,
				description:
					'How long the key is remembered. Providers redeliver for up to 24 hours, so keep at least a day. Complete restarts this period.',
				displayOptions: { show: { operation: ['claim', 'complete'] } },
			},
		],
	};

	methods = {
		credentialTest: { dealflowRedisConnectionTest },
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const operation = this.getNodeParameter('operation', 0) as string;
		const credentials = (await this.getCredentials('dealflowRedisApi')) as RedisCredentialData;
		const ctx = {
			fn: this,
			client: getRedisClient(credentials, 'commands'),
			prefix: redisKeyPrefix(credentials),
		};
		if (operation === 'complete') return await runComplete(ctx);
		if (operation === 'release') return await runRelease(ctx);
		return await runClaim(ctx);
	}
}
