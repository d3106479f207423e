/**
 * Checks a stored secret for the copy-and-paste mistakes that make every signature fail. Used
 * by the credential's Test button; the verifier itself uses secrets exactly as stored, because
 * the sender signs with exactly what it showed.
 */

/**
 * Lists what is wrong with the secrets.
 *
 * @returns one sentence per problem naming the field and the fix; empty when both are usable.
 * Never throws.
 */
export function secretProblems(options: { current?: unknown; previous?: unknown }): string[] {
	const problems: string[] = [];
	if (typeof options.current !== 'string' || options.current.length === 0) {
		problems.push('Current Secret is empty; paste the signing secret from the sender.');
	} else {
		problems.push(...whitespaceProblems({ field: 'Current Secret', value: options.current }));
	}
	if (typeof options.previous === 'string' && options.previous.length > 0) {
		problems.push(...whitespaceProblems({ field: 'Previous Secret', value: options.previous }));
	}
	return problems;
}

function whitespaceProblems(options: { field: string; value: string }): string[] {
	if (options.value.trim() === options.value) return [];
	return [
		`${options.field} starts or ends with whitespace, which senders do not sign with; remove it.`,
	];
}
