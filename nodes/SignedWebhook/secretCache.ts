/**
 * A short-lived, per-process cache of decrypted signing secrets.
 *
 * Why: in a webhook call, n8n's `getCredentials` reads the credential row from the database,
 * decrypts it, and acquires an expression isolate for the credential's own expressions, even
 * when it has none. Under n8n's default expression engine (`vm`, a pool of one isolate) that
 * isolate is usually not warm, so each load can cost a fresh V8 isolate, on every request.
 *
 * How it stays correct: a cached entry lives at most `ttlMs`. The node verifies with the cached
 * secrets first and, when no signature matches, reloads the credential and verifies again, so a
 * newly rotated secret works on its first request. Removing a leaked secret takes effect within
 * `ttlMs`; a TTL of 0 turns the cache off.
 */

import type { SigningSecrets } from './verify';

interface Entry {
	secrets: SigningSecrets;
	storedAt: number;
}

/** A cap so that a process serving many credentials never grows without bound. */
const MAX_ENTRIES = 256;

export class SecretCache {
	private readonly entries = new Map<string, Entry>();

	constructor(private readonly now: () => number = Date.now) {}

	/**
	 * @returns the secrets stored under `key` if younger than `ttlMs`, else `undefined`.
	 */
	get(options: { key: string; ttlMs: number }): SigningSecrets | undefined {
		if (options.ttlMs <= 0) return undefined;
		const entry = this.entries.get(options.key);
		if (!entry) return undefined;
		if (this.now() - entry.storedAt > options.ttlMs) {
			this.entries.delete(options.key);
			return undefined;
		}
		return entry.secrets;
	}

	/** Stores secrets under `key`, evicting the oldest entry when full. */
	set(options: { key: string; secrets: SigningSecrets }): void {
		this.entries.delete(options.key);
		if (this.entries.size >= MAX_ENTRIES) {
			const oldest = this.entries.keys().next();
			if (!oldest.done) this.entries.delete(oldest.value);
		}
		this.entries.set(options.key, { secrets: options.secrets, storedAt: this.now() });
	}

	/** Forgets everything; for tests. */
	clear(): void {
		this.entries.clear();
	}
}
