'use strict';

// HTTP load from a separate process: autocannon's own CLI, run on Node 24 as a child process,
// so the load generator never shares an event loop (or a CPU time slice) with the code under test.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const runtime = require('../../scripts/lib/n8n-runtime');

const AUTOCANNON = path.join(runtime.REPO_ROOT, 'node_modules', 'autocannon', 'autocannon.js');

/**
 * Sends the same request for `seconds` over `connections` keep-alive connections.
 * @param {{url: string, method?: string, headers?: Record<string,string>, body?: string,
 *   connections: number, seconds: number}} options
 * @returns {Promise<{rps: number, total: number, p50: number, p90: number, p99: number,
 *   mean: number, ok: number, non2xx: number, errors: number, timeouts: number}>}
 *   latencies in ms, `rps` the mean requests per second over the run
 * @throws {Error} when autocannon fails or prints no result
 */
function loadTest(options) {
	const args = [
		AUTOCANNON,
		'--json',
		'-c',
		String(options.connections),
		'-d',
		String(options.seconds),
		'-m',
		options.method ?? 'POST',
	];
	for (const [name, value] of Object.entries(options.headers ?? {}))
		args.push('-H', `${name}=${value}`);
	if (options.body !== undefined) args.push('-b', options.body);
	args.push(options.url);

	return new Promise((resolve, reject) => {
		const child = spawn(runtime.node24Path(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
		let stdout = '';
		let stderr = '';
		child.stdout.on('data', (chunk) => (stdout += chunk));
		child.stderr.on('data', (chunk) => (stderr += chunk));
		child.on('error', reject);
		child.on('exit', (code) => {
			const start = stdout.indexOf('{');
			if (code !== 0 || start < 0) {
				reject(
					new Error(`autocannon exited with ${code}: ${stderr.slice(-500) || stdout.slice(-500)}`),
				);
				return;
			}
			const result = JSON.parse(stdout.slice(start));
			resolve({
				rps: result.requests.average,
				total: result.requests.total,
				p50: result.latency.p50,
				p90: result.latency.p90,
				p99: result.latency.p99,
				mean: result.latency.mean,
				ok: result['2xx'],
				non2xx: result.non2xx,
				errors: result.errors,
				timeouts: result.timeouts,
			});
		});
	});
}

/**
 * CPU time (user + system, all threads) a process has used so far, from /proc.
 * @returns {number|undefined} milliseconds, or undefined where /proc is not readable
 */
function processCpuMs(pid) {
	try {
		const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
		// Fields after the command name, which is in parentheses and may contain spaces.
		const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
		const ticks = Number(fields[11]) + Number(fields[12]);
		return (ticks * 1000) / 100;
	} catch {
		return undefined;
	}
}

module.exports = { loadTest, processCpuMs };
