import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// Docker can't run on the test machines, but the compose CLI can still parse and resolve the
// file, which catches what breaks a self-hoster first: YAML errors, bad anchors, unset secrets.
const root = resolve(__dirname, '../..');

function composeCommand(): string[] {
	const v2 = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' });
	if (v2.status === 0) return ['docker', 'compose'];
	const v1 = spawnSync('docker-compose', ['version'], { encoding: 'utf8' });
	if (v1.status === 0) return ['docker-compose'];
	throw new Error(
		'Neither `docker compose` nor `docker-compose` is installed; .ci/run installs ' +
			"Debian's docker-compose package (apt-get install -y docker-compose).",
	);
}

function resolvedConfig(env: string, extra: string[] = []): string {
	const dir = mkdtempSync(join(tmpdir(), 'dealflow-compose-'));
	const envFile = join(dir, '.env');
	writeFileSync(envFile, env);
	const [bin, ...args] = composeCommand();
	return execFileSync(
		bin,
		[...args, '--env-file', envFile, '-f', join(root, 'docker-compose.yml'), ...extra, 'config'],
		{ encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
	);
}

describe('docker-compose.yml', () => {
	const secrets = 'POSTGRES_PASSWORD=pw-for-test\nN8N_ENCRYPTION_KEY=key-for-test\n';

	it('resolves with n8n, Redis with AOF and noeviction, and Postgres', () => {
		const config = resolvedConfig(secrets);
		expect(config).toMatch(/n8nio\/n8n|N8N_VERSION: 2\.41\.1/);
		expect(config).toMatch(/- --appendonly\s+- "?yes"?/);
		expect(config).toMatch(/- --maxmemory-policy\s+- noeviction/);
		expect(config).toMatch(/postgres:16/);
		expect(config).toContain('DB_TYPE: postgresdb');
	});

	it('adds queue-mode workers under the queue profile', () => {
		const config = resolvedConfig(secrets + 'EXECUTIONS_MODE=queue\n', ['--profile', 'queue']);
		expect(config).toContain('n8n-worker:');
		expect(config).toContain('EXECUTIONS_MODE: queue');
	});

	it('refuses to start without the secrets instead of running with defaults', () => {
		expect(() => resolvedConfig('')).toThrow(/POSTGRES_PASSWORD|N8N_ENCRYPTION_KEY/);
	});
});
