/** Types for the plain-JS Salesforce simulator (see server.js). */

export interface ConnectedApp {
	clientId: string;
	clientSecret: string;
	/** PEM public key that verifies this app's JWT bearer assertions. */
	publicKeyPem?: string;
	redirectUri?: string;
}

export interface SimulatedUser {
	username: string;
	password: string;
	securityToken?: string;
	userId: string;
}

export interface SalesforceSimulatorOptions {
	port?: number;
	connectedApps?: ConnectedApp[];
	users?: SimulatedUser[];
	/** Public key for the default app; without it a key pair is generated (see `privateKeyPem`). */
	jwtPublicKeyPem?: string;
	/** Whether the org has multi-currency on (Opportunity.CurrencyIsoCode exists). @default true */
	multiCurrency?: boolean;
	/** @default 7200 */
	sessionLifetimeSec?: number;
	/** Daily API request allowance reported in Sforce-Limit-Info. @default 15000 */
	apiLimit?: number;
	apiUsed?: number;
	/** Query page size. @default 2000 */
	batchSize?: number;
	/** Added to every call. @default 0 */
	latencyMs?: number;
	/** Extra accepted JWT `aud` values besides login/test.salesforce.com and the simulator URL. */
	audiences?: string[];
}

export type FaultKind =
	| 'UNABLE_TO_LOCK_ROW'
	| 'SERVER_UNAVAILABLE'
	| 'CONCURRENT_LIMIT'
	| 'CONCURRENT_LONG_TXN'
	| 'DAILY_LIMIT'
	| 'INVALID_SESSION'
	| 'VALIDATION'
	| 'INSUFFICIENT_ACCESS'
	| 'DISCONNECT'
	| 'DELAY'
	| 'CUSTOM';

export interface FaultSpec {
	kind: FaultKind;
	/** How many matching calls get the fault. @default 1 */
	times?: number;
	/** Which calls: REST data calls, the OAuth token endpoint, or SOAP login. @default 'data' */
	scope?: 'data' | 'token' | 'soap';
	method?: string;
	/** Substring of the path and query. */
	path?: string;
	/** Extra latency before answering (with DELAY it is the whole fault). */
	delayMs?: number;
	status?: number;
	errorCode?: string;
	message?: string;
	field?: string;
	fields?: string[];
}

export interface LedgerCall {
	seq: number;
	at: number;
	method: string;
	path: string;
	kind: 'data' | 'token' | 'soap';
	status?: number;
	grant?: string;
	apiVersion?: string;
	sobject?: string;
	soql?: string;
	fault?: FaultKind;
}

export interface LedgerWrite {
	seq: number;
	at: number;
	op: 'create' | 'update' | 'upsert' | 'delete';
	sobject: string;
	id: string;
	fields: Record<string, unknown>;
	created?: boolean;
}

export interface SimulatorConfig {
	multiCurrency: boolean;
	sessionLifetimeSec: number;
	apiLimit: number;
	apiUsed: number;
	batchSize: number;
	latencyMs: number;
	audiences: string[];
}

export interface SeedIds {
	acmeAccount: string;
	globexAccount: string;
	janeContact: string;
	widgetProduct: string;
	gadgetProduct: string;
	serviceProduct: string;
	uncodedProduct: string;
	wonOpportunity: string;
	openOpportunity: string;
	lostOpportunity: string;
	globexWonOpportunity: string;
	uncodedWonOpportunity: string;
	duplicateErpA: string;
	duplicateErpB: string;
}

export interface SalesforceSimulator {
	url: string;
	seedIds: SeedIds;
	clientId: string;
	clientSecret: string;
	username: string;
	password: string;
	securityToken: string;
	/** PKCS#8 PEM of the generated key pair, when no public key was given. */
	privateKeyPem?: string;
	info(): Record<string, unknown>;
	ledger(): { calls: LedgerCall[]; writes: LedgerWrite[] };
	/** Calls to the token endpoint or SOAP login, optionally for one grant type. */
	tokenCalls(grant?: string): LedgerCall[];
	clearLedger(): void;
	injectFault(fault: FaultSpec): FaultSpec & { id: number; remaining: number };
	clearFaults(): void;
	/** Expires every issued access token; returns how many were live. */
	expireSessions(): number;
	issueRefreshToken(username?: string, clientId?: string): string;
	issueAccessToken(username?: string): string;
	configure(patch: Partial<SimulatorConfig>): SimulatorConfig;
	getRecord(type: string, id: string): Record<string, unknown> | undefined;
	listRecords(type: string): Array<Record<string, unknown>>;
	putRecord(type: string, fields: Record<string, unknown>): string;
	reset(): void;
	close(): Promise<void>;
}

export function startSalesforceSimulator(
	options?: SalesforceSimulatorOptions,
): Promise<SalesforceSimulator>;

export function signJwtAssertion(options: {
	clientId: string;
	username: string;
	audience: string;
	privateKeyPem: string;
	expiresInSec?: number;
}): string;

export const SEED_IDS: SeedIds;
export const LIMIT_MESSAGES: { concurrent: string; concurrentLongTxn: string; daily: string };
export const JWT_GRANT: string;
export const DEFAULT_APP: ConnectedApp;
export const DEFAULT_USER: SimulatedUser;
