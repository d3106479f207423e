// Self-test of the real-n8n harness: both modes start with this package installed, run a webhook
// execution, and read it back.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { signGeneric } from '../../nodes/SignedWebhook/signing';
import {
	newN8nId,
	nodeOutput,
	startN8n,
	type CredentialJson,
	type N8nInstance,
	type WorkflowJson,
} from './harness';

const packageJson = JSON.parse(
	fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'),
) as { name: string };

/** A workflow whose only node is n8n's own Webhook node, answering as soon as it is called. */
function webhookWorkflow(name: string): { workflow: WorkflowJson; path: string } {
	const webhookPath = `harness-${name}-${crypto.randomBytes(4).toString('hex')}`;
	return {
		path: webhookPath,
		workflow: {
			name: `Harness ${name}`,
			nodes: [
				{
					id: crypto.randomUUID(),
					name: 'Webhook',
					type: 'n8n-nodes-base.webhook',
					typeVersion: 2,
					position: [0, 0],
					webhookId: crypto.randomUUID(),
					parameters: {
						httpMethod: 'POST',
						path: webhookPath,
						responseMode: 'onReceived',
						options: {},
					},
				},
			],
			connections: {},
		},
	};
}

/** A workflow whose trigger is this package's Signed Webhook node (generic preset). */
function signedWebhookWorkflow(): {
	workflow: WorkflowJson;
	credential: CredentialJson & { id: string };
	path: string;
	secret: string;
} {
	const secret = crypto.randomBytes(24).toString('hex');
	const credential = {
		id: newN8nId(),
		name: 'Harness signing secret',
		type: 'dealflowSigningSecretApi',
		data: { secret },
	};
	const webhookPath = `harness-signed-${crypto.randomBytes(4).toString('hex')}`;
	return {
		secret,
		credential,
		path: webhookPath,
		workflow: {
			name: 'Harness package probe',
			nodes: [
				{
					id: crypto.randomUUID(),
					name: 'Signed Webhook',
					type: `${packageJson.name}.signedWebhook`,
					typeVersion: 2,
					position: [0, 0],
					webhookId: crypto.randomUUID(),
					parameters: { path: webhookPath, preset: 'generic' },
					credentials: { dealflowSigningSecretApi: { id: credential.id, name: credential.name } },
				},
			],
			connections: {},
		},
	};
}

async function postJson(url: string, body: unknown): Promise<Response> {
	return await fetch(url, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify(body),
	});
}

describe('the real-n8n harness in regular mode', () => {
	let n8n: N8nInstance;
	const probe = webhookWorkflow('regular');
	const signed = signedWebhookWorkflow();

	beforeAll(async () => {
		n8n = await startN8n({
			mode: 'regular',
			name: 'harness-regular',
			workflows: [probe.workflow, signed.workflow],
			credentials: [signed.credential],
		});
	});

	afterAll(async () => {
		await n8n?.stop();
	});

	it('serves a published Webhook workflow and records its execution with the request body', async () => {
		const workflowId = n8n.workflows[0].id;
		const response = await postJson(n8n.webhookUrl(probe.path), { deal: 'D-1', amount: 42 });
		expect(response.status).toBe(200);

		const [execution] = await n8n.waitForExecutions({ workflowId, count: 1, settleMs: 500 });
		expect(execution).toMatchObject({
			workflowId,
			status: 'success',
			mode: 'webhook',
			finished: true,
		});
		const [item] = nodeOutput(execution, 'Webhook');
		expect(item.json.body).toEqual({ deal: 'D-1', amount: 42 });
		expect(await n8n.executions({ workflowId })).toHaveLength(1);
	});

	it('loads the packed package: its Signed Webhook trigger runs, and n8n logs no load error', async () => {
		const installed = path.join(n8n.userFolder, '.n8n', 'nodes', 'node_modules', packageJson.name);
		expect(fs.existsSync(path.join(installed, 'package.json'))).toBe(true);
		// n8n provides n8n-workflow; a second copy inside the package would break instanceof checks.
		expect(fs.existsSync(path.join(installed, 'node_modules', 'n8n-workflow'))).toBe(false);
		expect(n8n.main.log()).not.toMatch(/Failed to load package|Can't enable lazy-loading/);

		const workflowId = n8n.workflows[1].id;
		const body = JSON.stringify({ deal: 'D-2' });
		const response = await fetch(n8n.webhookUrl(signed.path), {
			method: 'POST',
			headers: {
				'content-type': 'application/json',
				...signGeneric({ secret: signed.secret, body }),
			},
			body,
		});
		expect(response.status).toBe(200);
		const [execution] = await n8n.waitForExecutions({ workflowId, count: 1 });
		expect(execution.status).toBe('success');
		expect(nodeOutput(execution, 'Signed Webhook')[0].json.body).toEqual({ deal: 'D-2' });
	});

	it('answers 404 for a webhook path no workflow registered, and records no execution for it', async () => {
		const response = await postJson(n8n.webhookUrl(`not-registered-${Date.now()}`), {});
		expect(response.status).toBe(404);
		const workflowId = n8n.workflows[0].id;
		expect(await n8n.executions({ workflowId })).toHaveLength(1);
	});
});

describe('the real-n8n harness in queue mode', () => {
	let n8n: N8nInstance;
	const probe = webhookWorkflow('queue');

	beforeAll(async () => {
		n8n = await startN8n({
			mode: 'queue',
			workers: 2,
			name: 'harness-queue',
			workflows: [probe.workflow],
		});
	});

	afterAll(async () => {
		await n8n?.stop();
	});

	it('runs webhook executions on the workers, not on main, and stores them in PostgreSQL', async () => {
		const workflowId = n8n.workflows[0].id;
		for (let index = 0; index < 4; index++) {
			const response = await postJson(n8n.webhookUrl(probe.path), { index });
			expect(response.status).toBe(200);
		}

		const executions = await n8n.waitForExecutions({ workflowId, count: 4, status: 'success' });
		expect(executions).toHaveLength(4);
		const bodies = executions.map((execution) => nodeOutput(execution, 'Webhook')[0].json.body);
		expect(bodies).toEqual(expect.arrayContaining([0, 1, 2, 3].map((index) => ({ index }))));
		for (const execution of executions) {
			expect(['worker-1', 'worker-2']).toContain(execution.ranOn);
			const worker = n8n.process(execution.ranOn as string);
			expect(worker.log()).toContain(`Worker finished execution ${execution.id} `);
		}
		expect(n8n.main.log()).not.toMatch(/Worker started execution/);
	});

	it('keeps serving after a worker is killed with SIGKILL, on the surviving worker', async () => {
		const workflowId = n8n.workflows[0].id;
		await n8n.kill('worker-1', 'SIGKILL');
		expect(n8n.process('worker-1').alive).toBe(false);

		const response = await postJson(n8n.webhookUrl(probe.path), { afterKill: true });
		expect(response.status).toBe(200);
		const executions = await n8n.waitForExecutions({ workflowId, count: 5, status: 'success' });
		const last = executions[executions.length - 1];
		expect(nodeOutput(last, 'Webhook')[0].json.body).toEqual({ afterKill: true });
		expect(last.ranOn).toBe('worker-2');

		await n8n.restart('worker-1');
		expect(n8n.process('worker-1').alive).toBe(true);
	});
});
