// Packs this repository once per test run and installs the tarball into a template
// `.n8n/nodes` folder; every n8n instance of the run gets a copy of that folder.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import * as runtime from '../../../scripts/lib/n8n-runtime';

export interface PreparedPackage {
	/** The `npm pack` tarball of this repository. */
	tarball: string;
	/** A `.n8n/nodes` folder with the tarball installed; copy it, never write into it. */
	nodesTemplate: string;
	/** The folder holding both, removed by the global teardown. */
	workDir: string;
}

const ENV_TARBALL = 'DEALFLOW_E2E_TARBALL';
const ENV_NODES = 'DEALFLOW_E2E_NODES_TEMPLATE';
const ENV_WORKDIR = 'DEALFLOW_E2E_WORKDIR';

export const ARTIFACTS_DIR = path.join(runtime.REPO_ROOT, 'test', 'e2e', '.artifacts');

function log(line: string): void {
	process.stderr.write(`[e2e harness] ${line}\n`);
}

/**
 * Provisions n8n, builds this package (unless `build` is false), packs it and installs the
 * tarball into a template nodes folder. Publishes the result through environment variables that
 * jest's test workers inherit.
 * @returns {Promise<PreparedPackage>}
 * @throws {Error} when provisioning, the build, npm pack or the install fails
 */
export async function preparePackage({
	build = true,
}: { build?: boolean } = {}): Promise<PreparedPackage> {
	await runtime.provisionN8n({ log });
	if (build) await runtime.buildPackage({ log });
	else await runtime.generateMetadata({ log });

	const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dealflow-e2e-package-'));
	log('Packing the package with npm pack.');
	const tarball = await runtime.packPackage({ destDir: workDir });
	const nodesTemplate = path.join(workDir, 'nodes');
	fs.mkdirSync(nodesTemplate, { recursive: true });
	log(`Installing ${path.basename(tarball)} into a template .n8n/nodes folder.`);
	await runtime.installPackage({ tarball, nodesDir: nodesTemplate });

	process.env[ENV_TARBALL] = tarball;
	process.env[ENV_NODES] = nodesTemplate;
	process.env[ENV_WORKDIR] = workDir;
	return { tarball, nodesTemplate, workDir };
}

let lazy: Promise<PreparedPackage> | undefined;

/**
 * The package prepared by the global setup; when a test runs without it (say, through a config
 * that lacks the setup), packs the current dist/ once in this process instead.
 * @returns {Promise<PreparedPackage>}
 */
export function getPreparedPackage(): Promise<PreparedPackage> {
	const tarball = process.env[ENV_TARBALL];
	const nodesTemplate = process.env[ENV_NODES];
	const workDir = process.env[ENV_WORKDIR];
	if (tarball && nodesTemplate && workDir && fs.existsSync(nodesTemplate)) {
		return Promise.resolve({ tarball, nodesTemplate, workDir });
	}
	lazy ??= preparePackage({ build: false });
	return lazy;
}

/** Removes what preparePackage made. Never throws. */
export function cleanupPreparedPackage(): void {
	const workDir = process.env[ENV_WORKDIR];
	if (workDir && path.basename(workDir).startsWith('dealflow-e2e-package-')) {
		fs.rmSync(workDir, { recursive: true, force: true });
	}
}

/** Keeps the newest `keep` log folders under test/e2e/.artifacts. Never throws. */
export function pruneArtifacts(keep = 30): void {
	try {
		const entries = fs
			.readdirSync(ARTIFACTS_DIR, { withFileTypes: true })
			.filter((entry) => entry.isDirectory())
			.map((entry) => entry.name)
			.sort();
		for (const name of entries.slice(0, Math.max(0, entries.length - keep))) {
			fs.rmSync(path.join(ARTIFACTS_DIR, name), { recursive: true, force: true });
		}
	} catch {
		// No artifacts yet.
	}
}
