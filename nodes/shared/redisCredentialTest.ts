import type {
	ICredentialTestFunctions,
	ICredentialsDecrypted,
	INodeCredentialTestResult,
} from 'n8n-workflow';

import { testRedisConnection, type RedisCredentialData } from './redis';

/**
 * The Test button of the `dealflowRedisApi` credential, shared by every node that uses it
 * (n8n looks the method up on whichever node the credential is opened from).
 *
 * @returns OK when Redis answered PING, or the cause in words; never throws
 */
export async function dealflowRedisConnectionTest(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	const outcome = await testRedisConnection(credential.data as RedisCredentialData);
	return outcome.ok
		? { status: 'OK', message: 'Connected: Redis answered PING' }
		: { status: 'Error', message: outcome.message };
}
