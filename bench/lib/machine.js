'use strict';

// What a benchmark figure was measured on. Absolute numbers mean little without it, and on a
// shared machine the load average at the start says how much to trust them.

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const runtime = require('../../scripts/lib/n8n-runtime');

/**
 * The version of the pinned n8n as installed in the cache.
 * @returns {string} e.g. '2.41.1', or 'not provisioned' when the cache has no n8n yet
 */
function n8nVersion() {
	try {
		const manifest = path.join(runtime.n8nModulesDir(), 'n8n', 'package.json');
		return JSON.parse(fs.readFileSync(manifest, 'utf8')).version;
	} catch {
		return 'not provisioned';
	}
}

/**
 * The current commit, with `-dirty` when tracked files have uncommitted changes.
 * @returns {string} short hash, or 'unknown' outside a git checkout
 */
function gitCommit() {
	try {
		const hash = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
			cwd: runtime.REPO_ROOT,
			stdio: ['ignore', 'pipe', 'ignore'],
		})
			.toString()
			.trim();
		const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
			cwd: runtime.REPO_ROOT,
			stdio: ['ignore', 'pipe', 'ignore'],
		})
			.toString()
			.trim();
		return dirty ? `${hash}-dirty` : hash;
	} catch {
		return 'unknown';
	}
}

/**
 * Describes this machine and the software under test.
 * @returns {{cores: number, cpuModel: string, memoryGiB: number, loadAverage: number[],
 *   platform: string, node: string, n8n: string, commit: string}} never throws
 */
function describeMachine() {
	const cpus = os.cpus();
	return {
		cores: cpus.length,
		cpuModel: (cpus[0]?.model ?? 'unknown').replace(/\s+/g, ' ').trim(),
		memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
		loadAverage: os.loadavg().map((value) => Math.round(value * 100) / 100),
		platform: `${os.type()} ${os.release()} ${os.arch()}`,
		node: process.version,
		n8n: n8nVersion(),
		commit: gitCommit(),
	};
}

module.exports = { describeMachine, n8nVersion };
