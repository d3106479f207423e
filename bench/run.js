'use strict';

/**
 * `npm run bench [-- name ...] [--no-build] [--no-docs]`
 *
 * Runs every module in bench/measures/ (or only the named ones), prints one table, writes the raw
 * results to bench/results/ and regenerates the measured sections of docs/benchmarks.md.
 *
 * A measure module exports `{ name, description, run }`, where `run(ctx)` resolves with
 * `{ rows: [{ metric, ours, baseline, ratio, goal, met? }], notes }`:
 * - `ratio` is ours ÷ baseline (or the share of a ceiling), so figures from a shared machine
 *   stay comparable from run to run;
 * - `goal` is a number (the ratio must be at least this) or a text such as '>=0.8x'; a row whose
 *   goal is not a ratio bound can say `met: true|false` itself;
 * - `notes` (text or a list of sentences) says what both sides are and where the time goes.
 * `ctx` holds `{ name, root, resultsDir, runId, log(line) }`.
 *
 * Each measure runs in its own Node 24 child process, so a measure that leaves a socket or timer
 * open, or crashes, cannot stall or break the others.
 */

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const runtime = require('../scripts/lib/n8n-runtime');
const { describeMachine } = require('./lib/machine');
const { consoleTable, updateDocs } = require('./lib/report');

const ROOT = path.resolve(__dirname, '..');
const MEASURES_DIR = path.join(__dirname, 'measures');
const RESULTS_DIR = path.join(__dirname, 'results');
const DOCS_FILE = path.join(ROOT, 'docs', 'benchmarks.md');
const CHILD_FLAG = '--child-measure';
const MEASURE_TIMEOUT_MS = Number(process.env.BENCH_MEASURE_TIMEOUT_MIN || 45) * 60_000;

function log(line) {
	process.stderr.write(`[bench] ${line}\n`);
}

function parseArgs(argv) {
	const options = { names: [], build: true, docs: true };
	for (const arg of argv) {
		if (arg === '--no-build') options.build = false;
		else if (arg === '--no-docs') options.docs = false;
		else if (arg === '--help' || arg === '-h') options.help = true;
		else if (arg.startsWith('-')) throw new Error(`Unknown option ${arg}; try --help.`);
		else options.names.push(arg);
	}
	return options;
}

function availableMeasures() {
	return fs
		.readdirSync(MEASURES_DIR)
		.filter((file) => file.endsWith('.js'))
		.map((file) => file.slice(0, -3))
		.sort();
}

/** Newest modification time under `dir` (recursive), skipping node_modules. */
function newestMtime(dir, accept) {
	let newest = 0;
	if (!fs.existsSync(dir)) return newest;
	for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
		if (entry.name === 'node_modules') continue;
		const full = path.join(dir, entry.name);
		if (entry.isDirectory()) newest = Math.max(newest, newestMtime(full, accept));
		else if (accept(entry.name)) newest = Math.max(newest, fs.statSync(full).mtimeMs);
	}
	return newest;
}

function buildIsStale() {
	const dist = path.join(ROOT, 'dist');
	const built = newestMtime(dist, () => true);
	if (built === 0) return true;
	const sourceFile = (name) => /\.(ts|json|svg)$/.test(name) && !name.endsWith('.test.ts');
	const sources = Math.max(
		newestMtime(path.join(ROOT, 'nodes'), sourceFile),
		newestMtime(path.join(ROOT, 'credentials'), sourceFile),
		fs.statSync(path.join(ROOT, 'package.json')).mtimeMs,
	);
	return sources > built;
}

async function buildIfNeeded() {
	if (!buildIsStale()) {
		log('dist/ is newer than the sources; not rebuilding.');
		return;
	}
	try {
		await runtime.buildPackage({ log });
	} catch (error) {
		// Other people may be editing the sources right now; a stale but complete dist/ still
		// measures something real, so go on with it and say so.
		if (!fs.existsSync(path.join(ROOT, 'dist', 'nodes'))) throw error;
		log(
			`The build failed; measuring the existing dist/ instead. ${String(error.message).split('\n')[0]}`,
		);
	}
}

/** Runs one measure in a child process; resolves with its result or `{ error }`. */
function runInChild(name, runId) {
	const outFile = path.join(RESULTS_DIR, `.${runId}-${name}.json`);
	const started = Date.now();
	return new Promise((resolve) => {
		const child = spawn(runtime.node24Path(), [__filename, CHILD_FLAG, name, runId, outFile], {
			cwd: ROOT,
			env: runtime.envWithNode24(),
			stdio: ['ignore', 'inherit', 'inherit'],
		});
		const timer = setTimeout(() => {
			log(`${name} ran longer than ${MEASURE_TIMEOUT_MS / 60_000} min; stopping it.`);
			child.kill('SIGTERM');
		}, MEASURE_TIMEOUT_MS);
		child.on('exit', (code, signal) => {
			clearTimeout(timer);
			const durationMs = Date.now() - started;
			let result;
			try {
				result = JSON.parse(fs.readFileSync(outFile, 'utf8'));
				fs.rmSync(outFile, { force: true });
			} catch {
				result = {
					name,
					error: `the measure process exited (${signal ?? `code ${code}`}) without a result`,
				};
			}
			resolve({ ...result, durationMs });
		});
	});
}

/** The child side: load one measure, run it, write its result, exit even if handles remain. */
async function childMain([name, runId, outFile]) {
	// Harness processes and timers may be unref'd; without a handle of its own, Node would exit
	// mid-measure with code 0 as soon as nothing else holds the event loop.
	const keepAlive = setInterval(() => undefined, 60_000);
	let result;
	try {
		const measure = require(path.join(MEASURES_DIR, `${name}.js`));
		if (typeof measure.run !== 'function')
			throw new Error(`bench/measures/${name}.js exports no run()`);
		const ctx = {
			name,
			root: ROOT,
			resultsDir: RESULTS_DIR,
			runId,
			log: (line) => log(`${name}: ${line}`),
		};
		const output = await measure.run(ctx);
		if (!output || !Array.isArray(output.rows) || output.rows.length === 0) {
			throw new Error('run() resolved without rows');
		}
		result = {
			name: measure.name ?? name,
			description: measure.description ?? '',
			rows: output.rows,
			notes: output.notes,
			extra: output.extra,
		};
	} catch (error) {
		result = {
			name,
			error: error instanceof Error ? (error.stack ?? error.message) : String(error),
		};
	}
	fs.writeFileSync(outFile, JSON.stringify(result));
	clearInterval(keepAlive);
	process.exit(0);
}

async function main() {
	const options = parseArgs(process.argv.slice(2));
	const available = availableMeasures();
	if (options.help) {
		console.log(
			`Usage: npm run bench [-- <measure> ...] [--no-build] [--no-docs]\nMeasures: ${available.join(', ')}`,
		);
		return;
	}
	const unknown = options.names.filter((name) => !available.includes(name));
	if (unknown.length > 0) {
		throw new Error(`No measure named ${unknown.join(', ')}. Available: ${available.join(', ')}.`);
	}
	const names = options.names.length > 0 ? options.names : available;

	fs.mkdirSync(RESULTS_DIR, { recursive: true });
	const startedAt = new Date().toISOString();
	const runId = startedAt.replace(/[:.]/g, '-');
	const run = {
		startedAt,
		command: options.names.length > 0 ? `npm run bench -- ${names.join(' ')}` : 'npm run bench',
		machine: describeMachine(),
	};
	log(`Measures: ${names.join(', ')}. Node ${run.machine.node}, n8n ${run.machine.n8n}.`);
	if (options.build) await buildIfNeeded();

	const results = [];
	for (const name of names) {
		log(`Running ${name}.`);
		const result = await runInChild(name, runId);
		if (result.error) log(`${name} failed: ${result.error}`);
		else log(`${name} finished in ${Math.round(result.durationMs / 1000)} s.`);
		results.push(result);
	}

	console.log(`\n${consoleTable(results)}\n`);
	for (const result of results) {
		if (result.notes) console.log(`${result.name}: ${[].concat(result.notes).join(' ')}\n`);
	}

	const rawFile = path.join(RESULTS_DIR, `${runId}.json`);
	fs.writeFileSync(rawFile, `${JSON.stringify({ ...run, results }, null, 2)}\n`);
	log(`Raw results: ${path.relative(ROOT, rawFile)}`);
	if (options.docs && results.some((result) => !result.error)) {
		const written = updateDocs({ file: DOCS_FILE, run, results });
		await formatWithPrettier(DOCS_FILE);
		log(
			`docs/benchmarks.md: updated ${written.length > 0 ? written.join(', ') : 'the machine section only'}.`,
		);
	}
	if (results.some((result) => result.error)) process.exitCode = 1;
}

/** Formats the document like the rest of the repository; a failure only leaves it unformatted. */
async function formatWithPrettier(file) {
	try {
		const prettier = require('prettier');
		const config = (await prettier.resolveConfig(file)) ?? {};
		const text = fs.readFileSync(file, 'utf8');
		fs.writeFileSync(file, await prettier.format(text, { ...config, filepath: file }));
	} catch (error) {
		log(`Could not run prettier on ${path.relative(ROOT, file)}: ${error.message}`);
	}
}

function reexecOnNode24() {
	// n8n 2.x and the measures need Node 24; `node bench/run.js` on an older Node re-runs itself.
	const child = spawn(runtime.node24Path(), [__filename, ...process.argv.slice(2)], {
		stdio: 'inherit',
		env: runtime.envWithNode24(),
	});
	child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 1)));
}

if (process.argv[2] === CHILD_FLAG) {
	void childMain(process.argv.slice(3));
} else if (Number(process.versions.node.split('.')[0]) < 24) {
	reexecOnNode24();
} else {
	main().catch((error) => {
		log(error instanceof Error ? error.message : String(error));
		process.exitCode = 1;
	});
}
