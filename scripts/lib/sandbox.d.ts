// Types for sandbox.js: the simulators, warehouse schema and credentials behind the shipped
// workflows, shared by the e2e suite and `npm start` sandbox mode.

export interface CredentialRef {
	id: string;
	name: string;
}

export interface SandboxCredential extends CredentialRef {
	type: string;
	data: Record<string, unknown>;
}

export declare const CREDENTIAL_IDS: {
	salesforceCallout: CredentialRef;
	xeroWebhookKey: CredentialRef;
	redis: CredentialRef;
	warehouse: CredentialRef;
	salesforce: CredentialRef;
	xero: CredentialRef;
};

export declare const WEBHOOKS: {
	dealIntake: { webhookId: string; path: string };
	xeroEvents: { webhookId: string; path: string };
};

export declare const WORKFLOWS_DIR: string;
export declare const XERO_TENANT_ID: string;

export interface SandboxOptions {
	/** Names the run's schema and Redis prefix; random by default. */
	token?: string;
	/** PostgreSQL schema for the stock table and ledger; default `dealflow_sbx_<token>`. */
	schema?: string;
	/** Key prefix of the Redis credential; default `dealflow-sbx-<token>`. */
	redisKeyPrefix?: string;
	/** Default 127.0.0.1:5432, user postgres, database test. */
	postgres?: { host: string; port: number; user: string; database: string; password?: string };
	/** Default 127.0.0.1:6379, database 0. */
	redis?: { host: string; port: number; database?: number };
	/** SKU → units on hand; default DF-WIDGET and DF-GADGET, 500 each. */
	stock?: Record<string, number>;
	/** Xero simulator config (limits, windows), passed to its CLI. */
	xeroConfig?: Record<string, unknown>;
	calloutSecret?: string;
	xeroWebhookKey?: string;
}

export interface Sandbox {
	token: string;
	schema: string;
	redisKeyPrefix: string;
	secrets: { salesforceCallout: string; xeroWebhookKey: string };
	xeroTenantId: string;
	xero: {
		url: string;
		apiBaseUrl: string;
		tokenUrl: string;
		connectionsUrl: string;
		authorizeUrl: string;
		pid: number;
	};
	salesforce: { url: string; clientId: string; clientSecret: string; pid: number } & Record<
		string,
		unknown
	>;
	postgres: { host: string; port: number; user: string; database: string };
	stock: Record<string, number>;
	credentials: SandboxCredential[];
	/** Stops both simulators and (by default) drops the schema. */
	stop(options?: { dropSchema?: boolean }): Promise<void>;
}

export interface SeedOptions {
	count: number;
	lines: Array<{ sku: string; quantity: number; unitPrice?: number }>;
	stageName?: string;
	namePrefix?: string;
}

export declare function loadWorkflow(name: string): Record<string, unknown> & {
	nodes: Array<Record<string, unknown>>;
};
export declare function startSandbox(options?: SandboxOptions): Promise<Sandbox>;
export declare function buildCredentials(options: Record<string, unknown>): SandboxCredential[];
export declare function seedOpportunities(
	sandbox: Sandbox,
	options: SeedOptions,
): Promise<string[]>;
export declare function signCallout(options: {
	secret: string;
	body: string;
	deliveryId?: string;
}): Record<string, string>;
