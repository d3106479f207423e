'use strict';

// Turns measure results into the console table and into the generated parts of
// docs/benchmarks.md. Only the text between `<!-- bench:... -->` markers is ever rewritten; any
// other section of that file belongs to whoever wrote it and is kept as it is.

const fs = require('node:fs');

const MACHINE_START = '<!-- bench:machine:start -->';
const MACHINE_END = '<!-- bench:machine:end -->';
const SUMMARY_START = '<!-- bench:summary:start -->';
const SUMMARY_END = '<!-- bench:summary:end -->';
const DATA_PREFIX = '<!-- bench:data ';
const measureStart = (name) => `<!-- bench:measure:${name}:start -->`;
const measureEnd = (name) => `<!-- bench:measure:${name}:end -->`;
const MEASURE_BLOCK =
	/<!-- bench:measure:([a-z0-9_-]+):start -->[\s\S]*?<!-- bench:measure:\1:end -->/g;

const GOAL_PATTERN = /^\s*(>=|≥|<=|≤|>|<)\s*([0-9]*\.?[0-9]+)\s*(x|×|%)?\s*$/;

/**
 * Whether a row meets its goal. A row may decide for itself with `met: true|false`; otherwise a
 * numeric goal means "ratio at least this", and a string goal such as '>=0.8x' or '<=1.2' is
 * compared with the ratio.
 * @returns {boolean|undefined} undefined when the row has no goal or the goal is not a ratio
 *   bound (say '≤300 ms p50'), so the table shows no verdict rather than a guessed one
 */
function meetsGoal(row) {
	if (typeof row.met === 'boolean') return row.met;
	if (typeof row.ratio !== 'number' || !Number.isFinite(row.ratio)) return undefined;
	if (typeof row.goal === 'number') return row.ratio >= row.goal;
	if (typeof row.goal !== 'string') return undefined;
	const match = GOAL_PATTERN.exec(row.goal);
	if (!match) return undefined;
	const bound = Number(match[2]) / (match[3] === '%' ? 100 : 1);
	switch (match[1]) {
		case '>=':
		case '≥':
			return row.ratio >= bound;
		case '>':
			return row.ratio > bound;
		case '<=':
		case '≤':
			return row.ratio <= bound;
		default:
			return row.ratio < bound;
	}
}

function formatNumber(value) {
	if (typeof value !== 'number') return value === undefined || value === null ? '' : String(value);
	if (!Number.isFinite(value)) return String(value);
	if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en');
	if (Number.isInteger(value)) return String(value);
	return String(Math.round(value * 100) / 100);
}

function formatGoal(goal) {
	if (typeof goal === 'number') return `≥ ${goal}×`;
	return goal === undefined || goal === null ? '' : String(goal);
}

function formatRatio(ratio) {
	return typeof ratio === 'number' ? `${formatNumber(ratio)}×` : formatNumber(ratio);
}

function verdictText(row) {
	const met = meetsGoal(row);
	if (met === undefined) return '';
	return met ? 'met' : 'NOT met';
}

function notesText(notes) {
	if (notes === undefined || notes === null) return '';
	return Array.isArray(notes) ? notes.join(' ') : String(notes);
}

/**
 * A fixed-width text table of every row of every result, for the terminal.
 * @param {Array<{name: string, rows?: object[], error?: string}>} results
 * @returns {string}
 */
function consoleTable(results) {
	const header = ['measure', 'metric', 'ours', 'baseline', 'ratio', 'goal', 'verdict'];
	const lines = [header];
	for (const result of results) {
		if (result.error) {
			lines.push([result.name, `FAILED: ${result.error.split('\n')[0]}`, '', '', '', '', '']);
			continue;
		}
		for (const row of result.rows) {
			lines.push([
				result.name,
				row.metric,
				formatNumber(row.ours),
				formatNumber(row.baseline),
				formatRatio(row.ratio),
				formatGoal(row.goal),
				verdictText(row),
			]);
		}
	}
	const widths = header.map((_, column) =>
		Math.min(column === 1 ? 90 : 30, Math.max(...lines.map((line) => String(line[column]).length))),
	);
	return lines
		.map((line) => line.map((cell, column) => String(cell).padEnd(widths[column])).join('  '))
		.join('\n');
}

function markdownCell(value) {
	return String(value).replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function markdownRows(rows) {
	return rows.map((cells) => `| ${cells.map(markdownCell).join(' | ')} |`).join('\n');
}

function machineLine(machine) {
	return (
		`${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB RAM, ` +
		`load average ${machine.loadAverage.join(' / ')} at the start, Node ${machine.node}, ` +
		`n8n ${machine.n8n}, commit ${machine.commit}`
	);
}

function measureBlock(result, run) {
	const rows = result.rows.map((row) => [
		row.metric,
		formatNumber(row.ours),
		formatNumber(row.baseline),
		formatRatio(row.ratio),
		formatGoal(row.goal),
		verdictText(row),
	]);
	const data = {
		name: result.name,
		description: result.description,
		measuredAt: run.startedAt,
		command: run.command,
		rows: result.rows,
	};
	const notes = notesText(result.notes);
	return [
		measureStart(result.name),
		`### ${result.name}: ${result.description}`,
		'',
		`Measured ${run.startedAt.slice(0, 16).replace('T', ' ')} UTC with \`${run.command}\` ` +
			`in ${Math.round(result.durationMs / 1000)} s. Machine: ${machineLine(run.machine)}.`,
		'',
		'| Metric | Ours | Baseline | Ratio | Goal | Verdict |',
		'|---|---:|---:|---:|---|---|',
		markdownRows(rows),
		...(notes ? ['', notes] : []),
		// The rows travel with the block, so the summary can be rebuilt after a partial run.
		`${DATA_PREFIX}${JSON.stringify(data).replace(/--/g, '-\\u002d')} -->`,
		measureEnd(result.name),
	].join('\n');
}

function readBlockData(block) {
	const start = block.indexOf(DATA_PREFIX);
	if (start < 0) return undefined;
	const end = block.indexOf(' -->', start);
	try {
		return JSON.parse(block.slice(start + DATA_PREFIX.length, end));
	} catch {
		return undefined;
	}
}

function summaryBlock(blocks) {
	const rows = [];
	for (const block of blocks) {
		const data = readBlockData(block);
		if (!data) continue;
		for (const row of data.rows) {
			rows.push([
				data.name,
				row.metric,
				formatNumber(row.ours),
				formatNumber(row.baseline),
				formatRatio(row.ratio),
				formatGoal(row.goal),
				verdictText(row),
				data.measuredAt.slice(0, 10),
			]);
		}
	}
	return [
		SUMMARY_START,
		'## Summary',
		'',
		'Ratios are ours ÷ baseline from the same run on the same machine; each measure section below',
		'says what both sides are and where the time goes.',
		'',
		'| Measure | Metric | Ours | Baseline | Ratio | Goal | Verdict | Measured |',
		'|---|---|---:|---:|---:|---|---|---|',
		markdownRows(rows),
		SUMMARY_END,
	].join('\n');
}

function machineBlock(run) {
	const m = run.machine;
	return [
		MACHINE_START,
		'## Machine and command (latest run)',
		'',
		`- Run: ${run.startedAt.slice(0, 16).replace('T', ' ')} UTC, \`${run.command}\`, commit ${m.commit}`,
		`- CPU: ${m.cores} cores, ${m.cpuModel}`,
		`- Memory: ${m.memoryGiB} GiB; load average at the start ${m.loadAverage.join(' / ')}` +
			' (the machine is shared, so compare ratios, not absolute figures)',
		`- Software: Node ${m.node}, n8n ${m.n8n}, ${m.platform}`,
		'- Reproduce: `npm run bench` runs every measure; `npm run bench -- gate webhook` runs only',
		'  those. Raw results go to `bench/results/` (not committed).',
		MACHINE_END,
	].join('\n');
}

function replaceBetween(text, start, end, replacement) {
	const from = text.indexOf(start);
	const to = text.indexOf(end);
	if (from < 0 || to < from) return undefined;
	return text.slice(0, from) + replacement + text.slice(to + end.length);
}

const DEFAULT_HEAD = [
	'# Benchmarks',
	'',
	'`npm run bench` measures the package against what a user would otherwise pick, in one run on',
	'one machine. The sections between `bench:` markers are generated; do not edit them by hand.',
	'Other sections are written by people and are kept as they are.',
	'',
].join('\n');

/**
 * Rewrites the generated parts of the benchmarks document: the machine section, the summary,
 * and one section per measure that ran without error. Sections of measures that did not run this
 * time, and all text outside the markers, are kept.
 * @param {{file: string, run: object, results: object[]}} options
 * @returns {string[]} names of the measures whose sections were written
 */
function updateDocs({ file, run, results }) {
	let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : DEFAULT_HEAD;
	const written = [];

	for (const result of results) {
		if (result.error) continue;
		const block = measureBlock(result, run);
		const replaced = replaceBetween(
			text,
			measureStart(result.name),
			measureEnd(result.name),
			block,
		);
		if (replaced !== undefined) {
			text = replaced;
		} else {
			text = insertMeasureBlock(text, block);
		}
		written.push(result.name);
	}

	const machine = machineBlock(run);
	text =
		replaceBetween(text, MACHINE_START, MACHINE_END, machine) ?? insertAfterTitle(text, machine);

	const blocks = text.match(MEASURE_BLOCK) ?? [];
	const summary = summaryBlock(blocks);
	text =
		replaceBetween(text, SUMMARY_START, SUMMARY_END, summary) ??
		insertAfter(text, MACHINE_END, summary);

	fs.writeFileSync(file, text.endsWith('\n') ? text : `${text}\n`);
	return written;
}

/** After the last generated measure section, else after the summary, else at the end. */
function insertMeasureBlock(text, block) {
	const blocks = text.match(MEASURE_BLOCK);
	if (blocks && blocks.length > 0) {
		const last = blocks[blocks.length - 1];
		const at = text.lastIndexOf(last) + last.length;
		return `${text.slice(0, at)}\n\n${block}${text.slice(at)}`;
	}
	if (text.includes(SUMMARY_END)) {
		return insertAfter(text, SUMMARY_END, `## Measures\n\n${block}`);
	}
	return `${text.replace(/\s*$/, '')}\n\n## Measures\n\n${block}\n`;
}

function insertAfter(text, marker, block) {
	const at = text.indexOf(marker);
	if (at < 0) return `${text.replace(/\s*$/, '')}\n\n${block}\n`;
	const end = at + marker.length;
	return `${text.slice(0, end)}\n\n${block}${text.slice(end)}`;
}

/** After the first paragraph under the H1 title, or at the top when there is no title. */
function insertAfterTitle(text, block) {
	const title = /^# .*\n/m.exec(text);
	if (!title) return `${block}\n\n${text}`;
	const afterTitle = title.index + title[0].length;
	const paragraphEnd = text.indexOf('\n\n', afterTitle + 1);
	const at = paragraphEnd < 0 ? text.length : paragraphEnd;
	return `${text.slice(0, at)}\n\n${block}${text.slice(at)}`;
}

module.exports = { consoleTable, meetsGoal, notesText, updateDocs };
