import type { IDataObject, IExecuteFunctions, INode, INodeExecutionData } from 'n8n-workflow';

import { Salesforce } from '../../nodes/Salesforce/Salesforce.node';
import { SessionCache } from '../../nodes/Salesforce/auth';
import { fetchSend, SalesforceClient } from '../../nodes/Salesforce/transport';
import { toTokenAuthConfig } from '../../nodes/Salesforce/credentialConfig';
import type { SalesforceSimulator } from '../simulators/salesforce';

/**
 * Test scaffolding for the Salesforce service tests: credential data pointing at the simulator,
 * a minimal n8n execute context around the real node, and a fast-retry client.
 */

export const FAST_RETRY = {
	maxAttempts: 4,
	policy: { baseMs: 5, capMs: 40 },
	maxWaitInPlaceMs: 5_000,
};

export function jwtCredential(sim: SalesforceSimulator, overrides: IDataObject = {}): IDataObject {
	return {
		environment: 'custom',
		loginUrl: sim.url,
		clientId: sim.clientId,
		username: sim.username,
		privateKey: sim.privateKeyPem ?? '',
		audience: '',
		instanceUrl: '',
		sessionLifetimeMinutes: 30,
		...overrides,
	};
}

export function clientCredentialsCredential(sim: SalesforceSimulator): IDataObject {
	return { loginUrl: sim.url, clientId: sim.clientId, clientSecret: sim.clientSecret };
}

export function passwordCredential(
	sim: SalesforceSimulator,
	options: { withConsumer: boolean; password?: string },
): IDataObject {
	return {
		environment: 'custom',
		loginUrl: sim.url,
		username: sim.username,
		password: options.password ?? sim.password,
		securityToken: sim.securityToken,
		clientId: options.withConsumer ? sim.clientId : '',
		clientSecret: options.withConsumer ? sim.clientSecret : '',
	};
}

/** A client for transport-level tests, JWT mode, with its own session cache and fast retries. */
export function jwtClient(
	sim: SalesforceSimulator,
	options: { timeoutMs?: number; cache?: SessionCache } = {},
): SalesforceClient {
	return new SalesforceClient({
		send: fetchSend({ timeoutMs: options.timeoutMs ?? 5_000 }),
		auth: { kind: 'token', config: toTokenAuthConfig('jwt', jwtCredential(sim), '62.0') },
		retry: FAST_RETRY,
		sessionCache: options.cache ?? new SessionCache(new Map()),
	});
}

const NODE: INode = {
	id: 'sf-node',
	name: 'Dealflow Salesforce',
	type: 'n8n-nodes-dealflow.salesforce',
	typeVersion: 1,
	position: [0, 0],
	parameters: {},
	credentials: {},
};

export interface RunOptions {
	parameters: IDataObject | IDataObject[];
	credentials: Record<string, IDataObject>;
	items?: number;
	continueOnFail?: boolean;
	/** Stands in for n8n's OAuth2 request helper (sign, refresh once on 401, repeat). */
	httpRequestWithAuthentication?: (type: string, options: IDataObject) => Promise<unknown>;
}

/**
 * Runs the real node's execute() with a minimal context.
 * @returns the node's first output; rejects with what the node throws
 */
export async function runNode(options: RunOptions): Promise<INodeExecutionData[]> {
	const count = options.items ?? 1;
	const items: INodeExecutionData[] = Array.from({ length: count }, (_, index) => ({
		json: { index },
	}));
	const paramsFor = (itemIndex: number): IDataObject =>
		Array.isArray(options.parameters)
			? (options.parameters[itemIndex] ?? options.parameters[0])
			: options.parameters;
	const context = {
		getInputData: () => items,
		getNode: () => NODE,
		getNodeParameter: (name: string, itemIndex: number, fallback?: unknown) => {
			const value = paramsFor(itemIndex)[name];
			return value === undefined ? fallback : value;
		},
		getCredentials: async (type: string) => {
			const data = options.credentials[type];
			if (!data) throw new Error(`no credential of type ${type} in the test`);
			return data;
		},
		continueOnFail: () => options.continueOnFail ?? false,
		logger: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
		helpers: {
			httpRequestWithAuthentication: async function (type: string, request: IDataObject) {
				if (!options.httpRequestWithAuthentication) throw new Error('no OAuth2 helper in the test');
				return await options.httpRequestWithAuthentication(type, request);
			},
		},
	} as unknown as IExecuteFunctions;
	const [output] = await new Salesforce().execute.call(context);
	return output;
}

/**
 * A stand-in for n8n's OAuth2 helper with the same contract the node relies on: it signs with
 * the stored access token, and on a 401 refreshes with the refresh token once, stores the new
 * token and repeats the request; a second 401 is thrown with the response attached.
 */
export function fakeN8nOAuth2(
	sim: SalesforceSimulator,
	tokenData: { access_token: string; refresh_token: string },
) {
	const stats = { refreshes: 0 };
	const send = async (request: IDataObject) => {
		const response = await fetch(String(request.url), {
			method: String(request.method),
			headers: {
				...(request.headers as Record<string, string>),
				Authorization: `Bearer ${tokenData.access_token}`,
			},
			body: request.body as string | undefined,
		});
		const headers: Record<string, string> = {};
		response.headers.forEach((value, name) => (headers[name] = value));
		return { statusCode: response.status, headers, body: await response.text() };
	};
	const helper = async (_type: string, request: IDataObject) => {
		let response = await send(request);
		if (response.statusCode === 401) {
			stats.refreshes += 1;
			const refreshed = await fetch(`${sim.url}/services/oauth2/token`, {
				method: 'POST',
				headers: { 'content-type': 'application/x-www-form-urlencoded' },
				body: new URLSearchParams({
					grant_type: 'refresh_token',
					refresh_token: tokenData.refresh_token,
					client_id: sim.clientId,
					client_secret: sim.clientSecret,
				}).toString(),
			}).then(async (r) => (await r.json()) as { access_token: string });
			tokenData.access_token = refreshed.access_token;
			response = await send(request);
		}
		if (response.statusCode === 401) {
			throw Object.assign(new Error('Request failed with status code 401'), {
				cause: { response: { status: 401, headers: response.headers, data: response.body } },
			});
		}
		return response;
	};
	return { helper, stats };
}

/** Every string in a value, deep, joined: for "no secret anywhere" assertions. */
export function allText(value: unknown): string {
	const seen = new Set<unknown>();
	const parts: string[] = [];
	const walk = (current: unknown) => {
		if (typeof current === 'string') parts.push(current);
		if (!current || typeof current !== 'object' || seen.has(current)) return;
		seen.add(current);
		for (const key of Object.getOwnPropertyNames(current)) {
			walk((current as Record<string, unknown>)[key]);
		}
	};
	walk(value);
	return parts.join('\n');
}
