#!/usr/bin/env node
// `npm test`: the whole suite on Node 24, stage by stage, stopping at the first failing stage.
//   n8n     provision the pinned n8n 2.41.1 into its cache if it is missing
//   build   tsc + gulp, and n8n's lazy-load metadata
//   lint    npm run lint (n8n's rules for nodes, credentials and package.json)
//   unit    jest project unit
//   service jest project service (real Redis, PostgreSQL, MariaDB, local API simulators)
//   e2e     jest project e2e (the packed package inside a real n8n, regular and queue mode)
// Arguments name the stages to run (`npm test -- unit service`); none means all of them.
'use strict';

require('../scripts/lib/bootstrap').ensureNode24(__filename);

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const runtime = require('../scripts/lib/n8n-runtime');

const JEST = path.join(runtime.REPO_ROOT, 'node_modules', 'jest', 'bin', 'jest.js');
const reportDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dealflow-test-run-'));
const totals = { passed: 0, failed: 0, skipped: 0 };

function say(line) {
	process.stdout.write(`${line}\n`);
}

/** Runs a command with inherited output. @returns {Promise<number>} its exit code */
function runVisible(command, args, env = runtime.envWithNode24()) {
	const { spawn } = require('node:child_process');
	return new Promise((resolve) => {
		const child = spawn(command, args, { cwd: runtime.REPO_ROOT, env, stdio: 'inherit' });
		child.on('error', (error) => {
			say(`Could not run ${command}: ${error.message}`);
			resolve(1);
		});
		child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
	});
}

/** Runs one jest project and adds its counts to the totals. @returns {Promise<number>} exit code */
async function jestProject(project, extraArgs = [], extraEnv = {}) {
	const report = path.join(reportDir, `${project}.json`);
	const code = await runVisible(
		runtime.node24Path(),
		[JEST, '--selectProjects', project, '--json', `--outputFile=${report}`, ...extraArgs],
		runtime.envWithNode24({ ...process.env, ...extraEnv }),
	);
	try {
		const result = JSON.parse(fs.readFileSync(report, 'utf8'));
		totals.passed += result.numPassedTests;
		totals.failed += result.numFailedTests + (result.numRuntimeErrorTestSuites || 0);
		totals.skipped += result.numPendingTests + result.numTodoTests;
		if (result.numTotalTests === 0) {
			say(`The ${project} project ran no test.`);
			return code || 1;
		}
	} catch {
		// No report: jest failed before running anything; its own output says why.
	}
	return code;
}

const stages = [
	{
		name: 'n8n',
		what: `provision n8n ${runtime.N8N_VERSION}`,
		run: async () => {
			await runtime.provisionN8n({ log: say });
			return 0;
		},
	},
	{
		name: 'build',
		what: 'build the package (tsc + gulp, lazy-load metadata)',
		run: async () => {
			const code = await runVisible('npm', ['run', 'build']);
			if (code !== 0) return code;
			await runtime.generateMetadata({ log: say });
			return 0;
		},
	},
	{ name: 'lint', what: 'n8n lint rules', run: () => runVisible('npm', ['run', 'lint']) },
	{ name: 'unit', what: 'unit tests', run: () => jestProject('unit') },
	{ name: 'service', what: 'service tests', run: () => jestProject('service') },
	{
		name: 'e2e',
		what: 'e2e tests in a real n8n',
		// One file at a time: each starts real n8n processes, and the machine may have 2 cores.
		run: () => jestProject('e2e', ['--runInBand'], { DEALFLOW_SKIP_BUILD: '1' }),
	},
];

function summaryLine() {
	const skipped = totals.skipped ? `, ${totals.skipped} skipped` : '';
	return `Tests: ${totals.passed} passed, ${totals.failed} failed${skipped}`;
}

async function main() {
	const wanted = process.argv.slice(2);
	const unknown = wanted.filter((name) => !stages.some((stage) => stage.name === name));
	if (unknown.length > 0) {
		say(
			`Unknown stage(s): ${unknown.join(', ')}. Stages: ${stages.map((s) => s.name).join(', ')}.`,
		);
		return 2;
	}
	const selected = wanted.length ? stages.filter((stage) => wanted.includes(stage.name)) : stages;
	say(
		`Running on Node ${process.versions.node}: ${selected.map((stage) => stage.name).join(' → ')}`,
	);
	const timings = [];
	for (const stage of selected) {
		const started = Date.now();
		say(`\n=== ${stage.name}: ${stage.what} ===`);
		let code;
		try {
			code = await stage.run();
		} catch (error) {
			say(error instanceof Error ? error.message : String(error));
			code = 1;
		}
		const seconds = Math.round((Date.now() - started) / 1000);
		timings.push(`${stage.name} ${seconds}s`);
		if (code !== 0) {
			// A stage without test counts (build, lint, a jest run that never started) counts as one
			// failure, so the summary line never reads "0 failed" for a failed run.
			if (!['unit', 'service', 'e2e'].includes(stage.name) || totals.failed === 0) {
				totals.failed += 1;
			}
			say(
				`\n✗ Stage "${stage.name}" (${stage.what}) failed with exit code ${code} after ${seconds}s.`,
			);
			say(`Stages run: ${timings.join(', ')}. Later stages were not run.`);
			say(summaryLine());
			return code;
		}
	}
	say(`\n✓ All stages passed: ${timings.join(', ')}.`);
	say(summaryLine());
	return 0;
}

main()
	.then((code) => {
		fs.rmSync(reportDir, { recursive: true, force: true });
		process.exit(code);
	})
	.catch((error) => {
		say(error instanceof Error ? (error.stack ?? error.message) : String(error));
		process.exit(1);
	});
