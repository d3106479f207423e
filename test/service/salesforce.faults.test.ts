import { readRetryHint } from '../../nodes/shared/errors';
import { clearSessionCache } from '../../nodes/Salesforce/auth';
import { SalesforceCallError, type SalesforceClient } from '../../nodes/Salesforce/transport';
import {
	startSalesforceSimulator,
	type FaultSpec,
	type SalesforceSimulator,
} from '../simulators/salesforce';
import { FAST_RETRY, jwtClient, jwtCredential, runNode } from './salesforce-helpers';

let sim: SalesforceSimulator;
let client: SalesforceClient;

beforeAll(async () => {
	sim = await startSalesforceSimulator();
});

afterAll(async () => {
	await sim.close();
});

beforeEach(() => {
	sim.reset();
	clearSessionCache();
	client = jwtClient(sim, { timeoutMs: 10_000 });
});

function dataCalls(method?: string) {
	return sim
		.ledger()
		.calls.filter((call) => call.kind === 'data' && (!method || call.method === method));
}

async function callError(promise: Promise<unknown>): Promise<SalesforceCallError> {
	const error = await promise.then(
		() => undefined,
		(failure: unknown) => failure,
	);
	if (!(error instanceof SalesforceCallError))
		throw new Error(`expected a SalesforceCallError, got ${String(error)}`);
	return error;
}

const transientFaults: Array<[string, FaultSpec]> = [
	['UNABLE_TO_LOCK_ROW', { kind: 'UNABLE_TO_LOCK_ROW', times: 2 }],
	['503 SERVER_UNAVAILABLE', { kind: 'SERVER_UNAVAILABLE', times: 2 }],
	['the concurrent request limit', { kind: 'CONCURRENT_LIMIT', times: 2 }],
	['the long-running concurrent limit', { kind: 'CONCURRENT_LONG_TXN', times: 1 }],
	['a dropped connection', { kind: 'DISCONNECT', times: 2 }],
	['a timeout', { kind: 'DELAY', delayMs: 6_000, times: 1 }],
];

/** A short client timeout only where the fault is a slow answer, so a loaded machine stays green. */
function clientFor(fault: FaultSpec): SalesforceClient {
	return fault.kind === 'DELAY' ? jwtClient(sim, { timeoutMs: 1_500 }) : client;
}

describe('retryable faults are recovered with backoff', () => {
	it.each(transientFaults)('an update by id survives %s', async (_label, fault) => {
		const faulty = clientFor(fault);
		await faulty.retrieve('Opportunity', sim.seedIds.wonOpportunity, ['Id']);
		sim.injectFault({ ...fault, method: 'PATCH' });

		await faulty.update('Opportunity', sim.seedIds.wonOpportunity, { Sync_Status__c: 'Invoiced' });

		expect(sim.getRecord('Opportunity', sim.seedIds.wonOpportunity)).toMatchObject({
			Sync_Status__c: 'Invoiced',
		});
		expect(dataCalls('PATCH').length).toBe((fault.times ?? 1) + 1);
	});

	it.each(transientFaults)('an upsert by external id survives %s', async (_label, fault) => {
		sim.injectFault({ ...fault, method: 'PATCH' });

		const outcome = await clientFor(fault).upsert({
			sobject: 'Opportunity',
			externalIdField: 'Dealflow_Order_Key__c',
			externalId: 'sf:opp:retry:closed-won',
			fields: { Name: 'Retried', StageName: 'Prospecting', CloseDate: '2027-02-01' },
		});

		const records = sim
			.listRecords('Opportunity')
			.filter((record) => record.Dealflow_Order_Key__c === 'sf:opp:retry:closed-won');
		expect(records).toHaveLength(1);
		expect(outcome.id).toBe(records[0].Id);
	});

	it.each(transientFaults)('a SOQL query survives %s on a later page', async (_label, fault) => {
		sim.configure({ batchSize: 2 });
		sim.injectFault({ ...fault, path: '/query/01g' });

		const result = await clientFor(fault).query('SELECT Id FROM Opportunity');

		expect(result.records).toHaveLength(7);
		expect(result.done).toBe(true);
	});

	it('the node itself recovers a row lock and reports the write once', async () => {
		sim.injectFault({ kind: 'UNABLE_TO_LOCK_ROW', method: 'PATCH', times: 1 });

		const [item] = await runNode({
			parameters: {
				authentication: 'jwt',
				operation: 'update',
				sobject: 'Opportunity',
				recordId: sim.seedIds.wonOpportunity,
				fields: { Invoice_Number__c: 'INV-7' },
			},
			credentials: { dealflowSalesforceJwtApi: jwtCredential(sim) },
		});

		expect(item.json).toMatchObject({ success: true });
		expect(sim.ledger().writes).toHaveLength(1);
	});

	it('a 503 from the token endpoint is retried before any data call', async () => {
		sim.injectFault({ kind: 'SERVER_UNAVAILABLE', scope: 'token', times: 1 });

		await client.retrieve('Opportunity', sim.seedIds.wonOpportunity, ['Id']);

		expect(sim.tokenCalls().map((call) => call.status)).toEqual([503, 200]);
	});
});

describe('what is not retried in place', () => {
	it('a plain create is sent once even on a retryable fault, and marked for the Retry Queue', async () => {
		sim.injectFault({ kind: 'UNABLE_TO_LOCK_ROW', method: 'POST', times: 1 });

		const error = await callError(client.create('Account', { Name: 'Once only' }));

		expect(dataCalls('POST')).toHaveLength(1);
		expect(error.failure).toMatchObject({ reason: 'row_lock', retryable: true });
		expect(sim.listRecords('Account').filter((a) => a.Name === 'Once only')).toHaveLength(0);
	});

	it('a create that got no answer is not retried and not marked retryable: it may exist', async () => {
		sim.injectFault({ kind: 'DISCONNECT', method: 'POST', times: 1 });

		const error = await callError(client.create('Account', { Name: 'Maybe' }));

		expect(dataCalls('POST')).toHaveLength(1);
		expect(error.failure).toMatchObject({ reason: 'network', retryable: false });
		expect(error.message).toContain('may or may not have been created');
	});

	it('gives up after the configured attempts and marks the failure retryable', async () => {
		sim.injectFault({ kind: 'SERVER_UNAVAILABLE', method: 'GET', times: 10 });

		const error = await callError(
			client.retrieve('Opportunity', sim.seedIds.wonOpportunity, ['Id']),
		);

		expect(error.attempts).toBe(FAST_RETRY.maxAttempts);
		expect(error.failure).toMatchObject({ reason: 'unavailable', retryable: true });
		expect(dataCalls('GET')).toHaveLength(FAST_RETRY.maxAttempts);
	});

	it('the node marks an exhausted concurrent-limit failure retryable for the Retry Queue', async () => {
		sim.injectFault({ kind: 'CONCURRENT_LIMIT', times: 20 });

		const failure = await runNode({
			parameters: {
				authentication: 'jwt',
				operation: 'get',
				sobject: 'Opportunity',
				recordId: sim.seedIds.wonOpportunity,
				settings: { maxAttempts: 2 },
			},
			credentials: { dealflowSalesforceJwtApi: jwtCredential(sim) },
		}).catch((error: unknown) => error);

		expect(failure).toMatchObject({
			message: "Salesforce's concurrent request limit is reached",
			description: expect.stringContaining('Tried 2 times.'),
		});
		expect(readRetryHint(failure)).toEqual({
			retryable: true,
			reason: 'concurrent_limit',
			service: 'salesforce',
		});
	});
});
