// The Signed Webhook trigger inside a real n8n 2.41.1 with this package installed: what callers
// get back, and which requests become executions.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';

import {
	signGeneric,
	signGithub,
	signStandardWebhooks,
	signStripe,
	signXero,
} from '../../nodes/SignedWebhook/signing';
import { nodeOutput, startN8n, type N8nInstance, type WorkflowJson } from './harness';

// Starting n8n on a loaded 2-core machine takes minutes; each request then takes well under a second.
jest.setTimeout(600_000);

const FIXTURES = path.join(__dirname, 'fixtures');
const token = crypto.randomBytes(4).toString('hex');

/** One secret per preset; all of them must stay out of logs and execution data. */
const secrets = {
	generic: `generic-${token}-${crypto.randomBytes(12).toString('hex')}`,
	standard: `whsec_${crypto.randomBytes(24).toString('base64')}`,
	xero: `xero-${token}-${crypto.randomBytes(16).toString('base64')}`,
	stripe: `whsec_stripe${token}${crypto.randomBytes(12).toString('hex')}`,
	github: `github-${token}-${crypto.randomBytes(12).toString('hex')}`,
};
type Flow = keyof typeof secrets;

const fixtures: Record<Flow, string> = {
	generic: 'signed-webhook-generic.json',
	standard: 'signed-webhook-standard-text.json',
	xero: 'signed-webhook-xero.json',
	stripe: 'signed-webhook-stripe-last-node.json',
	github: 'signed-webhook-github-respond-node.json',
};
const flows = Object.keys(fixtures) as Flow[];
const pathOf = (flow: Flow) => `signed-${flow}-${token}`;

function n8nId(): string {
	const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
	return Array.from(crypto.randomBytes(16), (byte) => alphabet[byte % alphabet.length]).join('');
}

const credentials = Object.fromEntries(
	flows.map((flow) => [flow, { id: n8nId(), name: `Signing secret ${flow} ${token}` }]),
) as Record<Flow, { id: string; name: string }>;

function fixture(flow: Flow): WorkflowJson {
	let text = fs.readFileSync(path.join(FIXTURES, fixtures[flow]), 'utf8');
	const replacements = {
		__PATH__: pathOf(flow),
		__TOKEN__: token,
		__CREDENTIAL_ID__: credentials[flow].id,
		__CREDENTIAL_NAME__: credentials[flow].name,
	};
	for (const [placeholder, value] of Object.entries(replacements)) {
		text = text.split(placeholder).join(value);
	}
	const workflow = JSON.parse(text) as WorkflowJson;
	// Fresh webhook ids keep this instance's registrations apart from any other import.
	for (const node of workflow.nodes) {
		node.id = crypto.randomUUID();
		if (node.webhookId) node.webhookId = crypto.randomUUID();
	}
	return workflow;
}

interface Reply {
	status: number;
	body: string;
	headers: http.IncomingHttpHeaders;
	elapsedMs: number;
}

/**
 * POSTs raw bytes with exactly the given headers (repeated headers as arrays). With `chunked`,
 * no Content-Length is sent, so only the bytes themselves show the size.
 */
async function send(options: {
	url: string;
	body: string | Buffer;
	headers?: http.OutgoingHttpHeaders;
	chunked?: boolean;
}): Promise<Reply> {
	const body = Buffer.isBuffer(options.body) ? options.body : Buffer.from(options.body);
	const headers: http.OutgoingHttpHeaders = {
		'content-type': 'application/json',
		...options.headers,
	};
	if (options.chunked) headers['transfer-encoding'] = 'chunked';
	else headers['content-length'] = String(body.length);
	const started = Date.now();
	return await new Promise<Reply>((resolve, reject) => {
		const request = http.request(options.url, { method: 'POST', headers }, (response) => {
			const chunks: Buffer[] = [];
			response.on('data', (chunk: Buffer) => chunks.push(chunk));
			response.on('end', () =>
				resolve({
					status: response.statusCode ?? 0,
					body: Buffer.concat(chunks).toString('utf8'),
					headers: response.headers,
					elapsedMs: Date.now() - started,
				}),
			);
		});
		request.on('error', reject);
		if (options.chunked) {
			for (let offset = 0; offset < body.length; offset += 1024) {
				request.write(body.subarray(offset, offset + 1024));
			}
			request.end();
		} else {
			request.end(body);
		}
	});
}

describe('the Signed Webhook trigger in a real n8n, regular mode', () => {
	let n8n: N8nInstance;
	const workflowId = {} as Record<Flow, string>;
	const url = (flow: Flow) => n8n.webhookUrl(pathOf(flow));

	/** Executions of a flow after the requests in `act` were answered, and how many there were before. */
	async function executionsAround(flow: Flow, act: () => Promise<void>) {
		const before = (await n8n.executions({ workflowId: workflowId[flow] })).length;
		await act();
		// A rejected request must not leave an execution behind; give a late one time to appear.
		await new Promise((resolve) => setTimeout(resolve, 1500));
		const after = await n8n.executions({ workflowId: workflowId[flow] });
		return { before, after };
	}

	beforeAll(async () => {
		n8n = await startN8n({
			mode: 'regular',
			name: 'signed-webhook',
			credentials: flows.map((flow) => ({
				...credentials[flow],
				type: 'dealflowSigningSecretApi',
				data: { secret: secrets[flow], previousSecret: '' },
			})),
			workflows: flows.map(fixture),
		});
		flows.forEach((flow, index) => {
			workflowId[flow] = n8n.workflows[index].id;
		});
	});

	afterAll(async () => {
		await n8n?.stop();
	});

	it('answers a correctly signed request with the configured 202 and records exactly one execution with the verified item', async () => {
		const body = JSON.stringify({ Id: '006xx000001', StageName: 'Closed Won', Amount: 1250 });
		const deliveryId = `dlv-${token}-1`;
		const { before, after } = await executionsAround('generic', async () => {
			const reply = await send({
				url: `${url('generic')}?source=salesforce`,
				body,
				headers: signGeneric({ secret: secrets.generic, body, deliveryId }),
			});
			expect(reply.status).toBe(202);
			expect(reply.body).toBe('');
		});
		expect(after).toHaveLength(before + 1);

		const [execution] = await n8n.waitForExecutions({
			workflowId: workflowId.generic,
			count: before + 1,
		});
		expect(execution.status).toBe('success');
		const [item] = nodeOutput(after[after.length - 1], 'Signed Webhook');
		expect(item.json).toMatchObject({
			body: { Id: '006xx000001', StageName: 'Closed Won', Amount: 1250 },
			query: { source: 'salesforce' },
			verification: { preset: 'generic', secret: 'current', timestamp: null, deliveryId },
		});
		expect((item.json.headers as Record<string, unknown>)['x-clickdone-signature']).toBe(
			'[redacted]',
		);
		expect(nodeOutput(after[after.length - 1], 'Received')).toHaveLength(1);
	});

	const body = JSON.stringify({ Id: '006xx000002', StageName: 'Closed Won' });
	const badRequests: Array<{
		name: string;
		status: number;
		text: RegExp;
		request: () => Parameters<typeof send>[0];
	}> = [
		{
			name: 'a missing signature',
			status: 401,
			text: /^Missing signature header x-clickdone-signature$/,
			request: () => ({ url: url('generic'), body }),
		},
		{
			name: 'a wrong signature',
			status: 403,
			text: /^Signature does not match$/,
			request: () => ({
				url: url('generic'),
				body,
				headers: signGeneric({ secret: 'not-the-secret', body }),
			}),
		},
		{
			name: 'a signature over other bytes',
			status: 403,
			text: /^Signature does not match$/,
			request: () => ({
				url: url('generic'),
				body: `${body} `,
				headers: signGeneric({ secret: secrets.generic, body }),
			}),
		},
		{
			name: 'a garbage signature header with Latin-1 bytes',
			status: 403,
			text: /^Malformed signature header/,
			request: () => ({
				url: url('generic'),
				body,
				headers: { 'x-clickdone-signature': 'ÿé=%\u00a0' },
			}),
		},
		{
			name: 'a repeated signature header',
			status: 403,
			text: /^(Malformed signature header|Signature does not match)/,
			request: () => {
				const signature = signGeneric({ secret: secrets.generic, body })['x-clickdone-signature'];
				return {
					url: url('generic'),
					body,
					headers: { 'x-clickdone-signature': [signature, signature] },
				};
			},
		},
		{
			name: 'an empty signature header',
			status: 401,
			text: /^Missing signature header/,
			request: () => ({ url: url('generic'), body, headers: { 'x-clickdone-signature': '' } }),
		},
		{
			name: 'a body over the maximum, declared in Content-Length',
			status: 413,
			text: /larger than this webhook accepts/,
			request: () => {
				const big = JSON.stringify({ pad: 'x'.repeat(8 * 1024) });
				return {
					url: url('generic'),
					body: big,
					headers: signGeneric({ secret: secrets.generic, body: big }),
				};
			},
		},
		{
			name: 'a body over the maximum, sent chunked without a length',
			status: 413,
			text: /larger than this webhook accepts/,
			request: () => {
				const big = JSON.stringify({ pad: 'y'.repeat(8 * 1024) });
				return {
					url: url('generic'),
					body: big,
					chunked: true,
					headers: signGeneric({ secret: secrets.generic, body: big }),
				};
			},
		},
		{
			name: 'a correctly signed body that is not JSON while JSON is required',
			status: 400,
			text: /^Request body is not JSON$/,
			request: () => {
				const text = 'Id=006xx000003&StageName=Closed+Won';
				return {
					url: url('generic'),
					body: text,
					headers: {
						...signGeneric({ secret: secrets.generic, body: text }),
						'content-type': 'text/plain',
					},
				};
			},
		},
	];

	it.each(badRequests)(
		'answers $name with $status and starts no execution',
		async ({ status, text, request }) => {
			let reply: Reply | undefined;
			const { before, after } = await executionsAround('generic', async () => {
				reply = await send(request());
			});
			expect(reply?.status).toBe(status);
			expect(reply?.body).toMatch(text);
			expect(after).toHaveLength(before);
		},
	);

	it('answers a correctly signed Stripe event whose timestamp is outside 300 seconds with 401 and starts no execution', async () => {
		const event = JSON.stringify({ id: `evt_${token}_old`, type: 'invoice.paid' });
		let reply: Reply | undefined;
		const { before, after } = await executionsAround('stripe', async () => {
			const timestamp = Math.floor(Date.now() / 1000) - 600;
			reply = await send({
				url: url('stripe'),
				body: event,
				headers: signStripe({ secret: secrets.stripe, body: event, timestamp }),
			});
		});
		expect(reply).toMatchObject({ status: 401, body: 'Timestamp is outside the allowed window' });
		expect(after).toHaveLength(before);
	});

	it('passes a correctly signed body that is not JSON on as its text', async () => {
		const text = '<deal id="006xx000004" stage="Closed Won"/>';
		const headers = {
			...signStandardWebhooks({ secret: secrets.standard, id: `msg_${token}_text`, body: text }),
			'content-type': 'application/xml',
		};
		const { before, after } = await executionsAround('standard', async () => {
			const reply = await send({ url: url('standard'), body: text, headers });
			expect(reply.status).toBe(200);
		});
		expect(after).toHaveLength(before + 1);
		const [item] = nodeOutput(after[after.length - 1], 'Signed Webhook');
		expect(item.json).toMatchObject({
			body: text,
			verification: {
				preset: 'standardWebhooks',
				secret: 'current',
				deliveryId: `msg_${token}_text`,
			},
		});
	});

	it("passes Xero's Intent to Receive: 200 with an empty body when signed correctly, 401 when not, well inside 5 seconds, without executions", async () => {
		const probe = (entropy: string) =>
			JSON.stringify({ events: [], lastEventSequence: 0, firstEventSequence: 0, entropy });
		const replies: Array<{ correct: boolean; reply: Reply }> = [];
		const { before, after } = await executionsAround('xero', async () => {
			// Xero sends a series of probes, correctly and incorrectly signed, in no fixed order.
			for (const correct of [true, false, true, false, false, true]) {
				const payload = probe(crypto.randomBytes(12).toString('hex'));
				const key = correct ? secrets.xero : `${secrets.xero}-wrong`;
				const reply = await send({
					url: url('xero'),
					body: payload,
					headers: signXero({ webhookKey: key, body: payload }),
				});
				replies.push({ correct, reply });
			}
		});
		for (const { correct, reply } of replies) {
			expect(reply.status).toBe(correct ? 200 : 401);
			if (correct) expect(reply.body).toBe('');
			expect(reply.elapsedMs).toBeLessThan(5000);
		}
		expect(after).toHaveLength(before);
	});

	it('answers a real Xero event 200 with an empty body and starts one execution keyed by the derived delivery id', async () => {
		const payload = JSON.stringify({
			events: [
				{
					resourceUrl: 'https://api.xero.com/api.xro/2.0/Invoices/0c3e2f8a',
					resourceId: `0c3e2f8a-${token}`,
					eventDateUtc: '2026-12-03T10:00:00.000',
					eventType: 'UPDATE',
					eventCategory: 'INVOICE',
					tenantId: 'c2cc9b6e-9458-4c7d-93cc-f02b81b0594f',
					tenantType: 'ORGANISATION',
				},
			],
			firstEventSequence: 1,
			lastEventSequence: 1,
			entropy: 'ABCDEF',
		});
		const { before, after } = await executionsAround('xero', async () => {
			const reply = await send({
				url: url('xero'),
				body: payload,
				headers: signXero({ webhookKey: secrets.xero, body: payload }),
			});
			expect(reply).toMatchObject({ status: 200, body: '' });
		});
		expect(after).toHaveLength(before + 1);
		const [item] = nodeOutput(after[after.length - 1], 'Signed Webhook');
		expect(item.json.verification).toMatchObject({
			preset: 'xero',
			deliveryId: expect.stringMatching(/^xero:[0-9a-f]{64}$/),
		});
	});

	it("answers with the last node's data when set to respond when the last node finishes", async () => {
		const event = JSON.stringify({ id: `evt_${token}_last`, type: 'checkout.session.completed' });
		const reply = await send({
			url: url('stripe'),
			body: event,
			headers: signStripe({ secret: secrets.stripe, body: event }),
		});
		expect(reply.status).toBe(200);
		expect(JSON.parse(reply.body)).toEqual({ answer: `accepted evt_${token}_last` });
		const [execution] = await n8n.waitForExecutions({ workflowId: workflowId.stripe, count: 1 });
		expect(execution.status).toBe('success');
	});

	it('answers through a Respond to Webhook node when set to use one', async () => {
		const event = JSON.stringify({ action: 'closed', number: 7 });
		const headers = {
			...signGithub({ secret: secrets.github, body: event, deliveryId: `gh-${token}` }),
			'x-github-event': 'pull_request',
		};
		const reply = await send({ url: url('github'), body: event, headers });
		expect(reply.status).toBe(201);
		expect(JSON.parse(reply.body)).toEqual({ handledBy: 'respond-to-webhook' });
		const [execution] = await n8n.waitForExecutions({ workflowId: workflowId.github, count: 1 });
		const [item] = nodeOutput(execution, 'Signed Webhook');
		expect(item.json.verification).toMatchObject({ preset: 'github', deliveryId: `gh-${token}` });
	});

	it("keeps every secret out of n8n's logs and out of every execution's data", async () => {
		const executions = await n8n.executions();
		expect(executions.length).toBeGreaterThan(0);
		const everything = `${n8n.logs()}\n${JSON.stringify(executions)}`;
		for (const secret of Object.values(secrets)) {
			expect(everything).not.toContain(secret);
		}
	});
});

describe('the Signed Webhook trigger in a real n8n, queue mode', () => {
	let n8n: N8nInstance;
	let workflowId: string;
	const url = () => n8n.webhookUrl(pathOf('generic'));

	beforeAll(async () => {
		n8n = await startN8n({
			mode: 'queue',
			workers: 2,
			name: 'signed-webhook-queue',
			credentials: [
				{
					...credentials.generic,
					type: 'dealflowSigningSecretApi',
					data: { secret: secrets.generic, previousSecret: '' },
				},
			],
			workflows: [fixture('generic')],
		});
		workflowId = n8n.workflows[0].id;
	});

	afterAll(async () => {
		await n8n?.stop();
	});

	it('verifies on main, runs the execution on a worker, and rejects forgeries without enqueuing anything', async () => {
		const body = JSON.stringify({ Id: '006xx000009', StageName: 'Closed Won' });
		const forged = await send({
			url: url(),
			body,
			headers: signGeneric({ secret: 'forged', body }),
		});
		expect(forged.status).toBe(403);

		const deliveryId = `dlv-${token}-queue`;
		const reply = await send({
			url: url(),
			body,
			headers: signGeneric({ secret: secrets.generic, body, deliveryId }),
		});
		expect(reply.status).toBe(202);

		const executions = await n8n.waitForExecutions({ workflowId, count: 1, settleMs: 1500 });
		expect(executions).toHaveLength(1);
		expect(executions[0]).toMatchObject({
			status: 'success',
			ranOn: expect.stringMatching(/^worker-/),
		});
		const [item] = nodeOutput(executions[0], 'Signed Webhook');
		expect(item.json.verification).toEqual({
			preset: 'generic',
			secret: 'current',
			timestamp: null,
			deliveryId,
		});
		expect(n8n.logs()).not.toContain(secrets.generic);
	});
});
