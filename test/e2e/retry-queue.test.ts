// The Retry Queue and its trigger inside a real n8n 2.41.1, in regular mode and in queue mode
// with two workers: retries until success, dead letters, and a SIGKILL of the instance that holds
// a job in flight. The downstream service is a tiny local HTTP server whose behaviour depends on
// the job's `mode`.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { Job, Queue } from 'bullmq';
import Redis from 'ioredis';

import { enqueue } from '../../nodes/RetryQueue/transport';
import { bullPrefix } from '../../nodes/RetryQueue/transport';
import {
	nodeOutput,
	startN8n,
	type Execution,
	type N8nInstance,
	type WorkflowJson,
} from './harness';

jest.setTimeout(900_000);

const FIXTURES = path.join(__dirname, 'fixtures');

/** The downstream service: counts calls per job and answers by the job's mode. */
class Downstream {
	readonly calls = new Map<string, number>();
	readonly deadLetters = new Map<string, string[]>();
	private readonly held: http.ServerResponse[] = [];
	private readonly server = http.createServer((req, res) => this.handle(req, res));
	url = '';

	async start(): Promise<void> {
		await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
		this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
	}

	async stop(): Promise<void> {
		for (const res of this.held) res.destroy();
		this.server.closeAllConnections();
		await new Promise<void>((resolve) => this.server.close(() => resolve()));
	}

	private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
		const url = new URL(req.url ?? '/', 'http://localhost');
		const [, kind, ...rest] = url.pathname.split('/');
		if (kind === 'dead') {
			const jobId = decodeURIComponent(rest[0]);
			const list = this.deadLetters.get(jobId) ?? [];
			list.push(url.searchParams.get('reason') ?? '');
			this.deadLetters.set(jobId, list);
			this.reply(res, 200, { recorded: true });
			return;
		}
		const [mode, encodedId] = rest;
		const jobId = decodeURIComponent(encodedId);
		const count = (this.calls.get(jobId) ?? 0) + 1;
		this.calls.set(jobId, count);
		if (mode === 'flaky') this.reply(res, count <= 3 ? 503 : 200, { count });
		else if (mode === 'permanent') this.reply(res, 400, { error: 'order rejected' });
		// The first call of a "hang" job never gets an answer: n8n is killed while it waits.
		else if (mode === 'hang' && count === 1) this.held.push(res);
		else this.reply(res, 200, { count });
	}

	private reply(res: http.ServerResponse, status: number, body: object): void {
		res.writeHead(status, { 'content-type': 'application/json' });
		res.end(JSON.stringify(body));
	}
}

function fixture(name: string, replacements: Record<string, string>): WorkflowJson {
	let text = fs.readFileSync(path.join(FIXTURES, name), 'utf8');
	for (const [placeholder, value] of Object.entries(replacements)) {
		text = text.split(placeholder).join(value);
	}
	const workflow = JSON.parse(text) as WorkflowJson;
	// Node ids must be unique per instance only, but fresh ones keep two imports apart.
	for (const node of workflow.nodes) node.id = crypto.randomUUID();
	return workflow;
}

function n8nId(): string {
	const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
	return Array.from(crypto.randomBytes(16), (byte) => alphabet[byte % alphabet.length]).join('');
}

async function waitFor<T>(
	probe: () => Promise<T | undefined | false> | T | undefined | false,
	what: string,
	ms = 180_000,
): Promise<T> {
	const until = Date.now() + ms;
	for (;;) {
		const value = await probe();
		if (value !== undefined && value !== false) return value;
		if (Date.now() > until) throw new Error(`Timed out waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 250));
	}
}

/** The job id a consumer execution worked on, from the trigger's output (either output). */
function jobIdOf(execution: Execution): string | undefined {
	for (const output of [0, 1]) {
		const [item] = nodeOutput(execution, 'Retry Queue Trigger', { output });
		if (item) return item.json.jobId as string;
	}
	return undefined;
}

function describeMode(mode: 'regular' | 'queue') {
	describe(`Retry Queue in a real n8n, ${mode} mode`, () => {
		const token = crypto.randomBytes(4).toString('hex');
		const keyPrefix = `dealflow-e2e-rq-${token}`;
		const queueName = `orders-${token}`;
		const markedQueueName = `marked-${token}`;
		const webhookPath = `rq-enqueue-${token}`;
		const credential = { id: n8nId(), name: `Redis ${token}` };
		const downstream = new Downstream();
		let redis: Redis;
		let queue: Queue;
		let markedQueue: Queue;
		let n8n: N8nInstance;
		let consumerId: string;
		let markedId: string;

		const enqueueViaWorkflow = async (body: object) => {
			const post = async () =>
				await fetch(n8n.webhookUrl(webhookPath), {
					method: 'POST',
					headers: { 'content-type': 'application/json' },
					body: JSON.stringify(body),
				});
			// n8n logs "Editor is now accessible" before it has activated every published workflow;
			// a 404 means the webhook is not registered yet, and nothing was enqueued.
			const response = await waitFor(async () => {
				const answer = await post();
				return answer.status === 404 ? undefined : answer;
			}, 'the enqueue webhook to be registered');
			expect(response.status).toBe(200);
			return (await response.json()) as { jobId: string; added: boolean; alreadyPresent: boolean };
		};
		const stateOf = async (jobId: string) => await (await Job.fromId(queue, jobId))?.getState();
		const executionsFor = async (jobId: string, workflowId = consumerId) =>
			(await n8n.executions({ workflowId })).filter((e) => jobIdOf(e) === jobId);

		beforeAll(async () => {
			await downstream.start();
			redis = new Redis({ host: '127.0.0.1', port: 6379, maxRetriesPerRequest: null });
			queue = new Queue(queueName, { connection: redis, prefix: bullPrefix(keyPrefix) });
			markedQueue = new Queue(markedQueueName, {
				connection: redis,
				prefix: bullPrefix(keyPrefix),
			});
			const replacements = {
				__SERVER__: downstream.url,
				__CREDENTIAL_ID__: credential.id,
				__CREDENTIAL_NAME__: credential.name,
				__WEBHOOK_PATH__: webhookPath,
			};
			n8n = await startN8n({
				mode,
				workers: 2,
				name: `retry-queue-${mode}`,
				// n8n's own Bull stall check notices a dead worker; shortened so the test need not wait
				// a minute for it. The trigger's Execution Timeout (120 s) stays well above this.
				env: {
					QUEUE_WORKER_LOCK_DURATION: '10000',
					QUEUE_WORKER_LOCK_RENEW_TIME: '2000',
					QUEUE_WORKER_STALLED_INTERVAL: '5000',
				},
				credentials: [
					{
						...credential,
						type: 'dealflowRedisApi',
						data: {
							connectionType: 'fields',
							host: '127.0.0.1',
							port: 6379,
							database: 0,
							keyPrefix,
						},
					},
				],
				workflows: [
					fixture('retry-queue-enqueue.json', { ...replacements, __QUEUE__: queueName }),
					fixture('retry-queue-consumer.json', { ...replacements, __QUEUE__: queueName }),
					fixture('retry-queue-marked-error.json', { ...replacements, __QUEUE__: markedQueueName }),
				],
			});
			consumerId = n8n.workflows[1].id;
			markedId = n8n.workflows[2].id;
		});

		afterAll(async () => {
			await n8n?.stop();
			await downstream.stop();
			await queue?.close();
			await markedQueue?.close();
			if (redis) {
				let cursor = '0';
				do {
					const [next, keys] = await redis.scan(cursor, 'MATCH', `${keyPrefix}:*`, 'COUNT', 500);
					cursor = next;
					if (keys.length > 0) await redis.del(...keys);
				} while (cursor !== '0');
				await redis.quit();
			}
		});

		it('retries a job whose downstream fails 3 times, completes it after exactly one successful execution, and refuses a duplicate enqueue', async () => {
			const first = await enqueueViaWorkflow({ orderKey: `flaky:${token}`, mode: 'flaky' });
			const duplicate = await enqueueViaWorkflow({ orderKey: `flaky:${token}`, mode: 'flaky' });
			expect(first).toMatchObject({ added: true, alreadyPresent: false });
			expect(duplicate).toMatchObject({ added: false, alreadyPresent: true, jobId: first.jobId });

			await waitFor(
				async () => (await stateOf(first.jobId)) === 'completed',
				'the job to complete',
			);
			await n8n.waitForExecutions({ workflowId: consumerId, count: 4, settleMs: 2_000 });
			const runs = await executionsFor(first.jobId);

			expect(downstream.calls.get(first.jobId)).toBe(4);
			expect(runs.filter((e) => e.status === 'success')).toHaveLength(1);
			expect(runs.filter((e) => e.status === 'error')).toHaveLength(3);
			const attempts = runs.map((e) => nodeOutput(e, 'Retry Queue Trigger')[0].json.attempt);
			expect(attempts.sort()).toEqual([1, 2, 3, 4]);
			expect(downstream.deadLetters.has(first.jobId)).toBe(false);
		});

		it('dead-letters a permanently failing job after its attempts and runs the Dead letter output once', async () => {
			const { jobId } = await enqueueViaWorkflow({ orderKey: `perm:${token}`, mode: 'permanent' });

			await waitFor(() => downstream.deadLetters.get(jobId), 'the Dead letter run');
			// Leave room for a duplicate Dead letter run to show up before asserting there is none.
			await new Promise((resolve) => setTimeout(resolve, 5_000));

			expect(await stateOf(jobId)).toBe('failed');
			expect(downstream.calls.get(jobId)).toBe(4);
			expect(downstream.deadLetters.get(jobId)).toEqual(['attempts_exhausted']);
			const deadRuns = (await executionsFor(jobId)).filter(
				(e) => nodeOutput(e, 'Retry Queue Trigger', { output: 1 }).length === 1,
			);
			expect(deadRuns).toHaveLength(1);
			expect(deadRuns[0].status).toBe('success');
			expect(nodeOutput(deadRuns[0], 'Retry Queue Trigger', { output: 1 })[0].json).toMatchObject({
				jobId,
				attempts: 4,
				deadLetterReason: 'attempts_exhausted',
			});
		});

		it('sends a job straight to dead letter when a dealflow node marks its error non-retryable', async () => {
			const { jobId } = await enqueue(markedQueue, {
				key: `marked-${token}`,
				data: { replayJobId: '' },
				keepCompletedSeconds: 3600,
			});

			await waitFor(() => downstream.deadLetters.get(jobId), 'the Dead letter run');
			await n8n.waitForExecutions({ workflowId: markedId, count: 2, settleMs: 3_000 });
			const runs = await executionsFor(jobId, markedId);

			expect(downstream.deadLetters.get(jobId)).toEqual(['not_retryable']);
			expect(runs.filter((e) => e.status === 'error')).toHaveLength(1);
			expect(runs).toHaveLength(2);
		});

		it('runs a job again after n8n is killed with SIGKILL while it is in flight, and completes it once', async () => {
			const { jobId } = await enqueueViaWorkflow({ orderKey: `hang:${token}`, mode: 'hang' });
			await waitFor(() => downstream.calls.get(jobId) === 1, 'the first call to be in flight');

			await n8n.kill('main', 'SIGKILL');
			await n8n.restart('main');

			await waitFor(async () => (await stateOf(jobId)) === 'completed', 'the job to complete');
			await new Promise((resolve) => setTimeout(resolve, 3_000));
			expect(downstream.calls.get(jobId)).toBe(2);
			const succeeded = (await executionsFor(jobId)).filter((e) => e.status === 'success');
			expect(succeeded).toHaveLength(1);
			expect(nodeOutput(succeeded[0], 'Retry Queue Trigger')[0].json).toMatchObject({ jobId });
			expect(downstream.deadLetters.has(jobId)).toBe(false);
		});

		if (mode === 'queue') {
			it('completes a job whose execution was running on a worker killed with SIGKILL', async () => {
				const { jobId } = await enqueueViaWorkflow({ orderKey: `hang-w:${token}`, mode: 'hang' });
				await waitFor(() => downstream.calls.get(jobId) === 1, 'the first call to be in flight');
				const running = await waitFor(async () => {
					const list = await n8n.executions({ workflowId: consumerId });
					return list.find((e) => e.status === 'running' && e.ranOn);
				}, 'the running execution to show its worker');

				await n8n.kill(running.ranOn as string, 'SIGKILL');
				await waitFor(async () => (await stateOf(jobId)) === 'completed', 'the job to complete');
				await n8n.restart(running.ranOn as string);

				expect(downstream.calls.get(jobId)).toBe(2);
				const succeeded = (await executionsFor(jobId)).filter((e) => e.status === 'success');
				expect(succeeded).toHaveLength(1);
				expect(downstream.deadLetters.has(jobId)).toBe(false);
				// The dead attempt is recorded once as a failed attempt and retried. Which mechanism ends
				// it depends on timing: usually n8n's stalled-job check reports the crash to main, but on a
				// loaded machine the trigger's execution timeout can come first; both count as a failure.
				const { logs } = await queue.getJobLogs(jobId);
				expect(logs).toHaveLength(1);
				expect(JSON.parse(logs[0])).toMatchObject({ attempt: 1, decision: 'retry' });
			});
		}
	});
}

describeMode('regular');
describeMode('queue');
