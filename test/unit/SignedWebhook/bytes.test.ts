import {
	bytesEqual,
	decodeBase64Strict,
	decodeHexStrict,
	decodeSignature,
} from '../../../nodes/SignedWebhook/bytes';

describe('strict base64 decoding', () => {
	it('decodes canonical padded base64', () => {
		expect(decodeBase64Strict('aGk=')?.toString()).toBe('hi');
		expect(decodeBase64Strict('aGVsbG8=')?.toString()).toBe('hello');
		expect(decodeBase64Strict('YWJj')?.toString()).toBe('abc');
	});

	it.each([
		['an empty string', ''],
		['missing padding', 'aGk'],
		['url-safe characters', 'a-_='],
		['whitespace inside', 'aG k='],
		['a trailing newline', 'aGk=\n'],
		['non-zero padding bits', 'aGl='],
		['padding in the middle', 'aG==aGk='],
		['a multibyte character', 'aGk\u00e9'],
		['an emoji', '\u{1F600}\u{1F600}'],
	])('rejects %s', (_name, text) => {
		expect(decodeBase64Strict(text)).toBeUndefined();
	});
});

describe('strict hex decoding', () => {
	it('decodes either case', () => {
		expect(decodeHexStrict('00ff')).toEqual(Buffer.from([0, 255]));
		expect(decodeHexStrict('00FF')).toEqual(Buffer.from([0, 255]));
	});

	it.each([
		['an empty string', ''],
		['an odd number of digits', 'abc'],
		['a non-hex digit', 'zz'],
		['a 0x prefix', '0x00'],
		['a multibyte character', '00\u00e9'],
	])('rejects %s', (_name, text) => {
		expect(decodeHexStrict(text)).toBeUndefined();
	});

	it('is chosen by the encoding option', () => {
		expect(decodeSignature({ text: '6869', encoding: 'hex' })?.toString()).toBe('hi');
		expect(decodeSignature({ text: '6869', encoding: 'base64' })?.toString('hex')).toBe('ebcebd');
	});
});

describe('byte comparison', () => {
	it('is true only for identical bytes', () => {
		expect(bytesEqual({ expected: Buffer.from('abc'), actual: Buffer.from('abc') })).toBe(true);
		expect(bytesEqual({ expected: Buffer.from('abc'), actual: Buffer.from('abd') })).toBe(false);
	});

	it('answers false for different byte lengths instead of throwing', () => {
		expect(bytesEqual({ expected: Buffer.from('abc'), actual: Buffer.from('abcd') })).toBe(false);
		expect(bytesEqual({ expected: Buffer.from('abc'), actual: Buffer.alloc(0) })).toBe(false);
	});
});
