'use strict';
/**
 * The object model and seed data of the Salesforce simulator: a few standard objects with the
 * fields the Dealflow node reads and writes, and deals that cover the cases the tests need (won
 * with several lines, open, lost, a product without a code, two deals sharing a non-unique
 * external id for the 300 case).
 */

const READ_ONLY = ['Id', 'CreatedDate', 'LastModifiedDate', 'SystemModstamp'];

/** Field types as describe() reports them; `required`, `unique`, `externalId`, `readOnly` flags. */
const SCHEMA = {
	Account: {
		prefix: '001',
		fields: {
			Id: { type: 'id' },
			Name: { type: 'string', required: true },
			AccountNumber: { type: 'string' },
			BillingStreet: { type: 'textarea' },
			BillingCity: { type: 'string' },
			BillingState: { type: 'string' },
			BillingPostalCode: { type: 'string' },
			BillingCountry: { type: 'string' },
			Phone: { type: 'phone' },
			Industry: { type: 'picklist' },
			Invoice_Email__c: { type: 'email' },
			Dealflow_External_Id__c: { type: 'string', externalId: true, unique: true },
			CreatedDate: { type: 'datetime' },
			LastModifiedDate: { type: 'datetime' },
			SystemModstamp: { type: 'datetime' },
		},
		parents: {},
		children: {
			Contacts: { type: 'Contact', field: 'AccountId' },
			Opportunities: { type: 'Opportunity', field: 'AccountId' },
		},
	},
	Contact: {
		prefix: '003',
		fields: {
			Id: { type: 'id' },
			AccountId: { type: 'reference' },
			FirstName: { type: 'string' },
			LastName: { type: 'string', required: true },
			Name: { type: 'string', readOnly: true },
			Email: { type: 'email' },
			Phone: { type: 'phone' },
			CreatedDate: { type: 'datetime' },
			LastModifiedDate: { type: 'datetime' },
			SystemModstamp: { type: 'datetime' },
		},
		parents: { Account: { type: 'Account', field: 'AccountId' } },
		children: {},
	},
	Product2: {
		prefix: '01t',
		fields: {
			Id: { type: 'id' },
			Name: { type: 'string', required: true },
			ProductCode: { type: 'string' },
			Description: { type: 'textarea' },
			Family: { type: 'picklist' },
			IsActive: { type: 'boolean' },
			CreatedDate: { type: 'datetime' },
			LastModifiedDate: { type: 'datetime' },
			SystemModstamp: { type: 'datetime' },
		},
		parents: {},
		children: {},
	},
	Opportunity: {
		prefix: '006',
		fields: {
			Id: { type: 'id' },
			Name: { type: 'string', required: true },
			AccountId: { type: 'reference' },
			StageName: { type: 'picklist', required: true },
			CloseDate: { type: 'date', required: true },
			Amount: { type: 'currency' },
			Probability: { type: 'percent' },
			IsWon: { type: 'boolean', readOnly: true },
			IsClosed: { type: 'boolean', readOnly: true },
			Description: { type: 'textarea' },
			CurrencyIsoCode: { type: 'picklist', multiCurrencyOnly: true },
			Invoice_Number__c: { type: 'string', unique: true },
			Invoice_Id__c: { type: 'string' },
			Sync_Status__c: { type: 'picklist' },
			Sync_Error__c: { type: 'textarea' },
			Dealflow_Order_Key__c: { type: 'string', externalId: true, unique: true },
			ERP_Reference__c: { type: 'string', externalId: true },
			CreatedDate: { type: 'datetime' },
			LastModifiedDate: { type: 'datetime' },
			SystemModstamp: { type: 'datetime' },
		},
		parents: { Account: { type: 'Account', field: 'AccountId' } },
		children: {
			OpportunityLineItems: { type: 'OpportunityLineItem', field: 'OpportunityId' },
			OpportunityContactRoles: { type: 'OpportunityContactRole', field: 'OpportunityId' },
		},
	},
	OpportunityLineItem: {
		prefix: '00k',
		fields: {
			Id: { type: 'id' },
			OpportunityId: { type: 'reference', required: true },
			Product2Id: { type: 'reference' },
			Name: { type: 'string', readOnly: true },
			Quantity: { type: 'double', required: true },
			UnitPrice: { type: 'currency' },
			ListPrice: { type: 'currency', readOnly: true },
			Discount: { type: 'percent' },
			TotalPrice: { type: 'currency', readOnly: true },
			Description: { type: 'textarea' },
			SortOrder: { type: 'int' },
			CreatedDate: { type: 'datetime' },
			LastModifiedDate: { type: 'datetime' },
			SystemModstamp: { type: 'datetime' },
		},
		parents: {
			Opportunity: { type: 'Opportunity', field: 'OpportunityId' },
			Product2: { type: 'Product2', field: 'Product2Id' },
		},
		children: {},
	},
	OpportunityContactRole: {
		prefix: '00K',
		fields: {
			Id: { type: 'id' },
			OpportunityId: { type: 'reference', required: true },
			ContactId: { type: 'reference', required: true },
			Role: { type: 'picklist' },
			IsPrimary: { type: 'boolean' },
			CreatedDate: { type: 'datetime' },
			LastModifiedDate: { type: 'datetime' },
			SystemModstamp: { type: 'datetime' },
		},
		parents: {
			Opportunity: { type: 'Opportunity', field: 'OpportunityId' },
			Contact: { type: 'Contact', field: 'ContactId' },
		},
		children: {},
	},
};

/** Stage names and whether they close or win the deal, as a default sales process has them. */
const STAGES = {
	Prospecting: { closed: false, won: false },
	Qualification: { closed: false, won: false },
	'Needs Analysis': { closed: false, won: false },
	'Proposal/Price Quote': { closed: false, won: false },
	'Negotiation/Review': { closed: false, won: false },
	'Closed Won': { closed: true, won: true },
	'Closed Lost': { closed: true, won: false },
};

/** Fixed ids so tests can name the seeded records. */
const SEED_IDS = {
	acmeAccount: '001SIM000000001AAA',
	globexAccount: '001SIM000000002AAA',
	janeContact: '003SIM000000001AAA',
	widgetProduct: '01tSIM000000001AAA',
	gadgetProduct: '01tSIM000000002AAA',
	serviceProduct: '01tSIM000000003AAA',
	uncodedProduct: '01tSIM000000004AAA',
	wonOpportunity: '006SIM000000001AAA',
	openOpportunity: '006SIM000000002AAA',
	lostOpportunity: '006SIM000000003AAA',
	globexWonOpportunity: '006SIM000000004AAA',
	uncodedWonOpportunity: '006SIM000000005AAA',
	duplicateErpA: '006SIM000000006AAA',
	duplicateErpB: '006SIM000000007AAA',
};

function line(id, opportunityId, product2Id, fields) {
	return { Id: id, OpportunityId: opportunityId, Product2Id: product2Id, ...fields };
}

/** The seed records by object; the simulator derives names, totals and flags from them. */
function seedRecords() {
	const ids = SEED_IDS;
	return {
		Account: [
			{
				Id: ids.acmeAccount,
				Name: 'Acme Corporation',
				AccountNumber: 'ACME-001',
				BillingStreet: '1 Market Street\nSuite 400',
				BillingCity: 'San Francisco',
				BillingState: 'CA',
				BillingPostalCode: '94105',
				BillingCountry: 'United States',
				Industry: 'Manufacturing',
				Dealflow_External_Id__c: 'acme',
			},
			{
				Id: ids.globexAccount,
				Name: 'Globex GmbH',
				AccountNumber: 'GLX-77',
				BillingStreet: 'Hauptstrasse 5',
				BillingCity: 'Berlin',
				BillingPostalCode: '10115',
				BillingCountry: 'Germany',
				Invoice_Email__c: 'ap@globex.example',
			},
		],
		Contact: [
			{
				Id: ids.janeContact,
				AccountId: ids.acmeAccount,
				FirstName: 'Jane',
				LastName: 'Doe',
				Email: 'jane.doe@acme.example',
			},
		],
		Product2: [
			{ Id: ids.widgetProduct, Name: 'Widget', ProductCode: 'WID-001', IsActive: true },
			{
				Id: ids.gadgetProduct,
				Name: 'Gadget Pro',
				ProductCode: 'GAD-002',
				Description: 'Gadget, professional edition',
				IsActive: true,
			},
			{ Id: ids.serviceProduct, Name: 'Installation', ProductCode: 'SVC-010', IsActive: true },
			{ Id: ids.uncodedProduct, Name: 'Legacy part', IsActive: true },
		],
		Opportunity: [
			{
				Id: ids.wonOpportunity,
				Name: 'Acme - warehouse refit',
				AccountId: ids.acmeAccount,
				StageName: 'Closed Won',
				CloseDate: '2026-11-30',
				CurrencyIsoCode: 'USD',
			},
			{
				Id: ids.openOpportunity,
				Name: 'Acme - second site',
				AccountId: ids.acmeAccount,
				StageName: 'Negotiation/Review',
				CloseDate: '2026-12-31',
				CurrencyIsoCode: 'USD',
			},
			{
				Id: ids.lostOpportunity,
				Name: 'Globex - pilot',
				AccountId: ids.globexAccount,
				StageName: 'Closed Lost',
				CloseDate: '2026-10-01',
				CurrencyIsoCode: 'EUR',
			},
			{
				Id: ids.globexWonOpportunity,
				Name: 'Globex - rollout',
				AccountId: ids.globexAccount,
				StageName: 'Closed Won',
				CloseDate: '2026-11-15',
				CurrencyIsoCode: 'EUR',
			},
			{
				Id: ids.uncodedWonOpportunity,
				Name: 'Acme - spare parts',
				AccountId: ids.acmeAccount,
				StageName: 'Closed Won',
				CloseDate: '2026-11-20',
				CurrencyIsoCode: 'USD',
			},
			{
				Id: ids.duplicateErpA,
				Name: 'Imported deal A',
				AccountId: ids.globexAccount,
				StageName: 'Prospecting',
				CloseDate: '2027-01-31',
				ERP_Reference__c: 'ERP-DUP',
			},
			{
				Id: ids.duplicateErpB,
				Name: 'Imported deal B',
				AccountId: ids.globexAccount,
				StageName: 'Prospecting',
				CloseDate: '2027-01-31',
				ERP_Reference__c: 'ERP-DUP',
			},
		],
		OpportunityLineItem: [
			line('00kSIM000000001AAA', ids.wonOpportunity, ids.widgetProduct, {
				Quantity: 10,
				UnitPrice: 25,
				SortOrder: 1,
			}),
			line('00kSIM000000002AAA', ids.wonOpportunity, ids.gadgetProduct, {
				Quantity: 2,
				UnitPrice: 480,
				Discount: 10,
				Description: 'Two units, with the volume discount',
				SortOrder: 2,
			}),
			line('00kSIM000000003AAA', ids.wonOpportunity, ids.serviceProduct, {
				Quantity: 1.5,
				UnitPrice: 120,
				SortOrder: 3,
			}),
			line('00kSIM000000004AAA', ids.openOpportunity, ids.widgetProduct, {
				Quantity: 4,
				UnitPrice: 25,
			}),
			line('00kSIM000000005AAA', ids.openOpportunity, ids.gadgetProduct, {
				Quantity: 1,
				UnitPrice: 480,
			}),
			line('00kSIM000000006AAA', ids.lostOpportunity, ids.widgetProduct, {
				Quantity: 3,
				UnitPrice: 22,
			}),
			line('00kSIM000000007AAA', ids.globexWonOpportunity, ids.gadgetProduct, {
				Quantity: 5,
				UnitPrice: 450,
				Discount: 5,
			}),
			line('00kSIM000000008AAA', ids.uncodedWonOpportunity, ids.uncodedProduct, {
				Quantity: 7,
				UnitPrice: 3,
			}),
		],
		OpportunityContactRole: [
			{
				Id: '00KSIM000000001AAA',
				OpportunityId: ids.wonOpportunity,
				ContactId: ids.janeContact,
				Role: 'Economic Buyer',
				IsPrimary: true,
			},
		],
	};
}

module.exports = { SCHEMA, STAGES, SEED_IDS, READ_ONLY, seedRecords };
