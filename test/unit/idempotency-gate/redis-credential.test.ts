import { toRedisOptions } from '../../../nodes/shared/redis';

describe('Dealflow Redis credential options', () => {
	it('rejects an unparsable URL without repeating it, since it may hold a password', () => {
		const attempt = () =>
			toRedisOptions({ connectionType: 'url', url: 'redis://app:s3cret@[bad' }, 'commands');

		expect(attempt).toThrow('not a valid URL');
		expect(attempt).not.toThrow(/s3cret/);
	});

	it('rejects a URL of another scheme and names the two it accepts', () => {
		expect(() =>
			toRedisOptions({ connectionType: 'url', url: 'http://cache:6379' }, 'commands'),
		).toThrow('it must start with redis:// or rediss:// (TLS)');
	});

	it('passes a custom CA to TLS and still verifies the certificate', () => {
		const options = toRedisOptions({ tls: true, tlsCa: '-----BEGIN CERTIFICATE-----' }, 'commands');

		expect(options.tls).toEqual({ ca: '-----BEGIN CERTIFICATE-----', rejectUnauthorized: true });
	});
});
