import { NodeApiError } from 'n8n-workflow';

import { readRetryHint } from '../../nodes/shared/errors';
import { clearSessionCache } from '../../nodes/Salesforce/auth';
import { startSalesforceSimulator, type SalesforceSimulator } from '../simulators/salesforce';
import { allText, jwtCredential, runNode } from './salesforce-helpers';

let sim: SalesforceSimulator;

beforeAll(async () => {
	sim = await startSalesforceSimulator();
});

afterAll(async () => {
	await sim.close();
});

beforeEach(() => {
	sim.reset();
	clearSessionCache();
});

function run(parameters: Record<string, unknown>, options: { continueOnFail?: boolean } = {}) {
	return runNode({
		parameters: { authentication: 'jwt', sobject: 'Opportunity', ...parameters },
		credentials: { dealflowSalesforceJwtApi: jwtCredential(sim) },
		continueOnFail: options.continueOnFail,
	});
}

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
	return await promise.then(
		() => {
			throw new Error('expected the node to fail');
		},
		(error: unknown) => error,
	);
}

describe('write-back', () => {
	it('updates the opportunity with the invoice number, id and sync status', async () => {
		const [item] = await run({
			operation: 'update',
			recordId: sim.seedIds.wonOpportunity,
			fields: JSON.stringify({
				Invoice_Number__c: 'INV-0042',
				Invoice_Id__c: 'b3c0e1f2',
				Sync_Status__c: 'Invoiced',
			}),
		});

		expect(item.json).toMatchObject({ id: sim.seedIds.wonOpportunity, success: true });
		expect(sim.getRecord('Opportunity', sim.seedIds.wonOpportunity)).toMatchObject({
			Invoice_Number__c: 'INV-0042',
			Invoice_Id__c: 'b3c0e1f2',
			Sync_Status__c: 'Invoiced',
		});
		expect(sim.ledger().writes).toEqual([
			expect.objectContaining({ op: 'update', id: sim.seedIds.wonOpportunity }),
		]);
	});

	it('creates a record and reads it back with Get Record', async () => {
		const [created] = await run({
			operation: 'create',
			sobject: 'Account',
			fields: { Name: 'Initech', AccountNumber: 'INI-1' },
		});
		const [read] = await run({
			operation: 'get',
			sobject: 'Account',
			recordId: created.json.id,
			fieldsToReturn: 'Name, AccountNumber',
		});

		expect(created.json).toMatchObject({ success: true, created: true });
		expect(read.json).toMatchObject({ Name: 'Initech', AccountNumber: 'INI-1' });
		expect(sim.getRecord('Account', String(created.json.id))).toMatchObject({ Name: 'Initech' });
	});

	it('rejects fields that are not a JSON object before writing anything', async () => {
		const failure = await failureOf(
			run({ operation: 'update', recordId: sim.seedIds.wonOpportunity, fields: '{"a": ' }),
		);

		expect(failure).toMatchObject({ message: expect.stringContaining('Fields is not valid JSON') });
		expect(sim.ledger().calls).toHaveLength(0);
	});
});

describe('upsert by external id', () => {
	const upsert = (fields: Record<string, unknown>) =>
		run({
			operation: 'upsert',
			externalIdField: 'Dealflow_Order_Key__c',
			externalIdValue: 'sf:opp:42:closed-won',
			fields,
		});

	it('answers 201 created the first time and 200 updated the second, keeping one record', async () => {
		const [first] = await upsert({
			Name: 'Invoice sync',
			StageName: 'Prospecting',
			CloseDate: '2027-01-01',
		});
		const [second] = await upsert({ Sync_Status__c: 'Invoiced' });

		expect(first.json).toMatchObject({ created: true, statusCode: 201 });
		expect(second.json).toMatchObject({ created: false, statusCode: 200, id: first.json.id });
		const matching = sim
			.listRecords('Opportunity')
			.filter((record) => record.Dealflow_Order_Key__c === 'sf:opp:42:closed-won');
		expect(matching).toEqual([expect.objectContaining({ Sync_Status__c: 'Invoiced' })]);
	});

	it('puts external ids with reserved URL characters in the path safely', async () => {
		const [item] = await run({
			operation: 'upsert',
			externalIdField: 'Dealflow_Order_Key__c',
			externalIdValue: 'order/7 #a?b',
			fields: { Name: 'Odd key', StageName: 'Prospecting', CloseDate: '2027-01-01' },
		});

		expect(sim.getRecord('Opportunity', String(item.json.id))).toMatchObject({
			Dealflow_Order_Key__c: 'order/7 #a?b',
		});
	});

	it('reports several matching records (HTTP 300) as a clear error naming them, and writes nothing', async () => {
		const failure = await failureOf(
			run({
				operation: 'upsert',
				externalIdField: 'ERP_Reference__c',
				externalIdValue: 'ERP-DUP',
				fields: { Sync_Status__c: 'Invoiced' },
			}),
		);

		expect(failure).toBeInstanceOf(NodeApiError);
		expect(failure).toMatchObject({
			message: `2 Opportunity records have ERP_Reference__c = "ERP-DUP" (${sim.seedIds.duplicateErpA}, ${sim.seedIds.duplicateErpB}); an upsert needs exactly one match or none`,
			httpCode: '300',
		});
		expect(readRetryHint(failure)).toMatchObject({ retryable: false, reason: 'multiple_matches' });
		expect(sim.ledger().writes).toHaveLength(0);
	});
});

describe('non-retryable faults are surfaced clearly, naming the field', () => {
	it('DUPLICATE_VALUE on a unique field', async () => {
		sim.putRecord('Opportunity', {
			Name: 'Other',
			StageName: 'Prospecting',
			CloseDate: '2027-01-01',
			Invoice_Number__c: 'INV-0001',
		});

		const failure = await failureOf(
			run({
				operation: 'update',
				recordId: sim.seedIds.wonOpportunity,
				fields: { Invoice_Number__c: 'INV-0001' },
			}),
		);

		expect(failure).toMatchObject({
			message: expect.stringMatching(
				/^Duplicate value in field Invoice_Number__c: duplicate value found/,
			),
		});
		expect(readRetryHint(failure)).toMatchObject({ retryable: false, reason: 'duplicate_value' });
		expect(sim.ledger().calls.filter((call) => call.method === 'PATCH')).toHaveLength(1);
	});

	it('a field that does not exist', async () => {
		const failure = await failureOf(
			run({
				operation: 'update',
				recordId: sim.seedIds.wonOpportunity,
				fields: { Invoice_Numbr__c: 'INV-1' },
			}),
		);

		expect(failure).toMatchObject({
			message:
				"Salesforce rejected field Invoice_Numbr__c: No such column 'Invoice_Numbr__c' on sobject of type Opportunity",
		});
		expect(readRetryHint(failure)).toMatchObject({ retryable: false, reason: 'validation' });
	});

	it('a read-only field', async () => {
		const failure = await failureOf(
			run({ operation: 'update', recordId: sim.seedIds.openOpportunity, fields: { IsWon: true } }),
		);

		expect(failure).toMatchObject({ message: expect.stringContaining('rejected field IsWon') });
	});

	it('a required field missing on create', async () => {
		const failure = await failureOf(run({ operation: 'create', fields: { Name: 'No stage' } }));

		expect(failure).toMatchObject({
			message:
				'Salesforce rejected field StageName, CloseDate: Required fields are missing: [StageName, CloseDate]',
		});
	});

	it('a validation rule', async () => {
		sim.injectFault({
			kind: 'VALIDATION',
			field: 'Invoice_Number__c',
			message: 'Invoice number must start with INV-',
		});

		const failure = await failureOf(
			run({
				operation: 'update',
				recordId: sim.seedIds.wonOpportunity,
				fields: { Invoice_Number__c: '42' },
			}),
		);

		expect(failure).toMatchObject({
			message: 'Salesforce rejected field Invoice_Number__c: Invoice number must start with INV-',
		});
		expect(readRetryHint(failure)).toMatchObject({ retryable: false, reason: 'validation' });
		expect(sim.ledger().calls.filter((call) => call.method === 'PATCH')).toHaveLength(1);
	});

	it('missing permission', async () => {
		sim.injectFault({ kind: 'INSUFFICIENT_ACCESS' });

		const failure = await failureOf(
			run({
				operation: 'update',
				recordId: sim.seedIds.wonOpportunity,
				fields: { Sync_Status__c: 'Invoiced' },
			}),
		);

		expect(failure).toMatchObject({
			message: expect.stringContaining('The Salesforce user may not do this'),
			description: expect.stringContaining('permission set'),
		});
		expect(readRetryHint(failure)).toMatchObject({ retryable: false, reason: 'permission' });
	});

	it('the daily API limit: not retried in place, but marked for a later retry', async () => {
		sim.injectFault({ kind: 'DAILY_LIMIT' });

		const failure = await failureOf(
			run({ operation: 'get', recordId: sim.seedIds.wonOpportunity }),
		);

		expect(failure).toMatchObject({ message: "The org's daily API request limit is used up" });
		expect(readRetryHint(failure)).toEqual({
			retryable: true,
			retryAfterMs: 3_600_000,
			reason: 'daily_api_limit',
			service: 'salesforce',
		});
		expect(sim.ledger().calls.filter((call) => call.kind === 'data')).toHaveLength(1);
	});
});

describe('item handling', () => {
	it('with Continue On Fail, outputs each failed item with its retry hint and carries on', async () => {
		const output = await runNode({
			parameters: [
				{
					authentication: 'jwt',
					operation: 'update',
					sobject: 'Opportunity',
					recordId: sim.seedIds.wonOpportunity,
					fields: { Bogus__c: 1 },
				},
				{
					authentication: 'jwt',
					operation: 'update',
					sobject: 'Opportunity',
					recordId: sim.seedIds.openOpportunity,
					fields: { Sync_Status__c: 'Pending' },
				},
			],
			credentials: { dealflowSalesforceJwtApi: jwtCredential(sim) },
			items: 2,
			continueOnFail: true,
		});

		expect(output).toEqual([
			{
				json: expect.objectContaining({
					error: expect.stringContaining('Bogus__c'),
					dealflow: { retryable: false, reason: 'validation', service: 'salesforce' },
				}),
				pairedItem: { item: 0 },
			},
			{
				json: expect.objectContaining({ id: sim.seedIds.openOpportunity, success: true }),
				pairedItem: { item: 1 },
			},
		]);
	});

	it('never puts tokens, keys or secrets in output or error data', async () => {
		const output = await run(
			{ operation: 'update', recordId: sim.seedIds.wonOpportunity, fields: { Nope__c: 1 } },
			{ continueOnFail: true },
		);
		const failure = await failureOf(
			run({ operation: 'update', recordId: sim.seedIds.wonOpportunity, fields: { Nope__c: 1 } }),
		);
		const tokens = sim.tokenCalls();
		const text = allText(output) + allText(failure);

		expect(tokens.length).toBeGreaterThan(0);
		expect(text).not.toMatch(/00DSIM000000001EAA!SIM/);
		expect(text).not.toContain('PRIVATE KEY');
		expect(text).not.toContain(sim.clientSecret);
	});
});
