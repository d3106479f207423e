'use strict';
/**
 * The sandbox stack: everything the shipped workflows need except n8n itself, on this machine.
 * Starts the Xero and Salesforce simulators as child processes, gives the run its own PostgreSQL
 * schema with a stock table and the Inventory ledger, and builds the credentials the workflows
 * reference (by the fixed ids in `workflows/*.json`). Used by the e2e suite and by `npm start`
 * in sandbox mode. Plain JavaScript so scripts can use it without a build; types in sandbox.d.ts.
 */
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const readline = require('node:readline');

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const WORKFLOWS_DIR = path.join(REPO_ROOT, 'workflows');

/** The credentials the shipped workflows reference, by type. Ids and names are fixed. */
const CREDENTIAL_IDS = {
	salesforceCallout: { id: 'DfSfCallout00001', name: 'Dealflow Salesforce callout secret' },
	xeroWebhookKey: { id: 'DfXeroWebhook001', name: 'Dealflow Xero webhook key' },
	redis: { id: 'DfRedis000000001', name: 'Dealflow Redis' },
	warehouse: { id: 'DfWarehouse00001', name: 'Dealflow Warehouse' },
	salesforce: { id: 'DfSalesforce0001', name: 'Dealflow Salesforce' },
	xero: { id: 'DfXero0000000001', name: 'Dealflow Xero' },
};

/** Webhook ids and paths of the shipped triggers; the Signed Webhook listens at `/webhook/<path>`. */
const WEBHOOKS = {
	dealIntake: { webhookId: 'd1a1a7e0-5a1e-4f0c-9c1d-000000000001', path: 'deal-intake' },
	xeroEvents: { webhookId: 'd3c3c7e0-5a1e-4f0c-9c1d-000000000001', path: 'xero-events' },
};

const XERO_TENANT_ID = '11111111-1111-4111-8111-111111111111';
const ACME_ACCOUNT_ID = '001SIM000000001AAA';

/**
 * Reads a shipped workflow.
 *
 * @param {string} name file name without `.json`, e.g. `deal-intake`
 * @returns the parsed workflow JSON; throws when the file is missing or not JSON
 */
function loadWorkflow(name) {
	return JSON.parse(fs.readFileSync(path.join(WORKFLOWS_DIR, `${name}.json`), 'utf8'));
}

/** Spawns `node <script>` and resolves with the parsed JSON of its ready line. */
function startChild({ script, args = [], readyPrefix = '', label }) {
	const child = spawn(process.execPath, [path.join(REPO_ROOT, script), ...args], {
		cwd: REPO_ROOT,
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	let stderr = '';
	child.stderr.on('data', (chunk) => {
		stderr = (stderr + chunk.toString()).slice(-4000);
	});
	return new Promise((resolve, reject) => {
		const lines = readline.createInterface({ input: child.stdout });
		const timer = setTimeout(() => {
			child.kill('SIGKILL');
			reject(new Error(`${label} did not report ready within 30 s: ${stderr}`));
		}, 30_000);
		lines.on('line', (line) => {
			if (!line.startsWith(readyPrefix)) return;
			clearTimeout(timer);
			lines.removeAllListeners('line');
			// Keep draining stdout so the child never blocks on a full pipe.
			child.stdout.resume();
			resolve({ child, info: JSON.parse(line.slice(readyPrefix.length).trim()) });
		});
		child.once('exit', (code) => {
			clearTimeout(timer);
			reject(new Error(`${label} exited with code ${code} before it was ready: ${stderr}`));
		});
	});
}

async function stopChild(child) {
	if (!child || child.exitCode !== null || child.signalCode !== null) return;
	const exited = new Promise((resolve) => child.once('exit', resolve));
	child.kill('SIGTERM');
	const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
	await exited;
	clearTimeout(timer);
}

async function control(url, method, body) {
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
 * Creates the run's schema with `dealflow_stock` (sku, on_hand) and the Inventory ledger
 * `dealflow_stock_moves`, as the Inventory node's "Set Up Tables" would, and fills the stock.
 */
async function setUpWarehouse({ pg, schema, stock }) {
	const { Client } = require('pg');
	const client = new Client(pg);
	await client.connect();
	try {
		await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
		await client.query(
			`CREATE TABLE IF NOT EXISTS "${schema}".dealflow_stock (sku VARCHAR(100) NOT NULL PRIMARY KEY, on_hand INTEGER NOT NULL DEFAULT 0)`,
		);
		await client.query(
			`CREATE TABLE IF NOT EXISTS "${schema}".dealflow_stock_moves (` +
				'id BIGSERIAL PRIMARY KEY, order_key VARCHAR(200) NOT NULL, kind VARCHAR(16) NOT NULL, ' +
				"sku VARCHAR(100) NOT NULL, location VARCHAR(100) NOT NULL DEFAULT '', " +
				'quantity_delta INTEGER NOT NULL, backordered_quantity INTEGER NOT NULL DEFAULT 0, ' +
				'created_at TIMESTAMPTZ NOT NULL DEFAULT now(), ' +
				'CONSTRAINT dealflow_stock_moves_once UNIQUE (order_key, kind, sku, location), ' +
				"CHECK (kind IN ('reserve', 'release', 'receive', 'adjust')))",
		);
		for (const [sku, onHand] of Object.entries(stock)) {
			await client.query(
				`INSERT INTO "${schema}".dealflow_stock (sku, on_hand) VALUES ($1, $2) ` +
					'ON CONFLICT (sku) DO UPDATE SET on_hand = EXCLUDED.on_hand',
				[sku, onHand],
			);
		}
	} finally {
		await client.end();
	}
}

/**
 * Starts the sandbox stack.
 *
 * @param {import('./sandbox').SandboxOptions} [options]
 * @returns {Promise<import('./sandbox').Sandbox>} running simulators, the warehouse schema and the
 * credentials; throws when a simulator or PostgreSQL cannot be started or reached (after
 * stopping whatever did start)
 */
async function startSandbox(options = {}) {
	const token = options.token ?? crypto.randomBytes(4).toString('hex');
	const schema = options.schema ?? `dealflow_sbx_${token}`;
	const redisKeyPrefix = options.redisKeyPrefix ?? `dealflow-sbx-${token}`;
	const pg = options.postgres ?? {
		host: '127.0.0.1',
		port: 5432,
		user: 'postgres',
		database: 'test',
	};
	const redis = options.redis ?? { host: '127.0.0.1', port: 6379, database: 0 };
	const stock = options.stock ?? { 'DF-WIDGET': 500, 'DF-GADGET': 500 };
	const secrets = {
		salesforceCallout:
			options.calloutSecret ?? `sandbox-callout-${crypto.randomBytes(16).toString('hex')}`,
		xeroWebhookKey:
			options.xeroWebhookKey ?? `sandbox-xero-${crypto.randomBytes(16).toString('hex')}`,
	};
	const children = [];
	const sandbox = {
		token,
		schema,
		redisKeyPrefix,
		secrets,
		xeroTenantId: XERO_TENANT_ID,
		async stop({ dropSchema = true } = {}) {
			await Promise.all(children.map(stopChild));
			if (dropSchema) await dropWarehouse({ pg, schema });
		},
	};
	try {
		const xero = await startChild({
			script: 'test/simulators/xero/cli.js',
			args: options.xeroConfig ? ['--config', JSON.stringify(options.xeroConfig)] : [],
			label: 'Xero simulator',
		});
		children.push(xero.child);
		const salesforce = await startChild({
			script: 'test/simulators/salesforce/cli.js',
			readyPrefix: 'SALESFORCE_SIMULATOR_READY ',
			label: 'Salesforce simulator',
		});
		children.push(salesforce.child);
		await setUpWarehouse({ pg, schema, stock });
		Object.assign(sandbox, {
			xero: { ...xero.info, pid: xero.child.pid },
			salesforce: { ...salesforce.info, pid: salesforce.child.pid },
			postgres: pg,
			stock,
			credentials: buildCredentials({
				xero: xero.info,
				salesforce: salesforce.info,
				pg,
				schema,
				redis,
				redisKeyPrefix,
				secrets,
			}),
		});
		return sandbox;
	} catch (error) {
		await Promise.all(children.map(stopChild));
		throw error;
	}
}

async function dropWarehouse({ pg, schema }) {
	const { Client } = require('pg');
	const client = new Client(pg);
	await client.connect();
	try {
		await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
	} finally {
		await client.end();
	}
}

/**
 * The credentials of every shipped workflow, pointing at the simulators, the run's schema (via
 * the connection's search_path) and the run's Redis key prefix.
 *
 * @returns an array ready for `n8n import:credentials` (plain `data`); never throws
 */
function buildCredentials({ xero, salesforce, pg, schema, redis, redisKeyPrefix, secrets }) {
	const pgUrl =
		`postgres://${encodeURIComponent(pg.user)}@${pg.host}:${pg.port}/${pg.database}` +
		`?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
	return [
		{
			...CREDENTIAL_IDS.salesforceCallout,
			type: 'dealflowSigningSecretApi',
			data: { secret: secrets.salesforceCallout },
		},
		{
			...CREDENTIAL_IDS.xeroWebhookKey,
			type: 'dealflowSigningSecretApi',
			data: { secret: secrets.xeroWebhookKey },
		},
		{
			...CREDENTIAL_IDS.redis,
			type: 'dealflowRedisApi',
			data: {
				connectionType: 'fields',
				host: redis.host,
				port: redis.port,
				database: redis.database ?? 0,
				keyPrefix: redisKeyPrefix,
			},
		},
		{
			...CREDENTIAL_IDS.warehouse,
			type: 'dealflowInventoryDbApi',
			data: {
				engine: 'postgres',
				connectionType: 'url',
				url: pgUrl,
				poolSize: 8,
				statementTimeoutMs: 30_000,
				lockTimeoutMs: 10_000,
			},
		},
		{
			...CREDENTIAL_IDS.salesforce,
			type: 'dealflowSalesforceClientCredentialsApi',
			data: {
				loginUrl: salesforce.url,
				clientId: salesforce.clientId,
				clientSecret: salesforce.clientSecret,
				instanceUrl: salesforce.url,
				sessionLifetimeMinutes: 30,
			},
		},
		{
			...CREDENTIAL_IDS.xero,
			type: 'dealflowXeroCustomConnectionApi',
			data: {
				clientId: 'custom-client',
				clientSecret: 'custom-secret',
				tenantId: XERO_TENANT_ID,
				dailyCallLimit: 5000,
				apiBaseUrl: xero.apiBaseUrl,
				tokenUrl: xero.tokenUrl,
				connectionsUrl: xero.connectionsUrl,
			},
		},
	];
}

/**
 * Plants won opportunities in the Salesforce simulator, each with the given lines (products are
 * created once per SKU, with the SKU as ProductCode).
 *
 * @param {import('./sandbox').Sandbox} sandbox
 * @param {import('./sandbox').SeedOptions} options
 * @returns {Promise<string[]>} the new opportunity ids, in order; throws on a control API error
 */
async function seedOpportunities(
	sandbox,
	{ count, lines, stageName = 'Closed Won', namePrefix = 'Sandbox deal' },
) {
	const base = `${sandbox.salesforce.url}/__sim/records`;
	const products = new Map();
	for (const line of lines) {
		if (products.has(line.sku)) continue;
		const { id } = await control(`${base}/Product2`, 'POST', {
			Name: `Product ${line.sku}`,
			ProductCode: line.sku,
			IsActive: true,
		});
		products.set(line.sku, id);
	}
	const ids = [];
	const one = async (n) => {
		const { id } = await control(`${base}/Opportunity`, 'POST', {
			Name: `${namePrefix} ${n + 1}`,
			AccountId: ACME_ACCOUNT_ID,
			StageName: stageName,
			CloseDate: '2026-12-01',
			CurrencyIsoCode: 'USD',
		});
		for (const [index, line] of lines.entries()) {
			await control(`${base}/OpportunityLineItem`, 'POST', {
				OpportunityId: id,
				Product2Id: products.get(line.sku),
				Quantity: line.quantity,
				UnitPrice: line.unitPrice ?? 10,
				SortOrder: index + 1,
			});
		}
		return id;
	};
	// Ten at a time: quick, and keeps the simulator's own id order stable per batch.
	for (let start = 0; start < count; start += 10) {
		const batch = Array.from({ length: Math.min(10, count - start) }, (_, k) => start + k);
		ids.push(...(await Promise.all(batch.map(one))));
	}
	return ids;
}

/**
 * Signs a Salesforce-style callout body as the Deal intake webhook checks it: base64
 * HMAC-SHA256 of the exact bytes, in `x-clickdone-signature`.
 *
 * @returns the headers to send with `body`; never throws
 */
function signCallout({ secret, body, deliveryId }) {
	const signature = crypto
		.createHmac('sha256', Buffer.from(secret, 'utf8'))
		.update(body)
		.digest('base64');
	return {
		'content-type': 'application/json',
		'x-clickdone-signature': signature,
		...(deliveryId ? { 'x-clickdone-delivery-id': deliveryId } : {}),
	};
}

module.exports = {
	CREDENTIAL_IDS,
	WEBHOOKS,
	WORKFLOWS_DIR,
	XERO_TENANT_ID,
	buildCredentials,
	loadWorkflow,
	seedOpportunities,
	signCallout,
	startSandbox,
};
