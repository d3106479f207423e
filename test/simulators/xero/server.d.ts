/** Types for the plain-JS Xero simulator (see server.js for behaviour). */

export interface SimTenant {
	tenantId: string;
	tenantName: string;
	/** Calls a day before `X-Rate-Limit-Problem: day`; 5,000 on most plans, 1,000 on Starter. */
	dayLimit: number;
}

export interface SimClient {
	clientId: string;
	clientSecret: string;
	/** `custom`: client-credentials custom connection; `oauth`: authorization-code app. */
	kind: 'custom' | 'oauth';
}

export interface SimConfig {
	tenants: SimTenant[];
	clients: SimClient[];
	tokenLifetimeSeconds: number;
	minuteLimit: number;
	minuteWindowMs: number;
	concurrentLimit: number;
	appMinuteLimit: number;
	idempotencyWindowMs: number;
	accountCodes: string[];
	taxTypes: string[];
	currencies: string[];
	latencyMs: number;
}

export interface SimCall {
	at: number;
	finishedAt?: number;
	method: string;
	path: string;
	query: string;
	tenantId: string | null;
	idempotencyKey: string | null;
	/** HTTP status sent, or -1 when the connection was dropped. */
	status: number;
	fault?: 'dropped' | 'response-dropped' | 'slow' | 'unavailable' | 'client-gone';
	/** For `response-dropped`: the status the lost answer would have had. */
	processedStatus?: number;
	rateLimited?: 'minute' | 'day' | 'concurrent' | 'appminute';
	replayed?: 'replay' | 'conflict';
}

export interface SimInvoice {
	tenantId: string;
	InvoiceID: string;
	InvoiceNumber: string;
	Reference?: string;
	Status: string;
	Type: string;
	Total: number;
	CurrencyCode: string;
	Contact: { ContactID: string; Name: string };
	LineItems: Array<Record<string, unknown>>;
	[field: string]: unknown;
}

export interface SimLedger {
	invoices: SimInvoice[];
	contacts: Array<Record<string, unknown> & { tenantId: string; ContactID: string; Name: string }>;
	calls: SimCall[];
}

export interface SimFaults {
	unavailableForMs?: number;
	unavailableStatus?: number;
	slowMs?: number;
	slowCount?: number;
	dropCount?: number;
	/** Process the next N calls, then cut the connection instead of answering. */
	dropResponseCount?: number;
	/** Only calls with this HTTP method are faulted. */
	method?: string | null;
	latency?: Array<{ pattern: string; ms: number }>;
	pathPattern?: string | null;
}

export interface XeroSimulator {
	readonly config: SimConfig;
	readonly url: string;
	readonly apiBaseUrl: string;
	readonly tokenUrl: string;
	readonly connectionsUrl: string;
	readonly authorizeUrl: string;
	start(port?: number): Promise<XeroSimulator>;
	stop(): Promise<void>;
	ledger(): SimLedger;
	injectFaults(spec: SimFaults): unknown;
	clearFaults(): unknown;
	configure(changes: Partial<SimConfig>): SimConfig;
	reset(): { ok: true };
	expireTokens(): { ok: true };
	issueAuthorizationCode(): string;
}

export function createXeroSimulator(overrides?: Partial<SimConfig>): XeroSimulator;

/** The most calls that arrived inside any `windowMs` span (after `filter`). */
export function maxCallsInAnyWindow(
	calls: SimCall[],
	windowMs: number,
	filter?: (call: SimCall) => boolean,
): number;

export const API_PREFIX: string;
