import { parseOrder } from '../../../nodes/shared/order';

const order = {
	orderKey: 'sf:opp:0065g00000ABCDE:closed-won',
	reference: '0065g00000ABCDE',
	currency: 'USD',
	closeDate: '2026-11-30',
	customer: { name: 'Acme Ltd', accountNumber: 'ACME-1', email: 'ap@acme.test' },
	lines: [
		{ sku: 'WIDGET-1', quantity: 3, unitPrice: 12.5 },
		{ sku: 'GADGET-2', quantity: 1, unitPrice: 99.99, discountPercent: 10 },
	],
};

describe('the order object', () => {
	it('accepts a complete order', () => {
		const result = parseOrder(order);
		expect(result.ok).toBe(true);
	});

	it('names every problem with its path', () => {
		const result = parseOrder({
			...order,
			currency: 'usd',
			customer: {},
			lines: [{ sku: 'A', quantity: -1, unitPrice: 1 }],
		});
		expect(result).toEqual({
			ok: false,
			problems: expect.arrayContaining([
				expect.stringMatching(/^currency: must be a three-letter ISO 4217 code/),
				expect.stringMatching(/^customer\.name: Required/),
				expect.stringMatching(/^lines\[0\]\.quantity: /),
			]),
		});
	});

	it('refuses an order with no lines', () => {
		const result = parseOrder({ ...order, lines: [] });
		expect(result).toEqual({ ok: false, problems: ['lines: an order needs at least one line'] });
	});
});
