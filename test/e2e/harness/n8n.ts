// startN8n(): a real n8n 2.41.1 with this package installed, in regular mode (SQLite) or queue
// mode (PostgreSQL, Redis, one main and N workers), and everything a test needs to drive it.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import * as runtime from '../../../scripts/lib/n8n-runtime';
import {
	postgresReader,
	sqliteReader,
	type Execution,
	type ExecutionReader,
	type ExecutionStatus,
} from './executions';
import {
	POSTGRES,
	REDIS,
	createDatabase,
	deleteRedisKeys,
	dropDatabase,
	getFreePort,
	requirePostgres,
	requireRedis,
} from './machine';
import { ARTIFACTS_DIR, getPreparedPackage } from './package';
import { N8nProcess } from './process';

/** A node inside a workflow, as in n8n's workflow JSON. */
export interface WorkflowNode {
	id?: string;
	name: string;
	type: string;
	typeVersion: number;
	position: [number, number];
	parameters: Record<string, unknown>;
	webhookId?: string;
	credentials?: Record<string, { id: string; name: string }>;
	disabled?: boolean;
	[key: string]: unknown;
}

/** Workflow JSON as n8n exports it. `active: false` imports it unpublished; any other value publishes it. */
export interface WorkflowJson {
	id?: string;
	name: string;
	nodes: WorkflowNode[];
	connections?: Record<string, unknown>;
	settings?: Record<string, unknown>;
	active?: boolean;
	[key: string]: unknown;
}

/** A credential to import: `data` in plain text; n8n encrypts it with the instance key on import. */
export interface CredentialJson {
	id?: string;
	name: string;
	type: string;
	data: Record<string, unknown>;
}

export interface StartOptions {
	/** 'regular' (SQLite, one process) or 'queue' (PostgreSQL + Redis, main + workers). Default regular. */
	mode?: 'regular' | 'queue';
	/** Queue mode: number of `n8n worker` processes. Default 2. */
	workers?: number;
	workflows?: WorkflowJson[];
	credentials?: CredentialJson[];
	/** Extra environment for every n8n process (main and workers), e.g. N8N_LOG_LEVEL: 'debug'. */
	env?: Record<string, string>;
	/** Extra environment for the workers only. */
	workerEnv?: Record<string, string>;
	/** Short name for the log folder under test/e2e/.artifacts. Default: the mode. */
	name?: string;
	/** How long to wait for main and workers to be ready. Default 180 s (a loaded 2-core machine). */
	readyTimeoutMs?: number;
}

export interface WaitForExecutionsOptions {
	/** Only this workflow's executions. */
	workflowId?: string;
	/** How many matching executions to wait for. Default 1. */
	count?: number;
	/** Which statuses count. Default: any finished one (not new, running or waiting). */
	status?: ExecutionStatus | ExecutionStatus[];
	/** Default 60 s. */
	timeoutMs?: number;
	/** After `count` is reached, wait this long and read again, to see executions that should not exist. */
	settleMs?: number;
}

export interface N8nInstance {
	mode: 'regular' | 'queue';
	/** e.g. http://127.0.0.1:41234 (no trailing slash). */
	baseUrl: string;
	port: number;
	/** The N8N_USER_FOLDER (removed by stop()). */
	userFolder: string;
	/** Folder with main.log, worker-N.log and import.log (kept after stop() for debugging). */
	logDir: string;
	/** The workflows and credentials as imported, each with its id. */
	workflows: Array<WorkflowJson & { id: string }>;
	credentials: Array<CredentialJson & { id: string }>;
	main: N8nProcess;
	workers: N8nProcess[];
	/** Queue mode: the PostgreSQL database and the Redis key prefix of this instance. */
	database?: string;
	redisPrefix?: string;
	/**
	 * Production webhook URL: `webhookUrl(webhookId, path)` gives `/webhook/<webhookId>/<path>` (a
	 * community trigger with a webhookId); `webhookUrl(path)` gives `/webhook/<path>` (n8n's own
	 * Webhook node and any node whose webhook is a full path).
	 */
	webhookUrl(webhookIdOrPath: string, path?: string): string;
	/** Every execution, in id order, optionally of one workflow, with status and parsed run data. */
	executions(filter?: { workflowId?: string }): Promise<Execution[]>;
	/** Polls until enough executions have finished; @throws with the logs' tails on timeout. */
	waitForExecutions(options?: WaitForExecutionsOptions): Promise<Execution[]>;
	/** The process by name: 'main', 'worker-1', 'worker-2', ... @throws when there is none */
	process(name: string): N8nProcess;
	/** Sends a signal (default SIGKILL) to main or a worker and waits until it has exited. */
	kill(target: 'main' | string | N8nProcess, signal?: NodeJS.Signals): Promise<void>;
	/**
	 * Restarts one process (stopping it first if it runs) or, with no argument, all of them, and
	 * waits until they are ready again. Database, ports and user folder stay the same.
	 */
	restart(target?: 'main' | string | N8nProcess): Promise<void>;
	/** All logs (main then workers), for assertions such as "no secret was logged". */
	logs(): string;
	/** Stops every process, drops the database and Redis keys, removes the user folder. Never throws. */
	stop(): Promise<void>;
}

const MAIN_READY = /Editor is now accessible via/;
const WORKER_READY = /n8n worker is now ready/;
const UNFINISHED: ExecutionStatus[] = ['new', 'running', 'waiting'];
// Cleanups of every instance started in this process and not yet stopped, registered before the
// first process starts: a beforeAll that times out leaves startN8n running, and stopAllN8n (run
// after each test file by jest-setup.ts) must still find and stop what it started.
const pendingCleanups = new Set<() => Promise<void>>();

function uniqueToken(): string {
	return `${Date.now().toString(36)}${crypto.randomBytes(3).toString('hex')}`;
}

function assertSafeName(name: string): string {
	if (!/^[a-z0-9_-]+$/i.test(name)) throw new Error(`Unsafe name for a folder: ${name}`);
	return name;
}

/**
 * Starts a real n8n with this package installed: copies the packed package into a fresh user
 * folder, imports credentials and workflows, publishes the workflows, starts main (and workers)
 * on free ports and waits until the workflows are live.
 * @returns {Promise<N8nInstance>} call stop() when done (afterAll)
 * @throws {Error} when the machine lacks PostgreSQL or Redis (queue mode), an import fails, or a
 *   process does not become ready; the message names the cause and the log to read
 */
export async function startN8n(options: StartOptions = {}): Promise<N8nInstance> {
	const mode = options.mode ?? 'regular';
	const workerCount = mode === 'queue' ? (options.workers ?? 2) : 0;
	const readyTimeoutMs = options.readyTimeoutMs ?? 180_000;
	const token = uniqueToken();

	if (mode === 'queue') {
		await requirePostgres();
		await requireRedis();
	}
	const prepared = await getPreparedPackage();

	const label = assertSafeName(options.name ?? mode);
	const logDir = path.join(
		ARTIFACTS_DIR,
		`${new Date().toISOString().replace(/[:.]/g, '-')}-${label}-${token}`,
	);
	fs.mkdirSync(logDir, { recursive: true });
	const rootDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dealflow-n8n-'));
	const userFolder = path.join(rootDir, 'user');
	const nodesDir = path.join(userFolder, '.n8n', 'nodes');
	fs.mkdirSync(path.dirname(nodesDir), { recursive: true });
	fs.cpSync(prepared.nodesTemplate, nodesDir, { recursive: true, verbatimSymlinks: true });

	const port = await getFreePort();
	const database = mode === 'queue' ? `dealflow_e2e_${token}` : undefined;
	const redisPrefix = mode === 'queue' ? `dealflow-e2e-${token}` : undefined;
	const shared: Record<string, string> = {
		N8N_GRACEFUL_SHUTDOWN_TIMEOUT: '10',
	};
	if (mode === 'queue' && database && redisPrefix) {
		Object.assign(shared, {
			EXECUTIONS_MODE: 'queue',
			DB_TYPE: 'postgresdb',
			DB_POSTGRESDB_HOST: POSTGRES.host,
			DB_POSTGRESDB_PORT: String(POSTGRES.port),
			DB_POSTGRESDB_DATABASE: database,
			DB_POSTGRESDB_USER: POSTGRES.user,
			DB_POSTGRESDB_PASSWORD: '',
			QUEUE_BULL_REDIS_HOST: REDIS.host,
			QUEUE_BULL_REDIS_PORT: String(REDIS.port),
			// Both prefixes start with the instance's token, so stop() deletes exactly its keys.
			QUEUE_BULL_PREFIX: `${redisPrefix}-bull`,
			N8N_REDIS_KEY_PREFIX: `${redisPrefix}-n8n`,
			OFFLOAD_MANUAL_EXECUTIONS_TO_WORKERS: 'true',
		});
	}
	const encryptionKey = crypto.randomBytes(24).toString('hex');
	const envFor = async (extra: Record<string, string>) =>
		runtime.n8nEnv({
			userFolder,
			port,
			brokerPort: await getFreePort(),
			encryptionKey,
			extra: { ...shared, ...options.env, ...extra },
		});

	let reader: ExecutionReader | undefined;
	const processes: N8nProcess[] = [];
	let stopped = false;
	const cleanup = async () => {
		stopped = true;
		pendingCleanups.delete(cleanup);
		await Promise.all(processes.map((proc) => proc.stop()));
		await reader?.close();
		if (database) await dropDatabase(database);
		if (redisPrefix) await deleteRedisKeys(redisPrefix);
		fs.rmSync(rootDir, { recursive: true, force: true });
	};
	pendingCleanups.add(cleanup);

	try {
		if (database) await createDatabase(database);
		const mainEnv = await envFor({});
		const imported = await runtime.importIntoN8n({
			env: mainEnv,
			workDir: path.join(rootDir, 'import'),
			workflows: options.workflows ?? [],
			credentials: options.credentials ?? [],
			logFile: path.join(logDir, 'import.log'),
		});

		const main = new N8nProcess({
			name: 'main',
			role: 'main',
			logFile: path.join(logDir, 'main.log'),
			env: mainEnv,
			cwd: userFolder,
		});
		processes.push(main);
		const workers: N8nProcess[] = [];
		for (let index = 1; index <= workerCount; index++) {
			const healthPort = await getFreePort();
			const worker = new N8nProcess({
				name: `worker-${index}`,
				role: 'worker',
				logFile: path.join(logDir, `worker-${index}.log`),
				env: await envFor({
					QUEUE_HEALTH_CHECK_ACTIVE: 'true',
					QUEUE_HEALTH_CHECK_PORT: String(healthPort),
					N8N_WORKER_SERVER_ADDRESS: '127.0.0.1',
					...options.workerEnv,
				}),
				cwd: userFolder,
			});
			workers.push(worker);
			processes.push(worker);
		}

		reader = database
			? postgresReader(database)
			: sqliteReader(path.join(userFolder, '.n8n', 'database.sqlite'));
		const readyPattern = (proc: N8nProcess) => (proc.role === 'main' ? MAIN_READY : WORKER_READY);
		const startAndWait = async (procs: N8nProcess[]) => {
			if (stopped) throw new Error('This n8n instance was stopped; it cannot start again.');
			for (const proc of procs) proc.start();
			await Promise.all(procs.map((proc) => proc.waitForLog(readyPattern(proc), readyTimeoutMs)));
		};
		await startAndWait(processes);
		const baseUrl = `http://127.0.0.1:${port}`;
		await runtime.waitForWebhooks({
			baseUrl,
			workflows: imported.workflows,
			timeoutMs: readyTimeoutMs,
			isAlive: () => main.alive,
		});

		const byName = (target: string | N8nProcess): N8nProcess => {
			if (typeof target !== 'string') return target;
			const found = processes.find((proc) => proc.name === target);
			if (!found) {
				throw new Error(
					`No n8n process named ${target}; there are ${processes.map((p) => p.name).join(', ')}`,
				);
			}
			return found;
		};
		const withWorkers = (list: Execution[]): Execution[] => {
			if (workers.length === 0) return list;
			const ranOn = new Map<string, string>();
			for (const worker of workers) {
				for (const match of worker.log().matchAll(/Worker started execution (\d+)/g)) {
					ranOn.set(match[1], worker.name);
				}
			}
			return list.map((execution) => ({ ...execution, ranOn: ranOn.get(execution.id) }));
		};
		const activeReader = reader;

		const instance: N8nInstance = {
			mode,
			baseUrl,
			port,
			userFolder,
			logDir,
			workflows: imported.workflows,
			credentials: imported.credentials,
			main,
			workers,
			database,
			redisPrefix,
			webhookUrl(webhookIdOrPath, subPath) {
				const clean = (part: string) => part.replace(/^\/+|\/+$/g, '');
				const parts = [webhookIdOrPath, subPath]
					.filter((part): part is string => !!part)
					.map(clean);
				return `${baseUrl}/webhook/${parts.join('/')}`;
			},
			async executions(filter) {
				return withWorkers(await activeReader.list(filter));
			},
			async waitForExecutions(waitOptions = {}) {
				const count = waitOptions.count ?? 1;
				const timeoutMs = waitOptions.timeoutMs ?? 60_000;
				const wanted = waitOptions.status
					? ([] as ExecutionStatus[]).concat(waitOptions.status)
					: undefined;
				const matches = (execution: Execution) =>
					wanted ? wanted.includes(execution.status) : !UNFINISHED.includes(execution.status);
				const filter = { workflowId: waitOptions.workflowId };
				const deadline = Date.now() + timeoutMs;
				for (;;) {
					const list = (await instance.executions(filter)).filter(matches);
					if (list.length >= count) {
						if (!waitOptions.settleMs) return list;
						await new Promise((resolve) => setTimeout(resolve, waitOptions.settleMs));
						return (await instance.executions(filter)).filter(matches);
					}
					if (Date.now() > deadline) {
						const all = await instance.executions(filter);
						const seen = all.map((e) => `#${e.id} ${e.status}`).join(', ') || 'none';
						throw new Error(
							`Waited ${timeoutMs} ms for ${count} execution(s)` +
								`${waitOptions.workflowId ? ` of workflow ${waitOptions.workflowId}` : ''}` +
								`${wanted ? ` with status ${wanted.join('|')}` : ''}; found ${list.length} ` +
								`(all: ${seen}). Logs in ${logDir}. Main log tail:\n${main.tail(20)}`,
						);
					}
					await new Promise((resolve) => setTimeout(resolve, 300));
				}
			},
			process: byName,
			async kill(target, signal = 'SIGKILL') {
				await byName(target).kill(signal);
			},
			async restart(target) {
				const procs = target ? [byName(target)] : processes;
				await Promise.all(procs.map((proc) => proc.stop()));
				await startAndWait(procs);
				if (procs.includes(main)) {
					await runtime.waitForWebhooks({
						baseUrl,
						workflows: imported.workflows,
						timeoutMs: readyTimeoutMs,
						isAlive: () => main.alive,
					});
				}
			},
			logs() {
				return processes.map((proc) => proc.log()).join('\n');
			},
			async stop() {
				await cleanup();
			},
		};
		return instance;
	} catch (error) {
		await cleanup();
		if (error instanceof Error) error.message += `\n(n8n logs: ${logDir})`;
		throw error;
	}
}

/**
 * Stops every instance this process started and has not stopped, including one whose start is
 * still under way (its startN8n then fails). Never throws.
 */
export async function stopAllN8n(): Promise<void> {
	await Promise.all([...pendingCleanups].map((cleanup) => cleanup().catch(() => undefined)));
}
