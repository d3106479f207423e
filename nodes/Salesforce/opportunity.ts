import { parseOrder, type Order } from '../shared/order';
import { escapeSoql } from './transport';

/**
 * The "Get opportunity for invoicing" read: one SOQL statement that brings the opportunity, its
 * account, its primary contact and its line items with their products, and the mapping of that
 * record onto the shared order object. Pure, no n8n.
 */

export interface OpportunityQueryOptions {
	opportunityId: string;
	/** Whether the org has multi-currency on, so Opportunity.CurrencyIsoCode exists. */
	includeCurrency: boolean;
	/** An Account field holding the invoice email, used when there is no primary contact. */
	accountEmailField?: string;
	/** An Opportunity field to use as the order reference instead of the Id. */
	referenceField?: string;
}

const SALESFORCE_ID = /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/;
const FIELD_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

/**
 * Checks the user's input before anything is sent.
 * @returns a list of problems, empty when the options are usable; never throws
 */
export function checkOpportunityOptions(options: OpportunityQueryOptions): string[] {
	const problems: string[] = [];
	if (!SALESFORCE_ID.test(options.opportunityId)) {
		problems.push(
			`Opportunity ID "${options.opportunityId}" is not a Salesforce record id (15 or 18 letters and digits)`,
		);
	} else if (!options.opportunityId.startsWith('006')) {
		problems.push(
			`"${options.opportunityId}" is not an opportunity id: opportunity ids start with 006`,
		);
	}
	for (const [label, value] of [
		['Account Email Field', options.accountEmailField],
		['Reference Field', options.referenceField],
	] as const) {
		if (value && !FIELD_NAME.test(value)) {
			problems.push(`${label} "${value}" is not a field API name (e.g. Invoice_Email__c)`);
		}
	}
	return problems;
}

/** Builds the single SOQL statement. Call checkOpportunityOptions first. */
export function buildOpportunitySoql(options: OpportunityQueryOptions): string {
	const opportunityFields = [
		'Id',
		'Name',
		'IsWon',
		'IsClosed',
		'StageName',
		'CloseDate',
		'Amount',
		...(options.includeCurrency ? ['CurrencyIsoCode'] : []),
		...(options.referenceField && !['Id', 'Name'].includes(options.referenceField)
			? [options.referenceField]
			: []),
	];
	const accountFields = [
		'Id',
		'Name',
		'AccountNumber',
		'BillingStreet',
		'BillingCity',
		'BillingState',
		'BillingPostalCode',
		'BillingCountry',
		...(options.accountEmailField ? [options.accountEmailField] : []),
	].map((field) => `Account.${field}`);
	const lineItems =
		'(SELECT Id, Name, Quantity, UnitPrice, Discount, TotalPrice, Description, ' +
		'Product2.ProductCode, Product2.Name, Product2.Description ' +
		'FROM OpportunityLineItems ORDER BY SortOrder)';
	const primaryContact =
		'(SELECT Contact.Name, Contact.Email FROM OpportunityContactRoles WHERE IsPrimary = true LIMIT 1)';
	return [
		`SELECT ${[...opportunityFields, ...accountFields, lineItems, primaryContact].join(', ')}`,
		'FROM Opportunity',
		`WHERE Id = '${escapeSoql(options.opportunityId)}'`,
	].join(' ');
}

type SfRecord = Record<string, unknown>;

export interface OpportunitySummary {
	id: string;
	name?: string;
	stageName?: string;
	isWon: boolean;
	isClosed: boolean;
}

export interface MapOrderOptions {
	/** @default `sf:opp:<Id>:closed-won` */
	orderKey?: string;
	referenceField?: string;
	accountEmailField?: string;
	/** Used when the record carries no CurrencyIsoCode (multi-currency off). */
	defaultCurrency?: string;
}

export type OrderMapping =
	| { ok: true; order: Order; opportunity: OpportunitySummary }
	| { ok: false; problems: string[]; opportunity: OpportunitySummary };

/** The state of the deal, read from the query record. */
export function summariseOpportunity(record: SfRecord): OpportunitySummary {
	return {
		id: String(record.Id),
		name: text(record.Name),
		stageName: text(record.StageName),
		isWon: record.IsWon === true,
		isClosed: record.IsClosed === true,
	};
}

/**
 * Maps the query record onto the shared order object and validates it with the shared schema.
 * @returns the order, or problems that name the record and field to fix; never throws
 */
export function mapOpportunityToOrder(
	record: SfRecord,
	options: MapOrderOptions = {},
): OrderMapping {
	const opportunity = summariseOpportunity(record);
	const account = asRecord(record.Account);
	const problems: string[] = [];
	if (!account) problems.push('the opportunity has no account; set Account on the opportunity');

	const lineRecords = asRecord(record.OpportunityLineItems)?.records;
	const lines = (Array.isArray(lineRecords) ? lineRecords : []).map((raw, index) => {
		const item = raw as SfRecord;
		const product = asRecord(item.Product2);
		const sku = text(product?.ProductCode);
		if (!sku) {
			problems.push(
				`line ${index + 1} (${text(product?.Name) ?? text(item.Name) ?? String(item.Id)}): the product has no Product Code; set one on the product in Salesforce`,
			);
		}
		return prune({
			sku: sku ?? '',
			name: text(product?.Name) ?? text(item.Name),
			description: text(item.Description) ?? text(product?.Description),
			quantity: num(item.Quantity) as number,
			unitPrice: num(item.UnitPrice) as number,
			discountPercent: num(item.Discount),
			totalPrice: num(item.TotalPrice),
		});
	});
	if (lines.length === 0) {
		problems.push('the opportunity has no products (line items); add them before invoicing');
	}

	const contactRoles = asRecord(record.OpportunityContactRoles)?.records;
	const primaryContact = asRecord(
		(Array.isArray(contactRoles) ? (contactRoles[0] as SfRecord | undefined) : undefined)?.Contact,
	);
	const email =
		text(primaryContact?.Email) ??
		(options.accountEmailField && account ? text(account[options.accountEmailField]) : undefined);

	const currency = text(record.CurrencyIsoCode) ?? text(options.defaultCurrency)?.toUpperCase();
	if (!currency) {
		problems.push(
			'no currency: the org has no CurrencyIsoCode on opportunities; set Default Currency in the node options',
		);
	}

	const reference =
		options.referenceField && options.referenceField !== 'Id'
			? text(record[options.referenceField])
			: opportunity.id;
	if (!reference) {
		problems.push(
			`the reference field ${options.referenceField} is empty on opportunity ${opportunity.id}`,
		);
	}

	if (problems.length > 0) return { ok: false, problems, opportunity };

	const billingAddress = prune({
		street: text(account?.BillingStreet),
		city: text(account?.BillingCity),
		region: text(account?.BillingState),
		postalCode: text(account?.BillingPostalCode),
		country: text(account?.BillingCountry),
	});
	const candidate = prune({
		orderKey: text(options.orderKey) ?? `sf:opp:${opportunity.id}:closed-won`,
		reference,
		currency,
		closeDate: text(record.CloseDate),
		amount: num(record.Amount),
		customer: prune({
			name: text(account?.Name),
			accountNumber: text(account?.AccountNumber),
			email,
			externalId: text(account?.Id),
			billingAddress: Object.keys(billingAddress).length > 0 ? billingAddress : undefined,
		}),
		lines,
		source: prune({ system: 'salesforce', id: opportunity.id, stage: opportunity.stageName }),
	});
	const parsed = parseOrder(candidate);
	if (!parsed.ok) return { ok: false, problems: parsed.problems, opportunity };
	return { ok: true, order: parsed.value, opportunity };
}

function asRecord(value: unknown): SfRecord | undefined {
	return value && typeof value === 'object' && !Array.isArray(value)
		? (value as SfRecord)
		: undefined;
}

function text(value: unknown): string | undefined {
	if (typeof value !== 'string') return undefined;
	const trimmed = value.trim();
	return trimmed ? trimmed : undefined;
}

function num(value: unknown): number | undefined {
	return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function prune<T extends Record<string, unknown>>(value: T): T {
	return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
