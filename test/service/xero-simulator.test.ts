import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';

/**
 * The Xero simulator as the e2e suite and sandbox mode use it: its own process, driven over
 * HTTP only. These tests pin the Xero behaviours the node depends on.
 */

const CLI = path.resolve(__dirname, '../simulators/xero/cli.js');
const TENANT = '11111111-1111-4111-8111-111111111111';

interface Urls {
	url: string;
	apiBaseUrl: string;
	tokenUrl: string;
	connectionsUrl: string;
}

function startProcess(config: object): Promise<{ child: ChildProcess; urls: Urls }> {
	return new Promise((resolve, reject) => {
		const child = spawn(process.execPath, [CLI, '--config', JSON.stringify(config)], {
			stdio: ['ignore', 'pipe', 'inherit'],
		});
		child.on('error', reject);
		createInterface({ input: child.stdout! }).once('line', (line) =>
			resolve({ child, urls: JSON.parse(line) as Urls }),
		);
	});
}

describe('the Xero simulator process', () => {
	let child: ChildProcess;
	let urls: Urls;
	let token: string;

	const api = async (
		method: string,
		route: string,
		options: { body?: unknown; headers?: Record<string, string> } = {},
	) => {
		const response = await fetch(`${urls.apiBaseUrl}${route}`, {
			method,
			headers: {
				authorization: `Bearer ${token}`,
				'xero-tenant-id': TENANT,
				'content-type': 'application/json',
				...options.headers,
			},
			body: options.body === undefined ? undefined : JSON.stringify(options.body),
		});
		const text = await response.text();
		let body: unknown = text;
		try {
			body = JSON.parse(text);
		} catch {
			// plain-text bodies (404) stay strings
		}
		return {
			status: response.status,
			headers: response.headers,
			body: body as Record<string, any>,
		};
	};
	const control = async (method: string, route: string, body?: unknown) =>
		(await (
			await fetch(`${urls.url}/__sim${route}`, {
				method,
				body: body === undefined ? undefined : JSON.stringify(body),
			})
		).json()) as Record<string, any>;

	beforeAll(async () => {
		({ child, urls } = await startProcess({ minuteLimit: 1000 }));
		const grant = await fetch(urls.tokenUrl, {
			method: 'POST',
			headers: { 'content-type': 'application/x-www-form-urlencoded' },
			body: 'grant_type=client_credentials&client_id=custom-client&client_secret=custom-secret',
		});
		token = ((await grant.json()) as { access_token: string }).access_token;
	});

	afterAll(async () => {
		const exited = new Promise((resolve) => child.once('exit', resolve));
		child.kill('SIGTERM');
		await exited;
	});

	beforeEach(async () => {
		await control('POST', '/reset');
	});

	test('a client-credentials request that sends a scope is refused, as Xero does for custom connections', async () => {
		const response = await fetch(urls.tokenUrl, {
			method: 'POST',
			headers: { 'content-type': 'application/x-www-form-urlencoded' },
			body: 'grant_type=client_credentials&client_id=custom-client&client_secret=custom-secret&scope=accounting.transactions',
		});

		expect(response.status).toBe(400);
		expect(await response.json()).toMatchObject({ error: 'invalid_scope' });
	});

	test('answers in Xero shapes: 401 and 403 problem details, 404 plain text', async () => {
		const unauthorised = await api('GET', '/Invoices', {
			headers: { authorization: 'Bearer wrong' },
		});
		const forbidden = await api('GET', '/Invoices', {
			headers: { 'xero-tenant-id': 'not-a-tenant' },
		});
		const missing = await api('GET', '/Invoices/00000000-0000-0000-0000-000000000000');

		expect(unauthorised).toMatchObject({
			status: 401,
			body: { Title: 'Unauthorized', Detail: 'AuthenticationUnsuccessful' },
		});
		expect(forbidden).toMatchObject({ status: 403, body: { Title: 'Forbidden' } });
		expect(missing.status).toBe(404);
		expect(typeof missing.body).toBe('string');
	});

	test('every admitted call carries the three remaining-limit headers', async () => {
		const response = await api('GET', '/Contacts');

		expect(response.headers.get('x-minlimit-remaining')).toBe('999');
		expect(response.headers.get('x-daylimit-remaining')).toBe('4999');
		expect(response.headers.get('x-appminlimit-remaining')).toBe('9999');
	});

	test('rejects a second invoice with the same InvoiceNumber as a ValidationException', async () => {
		const invoice = {
			Type: 'ACCREC',
			InvoiceNumber: 'INV-77',
			Contact: { Name: 'A' },
			LineItems: [{ Description: 'x', Quantity: 1, UnitAmount: 1, AccountCode: '200' }],
		};
		await api('PUT', '/Invoices', { body: { Invoices: [invoice] } });

		const second = await api('PUT', '/Invoices', { body: { Invoices: [invoice] } });

		expect(second.status).toBe(400);
		expect(second.body).toMatchObject({
			Type: 'ValidationException',
			Elements: [{ ValidationErrors: [{ Message: 'Invoice # must be unique.' }] }],
		});
	});

	test('replays an Idempotency-Key inside its window and refuses it with a different body', async () => {
		const body = (amount: number) => ({
			Invoices: [
				{
					Type: 'ACCREC',
					Contact: { Name: 'B' },
					LineItems: [{ Description: 'x', Quantity: 1, UnitAmount: amount, AccountCode: '200' }],
				},
			],
		});
		const first = await api('PUT', '/Invoices', {
			body: body(5),
			headers: { 'idempotency-key': 'k-1' },
		});
		const replay = await api('PUT', '/Invoices', {
			body: body(5),
			headers: { 'idempotency-key': 'k-1' },
		});
		const conflict = await api('PUT', '/Invoices', {
			body: body(6),
			headers: { 'idempotency-key': 'k-1' },
		});

		expect(replay.body.Invoices[0].InvoiceID).toBe(first.body.Invoices[0].InvoiceID);
		expect(conflict.status).toBe(400);
		expect((await control('GET', '/ledger')).invoices).toHaveLength(1);
	});

	test('answers 429 with Retry-After and X-Rate-Limit-Problem once the sixth call runs concurrently', async () => {
		await control('POST', '/faults', { latency: [{ pattern: 'Contacts', ms: 1_000 }] });

		const responses = await Promise.all(
			Array.from({ length: 6 }, async () => await api('GET', '/Contacts')),
		);

		const limited = responses.filter((r) => r.status === 429);
		expect(limited).toHaveLength(1);
		expect(limited[0].headers.get('x-rate-limit-problem')).toBe('concurrent');
		expect(Number(limited[0].headers.get('retry-after'))).toBeGreaterThan(0);
	});

	test('the minute limit answers 429 with X-Rate-Limit-Problem: minute, configured over HTTP', async () => {
		await control('POST', '/config', { minuteLimit: 2 });

		const statuses = [];
		for (let i = 0; i < 3; i++) statuses.push((await api('GET', '/Invoices')).status);
		await control('POST', '/config', { minuteLimit: 1000 });

		expect(statuses).toEqual([200, 200, 429]);
		const ledger = await control('GET', '/ledger');
		expect(ledger.calls.map((c: { rateLimited?: string }) => c.rateLimited ?? null)).toEqual([
			null,
			null,
			'minute',
		]);
	});

	test('injects a 503 window and a dropped connection on demand, and logs every call with tenant and status', async () => {
		await control('POST', '/faults', { unavailableForMs: 60_000 });
		const unavailable = await api('GET', '/Invoices');
		await control('DELETE', '/faults');
		await control('POST', '/faults', { dropCount: 1 });
		const dropped = await api('GET', '/Invoices').catch((error: unknown) => error);

		expect(unavailable.status).toBe(503);
		expect(String(dropped)).toContain('fetch failed');
		const calls = (await control('GET', '/ledger')).calls;
		expect(calls.map((c: { status: number }) => c.status)).toEqual([503, -1]);
		expect(calls[0]).toMatchObject({
			method: 'GET',
			path: '/api.xro/2.0/Invoices',
			tenantId: TENANT,
		});
	});
});
