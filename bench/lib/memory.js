'use strict';

// Resident memory of n8n's processes, read from /proc while a measure runs. n8n's main and each
// worker may start task-runner children; each process tree is counted whole, since a user pays
// for all of it.

const fs = require('node:fs');

function statusField(pid, field) {
	try {
		const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
		const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
		return match ? Number(match[1]) * 1024 : undefined;
	} catch {
		return undefined;
	}
}

function childrenOf(pid) {
	const children = [];
	try {
		for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
			const text = fs.readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
			if (text) children.push(...text.split(/\s+/).map(Number));
		}
	} catch {
		// The process ended between two reads.
	}
	return children;
}

/**
 * The process and all its descendants.
 * @returns {number[]} pids, the root first; never throws
 */
function processTree(pid) {
	const seen = [pid];
	for (let index = 0; index < seen.length; index++) seen.push(...childrenOf(seen[index]));
	return seen;
}

/**
 * Samples the summed VmRSS of the given process trees every `intervalMs` until `stop()`.
 * @param {{pids: () => number[], intervalMs?: number}} options `pids` is called at every sample,
 *   so restarted processes are followed
 * @returns {{stop: () => {peakBytes: number, peakByRoot: Record<string, number>, samples: number,
 *   hwmBytes: Record<string, number|undefined>}}} `peakBytes` is the highest sum seen;
 *   `peakByRoot` each root tree's own highest; `hwmBytes` each root's kernel VmHWM at stop
 */
function sampleRss({ pids, intervalMs = 200 }) {
	let peakBytes = 0;
	let samples = 0;
	const peakByRoot = {};
	const sample = () => {
		let total = 0;
		for (const root of pids()) {
			let tree = 0;
			for (const pid of processTree(root)) tree += statusField(pid, 'VmRSS') ?? 0;
			peakByRoot[root] = Math.max(peakByRoot[root] ?? 0, tree);
			total += tree;
		}
		peakBytes = Math.max(peakBytes, total);
		samples++;
	};
	sample();
	const timer = setInterval(sample, intervalMs);
	return {
		stop() {
			clearInterval(timer);
			sample();
			const hwmBytes = Object.fromEntries(pids().map((pid) => [pid, statusField(pid, 'VmHWM')]));
			return { peakBytes, peakByRoot, samples, hwmBytes };
		},
	};
}

module.exports = { processTree, sampleRss };
