// Three projects so each layer can run alone: unit (pure logic), service (real Redis, Postgres,
// MariaDB and the local API simulators) and e2e (the packed package inside a real n8n 2.x).
const base = {
	preset: 'ts-jest',
	testEnvironment: 'node',
	transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
	// Build output and the local n8n hold copies of package.json that jest would see as a second
	// module named n8n-nodes-dealflow.
	modulePathIgnorePatterns: ['<rootDir>/dist/', '<rootDir>/.n8n-local/'],
};

module.exports = {
	projects: [
		{ ...base, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
		{ ...base, displayName: 'service', testMatch: ['<rootDir>/test/service/**/*.test.ts'] },
		{
			...base,
			displayName: 'e2e',
			testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
			globalSetup: '<rootDir>/test/e2e/harness/global-setup.ts',
			globalTeardown: '<rootDir>/test/e2e/harness/global-teardown.ts',
			setupFilesAfterEnv: ['<rootDir>/test/e2e/harness/jest-setup.ts'],
		},
	],
};
