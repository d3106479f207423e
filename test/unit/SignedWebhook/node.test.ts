import type { INode, IWebhookFunctions } from 'n8n-workflow';
import {
	NodeOperationError,
	resolveWebhookDescriptionField,
	webhookDescriptionIsNativelyResolvable,
} from 'n8n-workflow';

import { DealflowSigningSecretApi } from '../../../credentials/DealflowSigningSecretApi.credentials';
import { GENERIC_DEFAULTS } from '../../../nodes/SignedWebhook/presets';
import { SignedWebhook } from '../../../nodes/SignedWebhook/SignedWebhook.node';
import { signGeneric, signStandardWebhooks, signXero } from '../../../nodes/SignedWebhook/signing';

const node = new SignedWebhook();
const webhookDescription = node.description.webhooks![0];

let credentialSequence = 0;

interface FakeOptions {
	parameters?: Record<string, unknown>;
	headers?: Record<string, unknown>;
	rawBody?: Buffer;
	readRawBody?: () => Promise<void>;
	credential: { secret: string; previousSecret?: string };
	credentialId?: string;
}

/** A stand-in for n8n's webhook context that records what the node wrote and logged. */
function fakeContext(options: FakeOptions) {
	const parameters: Record<string, unknown> = {
		preset: 'generic',
		options: {},
		...options.parameters,
	};
	const response = {
		status: undefined as number | undefined,
		body: undefined as unknown,
		headers: {},
	};
	const logs: Array<{ level: string; message: string; meta: unknown }> = [];
	const credentialId = options.credentialId ?? `cred-${++credentialSequence}`;
	const state = { credentialLoads: 0 };
	const request: Record<string, unknown> = {
		headers: options.headers ?? {},
		query: { q: '1' },
		rawBody: options.rawBody,
	};
	request.readRawBody =
		options.readRawBody ??
		(async () => {
			request.rawBody = Buffer.alloc(0);
		});
	const nodeData: INode = {
		id: 'n1',
		name: 'Signed Webhook',
		type: 'n8n-nodes-dealflow.signedWebhook',
		typeVersion: 2,
		position: [0, 0],
		parameters: {},
		credentials: { dealflowSigningSecretApi: { id: credentialId, name: 'Signing secret' } },
	};
	const record = (level: string) => (message: string, meta?: unknown) => {
		logs.push({ level, message, meta });
	};
	const context = {
		getRequestObject: () => request,
		getResponseObject: () => ({
			writeHead: (status: number, headers?: Record<string, string>) => {
				response.status = status;
				response.headers = headers ?? {};
			},
			end: (body?: unknown) => {
				response.body = body ?? '';
			},
		}),
		getNodeParameter: (name: string, fallback?: unknown) => parameters[name] ?? fallback,
		getNode: () => nodeData,
		getWorkflow: () => ({ id: 'wf-1', active: true }),
		getCredentials: async () => {
			state.credentialLoads++;
			return { ...options.credential };
		},
		logger: {
			debug: record('debug'),
			info: record('info'),
			warn: record('warn'),
			error: record('error'),
		},
	};
	return {
		context: context as unknown as IWebhookFunctions,
		request,
		response,
		logs,
		state,
		credential: options.credential,
	};
}

const body = '{"Id":"006xx000001","StageName":"Closed Won"}';

describe('the Signed Webhook node description', () => {
	it('shows the Generic defaults the verifier uses', () => {
		const byName = Object.fromEntries(node.description.properties.map((p) => [p.name, p.default]));
		expect(byName).toMatchObject({
			signatureHeader: GENERIC_DEFAULTS.signatureHeader,
			algorithm: GENERIC_DEFAULTS.algorithm,
			encoding: GENERIC_DEFAULTS.encoding,
			signaturePrefix: GENERIC_DEFAULTS.prefix,
			deliveryIdHeader: GENERIC_DEFAULTS.deliveryIdHeader,
		});
	});

	it('registers the dealflowSigningSecretApi credential with a current and a previous password field', () => {
		const credential = new DealflowSigningSecretApi();
		expect(credential.name).toBe('dealflowSigningSecretApi');
		expect(credential.properties.map((p) => [p.name, p.typeOptions?.password])).toEqual([
			['secret', true],
			['previousSecret', true],
		]);
		expect(node.description.credentials).toEqual([
			expect.objectContaining({ name: 'dealflowSigningSecretApi', required: true }),
		]);
	});

	it('lets n8n resolve the webhook description without the expression engine', () => {
		expect(webhookDescriptionIsNativelyResolvable(webhookDescription)).toBe(true);
	});

	it.each([
		[{ preset: 'generic', responseMode: 'onReceived', responseCode: 202 }, 202, 'noData'],
		[{ preset: 'xero', responseMode: 'onReceived', responseCode: 202 }, 200, 'noData'],
		[
			{ preset: 'generic', responseMode: 'lastNode', responseData: 'allEntries' },
			200,
			'allEntries',
		],
		[{ preset: 'generic', responseMode: 'lastNode' }, 200, 'firstEntryJson'],
	])('resolves %j to response code %d and response data %s', (parameters, code, data) => {
		const nodeData = { parameters } as unknown as INode;
		const field = (name: string) =>
			resolveWebhookDescriptionField(nodeData, webhookDescription, name);
		expect(field('responseCode')).toEqual({ resolved: true, value: code });
		expect(field('responseData')).toEqual({ resolved: true, value: data });
	});

	it('gives the editor expression templates that compute the same values as the resolvers', () => {
		// n8n inlines the resolver source into the template; it must not close over anything.
		for (const name of ['responseCode', 'responseData']) {
			const template = webhookDescription[name] as string;
			const inner = template.replace(/^=\{\{/, '').replace(/\}\}$/, '');
			// eslint-disable-next-line @typescript-eslint/no-implied-eval
			const evaluate = new Function('$parameter', `return ${inner};`) as (p: unknown) => unknown;
			for (const parameters of [
				{ preset: 'xero', responseMode: 'onReceived' },
				{ preset: 'generic', responseMode: 'lastNode', responseData: 'noData' },
				{ preset: 'generic', responseMode: 'onReceived', responseCode: 202 },
			]) {
				const native = resolveWebhookDescriptionField(
					{ parameters } as unknown as INode,
					webhookDescription,
					name,
				);
				expect(evaluate(parameters)).toEqual(native.resolved ? native.value : Symbol('unresolved'));
			}
		}
	});
});

describe('the Signed Webhook webhook()', () => {
	it('starts the workflow with one item for a valid request and writes no response itself', async () => {
		const fake = fakeContext({
			credential: { secret: 'current-secret' },
			rawBody: Buffer.from(body),
			headers: {
				...signGeneric({ secret: 'current-secret', body, deliveryId: 'd-1' }),
				'content-type': 'application/json',
			},
		});
		const result = await node.webhook.call(fake.context);
		expect(result.noWebhookResponse).toBeUndefined();
		expect(result.workflowData).toEqual([
			[
				{
					json: {
						body: { Id: '006xx000001', StageName: 'Closed Won' },
						headers: {
							'x-clickdone-signature': '[redacted]',
							'x-clickdone-delivery-id': 'd-1',
							'content-type': 'application/json',
						},
						query: { q: '1' },
						verification: {
							preset: 'generic',
							secret: 'current',
							timestamp: null,
							deliveryId: 'd-1',
						},
					},
				},
			],
		]);
		expect(fake.response.status).toBeUndefined();
	});

	it('answers a missing signature 401 itself and starts nothing', async () => {
		const fake = fakeContext({ credential: { secret: 's' }, rawBody: Buffer.from(body) });
		const result = await node.webhook.call(fake.context);
		expect(result).toEqual({ noWebhookResponse: true });
		expect(fake.response).toMatchObject({
			status: 401,
			body: 'Missing signature header x-clickdone-signature',
			headers: { 'content-type': 'text/plain; charset=utf-8' },
		});
	});

	it('answers 413 from Content-Length without reading the body', async () => {
		let read = false;
		const fake = fakeContext({
			credential: { secret: 's' },
			parameters: { options: { maxBodySizeKb: 1 } },
			headers: { 'content-length': '5000', ...signGeneric({ secret: 's', body }) },
			readRawBody: async () => {
				read = true;
			},
		});
		expect(await node.webhook.call(fake.context)).toEqual({ noWebhookResponse: true });
		expect(fake.response.status).toBe(413);
		expect(read).toBe(false);
	});

	it('reads the raw body itself when n8n has not, and verifies those bytes', async () => {
		const raw = Buffer.from([0x00, 0xff, 0x10, 0x80]);
		const fake = fakeContext({
			credential: { secret: 's' },
			headers: {
				...signGeneric({ secret: 's', body: raw }),
				'content-type': 'application/octet-stream',
			},
		});
		fake.request.readRawBody = async () => {
			fake.request.rawBody = raw;
		};
		const result = await node.webhook.call(fake.context);
		expect(result.workflowData?.[0][0].json.body).toBe(raw.toString('utf8'));
	});

	it('answers 400 when the client body cannot be read, instead of failing', async () => {
		const fake = fakeContext({
			credential: { secret: 's' },
			headers: signGeneric({ secret: 's', body }),
			readRawBody: async () => {
				throw Object.assign(new Error('aborted'), { type: 'request.aborted' });
			},
		});
		expect(await node.webhook.call(fake.context)).toEqual({ noWebhookResponse: true });
		expect(fake.response.status).toBe(400);
	});

	it('answers a correctly signed Xero Intent to Receive probe 200 with an empty body and starts nothing', async () => {
		const probe =
			'{"events":[],"lastEventSequence":0,"firstEventSequence":0,"entropy":"S0m3r4Nd0mt3xt"}';
		const fake = fakeContext({
			credential: { secret: 'xero-key' },
			parameters: { preset: 'xero' },
			rawBody: Buffer.from(probe),
			headers: signXero({ webhookKey: 'xero-key', body: probe }),
		});
		expect(await node.webhook.call(fake.context)).toEqual({ noWebhookResponse: true });
		expect(fake.response).toMatchObject({ status: 200, body: '' });
	});

	it('reuses the decrypted secret across requests within the cache window', async () => {
		const credentialId = `cache-${Date.now()}`;
		const credential = { secret: 's' };
		let loads = 0;
		for (let i = 0; i < 3; i++) {
			const fake = fakeContext({
				credential,
				credentialId,
				rawBody: Buffer.from(body),
				headers: signGeneric({ secret: 's', body }),
			});
			await node.webhook.call(fake.context);
			loads += fake.state.credentialLoads;
		}
		expect(loads).toBe(1);
	});

	it('loads the credential on every request when the cache is set to 0 seconds', async () => {
		let loads = 0;
		for (let i = 0; i < 2; i++) {
			const fake = fakeContext({
				credential: { secret: 's' },
				credentialId: 'no-cache',
				parameters: { options: { secretCacheSeconds: 0 } },
				rawBody: Buffer.from(body),
				headers: signGeneric({ secret: 's', body }),
			});
			await node.webhook.call(fake.context);
			loads += fake.state.credentialLoads;
		}
		expect(loads).toBe(2);
	});

	it('accepts a newly rotated secret on its first request even while the old one is cached', async () => {
		const credentialId = `rotate-${Date.now()}`;
		const before = fakeContext({
			credential: { secret: 'old' },
			credentialId,
			rawBody: Buffer.from(body),
			headers: signGeneric({ secret: 'old', body }),
		});
		await node.webhook.call(before.context);

		const after = fakeContext({
			credential: { secret: 'new', previousSecret: 'old' },
			credentialId,
			rawBody: Buffer.from(body),
			headers: signGeneric({ secret: 'new', body }),
		});
		const result = await node.webhook.call(after.context);
		expect(result.workflowData?.[0][0].json.verification).toMatchObject({ secret: 'current' });
	});

	it('fails as a setup error, naming the fix, when the secret cannot be a Standard Webhooks key', async () => {
		const headers = signStandardWebhooks({ secret: 'whsec_QUJD', id: 'msg_1', body });
		const fake = fakeContext({
			credential: { secret: 'whsec_not base64!' },
			parameters: { preset: 'standardWebhooks' },
			rawBody: Buffer.from(body),
			headers,
		});
		const failure = node.webhook.call(fake.context);
		await expect(failure).rejects.toThrow(NodeOperationError);
		await expect(failure).rejects.toThrow(/whsec_/);
		await expect(failure).rejects.not.toThrow(/not base64!/);
	});

	it('never writes a secret into its logs or responses', async () => {
		const secret = 'sk-very-secret-value';
		const fakes = [
			fakeContext({ credential: { secret }, rawBody: Buffer.from(body) }),
			fakeContext({
				credential: { secret },
				rawBody: Buffer.from(body),
				headers: signGeneric({ secret: 'x', body }),
			}),
			fakeContext({
				credential: { secret },
				rawBody: Buffer.from(body),
				headers: signGeneric({ secret, body }),
			}),
		];
		for (const fake of fakes) {
			const result = await node.webhook.call(fake.context);
			const seen = JSON.stringify([result, fake.logs, fake.response]);
			expect(seen).not.toContain(secret);
		}
		expect(fakes[1].logs).toContainEqual(
			expect.objectContaining({
				level: 'warn',
				meta: expect.objectContaining({ status: 403, reason: 'mismatch' }),
			}),
		);
	});
});

describe("the credential's test button", () => {
	const test = node.methods.credentialTest.dealflowSigningSecretTest;
	const run = async (data: Record<string, string>) =>
		await test.call({} as never, { id: '1', name: 'x', type: 'dealflowSigningSecretApi', data });

	it('passes usable secrets', async () => {
		expect(await run({ secret: 'abc', previousSecret: '' })).toMatchObject({ status: 'OK' });
	});

	it('names an empty current secret and whitespace around either secret', async () => {
		expect((await run({ secret: '' })).message).toMatch(/Current Secret is empty/);
		expect((await run({ secret: 'abc\n' })).message).toMatch(
			/Current Secret starts or ends with whitespace/,
		);
		expect((await run({ secret: 'abc', previousSecret: ' old' })).message).toMatch(
			/Previous Secret/,
		);
	});
});
