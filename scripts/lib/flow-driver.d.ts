// Types for flow-driver.js: driving the shipped flow from outside n8n.
import type { Sandbox } from './sandbox';

export declare function processingWorkflow(patch?: {
	trigger?: Record<string, unknown>;
	triggerOptions?: Record<string, unknown>;
	xeroOptions?: Record<string, unknown>;
}): Record<string, unknown> & { nodes: Array<Record<string, unknown>> };

export declare function deliverCallout(options: {
	url: string;
	secret: string;
	opportunityId: string;
	extra?: Record<string, unknown>;
}): Promise<{ status: number; body: string }>;

export interface XeroSimCall {
	at: number;
	finishedAt?: number;
	method: string;
	path: string;
	status: number;
	[key: string]: unknown;
}

export declare function simulators(sandbox: Sandbox): {
	xeroLedger(): Promise<{
		invoices: Array<{ InvoiceID: string; InvoiceNumber: string; Reference: string }>;
		calls: XeroSimCall[];
	}>;
	configureXero(config: Record<string, unknown>): Promise<unknown>;
	salesforceLedger(): Promise<{
		calls: Array<{ at: number; method: string; path: string; kind: string; status?: number }>;
		writes: Array<{ op: string; sobject: string; id: string; fields: Record<string, unknown> }>;
	}>;
	configureSalesforce(config: Record<string, unknown>): Promise<unknown>;
	invoicedIds(): Promise<Set<string>>;
};
