'use strict';

// A real n8n 2.41.1 with this package installed, for measures that need one. When the e2e
// harness is ready (test/e2e/harness/README.md exists) the bench uses it, so tests and benches
// provision, pack, import and start n8n the same way. The harness is TypeScript; the bench stays
// plain JavaScript and compiles those few files in memory as it loads them.

const fs = require('node:fs');
const Module = require('node:module');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const HARNESS_DIR = path.join(ROOT, 'test', 'e2e', 'harness');

let hookInstalled = false;

/** Lets `require` load the harness's .ts files, transpiled one by one (no type check). */
function installTypeScriptHook() {
	if (hookInstalled) return;
	hookInstalled = true;
	const ts = require('typescript');
	const previous = Module._extensions['.ts'];
	Module._extensions['.ts'] = function loadTypeScript(module, filename) {
		if (!filename.startsWith(path.join(ROOT, 'test')) && previous) {
			return previous(module, filename);
		}
		const source = fs.readFileSync(filename, 'utf8');
		const { outputText } = ts.transpileModule(source, {
			fileName: filename,
			compilerOptions: {
				module: ts.ModuleKind.CommonJS,
				target: ts.ScriptTarget.ES2022,
				esModuleInterop: true,
				isolatedModules: true,
			},
		});
		module._compile(outputText, filename);
	};
}

/**
 * Whether the shared e2e harness is declared usable (its README is written last).
 * @returns {boolean}
 */
function harnessAvailable() {
	return fs.existsSync(path.join(HARNESS_DIR, 'README.md'));
}

/**
 * Starts n8n with the given workflows and credentials, through the e2e harness: regular mode
 * (SQLite) unless `mode: 'queue'` asks for PostgreSQL, Redis and `workers` workers (default 2).
 * The package must be built; the harness packs dist/ and installs the tarball the way n8n's
 * community installer does.
 * @param {{workflows: object[], credentials?: object[], env?: Record<string,string>, name: string,
 *   mode?: 'regular'|'queue', workers?: number, workerEnv?: Record<string,string>,
 *   log?: (line: string) => void}} options
 * @returns {Promise<{baseUrl: string, pid: () => number|undefined, pids: () => number[],
 *   webhookUrl: (...p: string[]) => string, workflows: object[],
 *   executions: (filter?: {workflowId?: string}) => Promise<object[]>,
 *   logs: () => string, stop: () => Promise<void>}>} `pids` lists main and every worker
 * @throws {Error} when the harness is not ready, or n8n does not start (the message names the log)
 */
async function startBenchN8n(options) {
	if (!fs.existsSync(path.join(HARNESS_DIR, 'index.ts'))) {
		throw new Error(
			'The real-n8n harness (test/e2e/harness/index.ts) is missing, and the bench uses it to ' +
				'start n8n. Restore the harness, then run the measure again.',
		);
	}
	if (!harnessAvailable()) {
		// Its code is what the e2e tests already run; a missing README only means it is unfinished.
		options.log?.('test/e2e/harness/README.md is missing; using the harness code as it stands.');
	}
	installTypeScriptHook();
	const harness = require(path.join(HARNESS_DIR, 'index.ts'));
	const instance = await harness.startN8n({
		mode: options.mode ?? 'regular',
		workers: options.workers,
		workerEnv: options.workerEnv,
		name: options.name,
		workflows: options.workflows,
		credentials: options.credentials ?? [],
		env: options.env ?? {},
	});
	return {
		baseUrl: instance.baseUrl,
		pid: () => instance.main.pid,
		pids: () =>
			[instance.main, ...instance.workers].map((proc) => proc.pid).filter((pid) => pid > 0),
		webhookUrl: (...parts) => instance.webhookUrl(...parts),
		workflows: instance.workflows,
		executions: (filter) => instance.executions(filter),
		logs: () => instance.logs(),
		logDir: instance.logDir,
		stop: () => instance.stop(),
	};
}

module.exports = { harnessAvailable, startBenchN8n };
