'use strict';
/**
 * Driving the shipped flow from outside n8n: the processing workflow with patched knobs, a signed
 * Closed-Won callout as Salesforce sends it, and the simulators' ledgers and control APIs. Shared
 * by the benchmarks (bench/measures/flow.js, latency.js); plain JavaScript, types in
 * flow-driver.d.ts.
 */
const crypto = require('node:crypto');

const { loadWorkflow, signCallout } = require('./sandbox');

/**
 * The shipped `deal-processing` workflow with some node parameters merged over the shipped ones.
 *
 * @param {{trigger?: object, triggerOptions?: object, xeroOptions?: object}} [patch] merged into
 *   the Retry Queue Trigger's parameters, its `options`, and the Create Invoice node's `options`
 * @returns the workflow JSON; throws when the shipped workflow lacks one of those nodes
 */
function processingWorkflow(patch = {}) {
	const workflow = loadWorkflow('deal-processing');
	const node = (name) => {
		const found = workflow.nodes.find((candidate) => candidate.name === name);
		if (!found) throw new Error(`workflow ${workflow.name} has no node ${name}`);
		return found;
	};
	const trigger = node('Retry Queue Trigger');
	Object.assign(trigger.parameters, patch.trigger ?? {});
	trigger.parameters.options = { ...trigger.parameters.options, ...patch.triggerOptions };
	const xero = node('Create Invoice');
	xero.parameters.options = { ...xero.parameters.options, ...patch.xeroOptions };
	return workflow;
}

/**
 * Posts one signed Closed-Won callout for `opportunityId`, as Salesforce would.
 *
 * @param {{url: string, secret: string, opportunityId: string, extra?: object}} options
 * @returns {Promise<{status: number, body: string}>} rejects only on a network error
 */
async function deliverCallout({ url, secret, opportunityId, extra = {} }) {
	const body = JSON.stringify({
		opportunityId,
		stage: 'Closed Won',
		eventId: `evt-${opportunityId}`,
		sentAt: new Date().toISOString(),
		nonce: crypto.randomUUID(),
		...extra,
	});
	const response = await fetch(url, {
		method: 'POST',
		headers: signCallout({ secret, body }),
		body,
	});
	return { status: response.status, body: await response.text() };
}

async function requestJson(url, { method = 'GET', body } = {}) {
	const response = await fetch(url, {
		method,
		headers: { 'content-type': 'application/json' },
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	const text = await response.text();
	if (!response.ok) throw new Error(`${method} ${url} answered ${response.status}: ${text}`);
	return text ? JSON.parse(text) : undefined;
}

/**
 * Reads and steers the sandbox's simulators over their control APIs.
 *
 * @param {import('./sandbox').Sandbox} sandbox
 * @returns an object whose methods reject when a control call fails
 */
function simulators(sandbox) {
	return {
		/** Xero's `{ invoices, contacts, calls }`; each call has `at` and `finishedAt` (ms). */
		xeroLedger: () => requestJson(`${sandbox.xero.url}/__sim/ledger`),
		/** Merges fields into the Xero simulator's config (limits, windows, `latencyMs`). */
		configureXero: (config) =>
			requestJson(`${sandbox.xero.url}/__sim/config`, { method: 'POST', body: config }),
		/** Salesforce's `{ calls, writes }`; each call has `at` (ms). */
		salesforceLedger: () => requestJson(`${sandbox.salesforce.url}/__sim/ledger`),
		/** Merges fields into the Salesforce simulator's config (e.g. `latencyMs`). */
		configureSalesforce: (config) =>
			requestJson(`${sandbox.salesforce.url}/__sim/config`, { method: 'PATCH', body: config }),
		/** Ids of the opportunities written back as Invoiced so far. */
		async invoicedIds() {
			const { writes } = await requestJson(`${sandbox.salesforce.url}/__sim/ledger`);
			return new Set(
				writes
					.filter(
						(write) =>
							write.sobject === 'Opportunity' && write.fields?.Sync_Status__c === 'Invoiced',
					)
					.map((write) => write.id),
			);
		},
	};
}

module.exports = { deliverCallout, processingWorkflow, simulators };
