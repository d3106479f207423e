#!/usr/bin/env node
// `npm run screenshots`: pictures of the shipped workflows in the n8n editor, for the README.
// Starts a throwaway n8n 2.41.1 (its own temporary user folder, SQLite, free ports) with this
// package installed the way `npm start` installs it and every workflows/*.json imported but not
// published (nothing connects to Redis or the APIs), sets up the owner account through n8n's REST
// API, then drives Debian's Chromium (`apt-get install chromium`) with playwright-core: one
// docs/screenshots/<workflow file name>.png per workflow, zoomed to fit, plus the Signed Webhook's
// settings panel with its presets open. Everything it started is stopped and removed at the end.
//
//   npm run screenshots                 build the package first (tsc + gulp + n8n metadata)
//   npm run screenshots -- --no-build   use dist/ as it is
//   CHROMIUM=/path/to/chrome npm run screenshots
'use strict';

require('./lib/bootstrap').ensureNode24(__filename);

const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const runtime = require('./lib/n8n-runtime');

const WORKFLOWS_DIR = path.join(runtime.REPO_ROOT, 'workflows');
const OUT_DIR = path.join(runtime.REPO_ROOT, 'docs', 'screenshots');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const VIEWPORT = { width: 1600, height: 1000 };
const READY_TIMEOUT_MS = 240_000;
const CANVAS_TIMEOUT_MS = 60_000;

// The node whose settings panel is pictured, and the parameter opened in it.
const PANEL_NODE_TYPE = `${runtime.PACKAGE_NAME}.signedWebhook`;
const PANEL_PARAMETER = 'preset';
const PANEL_FILE = 'signed-webhook-presets.png';

// Chromium as the machine doc says it runs here: no calls home, which the closed network refuses.
// playwright-core's launch() gives it a fresh, empty profile folder of its own.
const CHROMIUM_ARGS = [
	'--no-sandbox',
	'--disable-gpu',
	'--disable-quic',
	'--no-first-run',
	'--disable-background-networking',
	'--disable-component-update',
	'--disable-sync',
];

// Things n8n floats over the canvas that say nothing about the workflow.
const HIDE_CSS = `
	[data-test-id="banner-stack"],
	[data-test-id="ask-assistant-floating-button"],
	[data-test-id="canvas-chat"],
	[data-test-id="canvas-chat-floating-menu"],
	.el-notification,
	.el-message {
		display: none !important;
	}
`;

function say(line = '') {
	process.stdout.write(`${line}\n`);
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

function tail(file, lines = 30) {
	if (!fs.existsSync(file)) return '';
	return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * The shipped workflows, each with the file name it is pictured under. Files that hold an array or
 * no `nodes` are skipped with a note (they are not single workflows).
 * @returns {{file: string, workflow: object}[]}
 */
function readWorkflows() {
	if (!fs.existsSync(WORKFLOWS_DIR)) return [];
	return fs
		.readdirSync(WORKFLOWS_DIR)
		.filter((name) => name.endsWith('.json'))
		.sort()
		.flatMap((name) => {
			const workflow = JSON.parse(fs.readFileSync(path.join(WORKFLOWS_DIR, name), 'utf8'));
			if (Array.isArray(workflow) || !Array.isArray(workflow.nodes)) {
				say(`  skipping workflows/${name}: not a single workflow`);
				return [];
			}
			return [{ file: path.basename(name, '.json'), workflow }];
		});
}

/**
 * One placeholder credential for every credential the workflows reference (same id, name and
 * type), so the editor shows the nodes as configured. The data is empty: nothing runs.
 * @returns {{id: string, name: string, type: string, data: object}[]}
 */
function placeholderCredentials(workflows) {
	const byId = new Map();
	for (const workflow of workflows) {
		for (const node of workflow.nodes) {
			for (const [type, ref] of Object.entries(node.credentials || {})) {
				if (ref && ref.id && !byId.has(ref.id)) {
					byId.set(ref.id, { id: ref.id, name: ref.name || type, type, data: {} });
				}
			}
		}
	}
	return [...byId.values()];
}

/** A throwaway n8n: the package installed, the workflows imported, the process started. */
async function startN8n({ userFolder, workflows, build }) {
	await runtime.provisionN8n({ log: (line) => say(`  ${line}`) });
	if (build) {
		say('▸ Building the package (tsc + gulp + n8n metadata)');
		await runtime.buildPackage();
	} else if (!fs.existsSync(path.join(runtime.REPO_ROOT, 'dist'))) {
		throw new Error('dist/ is missing; run without --no-build (or `npm run build`) first.');
	}

	say('▸ Packing the package and installing it into a temporary n8n user folder');
	const tarball = await runtime.packPackage({ destDir: path.join(userFolder, 'package') });
	await runtime.installPackage({ tarball, nodesDir: path.join(userFolder, '.n8n', 'nodes') });

	const port = await freePort();
	const env = runtime.n8nEnv({
		userFolder,
		port,
		brokerPort: await freePort(),
		encryptionKey: crypto.randomBytes(24).toString('hex'),
		extra: { N8N_UNVERIFIED_PACKAGES_ENABLED: 'true' },
	});

	say(`▸ Importing ${workflows.length} workflow(s), unpublished`);
	const imported = await runtime.importIntoN8n({
		env,
		workDir: path.join(userFolder, 'import'),
		workflows: workflows.map((workflow) => ({ ...workflow, active: false })),
		credentials: placeholderCredentials(workflows),
		logFile: path.join(userFolder, 'import.log'),
	});

	const logFile = path.join(userFolder, 'n8n.log');
	say(`▸ Starting n8n on port ${port}`);
	const logFd = fs.openSync(logFile, 'w');
	const child = spawn(runtime.node24Path(), [runtime.n8nCliPath(), 'start'], {
		cwd: userFolder,
		env,
		stdio: ['ignore', logFd, logFd],
	});
	fs.closeSync(logFd);
	const exited = new Promise((resolve) => child.once('exit', resolve));

	const deadline = Date.now() + READY_TIMEOUT_MS;
	while (!/Editor is now accessible/.test(fs.readFileSync(logFile, 'utf8'))) {
		if (child.exitCode !== null || child.signalCode !== null) {
			throw new Error(`n8n exited during start-up. Last lines of its log:\n${tail(logFile)}`);
		}
		if (Date.now() > deadline) {
			child.kill('SIGKILL');
			throw new Error(`n8n was not ready within ${READY_TIMEOUT_MS / 1000} s:\n${tail(logFile)}`);
		}
		await new Promise((resolve) => setTimeout(resolve, 300));
	}

	const stop = async () => {
		if (child.exitCode !== null || child.signalCode !== null) return;
		child.kill('SIGTERM');
		const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
		await exited;
		clearTimeout(timer);
	};
	return { baseUrl: `http://127.0.0.1:${port}`, workflows: imported.workflows, logFile, stop };
}

/**
 * Creates n8n's owner account; n8n answers with the session cookie, which the browser context
 * then holds, so no login form is needed.
 * @throws {Error} with n8n's answer when the setup is refused
 */
async function setUpOwner(context, baseUrl) {
	const response = await context.request.post(`${baseUrl}/rest/owner/setup`, {
		data: {
			email: 'screenshots@example.com',
			firstName: 'Dealflow',
			lastName: 'Docs',
			// n8n asks for 8+ characters with a digit and a capital; the account dies with the run.
			password: `Df${crypto.randomBytes(12).toString('hex')}7`,
		},
	});
	if (!response.ok()) {
		throw new Error(`n8n refused the owner setup: ${response.status()} ${await response.text()}`);
	}
}

/**
 * Opens a workflow on the canvas and waits until every node of it is drawn and the canvas is
 * zoomed to fit. @throws {Error} when the canvas does not show all nodes in time
 */
async function openWorkflow(page, { baseUrl, workflow }) {
	await page.goto(`${baseUrl}/workflow/${workflow.id}`, { waitUntil: 'domcontentloaded' });
	await page.addStyleTag({ content: HIDE_CSS });
	await page.waitForFunction(
		(count) => document.querySelectorAll('.vue-flow__node').length >= count,
		workflow.nodes.length,
		{ timeout: CANVAS_TIMEOUT_MS },
	);
	// n8n keeps its push connection open, so "idle" may never come; it is only a best effort.
	await page.waitForLoadState('networkidle', { timeout: 10_000 }).catch(() => {});
	await dismissOverlays(page);
	await page.locator('[data-test-id="zoom-to-fit"]').click();
	// Zoom to fit animates; let it finish before the picture.
	await page.waitForTimeout(800);
}

/** Closes what n8n pops up on a first visit (modals, callouts) where it has a close button. */
async function dismissOverlays(page) {
	await page.keyboard.press('Escape');
	for (const selector of ['.el-dialog__headerbtn', '[data-test-id="callout-dismiss-icon"]']) {
		const buttons = page.locator(selector);
		for (let index = (await buttons.count()) - 1; index >= 0; index -= 1) {
			await buttons
				.nth(index)
				.click({ timeout: 2000 })
				.catch(() => {});
		}
	}
}

/**
 * Opens the settings panel of the first Signed Webhook node and the dropdown of its presets.
 * @returns {Promise<boolean>} false when no shipped workflow has a Signed Webhook
 */
async function shootPresetPanel(page, { baseUrl, workflows }) {
	const workflow = workflows.find((flow) =>
		flow.nodes.some((node) => node.type === PANEL_NODE_TYPE),
	);
	if (!workflow) return false;
	const node = workflow.nodes.find((candidate) => candidate.type === PANEL_NODE_TYPE);

	await openWorkflow(page, { baseUrl, workflow });
	// Vue Flow tags each drawn node with the n8n node's id; a file without ids gets new ones.
	const drawn = node.id
		? page.locator(`.vue-flow__node[data-id="${node.id}"]`)
		: page.locator('.vue-flow__node').filter({ hasText: node.name }).first();
	await drawn.dblclick();
	const ndv = page.locator('[data-test-id="ndv"]');
	await ndv.waitFor({ state: 'visible', timeout: CANVAS_TIMEOUT_MS });
	await page.locator(`[data-test-id="parameter-input-${PANEL_PARAMETER}"]`).first().click();
	// The list scrolls after four presets; let it grow so the picture shows all of them.
	await page.addStyleTag({
		content:
			'.el-select-dropdown__wrap, .el-select-dropdown .el-scrollbar__wrap { max-height: none !important; }',
	});
	await page.locator('.el-select-dropdown__item:visible').first().waitFor({ timeout: 10_000 });
	await page.waitForTimeout(400);
	await page.screenshot({ path: path.join(OUT_DIR, PANEL_FILE) });
	await page.keyboard.press('Escape');
	return true;
}

async function main() {
	const build = !process.argv.includes('--no-build') && process.env.DEALFLOW_SKIP_BUILD !== '1';
	if (!fs.existsSync(CHROMIUM)) {
		throw new Error(
			`${CHROMIUM} is missing. Install Debian's Chromium (apt-get install -y chromium) ` +
				'or point CHROMIUM at a Chrome or Chromium binary.',
		);
	}
	const entries = readWorkflows();
	if (entries.length === 0) throw new Error('workflows/ holds no workflow to picture.');

	const { chromium } = require('playwright-core');
	const userFolder = fs.mkdtempSync(path.join(os.tmpdir(), 'dealflow-screenshots-'));
	let n8n;
	let browser;
	try {
		n8n = await startN8n({ userFolder, workflows: entries.map((entry) => entry.workflow), build });
		browser = await chromium.launch({
			executablePath: CHROMIUM,
			headless: true,
			args: CHROMIUM_ARGS,
		});
		const context = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1 });
		await setUpOwner(context, n8n.baseUrl);
		const page = await context.newPage();

		fs.mkdirSync(OUT_DIR, { recursive: true });
		for (const [index, entry] of entries.entries()) {
			const workflow = n8n.workflows[index];
			await openWorkflow(page, { baseUrl: n8n.baseUrl, workflow });
			const file = path.join(OUT_DIR, `${entry.file}.png`);
			await page.screenshot({ path: file });
			say(`  ✓ ${path.relative(runtime.REPO_ROOT, file)}  (${workflow.name})`);
		}
		if (await shootPresetPanel(page, { baseUrl: n8n.baseUrl, workflows: n8n.workflows })) {
			say(`  ✓ ${path.relative(runtime.REPO_ROOT, path.join(OUT_DIR, PANEL_FILE))}`);
		}
	} catch (error) {
		if (n8n) error.message += `\nLast lines of n8n's log:\n${tail(n8n.logFile, 15)}`;
		throw error;
	} finally {
		await browser?.close().catch(() => {});
		await n8n?.stop();
		if (process.env.DEALFLOW_KEEP_SCREENSHOT_FOLDER === '1') say(`  kept ${userFolder}`);
		else fs.rmSync(userFolder, { recursive: true, force: true });
	}
}

main().catch((error) => {
	process.stderr.write(`\n✗ ${error instanceof Error ? error.message : String(error)}\n`);
	process.exit(1);
});
