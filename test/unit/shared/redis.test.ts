import { toRedisOptions } from '../../../nodes/shared/redis';

describe('Redis connection options', () => {
	it('reads host, port, database and credentials from a URL', () => {
		const options = toRedisOptions(
			{ connectionType: 'url', url: 'rediss://app:p%40ss@cache.internal:6380/4' },
			'commands',
		);
		expect(options).toMatchObject({
			host: 'cache.internal',
			port: 6380,
			db: 4,
			username: 'app',
			password: 'p@ss',
			tls: { rejectUnauthorized: true },
		});
	});

	it('fails fast for gate commands and blocks without limit for BullMQ', () => {
		expect(toRedisOptions({}, 'commands').maxRetriesPerRequest).toBe(1);
		expect(toRedisOptions({}, 'bullmq').maxRetriesPerRequest).toBeNull();
	});

	it('verifies TLS certificates unless explicitly told not to', () => {
		expect(toRedisOptions({ tls: true }, 'commands').tls).toEqual({ rejectUnauthorized: true });
		expect(toRedisOptions({ tls: true, tlsRejectUnauthorized: false }, 'commands').tls).toEqual({
			rejectUnauthorized: false,
		});
	});
});
