const path = require('path');
const { src, dest, task } = require('gulp');

// tsc only emits JavaScript; n8n also reads each node's icons (light and dark SVG/PNG) and
// codex/asset JSON from dist/, so they are copied beside the compiled files.
function copyAssets() {
	const sources = [
		path.resolve('nodes', '**', '*.{png,svg}'),
		path.resolve('credentials', '**', '*.{png,svg}'),
		path.resolve('nodes', '**', '*.json'),
	];
	return src(sources, { base: '.', encoding: false }).pipe(dest('dist'));
}

task('build', copyAssets);
task('build:icons', copyAssets);
