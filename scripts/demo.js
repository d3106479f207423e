#!/usr/bin/env node
// `npm run demo`: sends one signed Closed-Won callout to the Deal intake workflow of a running
// `npm start` sandbox, then follows the order until the Xero simulator holds its invoice and the
// opportunity in the Salesforce simulator carries the invoice number.
//
//   npm run demo                 # the next seeded opportunity that has no invoice yet
//   npm run demo -- <oppId>      # a given opportunity (send it twice to see the dedupe answer)
'use strict';

require('./lib/bootstrap').ensureNode24(__filename);

const fs = require('node:fs');
const path = require('node:path');

const { signCallout } = require('./lib/sandbox');

const STATE_FILE = path.join(__dirname, '..', '.n8n-local', 'sandbox.json');
const FOLLOW_TIMEOUT_MS = 60_000;

function say(line = '') {
	process.stdout.write(`${line}\n`);
}

function fail(message) {
	process.stderr.write(`✗ ${message}\n`);
	process.exit(1);
}

async function getJson(url) {
	const response = await fetch(url);
	if (!response.ok) throw new Error(`GET ${url} answered ${response.status}`);
	return await response.json();
}

function readState() {
	if (!fs.existsSync(STATE_FILE)) {
		fail('No sandbox is running. Start it first with `npm start` (in another terminal).');
	}
	return JSON.parse(fs.readFileSync(STATE_FILE, 'utf8'));
}

async function invoiceFor(state, opportunityId) {
	const ledger = await getJson(`${state.xeroUrl}/__sim/ledger`);
	return ledger.invoices.find((invoice) => invoice.Reference === opportunityId);
}

async function pickOpportunity(state) {
	const wanted = process.argv[2];
	if (wanted) return wanted;
	for (const id of state.opportunityIds) {
		if (!(await invoiceFor(state, id))) return id;
	}
	return state.opportunityIds[0];
}

async function main() {
	const state = readState();
	try {
		await getJson(`${state.xeroUrl}/__sim/ledger`);
	} catch {
		fail('The sandbox in .n8n-local/sandbox.json is not answering. Is `npm start` still running?');
	}

	const opportunityId = await pickOpportunity(state);
	const body = JSON.stringify({
		opportunityId,
		stage: 'Closed Won',
		eventId: `demo-${Date.now()}`,
		sentAt: new Date().toISOString(),
	});
	say(`▸ POST ${state.webhookUrl}`);
	say(`  ${body}`);
	say('  signed with HMAC-SHA256 (base64) in x-clickdone-signature');
	const started = Date.now();
	const response = await fetch(state.webhookUrl, {
		method: 'POST',
		headers: signCallout({ secret: state.calloutSecret, body }),
		body,
	});
	say(`◂ ${response.status} ${await response.text()}`);
	if (response.status >= 300) return;

	say('▸ Following the order: Salesforce → Inventory → Xero → write-back');
	const deadline = Date.now() + FOLLOW_TIMEOUT_MS;
	while (Date.now() < deadline) {
		const invoice = await invoiceFor(state, opportunityId);
		const opportunity = await getJson(
			`${state.salesforceUrl}/__sim/records/Opportunity/${opportunityId}`,
		);
		if (invoice && opportunity?.Invoice_Number__c) {
			say(
				`✓ ${((Date.now() - started) / 1000).toFixed(1)} s: Xero invoice ${invoice.InvoiceNumber} ` +
					`(${invoice.Status}, total ${invoice.Total} ${invoice.CurrencyCode}); ` +
					`opportunity ${opportunityId} now says ${opportunity.Invoice_Number__c} / ` +
					`${opportunity.Sync_Status__c ?? 'n/a'}`,
			);
			say(`  Send the same deal again to see the dedupe answer: npm run demo -- ${opportunityId}`);
			return;
		}
		await new Promise((resolve) => setTimeout(resolve, 500));
	}
	fail(
		`No invoice for ${opportunityId} within ${FOLLOW_TIMEOUT_MS / 1000} s. ` +
			'Open the editor and look at the Deal processing executions.',
	);
}

main().catch((error) => fail(error instanceof Error ? error.message : String(error)));
