'use strict';
/**
 * A local stand-in for the parts of a Salesforce org the Dealflow node talks to: the OAuth token
 * endpoint (refresh_token, JWT bearer, client_credentials, password, authorization_code), SOAP
 * login, the REST query endpoint with paging, sobject CRUD, upsert by external id, describe and
 * limits. It answers in Salesforce's own shapes (`[{message, errorCode, fields}]`, the
 * `Sforce-Limit-Info` header), injects faults on demand, and keeps a ledger of calls and writes
 * that tests read back through `/__sim/...` or the returned object.
 *
 * Plain CommonJS so `node test/simulators/salesforce/cli.js` runs it without a TypeScript step.
 */

const http = require('node:http');
const crypto = require('node:crypto');
const { SCHEMA, STAGES, SEED_IDS, READ_ONLY, seedRecords } = require('./seed');
const { parseSoql, evaluate, whereFields, compare, SoqlError } = require('./soql');

const DEFAULT_APP = {
	clientId: 'sim-consumer-key',
	clientSecret: 'sim-consumer-secret',
	redirectUri: 'http://localhost:5678/rest/oauth2-credential/callback',
};
const DEFAULT_USER = {
	username: 'integration@dealflow.example',
	password: 'sim-password',
	securityToken: 'SIMTOKEN',
	userId: '005SIM000000001AAA',
};
const ORG_ID = '00DSIM000000001EAA';
const JWT_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/** The wording the real API uses for each REQUEST_LIMIT_EXCEEDED variant. */
const LIMIT_MESSAGES = {
	concurrent: 'ConcurrentRequests (Concurrent API Requests) Limit exceeded.',
	concurrentLongTxn: 'ConcurrentPerOrgLongTxn Limit exceeded.',
	daily: 'TotalRequests Limit exceeded.',
};

class ApiError extends Error {
	constructor(status, errorCode, message, fields) {
		super(message);
		this.status = status;
		this.errorCode = errorCode;
		this.fields = fields;
	}

	body() {
		const entry = { message: this.message, errorCode: this.errorCode };
		if (this.fields) entry.fields = this.fields;
		return [entry];
	}
}

function base64url(buffer) {
	return Buffer.from(buffer).toString('base64url');
}

function nowIso() {
	return new Date().toISOString().replace('Z', '+0000');
}

function round2(value) {
	return Math.round(value * 100) / 100;
}

/**
 * Starts a simulator.
 *
 * @param {import('./index').SalesforceSimulatorOptions} [options]
 * @returns {Promise<import('./index').SalesforceSimulator>} once it listens on 127.0.0.1
 */
async function startSalesforceSimulator(options = {}) {
	let keyPair;
	if (!options.jwtPublicKeyPem) {
		keyPair = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
	}
	const apps = options.connectedApps ?? [
		{
			...DEFAULT_APP,
			publicKeyPem:
				options.jwtPublicKeyPem ?? keyPair.publicKey.export({ type: 'spki', format: 'pem' }),
		},
	];
	const users = options.users ?? [DEFAULT_USER];

	const state = {
		config: {
			multiCurrency: options.multiCurrency ?? true,
			sessionLifetimeSec: options.sessionLifetimeSec ?? 7200,
			apiLimit: options.apiLimit ?? 15000,
			apiUsed: options.apiUsed ?? 0,
			batchSize: options.batchSize ?? 2000,
			latencyMs: options.latencyMs ?? 0,
			audiences: options.audiences ?? [],
		},
		records: {},
		sessions: new Map(),
		refreshTokens: new Map(),
		authCodes: new Map(),
		cursors: new Map(),
		faults: [],
		calls: [],
		writes: [],
		seq: 0,
		idCounter: 1000,
		// Bumped by reset(): a slow request that started before a reset must not write into the
		// fresh state of the next test.
		generation: 0,
	};

	function reseed() {
		state.records = {};
		for (const type of Object.keys(SCHEMA)) state.records[type] = new Map();
		const seed = seedRecords();
		const stamp = nowIso();
		for (const [type, list] of Object.entries(seed)) {
			for (const record of list) {
				state.records[type].set(record.Id, {
					...record,
					CreatedDate: stamp,
					LastModifiedDate: stamp,
					SystemModstamp: stamp,
				});
			}
		}
		state.cursors.clear();
	}
	reseed();

	const server = http.createServer((req, res) => {
		handle(req, res).catch((error) => {
			// A bug in the simulator must be loud in test output, not look like a Salesforce fault.
			process.stderr.write(`salesforce simulator error: ${error.stack}\n`);
			if (!res.headersSent)
				sendJson(res, 500, [{ message: String(error), errorCode: 'SIMULATOR_BUG' }]);
			else res.end();
		});
	});
	await new Promise((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
	const baseUrl = `http://127.0.0.1:${server.address().port}`;

	// ---- helpers -------------------------------------------------------------------------------

	function newId(type) {
		state.idCounter += 1;
		return `${SCHEMA[type].prefix}SIM${String(state.idCounter).padStart(9, '0')}AAA`;
	}

	function fieldExists(type, name) {
		const field = SCHEMA[type].fields[name];
		if (!field) return false;
		return !(field.multiCurrencyOnly && !state.config.multiCurrency);
	}

	function canonicalField(type, name) {
		const match = Object.keys(SCHEMA[type].fields).find(
			(candidate) => candidate.toLowerCase() === name.toLowerCase(),
		);
		return match && fieldExists(type, match) ? match : undefined;
	}

	function canonicalType(name) {
		return Object.keys(SCHEMA).find((type) => type.toLowerCase() === String(name).toLowerCase());
	}

	function canonicalKey(map, name) {
		return Object.keys(map).find((key) => key.toLowerCase() === name.toLowerCase());
	}

	/** The record as the API shows it: derived fields (names, totals, won flags) filled in. */
	function view(type, record) {
		const out = { ...record };
		if (type === 'Opportunity') {
			const stage = STAGES[record.StageName] ?? { closed: false, won: false };
			out.IsWon = stage.won;
			out.IsClosed = stage.closed;
			const lines = [...state.records.OpportunityLineItem.values()].filter(
				(item) => item.OpportunityId === record.Id,
			);
			if (lines.length > 0) {
				out.Amount = round2(lines.reduce((sum, item) => sum + lineTotal(item), 0));
			}
			if (!state.config.multiCurrency) delete out.CurrencyIsoCode;
		}
		if (type === 'OpportunityLineItem') {
			const opportunity = state.records.Opportunity.get(record.OpportunityId);
			const product = state.records.Product2.get(record.Product2Id);
			out.Name = [opportunity?.Name, product?.Name].filter(Boolean).join(' ');
			out.ListPrice = record.UnitPrice;
			out.TotalPrice = lineTotal(record);
		}
		if (type === 'Contact') {
			out.Name = [record.FirstName, record.LastName].filter(Boolean).join(' ');
		}
		return out;
	}

	function lineTotal(item) {
		const gross = Number(item.Quantity ?? 0) * Number(item.UnitPrice ?? 0);
		return round2(gross * (1 - Number(item.Discount ?? 0) / 100));
	}

	function recordUrl(version, type, id) {
		return `/services/data/v${version}/sobjects/${type}/${id}`;
	}

	/** Resolves a dotted path on a type: parent relationship names, then a field. */
	function resolvePath(type, path) {
		const parts = path.split('.');
		const hops = [];
		let current = type;
		for (let i = 0; i < parts.length - 1; i++) {
			const relation = canonicalKey(SCHEMA[current].parents, parts[i]);
			if (!relation) {
				throw new ApiError(
					400,
					'INVALID_FIELD',
					`Didn't understand relationship '${parts[i]}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name.`,
				);
			}
			hops.push({ name: relation, ...SCHEMA[current].parents[relation] });
			current = SCHEMA[current].parents[relation].type;
		}
		const field = canonicalField(current, parts[parts.length - 1]);
		if (!field) {
			throw new ApiError(
				400,
				'INVALID_FIELD',
				`No such column '${parts[parts.length - 1]}' on entity '${current}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`,
			);
		}
		return { hops, field, type: current };
	}

	function readPath(type, record, resolved) {
		let currentType = type;
		let current = record;
		for (const hop of resolved.hops) {
			const parent = state.records[hop.type].get(current[hop.field]);
			if (!parent) return null;
			currentType = hop.type;
			current = parent;
		}
		const value = view(currentType, current)[resolved.field];
		return value === undefined ? null : value;
	}

	function runQuery(statement, version, parent) {
		let type;
		let rows;
		if (parent) {
			const relation = canonicalKey(SCHEMA[parent.type].children, statement.from);
			if (!relation) {
				throw new ApiError(
					400,
					'INVALID_TYPE',
					`Didn't understand relationship '${statement.from}' in FROM part of query call. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name.`,
				);
			}
			const child = SCHEMA[parent.type].children[relation];
			type = child.type;
			rows = [...state.records[type].values()].filter((row) => row[child.field] === parent.id);
		} else {
			type = canonicalType(statement.from);
			if (!type) {
				throw new ApiError(
					400,
					'INVALID_TYPE',
					`sObject type '${statement.from}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.`,
				);
			}
			rows = [...state.records[type].values()];
		}

		const selected = statement.fields.map((path) => ({ path, resolved: resolvePath(type, path) }));
		const filters = new Map(
			whereFields(statement.where).map((path) => [path, resolvePath(type, path)]),
		);
		const ordering = statement.orderBy.map((entry) => ({
			...entry,
			resolved: resolvePath(type, entry.field),
		}));
		for (const sub of statement.subqueries) {
			if (parent) throw new ApiError(400, 'MALFORMED_QUERY', 'nested subqueries are not supported');
			// Run once against no parent so a bad subquery fails before any row is built.
			runQuery(sub, version, { type, id: '' });
		}

		if (statement.where) {
			rows = rows.filter((row) =>
				evaluate(statement.where, (path) => readPath(type, row, filters.get(path))),
			);
		}
		if (ordering.length > 0) {
			rows.sort((a, b) => {
				for (const entry of ordering) {
					const order = compare(
						readPath(type, a, entry.resolved),
						readPath(type, b, entry.resolved),
					);
					if (order !== 0) return entry.direction === 'DESC' ? -order : order;
				}
				return 0;
			});
		} else if (type === 'OpportunityLineItem') {
			rows.sort((a, b) => compare(a.SortOrder ?? 0, b.SortOrder ?? 0));
		}
		rows = rows.slice(statement.offset ?? 0);
		if (statement.limit !== null) rows = rows.slice(0, statement.limit);

		return rows.map((row) => {
			const out = { attributes: { type, url: recordUrl(version, type, row.Id) } };
			for (const { path, resolved } of selected) {
				if (resolved.hops.length === 0) {
					out[resolved.field] = readPath(type, row, resolved);
					continue;
				}
				let target = out;
				let currentType = type;
				let current = row;
				let missing = false;
				for (const hop of resolved.hops) {
					const parentRecord = missing
						? undefined
						: state.records[hop.type].get(current[hop.field]);
					if (!parentRecord) {
						if (target[hop.name] === undefined) target[hop.name] = null;
						missing = true;
						break;
					}
					if (!target[hop.name]) {
						target[hop.name] = {
							attributes: { type: hop.type, url: recordUrl(version, hop.type, parentRecord.Id) },
						};
					}
					target = target[hop.name];
					currentType = hop.type;
					current = parentRecord;
				}
				if (!missing) target[resolved.field] = view(currentType, current)[resolved.field] ?? null;
				void path;
			}
			for (const sub of statement.subqueries) {
				const relation = canonicalKey(SCHEMA[type].children, sub.from);
				const childRows = runQuery(sub, version, { type, id: row.Id });
				out[relation] =
					childRows.length === 0
						? null
						: { totalSize: childRows.length, done: true, records: childRows };
			}
			return out;
		});
	}

	function pageOf(version, rows, offset, batchSize, cursorId) {
		const slice = rows.slice(offset, offset + batchSize);
		const done = offset + batchSize >= rows.length;
		const body = { totalSize: rows.length, done, records: slice };
		if (!done) {
			const id = cursorId ?? `01gSIM${crypto.randomBytes(6).toString('hex')}`;
			state.cursors.set(id, { rows, batchSize });
			body.nextRecordsUrl = `/services/data/v${version}/query/${id}-${offset + batchSize}`;
		}
		return body;
	}

	// ---- writes --------------------------------------------------------------------------------

	function checkWritableFields(type, fields, { creating }) {
		const unknown = Object.keys(fields).filter((name) => !fieldExists(type, name));
		if (unknown.length > 0) {
			throw new ApiError(
				400,
				'INVALID_FIELD',
				`No such column '${unknown[0]}' on sobject of type ${type}`,
				[],
			);
		}
		const readOnly = Object.keys(fields).filter(
			(name) => READ_ONLY.includes(name) || SCHEMA[type].fields[name].readOnly,
		);
		if (readOnly.length > 0) {
			throw new ApiError(
				400,
				'INVALID_FIELD_FOR_INSERT_UPDATE',
				`Unable to create/update fields: ${readOnly.join(', ')}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`,
				readOnly,
			);
		}
		for (const [name, value] of Object.entries(fields)) {
			const kind = SCHEMA[type].fields[name].type;
			const numeric = ['currency', 'double', 'percent', 'int'].includes(kind);
			if (numeric && value !== null && typeof value !== 'number') {
				throw new ApiError(
					400,
					'JSON_PARSER_ERROR',
					`Cannot deserialize instance of ${kind} from VALUE_STRING value ${JSON.stringify(value)} or request may be missing a required field at [line:1, column:1]`,
				);
			}
			if (kind === 'date' && value !== null && !/^\d{4}-\d{2}-\d{2}$/.test(String(value))) {
				throw new ApiError(
					400,
					'JSON_PARSER_ERROR',
					`Cannot deserialize instance of date from VALUE_STRING value ${value} or request may be missing a required field at [line:1, column:1]`,
				);
			}
			if (kind === 'email' && value && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(String(value))) {
				throw new ApiError(
					400,
					'INVALID_EMAIL_ADDRESS',
					`${name}: invalid email address: ${value}`,
					[name],
				);
			}
			if (kind === 'picklist' && name === 'StageName' && !(value in STAGES)) {
				throw new ApiError(
					400,
					'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
					`Stage: bad value for restricted picklist field: ${value}`,
					['StageName'],
				);
			}
		}
		if (creating) {
			const missing = Object.entries(SCHEMA[type].fields)
				.filter(
					([name, field]) =>
						field.required && (fields[name] === undefined || fields[name] === null),
				)
				.map(([name]) => name);
			if (missing.length > 0) {
				throw new ApiError(
					400,
					'REQUIRED_FIELD_MISSING',
					`Required fields are missing: [${missing.join(', ')}]`,
					missing,
				);
			}
		}
	}

	function checkUnique(type, fields, selfId) {
		for (const [name, value] of Object.entries(fields)) {
			if (!SCHEMA[type].fields[name]?.unique || value === null || value === undefined) continue;
			for (const other of state.records[type].values()) {
				if (other.Id !== selfId && equalsCi(other[name], value)) {
					throw new ApiError(
						400,
						'DUPLICATE_VALUE',
						`duplicate value found: ${name} duplicates value on record with id: ${other.Id}`,
						[],
					);
				}
			}
		}
	}

	function equalsCi(a, b) {
		return a !== undefined && a !== null && String(a).toLowerCase() === String(b).toLowerCase();
	}

	function createRecord(type, fields) {
		checkWritableFields(type, fields, { creating: true });
		checkUnique(type, fields);
		const id = newId(type);
		const stamp = nowIso();
		state.records[type].set(id, {
			...fields,
			Id: id,
			CreatedDate: stamp,
			LastModifiedDate: stamp,
			SystemModstamp: stamp,
		});
		return id;
	}

	function updateRecord(type, id, fields) {
		checkWritableFields(type, fields, { creating: false });
		checkUnique(type, fields, id);
		const existing = state.records[type].get(id);
		const stamp = nowIso();
		state.records[type].set(id, {
			...existing,
			...fields,
			LastModifiedDate: stamp,
			SystemModstamp: stamp,
		});
	}

	function logWrite(entry) {
		state.writes.push({ seq: ++state.seq, at: Date.now(), ...entry });
	}

	// ---- auth ----------------------------------------------------------------------------------

	function issueSession({ username, clientId, grant, withRefresh }) {
		const user = users.find((candidate) => candidate.username === username) ?? users[0];
		const accessToken = `${ORG_ID}!SIM${crypto.randomBytes(24).toString('hex')}`;
		state.sessions.set(accessToken, {
			username: user.username,
			clientId,
			grant,
			expiresAt: Date.now() + state.config.sessionLifetimeSec * 1000,
		});
		const issuedAt = String(Date.now());
		const response = {
			access_token: accessToken,
			instance_url: baseUrl,
			id: `${baseUrl}/id/${ORG_ID}/${user.userId}`,
			token_type: 'Bearer',
			issued_at: issuedAt,
			scope: 'api refresh_token',
			signature: crypto
				.createHmac('sha256', 'simulator')
				.update(`${baseUrl}/id/${ORG_ID}/${user.userId}${issuedAt}`)
				.digest('base64'),
		};
		if (withRefresh) {
			const refreshToken = `5Aep${crypto.randomBytes(24).toString('hex')}`;
			state.refreshTokens.set(refreshToken, { username: user.username, clientId });
			response.refresh_token = refreshToken;
		}
		return response;
	}

	function clientFrom(req, form) {
		const header = req.headers.authorization;
		if (header && header.startsWith('Basic ')) {
			const [id, secret] = Buffer.from(header.slice(6), 'base64').toString().split(':');
			return {
				clientId: decodeURIComponent(id ?? ''),
				clientSecret: decodeURIComponent(secret ?? ''),
			};
		}
		return { clientId: form.get('client_id') ?? '', clientSecret: form.get('client_secret') ?? '' };
	}

	function oauthError(error, description) {
		return { status: 400, body: { error, error_description: description } };
	}

	function tokenGrant(req, form) {
		const grant = form.get('grant_type');
		if (grant === JWT_GRANT) return jwtGrant(form.get('assertion'));

		const { clientId, clientSecret } = clientFrom(req, form);
		const app = apps.find((candidate) => candidate.clientId === clientId);
		if (!app) return oauthError('invalid_client_id', 'client identifier invalid');
		const secretOk = app.clientSecret === clientSecret;

		if (grant === 'refresh_token') {
			const stored = state.refreshTokens.get(form.get('refresh_token') ?? '');
			if (clientSecret && !secretOk)
				return oauthError('invalid_client', 'invalid client credentials');
			if (!stored || stored.clientId !== clientId) {
				return oauthError('invalid_grant', 'expired access/refresh token');
			}
			return { status: 200, body: issueSession({ ...stored, grant }) };
		}
		if (grant === 'client_credentials') {
			if (!secretOk) return oauthError('invalid_client', 'invalid client credentials');
			return { status: 200, body: issueSession({ username: users[0].username, clientId, grant }) };
		}
		if (grant === 'password') {
			if (!secretOk) return oauthError('invalid_client', 'invalid client credentials');
			const user = users.find((candidate) => candidate.username === form.get('username'));
			if (!user || form.get('password') !== `${user.password}${user.securityToken ?? ''}`) {
				return oauthError('invalid_grant', 'authentication failure');
			}
			return { status: 200, body: issueSession({ username: user.username, clientId, grant }) };
		}
		if (grant === 'authorization_code') {
			if (!secretOk) return oauthError('invalid_client', 'invalid client credentials');
			const code = state.authCodes.get(form.get('code') ?? '');
			state.authCodes.delete(form.get('code') ?? '');
			if (!code || code.clientId !== clientId) {
				return oauthError('invalid_grant', 'invalid authorization code');
			}
			return {
				status: 200,
				body: issueSession({ username: code.username, clientId, grant, withRefresh: true }),
			};
		}
		return oauthError('unsupported_grant_type', 'grant type not supported');
	}

	function jwtGrant(assertion) {
		const parts = String(assertion ?? '').split('.');
		if (parts.length !== 3) return oauthError('invalid_grant', 'invalid assertion');
		let header;
		let claims;
		try {
			header = JSON.parse(Buffer.from(parts[0], 'base64url').toString());
			claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString());
		} catch {
			return oauthError('invalid_grant', 'invalid assertion');
		}
		if (header.alg !== 'RS256') return oauthError('invalid_grant', 'invalid assertion');
		const app = apps.find((candidate) => candidate.clientId === claims.iss);
		if (!app || !app.publicKeyPem)
			return oauthError('invalid_client_id', 'client identifier invalid');
		const signatureOk = crypto.verify(
			'RSA-SHA256',
			Buffer.from(`${parts[0]}.${parts[1]}`),
			app.publicKeyPem,
			Buffer.from(parts[2], 'base64url'),
		);
		if (!signatureOk) return oauthError('invalid_grant', 'invalid assertion');
		const audiences = [
			'https://login.salesforce.com',
			'https://test.salesforce.com',
			baseUrl,
			...state.config.audiences,
		];
		if (!audiences.includes(String(claims.aud).replace(/\/$/, ''))) {
			return oauthError('invalid_grant', 'audience is invalid');
		}
		const nowSec = Math.floor(Date.now() / 1000);
		if (typeof claims.exp !== 'number' || claims.exp < nowSec) {
			return oauthError('invalid_grant', 'expired authorization code');
		}
		if (claims.exp > nowSec + 600) return oauthError('invalid_grant', 'invalid assertion');
		const user = users.find((candidate) => candidate.username === claims.sub);
		if (!user) return oauthError('invalid_grant', "user hasn't approved this consumer");
		return {
			status: 200,
			body: issueSession({ username: user.username, clientId: app.clientId, grant: JWT_GRANT }),
		};
	}

	function soapLogin(xml) {
		const read = (tag) => {
			const match = new RegExp(`<(?:\\w+:)?${tag}>([^<]*)</(?:\\w+:)?${tag}>`).exec(xml);
			return match
				? match[1]
						.replace(/&lt;/g, '<')
						.replace(/&gt;/g, '>')
						.replace(/&quot;/g, '"')
						.replace(/&#x27;|&apos;/g, "'")
						.replace(/&amp;/g, '&')
				: undefined;
		};
		const user = users.find((candidate) => candidate.username === read('username'));
		if (!user || read('password') !== `${user.password}${user.securityToken ?? ''}`) {
			return {
				status: 500,
				body: '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><soapenv:Fault><faultcode>INVALID_LOGIN</faultcode><faultstring>INVALID_LOGIN: Invalid username, password, security token; or user locked out.</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>',
			};
		}
		const session = issueSession({
			username: user.username,
			clientId: 'soap',
			grant: 'soap-login',
		});
		return {
			status: 200,
			body: `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com"><soapenv:Body><loginResponse><result><metadataServerUrl>${baseUrl}/services/Soap/m/62.0/${ORG_ID}</metadataServerUrl><passwordExpired>false</passwordExpired><sandbox>false</sandbox><serverUrl>${baseUrl}/services/Soap/u/62.0/${ORG_ID}</serverUrl><sessionId>${session.access_token}</sessionId><userId>${user.userId}</userId><userInfo><organizationId>${ORG_ID}</organizationId><userName>${user.username}</userName></userInfo></result></loginResponse></soapenv:Body></soapenv:Envelope>`,
		};
	}

	// ---- faults --------------------------------------------------------------------------------

	function takeFault(scope, method, path) {
		const index = state.faults.findIndex(
			(fault) =>
				(fault.scope ?? 'data') === scope &&
				(!fault.method || fault.method.toUpperCase() === method) &&
				(!fault.path || path.includes(fault.path)),
		);
		if (index < 0) return undefined;
		const fault = state.faults[index];
		fault.remaining -= 1;
		if (fault.remaining <= 0) state.faults.splice(index, 1);
		return fault;
	}

	function faultResponse(fault, path) {
		const recordId = /\/([a-zA-Z0-9]{18})(\?|$)/.exec(path)?.[1] ?? SEED_IDS.wonOpportunity;
		switch (fault.kind) {
			case 'UNABLE_TO_LOCK_ROW':
				return new ApiError(
					400,
					'UNABLE_TO_LOCK_ROW',
					`unable to obtain exclusive access to this record or 1 records: ${recordId}`,
					[],
				);
			case 'SERVER_UNAVAILABLE':
				return new ApiError(
					503,
					'SERVER_UNAVAILABLE',
					'Server temporarily unavailable, please try again later.',
				);
			case 'CONCURRENT_LIMIT':
				return new ApiError(403, 'REQUEST_LIMIT_EXCEEDED', LIMIT_MESSAGES.concurrent);
			case 'CONCURRENT_LONG_TXN':
				return new ApiError(403, 'REQUEST_LIMIT_EXCEEDED', LIMIT_MESSAGES.concurrentLongTxn);
			case 'DAILY_LIMIT':
				return new ApiError(403, 'REQUEST_LIMIT_EXCEEDED', LIMIT_MESSAGES.daily);
			case 'INVALID_SESSION':
				return new ApiError(401, 'INVALID_SESSION_ID', 'Session expired or invalid');
			case 'VALIDATION':
				return new ApiError(
					400,
					'FIELD_CUSTOM_VALIDATION_EXCEPTION',
					fault.message ?? 'Invoice number must start with INV-',
					[fault.field ?? 'Invoice_Number__c'],
				);
			case 'INSUFFICIENT_ACCESS':
				return new ApiError(
					400,
					'INSUFFICIENT_ACCESS_OR_READONLY',
					'insufficient access rights on object id',
					[],
				);
			case 'CUSTOM':
				return new ApiError(
					fault.status ?? 500,
					fault.errorCode ?? 'UNKNOWN_EXCEPTION',
					fault.message ?? 'An unexpected error occurred.',
					fault.fields,
				);
			default:
				return undefined;
		}
	}

	// ---- HTTP ----------------------------------------------------------------------------------

	async function handle(req, res) {
		const url = new URL(req.url, baseUrl);
		const path = url.pathname;
		const method = req.method.toUpperCase();
		const raw = await readBody(req);

		if (path.startsWith('/__sim/')) return control(req, res, method, path.slice(7), raw, url);

		const scope =
			path === '/services/oauth2/token'
				? 'token'
				: path.startsWith('/services/Soap/u/')
					? 'soap'
					: 'data';
		const call = {
			seq: ++state.seq,
			at: Date.now(),
			method,
			path: path + url.search,
			kind: scope,
		};
		state.calls.push(call);

		const fault = takeFault(scope, method, path + url.search);
		const delay = state.config.latencyMs + (fault?.delayMs ?? 0);
		const generation = state.generation;
		if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
		if (generation !== state.generation) {
			req.socket.destroy();
			return;
		}
		if (fault) call.fault = fault.kind;
		if (fault?.kind === 'DISCONNECT') {
			call.status = 0;
			req.socket.destroy();
			return;
		}

		const send = (status, body, headers = {}) => {
			call.status = status;
			if (typeof body === 'string') {
				res.writeHead(status, {
					'content-type': headers['content-type'] ?? 'text/plain',
					...headers,
				});
				res.end(body);
			} else if (body === undefined) {
				res.writeHead(status, headers);
				res.end();
			} else {
				sendJson(res, status, body, headers);
			}
		};

		if (scope === 'token') {
			const form = new URLSearchParams(raw);
			call.grant = form.get('grant_type') ?? undefined;
			const injected = fault && faultResponse(fault, path);
			if (injected) return send(injected.status, injected.body());
			if (method !== 'POST')
				return send(405, oauthError('invalid_request', 'must use HTTP POST').body);
			const result = tokenGrant(req, form);
			call.status = result.status;
			return send(result.status, result.body);
		}
		if (scope === 'soap') {
			call.grant = 'soap-login';
			const result = soapLogin(raw);
			return send(result.status, result.body, { 'content-type': 'text/xml; charset=utf-8' });
		}
		if (path === '/services/oauth2/authorize') {
			const code = crypto.randomBytes(12).toString('hex');
			state.authCodes.set(code, {
				clientId: url.searchParams.get('client_id'),
				username: users[0].username,
			});
			const target = new URL(url.searchParams.get('redirect_uri') ?? DEFAULT_APP.redirectUri);
			target.searchParams.set('code', code);
			if (url.searchParams.get('state'))
				target.searchParams.set('state', url.searchParams.get('state'));
			return send(302, undefined, { location: target.toString() });
		}
		if (path === '/services/data' || path === '/services/data/') {
			return send(
				200,
				['58.0', '59.0', '60.0', '61.0', '62.0', '63.0'].map((version) => ({
					label: `v${version}`,
					url: `/services/data/v${version}`,
					version,
				})),
			);
		}

		const match = /^\/services\/data\/v(\d+\.\d)(\/.*)?$/.exec(path);
		if (!match)
			return send(404, [
				{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' },
			]);
		const version = match[1];
		const rest = match[2] ?? '/';
		call.apiVersion = version;

		const token = (req.headers.authorization ?? '').replace(/^(Bearer|OAuth)\s+/i, '');
		const session = state.sessions.get(token);
		if (!session || session.expiresAt <= Date.now()) {
			return send(401, [
				{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' },
			]);
		}
		call.grant = session.grant;

		state.config.apiUsed += 1;
		const limitHeader = {
			'sforce-limit-info': `api-usage=${state.config.apiUsed}/${state.config.apiLimit}`,
		};
		if (state.config.apiUsed > state.config.apiLimit) {
			return send(
				403,
				[{ message: LIMIT_MESSAGES.daily, errorCode: 'REQUEST_LIMIT_EXCEEDED' }],
				limitHeader,
			);
		}
		const injected = fault && faultResponse(fault, path);
		if (injected) return send(injected.status, injected.body(), limitHeader);

		try {
			const result = data(req, method, rest, url, raw, version, call);
			return send(result.status, result.body, limitHeader);
		} catch (error) {
			if (error instanceof ApiError) return send(error.status, error.body(), limitHeader);
			if (error instanceof SoqlError) {
				return send(400, [{ message: error.message, errorCode: error.errorCode }], limitHeader);
			}
			throw error;
		}
	}

	function parseJsonBody(raw) {
		if (!raw) return {};
		try {
			const value = JSON.parse(raw);
			if (!value || typeof value !== 'object' || Array.isArray(value))
				throw new Error('not an object');
			return value;
		} catch {
			throw new ApiError(400, 'JSON_PARSER_ERROR', 'Unexpected character in request body');
		}
	}

	function data(req, method, rest, url, raw, version, call) {
		if (rest === '/limits' || rest === '/limits/') {
			return {
				status: 200,
				body: {
					DailyApiRequests: {
						Max: state.config.apiLimit,
						Remaining: Math.max(0, state.config.apiLimit - state.config.apiUsed),
					},
				},
			};
		}
		if (rest === '/query' || rest === '/query/' || rest === '/queryAll' || rest === '/queryAll/') {
			const soql = url.searchParams.get('q');
			call.soql = soql;
			const statement = parseSoql(soql ?? '');
			const rows = runQuery(statement, version);
			const requested = /batchSize=(\d+)/i.exec(String(req.headers['sforce-query-options'] ?? ''));
			const batchSize = requested
				? Math.min(2000, Math.max(200, Number(requested[1])), state.config.batchSize)
				: state.config.batchSize;
			return { status: 200, body: pageOf(version, rows, 0, batchSize) };
		}
		const more = /^\/query\/([A-Za-z0-9]+)-(\d+)$/.exec(rest);
		if (more) {
			const cursor = state.cursors.get(more[1]);
			if (!cursor) {
				throw new ApiError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
			}
			return {
				status: 200,
				body: pageOf(version, cursor.rows, Number(more[2]), cursor.batchSize, more[1]),
			};
		}

		const sobject = /^\/sobjects\/([A-Za-z0-9_]+)(?:\/([^/]+))?(?:\/([^/]+))?\/?$/.exec(rest);
		if (!sobject) throw new ApiError(404, 'NOT_FOUND', 'The requested resource does not exist');
		const type = canonicalType(sobject[1]);
		if (!type) {
			throw new ApiError(404, 'NOT_FOUND', `The requested resource does not exist`);
		}
		call.sobject = type;
		const first = sobject[2] && decodeURIComponent(sobject[2]);
		const second = sobject[3] && decodeURIComponent(sobject[3]);

		if (first === 'describe' && !second && method === 'GET') {
			return {
				status: 200,
				body: {
					name: type,
					fields: Object.entries(SCHEMA[type].fields)
						.filter(([name]) => fieldExists(type, name))
						.map(([name, field]) => ({
							name,
							type: field.type,
							nillable: !field.required,
							createable: !field.readOnly && !READ_ONLY.includes(name),
							updateable: !field.readOnly && !READ_ONLY.includes(name),
							externalId: !!field.externalId,
							unique: !!field.unique,
						})),
				},
			};
		}

		if (!first) {
			if (method !== 'POST')
				throw new ApiError(
					405,
					'METHOD_NOT_ALLOWED',
					`HTTP Method '${method}' not allowed. Allowed are GET,POST`,
				);
			const fields = parseJsonBody(raw);
			delete fields.attributes;
			const id = createRecord(type, fields);
			logWrite({ op: 'create', sobject: type, id, fields });
			return { status: 201, body: { id, success: true, errors: [] } };
		}

		if (second !== undefined) return byExternalId(method, type, first, second, raw, version);

		const record = state.records[type].get(first);
		if (!record) {
			throw new ApiError(404, 'NOT_FOUND', 'The requested resource does not exist');
		}
		if (method === 'GET') {
			const shown = view(type, record);
			const fieldsParam = url.searchParams.get('fields');
			const names = fieldsParam
				? fieldsParam.split(',').map((name) => {
						const canonical = canonicalField(type, name.trim());
						if (!canonical) {
							throw new ApiError(
								400,
								'INVALID_FIELD',
								`No such column '${name.trim()}' on entity '${type}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`,
							);
						}
						return canonical;
					})
				: Object.keys(SCHEMA[type].fields).filter((name) => fieldExists(type, name));
			const body = { attributes: { type, url: recordUrl(version, type, record.Id) } };
			for (const name of names) body[name] = shown[name] ?? null;
			return { status: 200, body };
		}
		if (method === 'PATCH') {
			const fields = parseJsonBody(raw);
			delete fields.attributes;
			updateRecord(type, first, fields);
			logWrite({ op: 'update', sobject: type, id: first, fields });
			return { status: 204 };
		}
		if (method === 'DELETE') {
			state.records[type].delete(first);
			logWrite({ op: 'delete', sobject: type, id: first, fields: {} });
			return { status: 204 };
		}
		throw new ApiError(
			405,
			'METHOD_NOT_ALLOWED',
			`HTTP Method '${method}' not allowed. Allowed are GET,PATCH,DELETE`,
		);
	}

	function byExternalId(method, type, fieldName, value, raw, version) {
		const field = canonicalField(type, fieldName);
		if (!field || (!SCHEMA[type].fields[field].externalId && field !== 'Id')) {
			throw new ApiError(
				404,
				'NOT_FOUND',
				`Provided external ID field does not exist or is not accessible: ${fieldName}`,
			);
		}
		const matches = [...state.records[type].values()].filter((record) =>
			equalsCi(record[field], value),
		);
		if (matches.length > 1) {
			return { status: 300, body: matches.map((record) => recordUrl(version, type, record.Id)) };
		}
		if (method === 'GET') {
			if (matches.length === 0)
				throw new ApiError(404, 'NOT_FOUND', 'The requested resource does not exist');
			return {
				status: 200,
				body: {
					attributes: { type, url: recordUrl(version, type, matches[0].Id) },
					...view(type, matches[0]),
				},
			};
		}
		if (method !== 'PATCH') {
			throw new ApiError(
				405,
				'METHOD_NOT_ALLOWED',
				`HTTP Method '${method}' not allowed. Allowed are GET,PATCH`,
			);
		}
		const fields = parseJsonBody(raw);
		delete fields.attributes;
		if (fields[field] !== undefined && !equalsCi(fields[field], value)) {
			throw new ApiError(
				400,
				'INVALID_FIELD',
				`The value of ${field} in the request body does not match the value in the URL`,
				[field],
			);
		}
		delete fields[field];
		if (matches.length === 0) {
			const id = createRecord(type, { ...fields, [field]: value });
			logWrite({
				op: 'upsert',
				sobject: type,
				id,
				fields: { ...fields, [field]: value },
				created: true,
			});
			return { status: 201, body: { id, success: true, errors: [], created: true } };
		}
		const id = matches[0].Id;
		updateRecord(type, id, fields);
		logWrite({ op: 'upsert', sobject: type, id, fields, created: false });
		// Since API 46.0 an update by external id answers 200 with a body; older versions 204.
		if (Number(version) >= 46) {
			return { status: 200, body: { id, success: true, errors: [], created: false } };
		}
		return { status: 204 };
	}

	// ---- control API ---------------------------------------------------------------------------

	function control(req, res, method, route, raw, url) {
		let body;
		try {
			body = raw ? JSON.parse(raw) : {};
		} catch {
			return sendJson(res, 400, { error: 'control body is not JSON' });
		}
		if (route === 'ledger' && method === 'GET') return sendJson(res, 200, api.ledger());
		if (route === 'ledger' && method === 'DELETE') {
			api.clearLedger();
			return sendJson(res, 200, { ok: true });
		}
		if (route === 'faults' && method === 'POST') return sendJson(res, 200, api.injectFault(body));
		if (route === 'faults' && method === 'DELETE') {
			api.clearFaults();
			return sendJson(res, 200, { ok: true });
		}
		if (route === 'faults' && method === 'GET') return sendJson(res, 200, state.faults);
		if (route === 'reset' && method === 'POST') {
			api.reset();
			return sendJson(res, 200, { ok: true });
		}
		if (route === 'sessions/expire' && method === 'POST') {
			return sendJson(res, 200, { expired: api.expireSessions() });
		}
		if (route === 'config' && (method === 'PATCH' || method === 'POST')) {
			return sendJson(res, 200, api.configure(body));
		}
		if (route === 'config' && method === 'GET') return sendJson(res, 200, state.config);
		if (route === 'info' && method === 'GET') return sendJson(res, 200, api.info());
		const records = /^records\/([A-Za-z0-9]+)(?:\/([A-Za-z0-9]+))?$/.exec(route);
		if (records && method === 'GET') {
			const type = canonicalType(records[1]);
			if (!type) return sendJson(res, 404, { error: 'unknown type' });
			if (records[2]) {
				const record = api.getRecord(type, records[2]);
				return record ? sendJson(res, 200, record) : sendJson(res, 404, { error: 'not found' });
			}
			return sendJson(res, 200, api.listRecords(type));
		}
		if (records && method === 'POST' && !records[2]) {
			const type = canonicalType(records[1]);
			if (!type) return sendJson(res, 404, { error: 'unknown type' });
			return sendJson(res, 201, { id: api.putRecord(type, body) });
		}
		void url;
		void req;
		return sendJson(res, 404, { error: `unknown control route ${method} /__sim/${route}` });
	}

	const api = {
		url: baseUrl,
		seedIds: SEED_IDS,
		clientId: apps[0].clientId,
		clientSecret: apps[0].clientSecret,
		username: users[0].username,
		password: users[0].password,
		securityToken: users[0].securityToken,
		privateKeyPem: keyPair
			? keyPair.privateKey.export({ type: 'pkcs8', format: 'pem' })
			: undefined,
		info() {
			return {
				url: baseUrl,
				clientId: api.clientId,
				clientSecret: api.clientSecret,
				username: api.username,
				password: api.password,
				securityToken: api.securityToken,
				privateKeyPem: api.privateKeyPem,
				seedIds: SEED_IDS,
			};
		},
		ledger() {
			return {
				calls: state.calls.map((c) => ({ ...c })),
				writes: state.writes.map((w) => ({ ...w })),
			};
		},
		tokenCalls(grant) {
			return state.calls.filter(
				(c) => (c.kind === 'token' || c.kind === 'soap') && (!grant || c.grant === grant),
			);
		},
		clearLedger() {
			state.calls = [];
			state.writes = [];
		},
		injectFault(fault) {
			const entry = { ...fault, remaining: fault.times ?? 1, id: ++state.seq };
			state.faults.push(entry);
			return entry;
		},
		clearFaults() {
			state.faults = [];
		},
		expireSessions() {
			let count = 0;
			for (const session of state.sessions.values()) {
				if (session.expiresAt > Date.now()) count++;
				session.expiresAt = 0;
			}
			return count;
		},
		issueRefreshToken(username = users[0].username, clientId = apps[0].clientId) {
			const refreshToken = `5Aep${crypto.randomBytes(24).toString('hex')}`;
			state.refreshTokens.set(refreshToken, { username, clientId });
			return refreshToken;
		},
		issueAccessToken(username = users[0].username) {
			return issueSession({ username, clientId: apps[0].clientId, grant: 'manual' }).access_token;
		},
		configure(patch) {
			for (const key of Object.keys(state.config)) {
				if (patch[key] !== undefined) state.config[key] = patch[key];
			}
			return { ...state.config };
		},
		getRecord(type, id) {
			const record = state.records[canonicalType(type)]?.get(id);
			return record ? view(canonicalType(type), record) : undefined;
		},
		listRecords(type) {
			const canonical = canonicalType(type);
			return [...state.records[canonical].values()].map((record) => view(canonical, record));
		},
		putRecord(type, fields) {
			const canonical = canonicalType(type);
			const id = fields.Id ?? newId(canonical);
			state.records[canonical].set(id, { ...fields, Id: id });
			return id;
		},
		reset() {
			state.generation += 1;
			reseed();
			state.sessions.clear();
			state.refreshTokens.clear();
			state.faults = [];
			state.calls = [];
			state.writes = [];
			state.config.apiUsed = options.apiUsed ?? 0;
		},
		async close() {
			server.closeAllConnections?.();
			await new Promise((resolve) => server.close(() => resolve()));
		},
	};
	return api;
}

function readBody(req) {
	return new Promise((resolve, reject) => {
		const chunks = [];
		req.on('data', (chunk) => chunks.push(chunk));
		req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
		req.on('error', reject);
	});
}

function sendJson(res, status, body, headers = {}) {
	res.writeHead(status, { 'content-type': 'application/json;charset=UTF-8', ...headers });
	res.end(JSON.stringify(body));
}

/** Signs a JWT bearer assertion the way a connected-app client must (RS256). */
function signJwtAssertion({ clientId, username, audience, privateKeyPem, expiresInSec = 180 }) {
	const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));
	const payload = base64url(
		JSON.stringify({
			iss: clientId,
			sub: username,
			aud: audience,
			exp: Math.floor(Date.now() / 1000) + expiresInSec,
		}),
	);
	const signature = crypto.sign('RSA-SHA256', Buffer.from(`${header}.${payload}`), privateKeyPem);
	return `${header}.${payload}.${base64url(signature)}`;
}

module.exports = {
	startSalesforceSimulator,
	signJwtAssertion,
	SEED_IDS,
	LIMIT_MESSAGES,
	JWT_GRANT,
	DEFAULT_APP,
	DEFAULT_USER,
};
