// Types for n8n-runtime.js, so the TypeScript e2e harness can use the same code as the scripts.

export declare const N8N_VERSION: string;
export declare const PACKAGE_NAME: string;
export declare const REPO_ROOT: string;

export type Log = (line: string) => void;

export interface RunOptions {
	cwd?: string;
	env?: NodeJS.ProcessEnv;
	logFile?: string;
	echo?: boolean;
}

export interface WebhookPath {
	node: string;
	method: string;
	path: string;
}

export interface WebhookCandidate {
	node: string;
	method: string;
	paths: string[];
}

export declare function node24BinDir(): string;
export declare function node24Path(): string;
export declare function envWithNode24(env?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
export declare function n8nCacheDir(): string;
export declare function n8nCliPath(cacheDir?: string): string;
export declare function n8nModulesDir(cacheDir?: string): string;
export declare function run(
	command: string,
	args: string[],
	options?: RunOptions,
): Promise<{ code: number; output: string }>;
export declare function runOrThrow(
	command: string,
	args: string[],
	options?: RunOptions,
): Promise<string>;
export declare function isProvisioned(cacheDir?: string): boolean;
export declare function provisionN8n(options?: { log?: Log }): Promise<string>;
export declare function buildPackage(options?: { log?: Log }): Promise<void>;
export declare function generateMetadata(options?: { log?: Log }): Promise<void>;
export declare function packPackage(options: { destDir: string }): Promise<string>;
export declare function installPackage(options: {
	tarball: string;
	nodesDir: string;
}): Promise<string>;
export declare function n8nEnv(options: {
	userFolder: string;
	port: number;
	brokerPort: number;
	encryptionKey?: string;
	extra?: Record<string, string>;
}): NodeJS.ProcessEnv;
export declare function runN8nCommand(options: {
	args: string[];
	env: NodeJS.ProcessEnv;
	logFile?: string;
	cacheDir?: string;
}): Promise<string>;
export declare function newN8nId(): string;
export declare function importIntoN8n<
	W extends { id?: string },
	C extends { id?: string },
>(options: {
	env: NodeJS.ProcessEnv;
	workDir: string;
	workflows?: W[];
	credentials?: C[];
	logFile?: string;
}): Promise<{ workflows: Array<W & { id: string }>; credentials: Array<C & { id: string }> }>;
export declare function webhookCandidates(workflow: { nodes?: unknown[] }): WebhookCandidate[];
export declare function isWebhookRegistered(baseUrl: string, webhookPath: string): Promise<boolean>;
export declare function waitForWebhooks(options: {
	baseUrl: string;
	workflows: Array<{ name?: string; nodes?: unknown[]; active?: boolean }>;
	timeoutMs?: number;
	isAlive?: () => boolean;
}): Promise<WebhookPath[]>;
