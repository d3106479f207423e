'use strict';
/**
 * A small SOQL reader for the Salesforce simulator: SELECT with dotted relationship paths and
 * child subqueries, FROM, WHERE (AND/OR/NOT, =, !=, <, <=, >, >=, IN, NOT IN, LIKE), ORDER BY,
 * LIMIT and OFFSET. Anything else is a MALFORMED_QUERY, the way the real API rejects it, never a
 * crash of the simulator.
 */

class SoqlError extends Error {
	/** @param {string} errorCode @param {string} message */
	constructor(errorCode, message) {
		super(message);
		this.errorCode = errorCode;
	}
}

const KEYWORDS = new Set([
	'SELECT',
	'FROM',
	'WHERE',
	'AND',
	'OR',
	'NOT',
	'IN',
	'LIKE',
	'ORDER',
	'BY',
	'ASC',
	'DESC',
	'NULLS',
	'FIRST',
	'LAST',
	'LIMIT',
	'OFFSET',
	'TRUE',
	'FALSE',
	'NULL',
]);

function tokenize(text) {
	const tokens = [];
	let i = 0;
	while (i < text.length) {
		const ch = text[i];
		if (/\s/.test(ch)) {
			i++;
			continue;
		}
		if (ch === "'") {
			let value = '';
			i++;
			while (i < text.length && text[i] !== "'") {
				if (text[i] === '\\' && i + 1 < text.length) {
					const next = text[i + 1];
					value += next === 'n' ? '\n' : next === 't' ? '\t' : next;
					i += 2;
					continue;
				}
				value += text[i++];
			}
			if (i >= text.length) throw new SoqlError('MALFORMED_QUERY', 'unterminated string literal');
			i++;
			tokens.push({ kind: 'string', value });
			continue;
		}
		const two = text.slice(i, i + 2);
		if (['!=', '<=', '>=', '<>'].includes(two)) {
			tokens.push({ kind: 'op', value: two === '<>' ? '!=' : two });
			i += 2;
			continue;
		}
		if ('=<>(),'.includes(ch)) {
			tokens.push({ kind: ch === '(' || ch === ')' || ch === ',' ? ch : 'op', value: ch });
			i++;
			continue;
		}
		const dateMatch = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?/.exec(text.slice(i));
		if (dateMatch) {
			tokens.push({ kind: 'date', value: dateMatch[0] });
			i += dateMatch[0].length;
			continue;
		}
		const numberMatch = /^-?\d+(\.\d+)?/.exec(text.slice(i));
		if (numberMatch) {
			tokens.push({ kind: 'number', value: Number(numberMatch[0]) });
			i += numberMatch[0].length;
			continue;
		}
		const identMatch = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*/.exec(text.slice(i));
		if (identMatch) {
			const word = identMatch[0];
			const upper = word.toUpperCase();
			tokens.push(
				KEYWORDS.has(upper) ? { kind: 'kw', value: upper } : { kind: 'ident', value: word },
			);
			i += word.length;
			continue;
		}
		throw new SoqlError('MALFORMED_QUERY', `unexpected token: '${ch}'`);
	}
	return tokens;
}

class Parser {
	constructor(tokens) {
		this.tokens = tokens;
		this.pos = 0;
	}

	peek(offset = 0) {
		return this.tokens[this.pos + offset];
	}

	isKw(value, offset = 0) {
		const token = this.peek(offset);
		return !!token && token.kind === 'kw' && token.value === value;
	}

	next() {
		const token = this.tokens[this.pos++];
		if (!token) throw new SoqlError('MALFORMED_QUERY', 'unexpected end of query');
		return token;
	}

	expectKw(value) {
		const token = this.next();
		if (token.kind !== 'kw' || token.value !== value) {
			throw new SoqlError(
				'MALFORMED_QUERY',
				`unexpected token: '${token.value}', expected ${value}`,
			);
		}
	}

	expect(kind) {
		const token = this.next();
		if (token.kind !== kind) {
			throw new SoqlError('MALFORMED_QUERY', `unexpected token: '${token.value}'`);
		}
		return token;
	}

	query() {
		this.expectKw('SELECT');
		const fields = [];
		const subqueries = [];
		do {
			if (this.peek() && this.peek().kind === '(') {
				this.next();
				subqueries.push(this.query());
				this.expect(')');
			} else {
				fields.push(this.expect('ident').value);
			}
		} while (this.peek() && this.peek().kind === ',' && this.next());
		this.expectKw('FROM');
		const from = this.expect('ident').value;
		const result = { fields, subqueries, from, where: null, orderBy: [], limit: null, offset: 0 };
		if (this.isKw('WHERE')) {
			this.next();
			result.where = this.orExpr();
		}
		if (this.isKw('ORDER')) {
			this.next();
			this.expectKw('BY');
			do {
				const field = this.expect('ident').value;
				let direction = 'ASC';
				if (this.isKw('ASC') || this.isKw('DESC')) direction = this.next().value;
				if (this.isKw('NULLS')) {
					this.next();
					this.next();
				}
				result.orderBy.push({ field, direction });
			} while (this.peek() && this.peek().kind === ',' && this.next());
		}
		if (this.isKw('LIMIT')) {
			this.next();
			result.limit = this.expect('number').value;
		}
		if (this.isKw('OFFSET')) {
			this.next();
			result.offset = this.expect('number').value;
		}
		return result;
	}

	orExpr() {
		let left = this.andExpr();
		while (this.isKw('OR')) {
			this.next();
			left = { op: 'OR', left, right: this.andExpr() };
		}
		return left;
	}

	andExpr() {
		let left = this.notExpr();
		while (this.isKw('AND')) {
			this.next();
			left = { op: 'AND', left, right: this.notExpr() };
		}
		return left;
	}

	notExpr() {
		if (this.isKw('NOT')) {
			this.next();
			return { op: 'NOT', operand: this.notExpr() };
		}
		if (this.peek() && this.peek().kind === '(') {
			this.next();
			const inner = this.orExpr();
			this.expect(')');
			return inner;
		}
		return this.comparison();
	}

	comparison() {
		const field = this.expect('ident').value;
		if (this.isKw('NOT') && this.isKw('IN', 1)) {
			this.next();
			this.next();
			return { op: 'NOT IN', field, values: this.valueList() };
		}
		if (this.isKw('IN')) {
			this.next();
			return { op: 'IN', field, values: this.valueList() };
		}
		if (this.isKw('LIKE')) {
			this.next();
			return { op: 'LIKE', field, value: this.expect('string').value };
		}
		const op = this.expect('op').value;
		return { op, field, value: this.value() };
	}

	valueList() {
		this.expect('(');
		const values = [];
		do {
			values.push(this.value());
		} while (this.peek() && this.peek().kind === ',' && this.next());
		this.expect(')');
		return values;
	}

	value() {
		const token = this.next();
		if (token.kind === 'string' || token.kind === 'number' || token.kind === 'date') {
			return token.value;
		}
		if (token.kind === 'kw' && token.value === 'TRUE') return true;
		if (token.kind === 'kw' && token.value === 'FALSE') return false;
		if (token.kind === 'kw' && token.value === 'NULL') return null;
		throw new SoqlError('MALFORMED_QUERY', `unexpected token: '${token.value}'`);
	}
}

/**
 * Parses a SOQL statement.
 * @returns {object} the statement tree; throws SoqlError (MALFORMED_QUERY) on anything it cannot read
 */
function parseSoql(text) {
	if (typeof text !== 'string' || !text.trim()) {
		throw new SoqlError('MALFORMED_QUERY', 'empty query');
	}
	const parser = new Parser(tokenize(text));
	const statement = parser.query();
	if (parser.peek()) {
		throw new SoqlError('MALFORMED_QUERY', `unexpected token: '${parser.peek().value}'`);
	}
	return statement;
}

function compare(a, b) {
	if (a === null || a === undefined) return b === null || b === undefined ? 0 : -1;
	if (b === null || b === undefined) return 1;
	if (typeof a === 'number' && typeof b === 'number') return a - b;
	return String(a).localeCompare(String(b));
}

function equals(a, b) {
	if (a === undefined) a = null;
	if (typeof a === 'string' && typeof b === 'string') return a.toLowerCase() === b.toLowerCase();
	return a === b;
}

/**
 * Evaluates a WHERE tree against a record, reading field values through `read(path)`.
 * @returns {boolean}
 */
function evaluate(node, read) {
	switch (node.op) {
		case 'AND':
			return evaluate(node.left, read) && evaluate(node.right, read);
		case 'OR':
			return evaluate(node.left, read) || evaluate(node.right, read);
		case 'NOT':
			return !evaluate(node.operand, read);
		case 'IN':
			return node.values.some((value) => equals(read(node.field), value));
		case 'NOT IN':
			return !node.values.some((value) => equals(read(node.field), value));
		case 'LIKE': {
			const pattern = node.value
				.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
				.replace(/%/g, '.*')
				.replace(/_/g, '.');
			return new RegExp(`^${pattern}$`, 'i').test(String(read(node.field) ?? ''));
		}
		case '=':
			return equals(read(node.field), node.value);
		case '!=':
			return !equals(read(node.field), node.value);
		case '<':
			return compare(read(node.field), node.value) < 0;
		case '<=':
			return compare(read(node.field), node.value) <= 0;
		case '>':
			return compare(read(node.field), node.value) > 0;
		case '>=':
			return compare(read(node.field), node.value) >= 0;
		default:
			throw new SoqlError('MALFORMED_QUERY', `unsupported operator ${node.op}`);
	}
}

/** Every field path a WHERE tree reads. */
function whereFields(node, out = []) {
	if (!node) return out;
	if (node.left) whereFields(node.left, out);
	if (node.right) whereFields(node.right, out);
	if (node.operand) whereFields(node.operand, out);
	if (node.field) out.push(node.field);
	return out;
}

module.exports = { parseSoql, evaluate, whereFields, compare, SoqlError };
