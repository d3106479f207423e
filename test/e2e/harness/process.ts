// One n8n process (main or worker): spawned with its output in a log file, readable while it runs,
// with waits for a log line and for its exit.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';

import * as runtime from '../../../scripts/lib/n8n-runtime';

export type ProcessRole = 'main' | 'worker';

// Process groups still running, killed if the test process exits without stop() (a crashed jest
// worker must not leave n8n processes behind).
const liveGroups = new Set<number>();
process.once('exit', () => {
	for (const group of liveGroups) {
		try {
			process.kill(-group, 'SIGKILL');
		} catch {
			// Already gone.
		}
	}
});

export class N8nProcess {
	readonly name: string;

	readonly role: ProcessRole;

	readonly logFile: string;

	private child: ChildProcess | undefined;

	private exitPromise: Promise<void> = Promise.resolve();

	private logOffset = 0;

	constructor(options: {
		name: string;
		role: ProcessRole;
		logFile: string;
		env: NodeJS.ProcessEnv;
		cwd: string;
	}) {
		this.name = options.name;
		this.role = options.role;
		this.logFile = options.logFile;
		this.env = options.env;
		this.cwd = options.cwd;
	}

	private readonly env: NodeJS.ProcessEnv;

	private readonly cwd: string;

	/** The OS process id, or undefined before start and after exit. */
	get pid(): number | undefined {
		return this.alive ? this.child?.pid : undefined;
	}

	/** Whether the process has been started and has not exited. */
	get alive(): boolean {
		return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
	}

	/**
	 * Spawns the process (`n8n start` or `n8n worker`); its output is appended to the log file, so
	 * one file holds every life of the process across restarts.
	 */
	start(): void {
		if (this.alive) throw new Error(`${this.name} is already running`);
		const args = this.role === 'main' ? ['start'] : ['worker'];
		fs.appendFileSync(this.logFile, `\n===== ${new Date().toISOString()} n8n ${args[0]} =====\n`);
		this.logOffset = fs.statSync(this.logFile).size;
		const fd = fs.openSync(this.logFile, 'a');
		// Its own process group, so a kill also reaches the task runner n8n starts as a child.
		const child = spawn(runtime.node24Path(), [runtime.n8nCliPath(), ...args], {
			cwd: this.cwd,
			env: this.env,
			stdio: ['ignore', fd, fd],
			detached: true,
		});
		fs.closeSync(fd);
		// Jest must be able to exit even if a test forgot stop(); the exit hook below kills the group.
		child.unref();
		this.child = child;
		this.groupId = child.pid;
		if (child.pid) liveGroups.add(child.pid);
		this.exitPromise = new Promise((resolve) => {
			const done = () => {
				this.killGroup();
				resolve();
			};
			child.once('exit', done);
			child.once('error', done);
		});
	}

	private groupId: number | undefined;

	/** Kills whatever is left of the process group (a task runner whose parent died). */
	private killGroup(): void {
		if (!this.groupId) return;
		try {
			process.kill(-this.groupId, 'SIGKILL');
		} catch {
			// ESRCH: the group is already empty.
		}
		liveGroups.delete(this.groupId);
		this.groupId = undefined;
	}

	/** @returns {string} the whole log file (every life of this process) */
	log(): string {
		return fs.existsSync(this.logFile) ? fs.readFileSync(this.logFile, 'utf8') : '';
	}

	/** @returns {string} the log written since the latest start() */
	currentLog(): string {
		return this.log().slice(this.logOffset);
	}

	/** @returns {string} the last `lines` lines of the log, for error messages */
	tail(lines = 40): string {
		return this.log().trimEnd().split('\n').slice(-lines).join('\n');
	}

	/**
	 * Waits until the log of the current life matches `pattern`.
	 * @throws {Error} when the process exits first or `timeoutMs` passes (the log tail is included)
	 */
	async waitForLog(pattern: RegExp, timeoutMs: number): Promise<void> {
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			if (pattern.test(this.currentLog())) return;
			if (!this.alive) {
				throw new Error(
					`${this.name} exited (code ${this.child?.exitCode}, signal ${this.child?.signalCode}) ` +
						`before its log showed ${pattern}. Log ${this.logFile}:\n${this.tail()}`,
				);
			}
			if (Date.now() > deadline) {
				throw new Error(
					`${this.name} did not log ${pattern} within ${timeoutMs} ms. Log ${this.logFile}:\n${this.tail()}`,
				);
			}
			await new Promise((resolve) => setTimeout(resolve, 250));
		}
	}

	/** Sends `signal` and resolves once the process has exited (immediately if it is not running). */
	async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
		if (!this.alive) return;
		// A SIGKILL is a crash of the whole container: main or worker and its task runner at once.
		if (signal === 'SIGKILL' && this.groupId) process.kill(-this.groupId, signal);
		else this.child?.kill(signal);
		await this.exitPromise;
	}

	/**
	 * SIGTERM, then SIGKILL if the process has not exited after `graceMs`.
	 * @returns {Promise<void>} once the process is gone; never throws
	 */
	async stop(graceMs = 20_000): Promise<void> {
		if (!this.alive) return;
		this.child?.kill('SIGTERM');
		const timedOut = await Promise.race([
			this.exitPromise.then(() => false),
			new Promise<boolean>((resolve) => setTimeout(() => resolve(true), graceMs).unref()),
		]);
		if (timedOut) await this.kill('SIGKILL');
	}
}
