// The Dealflow Inventory node inside a real n8n 2.41.1 (regular mode): a webhook hands it a
// Salesforce-style order and it reserves stock in the PostgreSQL on this machine, once.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { nodeOutput, startN8n, type N8nInstance, type WorkflowJson } from './harness';
import { CREDENTIALS, Fixture } from '../service/inventory/helpers';

jest.setTimeout(600_000);

function n8nId(): string {
	const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
	return Array.from(crypto.randomBytes(16), (byte) => alphabet[byte % alphabet.length]).join('');
}

describe('Dealflow Inventory in a real n8n', () => {
	const fx = new Fixture('postgres');
	const webhookPath = `inventory-${crypto.randomBytes(4).toString('hex')}`;
	const credential = { id: n8nId(), name: `Warehouse ${webhookPath}` };
	let n8n: N8nInstance;
	let ctx: Awaited<ReturnType<Fixture['context']>>;

	const order = (orderKey: string, quantity: number) => ({
		orderKey,
		reference: orderKey,
		currency: 'USD',
		customer: { name: 'Acme Ltd' },
		lines: [
			{ sku: 'E2E-B', quantity, unitPrice: 5 },
			{ sku: 'E2E-A', quantity: 1, unitPrice: 9 },
		],
	});

	const post = async (body: object): Promise<Response> => {
		for (;;) {
			const response = await fetch(n8n.webhookUrl(webhookPath), {
				method: 'POST',
				headers: { 'content-type': 'application/json' },
				body: JSON.stringify(body),
			});
			// n8n reports ready before every published workflow is active; 404 means "not yet".
			if (response.status !== 404) return response;
			await new Promise((resolve) => setTimeout(resolve, 250));
		}
	};

	beforeAll(async () => {
		ctx = await fx.context();
		await fx.seed(ctx, { 'E2E-A': 10, 'E2E-B': 10 });
		let text = fs.readFileSync(path.join(__dirname, 'fixtures', 'inventory-reserve.json'), 'utf8');
		const replacements = {
			__STOCK_TABLE__: ctx.map.stockParts[0],
			__LEDGER_TABLE__: ctx.map.ledgerParts[0],
			__WEBHOOK_PATH__: webhookPath,
			__CREDENTIAL_ID__: credential.id,
			__CREDENTIAL_NAME__: credential.name,
		};
		for (const [placeholder, value] of Object.entries(replacements)) {
			text = text.split(placeholder).join(value);
		}
		n8n = await startN8n({
			mode: 'regular',
			name: 'inventory',
			credentials: [
				{
					...credential,
					type: 'dealflowInventoryDbApi',
					data: { ...CREDENTIALS.postgres, connectionType: 'fields' },
				},
			],
			workflows: [JSON.parse(text) as WorkflowJson],
		});
	});

	afterAll(async () => {
		await n8n?.stop();
		await fx.cleanup();
	});

	it('reserves an order from a webhook once, and answers a repeat with the original reservation', async () => {
		const first = await post(order('sf:opp:e2e-1:closed-won', 4));
		const repeat = await post(order('sf:opp:e2e-1:closed-won', 4));

		expect(first.status).toBe(200);
		expect(((await first.json()) as { inventory: unknown }).inventory).toMatchObject({
			status: 'reserved',
			reserved: true,
			alreadyApplied: false,
			lines: [
				{ sku: 'E2E-A', quantity: 1 },
				{ sku: 'E2E-B', quantity: 4 },
			],
		});
		expect(((await repeat.json()) as { inventory: unknown }).inventory).toMatchObject({
			status: 'reserved',
			alreadyApplied: true,
		});
		expect(await fx.onHand(ctx)).toEqual({ 'E2E-A': 9, 'E2E-B': 6 });

		const executions = await n8n.waitForExecutions({ count: 2, status: 'success' });
		// The node keeps the incoming item (here the webhook's, with the order under body).
		expect(nodeOutput(executions[0], 'Dealflow Inventory')[0].json).toMatchObject({
			body: { customer: { name: 'Acme Ltd' } },
			inventory: { orderKey: 'sf:opp:e2e-1:closed-won' },
		});
	});

	it('fails an order with a fractional quantity without touching stock, marked not retryable', async () => {
		await post(order('sf:opp:e2e-2:closed-won', 1.5));

		const [failed] = await n8n.waitForExecutions({ count: 1, status: 'error' });
		expect(JSON.stringify(failed)).toContain('is not a whole number');
		expect(JSON.stringify(failed)).toContain('"reason":"validation"');
		expect(await fx.onHand(ctx)).toEqual({ 'E2E-A': 9, 'E2E-B': 6 });
		expect(await fx.ledger(ctx)).toHaveLength(2);
	});
});
