#!/usr/bin/env node
// `npm start`: a local n8n 2.41.1 with this package and the workflows in workflows/ loaded.
// Builds the package, provisions n8n (cached outside the repository), packs the package and
// installs it into .n8n-local/.n8n/nodes as n8n's community installer would, imports
// workflows/credentials/*.json and workflows/*.json, publishes the workflows, starts n8n on port
// 5678 (N8N_PORT to change it) and prints the editor and webhook URLs. Ctrl+C stops it.
// n8n's data (its SQLite database, encryption key, owner account) stays in .n8n-local/ across
// starts; delete that folder for a clean slate.
//
// Sandbox mode (the default while workflows/credentials/ holds no Xero or Salesforce credential):
// the Xero and Salesforce simulators run beside n8n, the warehouse is the schema
// dealflow_sandbox in the local PostgreSQL, Redis is the local one, and a few won opportunities
// are seeded, so `npm run demo` can push a signed deal through the whole flow.
// DEALFLOW_SANDBOX=0 turns it off, DEALFLOW_SANDBOX=1 forces it.
'use strict';

require('./lib/bootstrap').ensureNode24(__filename);

const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const runtime = require('./lib/n8n-runtime');
const sandboxLib = require('./lib/sandbox');

const LOCAL_DIR = path.join(runtime.REPO_ROOT, '.n8n-local');
const WORKFLOWS_DIR = path.join(runtime.REPO_ROOT, 'workflows');
const CREDENTIALS_DIR = path.join(WORKFLOWS_DIR, 'credentials');
const LOG_FILE = path.join(LOCAL_DIR, 'n8n.log');
const READY_TIMEOUT_MS = 240_000;
const SANDBOX_STATE_FILE = path.join(LOCAL_DIR, 'sandbox.json');
const SANDBOX_LINES = [
	{ sku: 'DF-WIDGET', quantity: 3, unitPrice: 120 },
	{ sku: 'DF-GADGET', quantity: 1, unitPrice: 349.5 },
];

function say(line = '') {
	process.stdout.write(`${line}\n`);
}

function fail(message) {
	process.stderr.write(`\n✗ ${message}\n`);
	process.exit(1);
}

/** @returns {Promise<boolean>} whether nothing listens on 127.0.0.1:port */
function isPortFree(port) {
	return new Promise((resolve) => {
		const server = net.createServer();
		server.once('error', () => resolve(false));
		server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
	});
}

/** @returns {Promise<number>} a free port on 127.0.0.1 */
function freePort() {
	return new Promise((resolve, reject) => {
		const server = net.createServer();
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const { port } = server.address();
			server.close(() => resolve(port));
		});
	});
}

/** A stable n8n id for a file without one, so a second start updates instead of duplicating. */
function idFromFile(file) {
	const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
	const digest = crypto.createHash('sha256').update(path.basename(file)).digest();
	return Array.from(digest.subarray(0, 16), (byte) => alphabet[byte % alphabet.length]).join('');
}

/**
 * Reads every *.json in `dir` (not recursing); a file may hold one object or an array of them.
 * @returns {object[]} with an `id` on each
 */
function readJsonFolder(dir) {
	if (!fs.existsSync(dir)) return [];
	return fs
		.readdirSync(dir)
		.filter((name) => name.endsWith('.json'))
		.sort()
		.flatMap((name) => {
			const file = path.join(dir, name);
			let parsed;
			try {
				parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
			} catch (error) {
				fail(`${path.relative(runtime.REPO_ROOT, file)} is not valid JSON: ${error.message}`);
			}
			const list = Array.isArray(parsed) ? parsed : [parsed];
			return list.map((entry, index) => ({
				...entry,
				id: entry.id || idFromFile(list.length > 1 ? `${name}#${index}` : name),
			}));
		});
}

/** n8n settings the user gave in the environment (N8N_LOG_LEVEL=debug npm start, say). */
function userN8nSettings() {
	const settings = {};
	for (const [key, value] of Object.entries(process.env)) {
		if (/^(N8N_|DB_|QUEUE_|EXECUTIONS_)/.test(key) && key !== 'N8N_PORT' && value !== undefined) {
			settings[key] = value;
		}
	}
	return settings;
}

/** @returns {{type: string, id: string, name: string, usedBy: string[]}[]} referenced but not imported */
function missingCredentials(workflows, credentials) {
	const known = new Set(credentials.map((cred) => cred.id));
	const missing = new Map();
	for (const flow of workflows) {
		for (const node of flow.nodes || []) {
			for (const [type, ref] of Object.entries(node.credentials || {})) {
				if (!ref || known.has(ref.id)) continue;
				const key = `${type}:${ref.id}`;
				const entry = missing.get(key) || { type, id: ref.id, name: ref.name, usedBy: [] };
				if (!entry.usedBy.includes(flow.name)) entry.usedBy.push(flow.name);
				missing.set(key, entry);
			}
		}
	}
	return [...missing.values()];
}

function tail(file, lines = 30) {
	if (!fs.existsSync(file)) return '';
	return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

async function main() {
	const port = Number(process.env.N8N_PORT || 5678);
	if (!Number.isInteger(port) || port <= 0 || port > 65535)
		fail(`N8N_PORT=${process.env.N8N_PORT} is not a port.`);
	if (!(await isPortFree(port))) {
		fail(
			`Port ${port} is in use (is another n8n running?). Stop it, or pick another port: ` +
				`N8N_PORT=${port + 10} npm start`,
		);
	}

	say(`▸ n8n ${runtime.N8N_VERSION}: checking the cache in ${runtime.n8nCacheDir()}`);
	await runtime.provisionN8n({ log: (line) => say(`  ${line}`) });

	say('▸ Building the package (tsc + gulp)');
	await runtime.buildPackage({ log: (line) => say(`  ${line}`) });

	say('▸ Packing it and installing it into .n8n-local/.n8n/nodes');
	const packDir = path.join(LOCAL_DIR, 'package');
	fs.rmSync(packDir, { recursive: true, force: true });
	const tarball = await runtime.packPackage({ destDir: packDir });
	const nodesDir = path.join(LOCAL_DIR, '.n8n', 'nodes');
	fs.mkdirSync(nodesDir, { recursive: true });
	await runtime.installPackage({ tarball, nodesDir });
	const version = JSON.parse(
		fs.readFileSync(path.join(runtime.REPO_ROOT, 'package.json'), 'utf8'),
	).version;

	const env = runtime.n8nEnv({
		userFolder: LOCAL_DIR,
		port,
		brokerPort: await freePort(),
		// Community triggers keep pace with n8n's own Webhook node only when expression isolates are
		// acquired lazily (docs/webhook-overhead.md); a user's own setting still wins.
		extra: { N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE: 'true', ...userN8nSettings() },
	});

	const userCredentials = readJsonFolder(CREDENTIALS_DIR);
	const sandbox = wantsSandbox(userCredentials) ? await startSandbox() : undefined;
	const credentials = mergeCredentials(sandbox ? sandbox.credentials : [], userCredentials);
	const workflows = readJsonFolder(WORKFLOWS_DIR);
	let imported = { workflows: [], credentials: [] };
	if (workflows.length + credentials.length > 0) {
		say(
			`▸ Importing ${credentials.length} credential(s) and ${workflows.length} workflow(s) from workflows/`,
		);
		const workDir = path.join(LOCAL_DIR, 'import');
		fs.rmSync(workDir, { recursive: true, force: true });
		try {
			imported = await runtime.importIntoN8n({
				env,
				workDir,
				workflows,
				credentials,
				logFile: path.join(LOCAL_DIR, 'import.log'),
			});
		} catch (error) {
			fail(`Importing from workflows/ failed (log: .n8n-local/import.log).\n${error.message}`);
		}
	} else {
		say('▸ No workflows in workflows/ yet; starting n8n with the package only');
	}

	say(`▸ Starting n8n on port ${port} (log: ${path.relative(runtime.REPO_ROOT, LOG_FILE)})`);
	fs.writeFileSync(LOG_FILE, '');
	const logFd = fs.openSync(LOG_FILE, 'a');
	const child = spawn(runtime.node24Path(), [runtime.n8nCliPath(), 'start'], {
		cwd: LOCAL_DIR,
		env,
		stdio: ['ignore', logFd, logFd],
	});
	fs.closeSync(logFd);

	let stopping = false;
	const stop = (signal) => {
		if (stopping) return;
		stopping = true;
		say(`\n▸ ${signal}: stopping n8n`);
		child.kill('SIGTERM');
		setTimeout(() => child.kill('SIGKILL'), 30_000).unref();
	};
	const stopSandbox = async () => {
		if (!sandbox) return;
		fs.rmSync(SANDBOX_STATE_FILE, { force: true });
		// The warehouse schema stays, so stock and ledger survive a restart like n8n's own data.
		await sandbox.stop({ dropSchema: false }).catch(() => undefined);
	};
	process.on('SIGINT', () => stop('SIGINT'));
	process.on('SIGTERM', () => stop('SIGTERM'));
	const exited = new Promise((resolve) =>
		child.on('exit', (code, signal) => resolve({ code, signal })),
	);
	exited.then(({ code, signal }) => {
		void stopSandbox().then(() => {
			if (stopping) {
				say('n8n stopped.');
				process.exit(0);
			}
			fail(
				`n8n exited on its own (code ${code}, signal ${signal}). Last lines of its log:\n${tail(LOG_FILE)}`,
			);
		});
	});

	const deadline = Date.now() + READY_TIMEOUT_MS;
	while (!/Editor is now accessible/.test(fs.readFileSync(LOG_FILE, 'utf8'))) {
		if (stopping) return;
		if (Date.now() > deadline) {
			stop('timeout');
			fail(
				`n8n did not become ready within ${READY_TIMEOUT_MS / 1000}s. Last lines of its log:\n${tail(LOG_FILE)}`,
			);
		}
		await new Promise((resolve) => setTimeout(resolve, 300));
	}
	const baseUrl = `http://127.0.0.1:${port}`;
	let hooks = [];
	try {
		hooks = await runtime.waitForWebhooks({
			baseUrl,
			workflows: imported.workflows,
			timeoutMs: Math.max(10_000, deadline - Date.now()),
			isAlive: () => child.exitCode === null && child.signalCode === null,
		});
	} catch (error) {
		if (stopping) return;
		say(`  ! ${error.message}`);
	}

	say('');
	say(`n8n ${runtime.N8N_VERSION} is running with n8n-nodes-dealflow ${version}.`);
	say('');
	say(`  Editor      ${baseUrl}/`);
	say('              (first visit: set up the owner account; it stays in .n8n-local/)');
	const published = imported.workflows.filter((flow) => flow.active !== false);
	if (imported.workflows.length > 0) {
		say(
			`  Workflows   ${imported.workflows.length} imported from workflows/, ${published.length} published:`,
		);
		for (const flow of imported.workflows) {
			say(
				`              ${flow.active === false ? '○' : '●'} ${flow.name}  ${baseUrl}/workflow/${flow.id}`,
			);
		}
	}
	if (hooks.length > 0) {
		say('  Webhooks');
		for (const hook of hooks)
			say(`              ${hook.method.padEnd(6)} ${baseUrl}/webhook/${hook.path}  (${hook.node})`);
	}
	const missing = missingCredentials(imported.workflows, imported.credentials);
	if (missing.length > 0) {
		say(
			'  Credentials these workflows use but workflows/credentials/ does not provide (create them',
		);
		say('  in the editor, then open each workflow and pick them; until then those nodes fail):');
		for (const cred of missing)
			say(
				`              ${cred.type}  "${cred.name}"  (id ${cred.id}; used by ${cred.usedBy.join(', ')})`,
			);
	}
	say(`  Log         ${path.relative(runtime.REPO_ROOT, LOG_FILE)}`);
	if (sandbox) {
		const webhookUrl = `${baseUrl}/webhook/${sandboxLib.WEBHOOKS.dealIntake.path}`;
		const opportunityIds = await sandboxLib.seedOpportunities(sandbox, {
			count: 5,
			lines: SANDBOX_LINES,
			namePrefix: 'Sandbox deal',
		});
		fs.writeFileSync(
			SANDBOX_STATE_FILE,
			JSON.stringify(
				{
					webhookUrl,
					calloutSecret: sandbox.secrets.salesforceCallout,
					xeroUrl: sandbox.xero.url,
					salesforceUrl: sandbox.salesforce.url,
					opportunityIds,
				},
				null,
				2,
			),
		);
		say('');
		say('Sandbox mode: no real Xero or Salesforce credentials are set, so the flow runs against');
		say('the local simulators (see README, "Sandbox mode").');
		say(`  Xero simulator        ${sandbox.xero.url}  (ledger: ${sandbox.xero.url}/__sim/ledger)`);
		say(`  Salesforce simulator  ${sandbox.salesforce.url}`);
		say(`  Warehouse             PostgreSQL schema ${sandbox.schema} on 127.0.0.1:5432/test`);
		say(`  Deal intake webhook   POST ${webhookUrl}`);
		say(`  Won opportunities     ${opportunityIds.join(', ')}`);
		say('');
		say('Send a signed sample deal and follow it to its Xero invoice, in another terminal:');
		say('');
		say('  npm run demo');
	}
	say('');
	say('Press Ctrl+C to stop n8n.');
}

/**
 * Sandbox mode unless the user brought their own Xero or Salesforce credentials (or said so).
 * @returns {boolean}
 */
function wantsSandbox(userCredentials) {
	if (process.env.DEALFLOW_SANDBOX === '0') return false;
	if (process.env.DEALFLOW_SANDBOX === '1') return true;
	return !userCredentials.some((cred) => /^dealflow(Xero|Salesforce)/.test(cred.type || ''));
}

/** Starts the simulators and the warehouse schema; exits with the cause when it can't. */
async function startSandbox() {
	say('▸ Sandbox mode: starting the Xero and Salesforce simulators and the warehouse schema');
	try {
		return await sandboxLib.startSandbox({
			token: 'local',
			schema: 'dealflow_sandbox',
			redisKeyPrefix: 'dealflow-sandbox',
		});
	} catch (error) {
		fail(
			`The sandbox could not start: ${error.message}\n` +
				'It needs PostgreSQL on 127.0.0.1:5432 (database test, user postgres, trust auth) and ' +
				'Redis on 127.0.0.1:6379. Set DEALFLOW_SANDBOX=0 to start n8n without it.',
		);
	}
}

/** The user's credential files win over the sandbox's ones with the same id. */
function mergeCredentials(sandboxCredentials, userCredentials) {
	const byId = new Map(sandboxCredentials.map((cred) => [cred.id, cred]));
	for (const cred of userCredentials) byId.set(cred.id, cred);
	return [...byId.values()];
}

main().catch((error) => fail(error instanceof Error ? error.message : String(error)));
