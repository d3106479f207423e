import { parseOrder } from '../../nodes/shared/order';
import { readRetryHint } from '../../nodes/shared/errors';
import { clearSessionCache } from '../../nodes/Salesforce/auth';
import { startSalesforceSimulator, type SalesforceSimulator } from '../simulators/salesforce';
import { jwtCredential, runNode } from './salesforce-helpers';

let sim: SalesforceSimulator;

beforeAll(async () => {
	sim = await startSalesforceSimulator();
});

afterAll(async () => {
	await sim.close();
});

beforeEach(() => {
	sim.reset();
	sim.configure({ multiCurrency: true, batchSize: 2000 });
	clearSessionCache();
});

function credentials() {
	return { dealflowSalesforceJwtApi: jwtCredential(sim) };
}

function readDeal(opportunityId: string, extra: Record<string, unknown> = {}) {
	return runNode({
		parameters: {
			authentication: 'jwt',
			operation: 'getOpportunityForInvoicing',
			opportunityId,
			requireWon: true,
			...extra,
		},
		credentials: credentials(),
	});
}

function soqlCalls() {
	return sim.ledger().calls.filter((call) => call.soql);
}

describe('Get opportunity for invoicing', () => {
	it('turns a won multi-line opportunity into a valid order with one SOQL query', async () => {
		const [item] = await readDeal(sim.seedIds.wonOpportunity);
		const id = sim.seedIds.wonOpportunity;

		expect(parseOrder(item.json).ok).toBe(true);
		expect(item.json).toMatchObject({
			orderKey: `sf:opp:${id}:closed-won`,
			reference: id,
			currency: 'USD',
			closeDate: '2026-11-30',
			amount: 1294,
			customer: {
				name: 'Acme Corporation',
				accountNumber: 'ACME-001',
				email: 'jane.doe@acme.example',
				externalId: sim.seedIds.acmeAccount,
				billingAddress: {
					street: '1 Market Street\nSuite 400',
					city: 'San Francisco',
					region: 'CA',
					postalCode: '94105',
					country: 'United States',
				},
			},
			source: { system: 'salesforce', id, stage: 'Closed Won' },
		});
		expect(item.json.lines).toEqual(
			[
				{
					sku: 'WID-001',
					name: 'Widget',
					quantity: 10,
					unitPrice: 25,
					totalPrice: 250,
					discountPercent: undefined,
				},
				{
					sku: 'GAD-002',
					name: 'Gadget Pro',
					description: 'Two units, with the volume discount',
					quantity: 2,
					unitPrice: 480,
					discountPercent: 10,
					totalPrice: 864,
				},
				{ sku: 'SVC-010', name: 'Installation', quantity: 1.5, unitPrice: 120, totalPrice: 180 },
			].map((line) => JSON.parse(JSON.stringify(line))),
		);
		expect(item.pairedItem).toEqual({ item: 0 });
		expect(soqlCalls()).toHaveLength(1);
	});

	it('puts the API usage from Sforce-Limit-Info and the deal state in the metadata', async () => {
		sim.configure({ apiUsed: 4200, apiLimit: 15000 });

		const [item] = await readDeal(sim.seedIds.wonOpportunity);
		const usedAfterRun = sim.configure({}).apiUsed;

		expect(usedAfterRun).toBeGreaterThan(4200);
		expect(item.json.salesforce).toEqual({
			opportunityId: sim.seedIds.wonOpportunity,
			opportunityName: 'Acme - warehouse refit',
			stageName: 'Closed Won',
			isWon: true,
			isClosed: true,
			apiVersion: '62.0',
			apiUsage: { used: usedAfterRun, limit: 15000 },
		});
	});

	it('uses the Default Currency and leaves CurrencyIsoCode out of the query when multi-currency is off', async () => {
		sim.configure({ multiCurrency: false });

		const [item] = await readDeal(sim.seedIds.globexWonOpportunity, {
			orderOptions: { multiCurrency: 'off', defaultCurrency: 'eur' },
		});

		expect(item.json.currency).toBe('EUR');
		expect(soqlCalls()[0].soql).not.toContain('CurrencyIsoCode');
	});

	it('stops with a clear, non-retryable error for a deal that is not won', async () => {
		const failure = await readDeal(sim.seedIds.openOpportunity).catch((error: unknown) => error);

		expect(failure).toMatchObject({
			message: `Opportunity ${sim.seedIds.openOpportunity} is not won (stage "Negotiation/Review")`,
		});
		expect(readRetryHint(failure)).toEqual({
			retryable: false,
			reason: 'not_won',
			service: 'salesforce',
		});
	});

	it('reads a deal that is not won when the check is switched off', async () => {
		const [item] = await readDeal(sim.seedIds.lostOpportunity, { requireWon: false });

		expect(item.json.salesforce).toMatchObject({ isWon: false, isClosed: true });
		expect(item.json.currency).toBe('EUR');
	});

	it('names the line and product when a product has no product code', async () => {
		const failure = await readDeal(sim.seedIds.uncodedWonOpportunity).catch(
			(error: unknown) => error,
		);

		expect(failure).toMatchObject({
			message: expect.stringContaining('line 1 (Legacy part): the product has no Product Code'),
		});
		expect(readRetryHint(failure)).toMatchObject({ retryable: false, reason: 'invalid_order' });
	});

	it('rejects an id that is not an opportunity id before calling Salesforce', async () => {
		const failure = await readDeal(sim.seedIds.acmeAccount).catch((error: unknown) => error);

		expect(failure).toMatchObject({ message: expect.stringContaining('start with 006') });
		expect(sim.ledger().calls).toHaveLength(0);
	});

	it('reports an unknown opportunity as not found, not retryable', async () => {
		const failure = await readDeal('006SIM000000999AAA').catch((error: unknown) => error);

		expect(failure).toMatchObject({ message: 'Opportunity 006SIM000000999AAA was not found' });
		expect(readRetryHint(failure)).toMatchObject({ retryable: false, reason: 'not_found' });
	});

	it('takes the order key, reference and invoice email from the options', async () => {
		const [item] = await readDeal(sim.seedIds.globexWonOpportunity, {
			orderOptions: {
				orderKey: 'deal-42',
				referenceField: 'Name',
				accountEmailField: 'Invoice_Email__c',
			},
		});

		expect(item.json).toMatchObject({
			orderKey: 'deal-42',
			reference: 'Globex - rollout',
			customer: { name: 'Globex GmbH', email: 'ap@globex.example' },
			lines: [
				{ sku: 'GAD-002', quantity: 5, unitPrice: 450, discountPercent: 5, totalPrice: 2137.5 },
			],
		});
	});

	it('names the field when a mapped field does not exist', async () => {
		const failure = await readDeal(sim.seedIds.wonOpportunity, {
			orderOptions: { referenceField: 'PO_Number__c' },
		}).catch((error: unknown) => error);

		expect(failure).toMatchObject({
			message: expect.stringMatching(/^Salesforce rejected field PO_Number__c: No such column/),
		});
		expect(readRetryHint(failure)).toMatchObject({ retryable: false, reason: 'validation' });
	});
});

describe('SOQL query', () => {
	function query(extra: Record<string, unknown>) {
		return runNode({
			parameters: {
				authentication: 'jwt',
				operation: 'query',
				soql: 'SELECT Id, Name, Account.Name FROM Opportunity ORDER BY Name',
				...extra,
			},
			credentials: credentials(),
		});
	}

	it('follows nextRecordsUrl until every record is read when Return All is on', async () => {
		sim.configure({ batchSize: 2 });

		const output = await query({ returnAll: true });

		expect(output).toHaveLength(7);
		expect(output[0].json).toMatchObject({
			Id: sim.seedIds.openOpportunity,
			Name: 'Acme - second site',
			Account: { Name: 'Acme Corporation' },
		});
		expect(output[0].json).not.toHaveProperty('attributes');
		expect(sim.ledger().calls.filter((call) => call.path.includes('/query/01g'))).toHaveLength(3);
	});

	it('stops paging once the limit is reached', async () => {
		sim.configure({ batchSize: 2 });

		const output = await query({ returnAll: false, limit: 3 });

		expect(output.map((item) => item.json.Name)).toEqual([
			'Acme - second site',
			'Acme - spare parts',
			'Acme - warehouse refit',
		]);
		expect(sim.ledger().calls.filter((call) => call.path.includes('/query/01g'))).toHaveLength(1);
	});

	it('reports a malformed query as not retryable', async () => {
		const failure = await query({ soql: 'SELECT Id FROM', returnAll: true }).catch(
			(error: unknown) => error,
		);

		expect(readRetryHint(failure)).toMatchObject({ retryable: false, reason: 'bad_query' });
	});
});
