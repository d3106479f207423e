'use strict';
/**
 * A local stand-in for the parts of Xero the Dealflow Xero node calls: the identity token
 * endpoint, /connections and the Accounting API's Contacts and Invoices.
 *
 * Plain CommonJS on purpose: the e2e harness and `npm start` sandbox mode launch it with Node 24
 * directly (`node test/simulators/xero/cli.js`), with no ts-node and no build step. Types for
 * TypeScript callers live in server.d.ts.
 *
 * It behaves like Xero where our node depends on it: Xero's error shapes, InvoiceNumber
 * uniqueness, Idempotency-Key replay inside a window, per-tenant rate limits with Xero's headers,
 * and on-demand faults. Every call and every invoice lands in a ledger that tests read, in
 * process or over `GET /__sim/ledger`.
 */

const http = require('node:http');
const crypto = require('node:crypto');

const API_PREFIX = '/api.xro/2.0';
const DEFAULT_ACCOUNT_CODES = ['200', '260', '400', '470'];
const DEFAULT_TAX_TYPES = ['OUTPUT', 'OUTPUT2', 'NONE', 'EXEMPTOUTPUT', 'TAX001'];
const DEFAULT_CURRENCIES = ['AUD', 'EUR', 'GBP', 'NZD', 'USD'];

function defaultConfig() {
	return {
		tenants: [
			{
				tenantId: '11111111-1111-4111-8111-111111111111',
				tenantName: 'Dealflow Demo Ltd',
				dayLimit: 5000,
			},
		],
		clients: [
			{ clientId: 'custom-client', clientSecret: 'custom-secret', kind: 'custom' },
			{ clientId: 'oauth-client', clientSecret: 'oauth-secret', kind: 'oauth' },
		],
		tokenLifetimeSeconds: 1800,
		/** Xero's per-tenant minute limit, scaled down in tests by shortening the window. */
		minuteLimit: 60,
		minuteWindowMs: 60_000,
		concurrentLimit: 5,
		appMinuteLimit: 10_000,
		idempotencyWindowMs: 6 * 60_000,
		accountCodes: DEFAULT_ACCOUNT_CODES,
		taxTypes: DEFAULT_TAX_TYPES,
		currencies: DEFAULT_CURRENCIES,
		/** Added to every API call, in ms. */
		latencyMs: 0,
	};
}

/**
 * Creates a simulator; call `start()` to listen on 127.0.0.1 and a free port.
 * @param {Partial<ReturnType<typeof defaultConfig>>} [overrides]
 */
function createXeroSimulator(overrides = {}) {
	const config = { ...defaultConfig(), ...overrides };
	const state = freshState();
	let faults = freshFaults();
	let server;
	let baseUrl = '';

	function freshState() {
		return {
			tokens: new Map(),
			refreshTokens: new Map(),
			authCodes: new Map(),
			/** tenantId -> Map(invoiceId -> invoice) */
			invoices: new Map(),
			contacts: new Map(),
			idempotency: new Map(),
			/** tenantId -> arrival times of calls that were let through, for the minute window */
			minuteHits: new Map(),
			appMinuteHits: new Map(),
			dayCounts: new Map(),
			inFlight: new Map(),
			calls: [],
			invoiceSeq: 0,
		};
	}

	function freshFaults() {
		return {
			dropResponseCount: 0,
			method: null,
			unavailableUntil: 0,
			unavailableStatus: 503,
			slowMs: 0,
			slowCount: 0,
			dropCount: 0,
			pathPattern: null,
			latencyByPath: [],
		};
	}

	function tenant(tenantId) {
		return config.tenants.find((t) => t.tenantId === tenantId);
	}

	function tenantStore(map, tenantId) {
		if (!map.has(tenantId)) map.set(tenantId, new Map());
		return map.get(tenantId);
	}

	// ---- HTTP plumbing -------------------------------------------------------------------------

	async function handle(req, res) {
		const url = new URL(req.url, 'http://sim');
		const body = await readBody(req);
		const call = {
			at: Date.now(),
			method: req.method,
			path: url.pathname,
			query: url.search,
			tenantId: req.headers['xero-tenant-id'] || null,
			idempotencyKey: req.headers['idempotency-key'] || null,
			status: 0,
		};
		const isControl = url.pathname.startsWith('/__sim');
		if (!isControl) state.calls.push(call);

		const reply = (status, payload, headers = {}) => {
			if (!isControl && faults.dropResponseCount > 0 && faultApplies(req, url)) {
				// The request was processed; only the answer is lost, as when a proxy cuts the line.
				faults.dropResponseCount--;
				call.status = -1;
				call.processedStatus = status;
				call.fault = 'response-dropped';
				req.socket.destroy();
				return;
			}
			call.status = status;
			call.finishedAt = Date.now();
			const text =
				payload === undefined
					? ''
					: typeof payload === 'string'
						? payload
						: JSON.stringify(payload);
			res.writeHead(status, {
				'content-type':
					typeof payload === 'string' ? 'text/plain' : 'application/json; charset=utf-8',
				...headers,
			});
			res.end(text);
		};

		try {
			if (isControl) return controlApi(req, url, body, reply);
			if (await injectedFault(req, res, url, call, reply)) return;
			const delay = callDelay(req, url, call);
			if (url.pathname.startsWith(API_PREFIX)) {
				return await accountingApi({ req, res, url, rawBody: body, call, reply, delay });
			}
			if (!(await processingTime(delay, req, res, call))) return;
			if (url.pathname === '/connect/token' && req.method === 'POST')
				return tokenEndpoint(req, body, reply);
			if (url.pathname === '/connect/authorize') return authorizeEndpoint(url, res, call);
			if (url.pathname === '/connections' && req.method === 'GET')
				return connectionsEndpoint(req, reply);
			return reply(404, "The resource you're looking for cannot be found");
		} catch (error) {
			return reply(500, { Type: 'InternalError', Message: String(error && error.message) });
		}
	}

	function readBody(req) {
		return new Promise((resolve) => {
			const chunks = [];
			req.on('data', (c) => chunks.push(c));
			req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
			req.on('error', () => resolve(''));
		});
	}

	function faultApplies(req, url) {
		if (faults.pathPattern && !new RegExp(faults.pathPattern).test(url.pathname)) return false;
		if (faults.method && faults.method !== req.method) return false;
		return true;
	}

	/** 503 windows and dropped connections, decided before the call is admitted. */
	async function injectedFault(req, res, url, call, reply) {
		if (!faultApplies(req, url)) return false;
		if (faults.dropCount > 0) {
			faults.dropCount--;
			call.status = -1;
			call.fault = 'dropped';
			req.socket.destroy();
			return true;
		}
		if (Date.now() < faults.unavailableUntil && url.pathname !== '/connect/token') {
			call.fault = 'unavailable';
			reply(faults.unavailableStatus, {
				Title: 'Service Unavailable',
				Status: faults.unavailableStatus,
				Detail: 'The service is temporarily unavailable',
			});
			return true;
		}
		return false;
	}

	/** How long this call takes to process: base latency, per-path latency, a slow fault. */
	function callDelay(req, url, call) {
		let delay = config.latencyMs;
		const extra = faults.latencyByPath.find((rule) => new RegExp(rule.pattern).test(url.pathname));
		if (extra) delay += extra.ms;
		if (faults.slowCount > 0 && faultApplies(req, url)) {
			faults.slowCount--;
			call.fault = 'slow';
			delay += faults.slowMs;
		}
		return delay;
	}

	/** Sleeps through the processing time; false when the client gave up meanwhile. */
	async function processingTime(delay, req, res, call) {
		if (delay <= 0) return true;
		await sleep(delay);
		if (res.destroyed || req.socket.destroyed) {
			call.status = -1;
			call.fault = 'client-gone';
			return false;
		}
		return true;
	}

	// ---- identity ------------------------------------------------------------------------------

	function clientFromRequest(req, form) {
		let clientId = form.get('client_id');
		let clientSecret = form.get('client_secret');
		const auth = req.headers.authorization || '';
		if (auth.startsWith('Basic ')) {
			const [id, ...rest] = Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':');
			clientId = decodeURIComponent(id);
			clientSecret = decodeURIComponent(rest.join(':'));
		}
		return config.clients.find((c) => c.clientId === clientId && c.clientSecret === clientSecret);
	}

	function issueToken(client, withRefresh) {
		const accessToken = `sim-at-${crypto.randomBytes(16).toString('hex')}`;
		state.tokens.set(accessToken, {
			client,
			expiresAt: Date.now() + config.tokenLifetimeSeconds * 1000,
		});
		const payload = {
			access_token: accessToken,
			expires_in: config.tokenLifetimeSeconds,
			token_type: 'Bearer',
		};
		if (withRefresh) {
			const refreshToken = `sim-rt-${crypto.randomBytes(16).toString('hex')}`;
			state.refreshTokens.set(refreshToken, client);
			payload.refresh_token = refreshToken;
			payload.scope = 'offline_access accounting.transactions accounting.contacts';
		}
		return payload;
	}

	function tokenEndpoint(req, body, reply) {
		const form = new URLSearchParams(body);
		const client = clientFromRequest(req, form);
		if (!client) return reply(400, { error: 'invalid_client' });
		const grant = form.get('grant_type');
		if (grant === 'client_credentials') {
			if (client.kind !== 'custom') return reply(400, { error: 'unauthorized_client' });
			// Xero's rule for custom connections: the scopes come from the connection, none are sent.
			if (form.has('scope'))
				return reply(400, {
					error: 'invalid_scope',
					error_description: 'Custom connections must not send a scope',
				});
			return reply(200, issueToken(client, false));
		}
		if (grant === 'authorization_code') {
			const code = form.get('code');
			if (!state.authCodes.has(code)) return reply(400, { error: 'invalid_grant' });
			state.authCodes.delete(code);
			return reply(200, issueToken(client, true));
		}
		if (grant === 'refresh_token') {
			const old = form.get('refresh_token');
			if (state.refreshTokens.get(old) !== client) return reply(400, { error: 'invalid_grant' });
			state.refreshTokens.delete(old);
			return reply(200, issueToken(client, true));
		}
		return reply(400, { error: 'unsupported_grant_type' });
	}

	/** Skips the consent screen: redirects straight back with a code, as a user who clicked Allow. */
	function authorizeEndpoint(url, res, call) {
		const code = issueAuthorizationCode();
		const redirect = new URL(url.searchParams.get('redirect_uri') || 'http://127.0.0.1/');
		redirect.searchParams.set('code', code);
		if (url.searchParams.get('state'))
			redirect.searchParams.set('state', url.searchParams.get('state'));
		call.status = 302;
		res.writeHead(302, { location: redirect.toString() });
		res.end();
	}

	function issueAuthorizationCode() {
		const code = `sim-code-${crypto.randomBytes(8).toString('hex')}`;
		state.authCodes.set(code, true);
		return code;
	}

	function authenticate(req) {
		const auth = req.headers.authorization || '';
		const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
		const entry = state.tokens.get(token);
		if (!entry || entry.expiresAt <= Date.now()) return null;
		return entry;
	}

	function unauthorized(reply) {
		return reply(401, {
			Type: null,
			Title: 'Unauthorized',
			Status: 401,
			Detail: 'AuthenticationUnsuccessful',
			Instance: crypto.randomUUID(),
			Extensions: {},
		});
	}

	function connectionsEndpoint(req, reply) {
		const auth = authenticate(req);
		if (!auth) return unauthorized(reply);
		const list = config.tenants.map((t) => ({
			id: crypto
				.createHash('md5')
				.update(t.tenantId)
				.digest('hex')
				.replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5'),
			authEventId: crypto.randomUUID(),
			tenantId: t.tenantId,
			tenantType: 'ORGANISATION',
			tenantName: t.tenantName,
			createdDateUtc: '2026-01-01T00:00:00.0000000',
			updatedDateUtc: '2026-01-01T00:00:00.0000000',
		}));
		return reply(200, auth.client.kind === 'custom' ? list.slice(0, 1) : list);
	}

	// ---- rate limits ---------------------------------------------------------------------------

	function trim(times, now) {
		while (times.length && times[0] <= now - config.minuteWindowMs) times.shift();
	}

	function dayKey(tenantId) {
		return `${tenantId}:${new Date().toISOString().slice(0, 10)}`;
	}

	/** Applies Xero's four limits; returns headers for a passing call or a 429 description. */
	function admit(tenantId, clientId) {
		const now = Date.now();
		const t = tenant(tenantId);
		const minute = state.minuteHits.get(tenantId) || [];
		state.minuteHits.set(tenantId, minute);
		const app = state.appMinuteHits.get(clientId) || [];
		state.appMinuteHits.set(clientId, app);
		trim(minute, now);
		trim(app, now);
		const day = state.dayCounts.get(dayKey(tenantId)) || 0;
		const inFlight = state.inFlight.get(tenantId) || 0;

		let problem = null;
		let retryAfterMs = 0;
		if (day >= t.dayLimit) {
			problem = 'day';
			const midnight = new Date();
			midnight.setUTCHours(24, 0, 0, 0);
			retryAfterMs = midnight.getTime() - now;
		} else if (app.length >= config.appMinuteLimit) {
			problem = 'appminute';
			retryAfterMs = app[0] + config.minuteWindowMs - now;
		} else if (minute.length >= config.minuteLimit) {
			problem = 'minute';
			retryAfterMs = minute[0] + config.minuteWindowMs - now;
		} else if (inFlight >= config.concurrentLimit) {
			problem = 'concurrent';
			retryAfterMs = 1000;
		}
		if (problem) {
			return {
				ok: false,
				problem,
				headers: {
					'Retry-After': String(Math.max(1, Math.ceil(retryAfterMs / 1000))),
					'X-Rate-Limit-Problem': problem,
				},
			};
		}
		minute.push(now);
		app.push(now);
		state.dayCounts.set(dayKey(tenantId), day + 1);
		state.inFlight.set(tenantId, inFlight + 1);
		return {
			ok: true,
			headers: {
				'X-MinLimit-Remaining': String(config.minuteLimit - minute.length),
				'X-DayLimit-Remaining': String(t.dayLimit - day - 1),
				'X-AppMinLimit-Remaining': String(config.appMinuteLimit - app.length),
			},
		};
	}

	// ---- accounting API ------------------------------------------------------------------------

	async function accountingApi({ req, res, url, rawBody, call, reply, delay }) {
		const auth = authenticate(req);
		if (!auth) return unauthorized(reply);
		let tenantId = req.headers['xero-tenant-id'];
		// A custom connection has exactly one organisation; Xero accepts an empty tenant header.
		if (!tenantId && auth.client.kind === 'custom') tenantId = config.tenants[0].tenantId;
		call.tenantId = tenantId || null;
		if (!tenantId || !tenant(tenantId)) {
			return reply(403, {
				Type: null,
				Title: 'Forbidden',
				Status: 403,
				Detail: 'AuthenticationUnsuccessful',
				Instance: crypto.randomUUID(),
				Extensions: {},
			});
		}

		const admission = admit(tenantId, auth.client.clientId);
		if (!admission.ok) {
			call.rateLimited = admission.problem;
			return reply(429, '', admission.headers);
		}
		const headers = admission.headers;
		try {
			// Processing time counts as in flight, which is what Xero's concurrent limit measures.
			if (!(await processingTime(delay, req, res, call))) return;
			const route = url.pathname.slice(API_PREFIX.length);
			const body = parseJson(rawBody);
			if (body === undefined) {
				return reply(
					400,
					{
						ErrorNumber: 14,
						Type: 'PostDataInvalidException',
						Message: 'The request body could not be read as JSON',
					},
					headers,
				);
			}

			const key = req.headers['idempotency-key'];
			const isWrite = req.method === 'PUT' || req.method === 'POST';
			if (isWrite && key) {
				const replay = idempotencyLookup({
					tenantId,
					key,
					fingerprint: `${req.method} ${url.pathname}${url.search} ${rawBody}`,
				});
				if (replay) {
					call.replayed = replay.conflict ? 'conflict' : 'replay';
					return reply(replay.status, replay.body, {
						...headers,
						...(replay.conflict ? {} : { 'Idempotency-Replayed': 'true' }),
					});
				}
			}

			const result = routeApi(req.method, route, url.searchParams, body, tenantId);
			if (isWrite && key && result.status < 500) {
				state.idempotency.set(`${tenantId}:${key}`, {
					fingerprint: `${req.method} ${url.pathname}${url.search} ${rawBody}`,
					status: result.status,
					body: result.body,
					at: Date.now(),
				});
			}
			return reply(result.status, result.body, headers);
		} finally {
			state.inFlight.set(tenantId, (state.inFlight.get(tenantId) || 1) - 1);
		}
	}

	function idempotencyLookup({ tenantId, key, fingerprint }) {
		const entry = state.idempotency.get(`${tenantId}:${key}`);
		if (!entry || entry.at + config.idempotencyWindowMs <= Date.now()) return null;
		if (entry.fingerprint === fingerprint) return entry;
		return {
			conflict: true,
			status: 400,
			body: {
				ErrorNumber: 10,
				Type: 'ValidationException',
				Message: 'Idempotency-Key has already been used with a different request body',
				Elements: [],
			},
		};
	}

	function parseJson(text) {
		if (!text) return null;
		try {
			return JSON.parse(text);
		} catch {
			return undefined;
		}
	}

	function routeApi(method, route, query, body, tenantId) {
		const invoiceById = /^\/Invoices\/([^/]+)$/i.exec(route);
		if (/^\/Contacts\/?$/i.test(route)) {
			if (method === 'GET')
				return {
					status: 200,
					body: {
						Contacts: filterWhere(
							[...tenantStore(state.contacts, tenantId).values()],
							query.get('where'),
						),
					},
				};
			if (method === 'PUT' || method === 'POST') return saveContacts(tenantId, body, query);
		}
		if (/^\/Invoices\/?$/i.test(route)) {
			if (method === 'GET') return listInvoices(tenantId, query);
			if (method === 'PUT' || method === 'POST')
				return saveInvoices(tenantId, body, query, method === 'POST');
		}
		if (invoiceById) {
			const found = findInvoice(tenantId, decodeURIComponent(invoiceById[1]));
			if (method === 'GET') {
				if (!found) return notFound();
				return { status: 200, body: { Invoices: [found] } };
			}
			if (method === 'POST') {
				if (!found) return notFound();
				const update = (body && body.Invoices && body.Invoices[0]) || {};
				return saveInvoices(
					tenantId,
					{ Invoices: [{ ...update, InvoiceID: found.InvoiceID }] },
					query,
					true,
				);
			}
		}
		return notFound();
	}

	function notFound() {
		return { status: 404, body: "The resource you're looking for cannot be found" };
	}

	function findInvoice(tenantId, idOrNumber) {
		const store = tenantStore(state.invoices, tenantId);
		return store.get(idOrNumber) || [...store.values()].find((i) => i.InvoiceNumber === idOrNumber);
	}

	function listInvoices(tenantId, query) {
		let list = [...tenantStore(state.invoices, tenantId).values()];
		const ids = query.get('IDs');
		if (ids) list = list.filter((i) => ids.split(',').includes(i.InvoiceID));
		const numbers = query.get('InvoiceNumbers');
		if (numbers) list = list.filter((i) => numbers.split(',').includes(i.InvoiceNumber));
		const statuses = query.get('Statuses');
		if (statuses) list = list.filter((i) => statuses.split(',').includes(i.Status));
		list = filterWhere(list, query.get('where'));
		const pageSize = Number(query.get('pageSize') || 100);
		const page = Number(query.get('page') || 1);
		if (query.has('page')) list = list.slice((page - 1) * pageSize, page * pageSize);
		return { status: 200, body: { Invoices: list } };
	}

	function saveContacts(tenantId, body, query) {
		const store = tenantStore(state.contacts, tenantId);
		const input = (body && body.Contacts) || [];
		const out = [];
		let failed = false;
		for (const raw of input) {
			const errors = [];
			if (!raw.Name || !String(raw.Name).trim())
				errors.push({ Message: 'The contact name must be specified.' });
			const duplicate = [...store.values()].find(
				(c) =>
					raw.Name &&
					c.Name.toLowerCase() === String(raw.Name).toLowerCase() &&
					c.ContactID !== raw.ContactID,
			);
			if (duplicate)
				errors.push({
					Message: `The contact name ${raw.Name} is already assigned to another contact. The contact name must be unique across all active contacts.`,
				});
			if (errors.length) {
				failed = true;
				out.push({
					...raw,
					HasValidationErrors: true,
					StatusAttributeString: 'ERROR',
					ValidationErrors: errors,
				});
				continue;
			}
			const existing = raw.ContactID && store.get(raw.ContactID);
			const contact = {
				...(existing || {}),
				...raw,
				ContactID: existing ? existing.ContactID : crypto.randomUUID(),
				ContactStatus: 'ACTIVE',
				UpdatedDateUTC: xeroDate(Date.now()),
			};
			store.set(contact.ContactID, contact);
			out.push({ ...contact, StatusAttributeString: 'OK' });
		}
		return summarise({ query, failed, key: 'Contacts', out });
	}

	function summarise({ query, failed, key, out }) {
		const summarizeErrors = query.get('summarizeErrors') !== 'false';
		if (failed && summarizeErrors) {
			return {
				status: 400,
				body: {
					ErrorNumber: 10,
					Type: 'ValidationException',
					Message: 'A validation exception occurred',
					Elements: out.filter((e) => e.StatusAttributeString === 'ERROR'),
				},
			};
		}
		return {
			status: 200,
			body: {
				Id: crypto.randomUUID(),
				Status: 'OK',
				DateTimeUTC: xeroDate(Date.now()),
				[key]: out,
			},
		};
	}

	/** Validates every invoice first: with summarizeErrors (the default) one bad one saves none. */
	function saveInvoices(tenantId, body, query, allowUpdate) {
		const store = tenantStore(state.invoices, tenantId);
		const input = (body && body.Invoices) || [];
		const unitdp = Number(query.get('unitdp') || 2);
		const summarizeErrors = query.get('summarizeErrors') !== 'false';
		const numbersInRequest = new Set();
		const checked = input.map((raw) => {
			const existing = raw.InvoiceID ? store.get(raw.InvoiceID) : undefined;
			if (raw.InvoiceID && !existing)
				return { raw, errors: [{ Message: 'Invoice could not be found' }] };
			if (
				!existing &&
				!allowUpdate &&
				raw.InvoiceNumber &&
				findInvoice(tenantId, raw.InvoiceNumber)
			) {
				return { raw, errors: [{ Message: 'Invoice # must be unique.' }] };
			}
			const merged = existing ? { ...existing, ...raw } : raw;
			const errors =
				existing && !raw.LineItems && !raw.Contact
					? statusErrors(existing, raw)
					: invoiceErrors(tenantId, merged, existing);
			if (!errors.length && merged.InvoiceNumber) {
				const clash = findInvoice(tenantId, merged.InvoiceNumber);
				if (
					(clash && (!existing || clash.InvoiceID !== existing.InvoiceID)) ||
					numbersInRequest.has(merged.InvoiceNumber)
				) {
					errors.push({ Message: 'Invoice # must be unique.' });
				}
				numbersInRequest.add(merged.InvoiceNumber);
			}
			return { raw, existing, merged, errors };
		});
		const failed = checked.some((c) => c.errors.length);
		if (failed && summarizeErrors) {
			return {
				status: 400,
				body: {
					ErrorNumber: 10,
					Type: 'ValidationException',
					Message: 'A validation exception occurred',
					Elements: checked.filter((c) => c.errors.length).map((c) => errorElement(c)),
				},
			};
		}
		const out = checked.map((c) => {
			if (c.errors.length) return errorElement(c);
			const invoice = materialise(tenantId, c.merged, c.existing, unitdp);
			store.set(invoice.InvoiceID, invoice);
			return { ...invoice, StatusAttributeString: 'OK' };
		});
		return {
			status: 200,
			body: {
				Id: crypto.randomUUID(),
				Status: 'OK',
				DateTimeUTC: xeroDate(Date.now()),
				Invoices: out,
			},
		};
	}

	function errorElement({ raw, errors }) {
		const lineItems = (raw.LineItems || []).map((line) => ({
			...line,
			ValidationErrors: line.__errors || [],
		}));
		for (const line of raw.LineItems || []) delete line.__errors;
		return {
			...raw,
			LineItems: lineItems.map(({ __errors, ...l }) => l),
			HasErrors: true,
			StatusAttributeString: 'ERROR',
			ValidationErrors: errors,
		};
	}

	const TRANSITIONS = {
		DRAFT: ['DRAFT', 'SUBMITTED', 'AUTHORISED', 'DELETED'],
		SUBMITTED: ['AUTHORISED', 'DRAFT', 'DELETED'],
		AUTHORISED: ['AUTHORISED', 'VOIDED'],
	};

	function statusErrors(existing, raw) {
		if (!raw.Status || raw.Status === existing.Status) return [];
		const allowed = TRANSITIONS[existing.Status] || [];
		if (allowed.includes(raw.Status)) return [];
		return [
			{
				Message: `This document cannot be ${raw.Status === 'VOIDED' ? 'voided' : 'edited'} as it is ${existing.Status.toLowerCase()}.`,
			},
		];
	}

	function invoiceErrors(tenantId, inv, existing) {
		const errors = [];
		if (!inv.Type || !['ACCREC', 'ACCPAY'].includes(inv.Type))
			errors.push({ Message: 'Invoice Type must be specified' });
		const contact = inv.Contact || {};
		if (contact.ContactID) {
			if (!tenantStore(state.contacts, tenantId).has(contact.ContactID))
				errors.push({ Message: 'The contact could not be found' });
		} else if (!contact.Name) {
			errors.push({ Message: 'A Contact must be specified for this type of transaction' });
		}
		if (inv.CurrencyCode && !config.currencies.includes(inv.CurrencyCode))
			errors.push({
				Message: `The currency code ${inv.CurrencyCode} is not a valid currency for this organisation`,
			});
		if (inv.Status && !['DRAFT', 'SUBMITTED', 'AUTHORISED'].includes(inv.Status) && !existing)
			errors.push({ Message: `Invoice status ${inv.Status} is not valid for a new invoice` });
		if (existing && ['VOIDED', 'DELETED', 'PAID'].includes(existing.Status))
			errors.push({
				Message: `This document cannot be edited as it is ${existing.Status.toLowerCase()}.`,
			});
		const lines = inv.LineItems || [];
		if (inv.Status === 'AUTHORISED' && !lines.length)
			errors.push({
				Message: 'An invoice must contain at least one line item before it can be approved',
			});
		for (const line of lines) {
			const lineErrors = [];
			if (line.AccountCode && !config.accountCodes.includes(String(line.AccountCode)))
				lineErrors.push({
					Message: `Account code '${line.AccountCode}' is not a valid code for this document.`,
				});
			if (line.TaxType && !config.taxTypes.includes(String(line.TaxType)))
				lineErrors.push({
					Message: `The TaxType code '${line.TaxType}' does not exist or cannot be used for this type of transaction.`,
				});
			if (typeof line.Quantity === 'number' && line.Quantity < 0)
				lineErrors.push({ Message: 'Quantity must not be negative' });
			if (!line.Description && !line.ItemCode)
				lineErrors.push({ Message: 'Description needs to be specified for line items' });
			if (lineErrors.length) line.__errors = lineErrors;
			// Xero repeats line messages at the invoice level as well.
			errors.push(...lineErrors);
		}
		return errors;
	}

	function materialise(tenantId, inv, existing, unitdp) {
		const contacts = tenantStore(state.contacts, tenantId);
		let contact =
			inv.Contact && inv.Contact.ContactID ? contacts.get(inv.Contact.ContactID) : undefined;
		if (!contact && inv.Contact && inv.Contact.Name) {
			contact = { ContactID: crypto.randomUUID(), Name: inv.Contact.Name, ContactStatus: 'ACTIVE' };
			contacts.set(contact.ContactID, contact);
		}
		const factor = 10 ** Math.min(4, Math.max(2, unitdp));
		const lines = (inv.LineItems || []).map((line) => {
			const quantity = Number(line.Quantity ?? 1);
			const unit = Math.round(Number(line.UnitAmount ?? 0) * factor) / factor;
			const discount = Number(line.DiscountRate ?? 0);
			const amount = round2(quantity * unit * (1 - discount / 100));
			return {
				LineItemID: line.LineItemID || crypto.randomUUID(),
				...line,
				Quantity: quantity,
				UnitAmount: unit,
				LineAmount: amount,
				TaxAmount: 0,
			};
		});
		const subTotal = round2(lines.reduce((sum, l) => sum + l.LineAmount, 0));
		if (!existing) state.invoiceSeq++;
		const now = Date.now();
		return {
			...inv,
			Type: inv.Type,
			InvoiceID: existing ? existing.InvoiceID : crypto.randomUUID(),
			InvoiceNumber:
				inv.InvoiceNumber ||
				(existing && existing.InvoiceNumber) ||
				`INV-${String(state.invoiceSeq).padStart(4, '0')}`,
			Contact: { ContactID: contact.ContactID, Name: contact.Name },
			Status: inv.Status || (existing && existing.Status) || 'DRAFT',
			LineAmountTypes: inv.LineAmountTypes || 'Exclusive',
			LineItems: lines,
			SubTotal: subTotal,
			TotalTax: 0,
			Total: subTotal,
			AmountDue: subTotal,
			CurrencyCode: inv.CurrencyCode || 'USD',
			UpdatedDateUTC: xeroDate(now),
			createdAt: existing ? existing.createdAt : now,
		};
	}

	// ---- where clauses -------------------------------------------------------------------------

	/** A subset of Xero's where syntax: `Field=="x"`, `Field!="x"`, `Field==guid("…")`, AND / OR. */
	function filterWhere(list, where) {
		if (!where) return list;
		const disjunction = splitOutsideQuotes(where, ' OR ').map((part) =>
			splitOutsideQuotes(part, ' AND ').map(parseClause),
		);
		return list.filter((item) =>
			disjunction.some((clauses) => clauses.every((clause) => clause(item))),
		);
	}

	function splitOutsideQuotes(text, separator) {
		const parts = [];
		let current = '';
		let quoted = false;
		for (let i = 0; i < text.length; i++) {
			const ch = text[i];
			if (ch === '\\' && quoted) {
				current += ch + (text[i + 1] || '');
				i++;
				continue;
			}
			if (ch === '"') quoted = !quoted;
			if (!quoted && text.startsWith(separator, i)) {
				parts.push(current.trim());
				current = '';
				i += separator.length - 1;
				continue;
			}
			current += ch;
		}
		parts.push(current.trim());
		return parts;
	}

	function parseClause(text) {
		const clause = text.replace(/^\((.*)\)$/, '$1').trim();
		const match = /^([A-Za-z.]+)\s*(==|!=)\s*(?:guid\()?"((?:[^"\\]|\\.)*)"\)?$/.exec(clause);
		if (!match) throw new Error(`Unsupported where clause: ${text}`);
		const [, path, op, rawValue] = match;
		const value = rawValue.replace(/\\(.)/g, '$1').toLowerCase();
		return (item) => {
			const actual = path
				.split('.')
				.reduce((obj, key) => (obj == null ? undefined : obj[key]), item);
			const equal = actual != null && String(actual).toLowerCase() === value;
			return op === '==' ? equal : !equal;
		};
	}

	// ---- control API ---------------------------------------------------------------------------

	function controlApi(req, url, rawBody, reply) {
		const body = parseJson(rawBody) || {};
		const route = url.pathname.slice('/__sim'.length);
		if (route === '/ledger' && req.method === 'GET') return reply(200, api.ledger());
		if (route === '/faults' && req.method === 'POST') return reply(200, api.injectFaults(body));
		if (route === '/faults' && req.method === 'DELETE') return reply(200, api.clearFaults());
		if (route === '/config' && req.method === 'POST') return reply(200, api.configure(body));
		if (route === '/reset' && req.method === 'POST') return reply(200, api.reset());
		if (route === '/authorization-code' && req.method === 'POST')
			return reply(200, { code: issueAuthorizationCode() });
		if (route === '/tokens/expire' && req.method === 'POST') return reply(200, api.expireTokens());
		const pay = /^\/invoices\/([^/]+)\/pay$/.exec(route);
		if (pay && req.method === 'POST') {
			const paid = api.payInvoice(decodeURIComponent(pay[1]));
			return paid ? reply(200, paid) : reply(404, { error: 'no such invoice' });
		}
		return reply(404, { error: 'unknown control route' });
	}

	const api = {
		config,
		get url() {
			return baseUrl;
		},
		get apiBaseUrl() {
			return `${baseUrl}${API_PREFIX}`;
		},
		get tokenUrl() {
			return `${baseUrl}/connect/token`;
		},
		get connectionsUrl() {
			return `${baseUrl}/connections`;
		},
		get authorizeUrl() {
			return `${baseUrl}/connect/authorize`;
		},
		async start(port = 0) {
			server = http.createServer((req, res) => {
				handle(req, res).catch(() => res.destroy());
			});
			server.keepAliveTimeout = 1000;
			await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
			baseUrl = `http://127.0.0.1:${server.address().port}`;
			return api;
		},
		async stop() {
			if (!server) return;
			server.closeAllConnections();
			await new Promise((resolve) => server.close(() => resolve()));
			server = undefined;
		},
		/** Every invoice (all tenants) and every call, oldest first. */
		ledger() {
			const invoices = [];
			for (const [tenantId, store] of state.invoices)
				for (const inv of store.values()) invoices.push({ tenantId, ...inv });
			const contacts = [];
			for (const [tenantId, store] of state.contacts)
				for (const c of store.values()) contacts.push({ tenantId, ...c });
			return { invoices, contacts, calls: state.calls.map((c) => ({ ...c })) };
		},
		/**
		 * unavailableForMs + unavailableStatus: answer every API call with that status for a while.
		 * slowMs + slowCount: delay the next N calls. dropCount: reset the next N connections.
		 * dropResponseCount: process the next N calls but cut the connection instead of answering.
		 * latency: [{ pattern, ms }] extra delay on matching paths. pathPattern / method: limit the
		 * faults to matching calls.
		 */
		injectFaults(spec) {
			if (spec.unavailableForMs)
				faults.unavailableUntil = Date.now() + Number(spec.unavailableForMs);
			if (spec.unavailableStatus) faults.unavailableStatus = Number(spec.unavailableStatus);
			if (spec.slowMs !== undefined) {
				faults.slowMs = Number(spec.slowMs);
				faults.slowCount = Number(spec.slowCount ?? 1);
			}
			if (spec.dropCount !== undefined) faults.dropCount = Number(spec.dropCount);
			if (spec.latency) faults.latencyByPath = spec.latency;
			if (spec.pathPattern !== undefined) faults.pathPattern = spec.pathPattern;
			if (spec.method !== undefined) faults.method = spec.method;
			if (spec.dropResponseCount !== undefined)
				faults.dropResponseCount = Number(spec.dropResponseCount);
			return { ...faults };
		},
		clearFaults() {
			faults = freshFaults();
			return { ...faults };
		},
		/** Changes limits and windows at run time; `tenants` replaces the tenant list. */
		configure(changes) {
			Object.assign(config, changes);
			return { ...config };
		},
		reset() {
			const tokens = state.tokens;
			const refresh = state.refreshTokens;
			Object.assign(state, freshState());
			// Tokens survive a reset so a running client keeps working, as with a real tenant.
			state.tokens = tokens;
			state.refreshTokens = refresh;
			faults = freshFaults();
			return { ok: true };
		},
		expireTokens() {
			state.tokens.clear();
			return { ok: true };
		},
		/**
		 * Marks an invoice fully paid, as a customer payment recorded in Xero would (the API's
		 * Payments endpoint is not simulated). @returns the invoice, or undefined if unknown
		 */
		payInvoice(invoiceId) {
			for (const store of state.invoices.values()) {
				const invoice = store.get(invoiceId);
				if (!invoice) continue;
				Object.assign(invoice, {
					Status: 'PAID',
					AmountPaid: invoice.Total,
					AmountDue: 0,
					FullyPaidOnDate: xeroDate(Date.now()),
					UpdatedDateUTC: xeroDate(Date.now()),
				});
				return { ...invoice };
			}
			return undefined;
		},
		issueAuthorizationCode,
	};
	return api;
}

function round2(n) {
	return Math.round(n * 100) / 100;
}

function xeroDate(ms) {
	return `/Date(${ms}+0000)/`;
}

function sleep(ms) {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Counts the most calls that arrived inside any window of `windowMs`, per tenant.
 * @returns {number}
 */
function maxCallsInAnyWindow(calls, windowMs, filter = () => true) {
	const times = calls
		.filter(filter)
		.map((c) => c.at)
		.sort((a, b) => a - b);
	let max = 0;
	let start = 0;
	for (let end = 0; end < times.length; end++) {
		while (times[end] - times[start] >= windowMs) start++;
		max = Math.max(max, end - start + 1);
	}
	return max;
}

module.exports = { createXeroSimulator, maxCallsInAnyWindow, API_PREFIX };
