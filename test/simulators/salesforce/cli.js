#!/usr/bin/env node
'use strict';
/**
 * Runs the Salesforce simulator as its own process, for the e2e suite and `npm start` sandbox
 * mode. Prints one line `SALESFORCE_SIMULATOR_READY {json}` with the URL and the sandbox
 * credentials (including a generated JWT private key) once it listens, and stops on SIGINT/SIGTERM.
 *
 *   node test/simulators/salesforce/cli.js [--port 0] [--latency-ms 0] [--batch-size 2000]
 *     [--no-multi-currency] [--public-key-file key.pem]
 */
const fs = require('node:fs');
const { startSalesforceSimulator } = require('./server');

function argument(name) {
	const index = process.argv.indexOf(name);
	return index >= 0 ? process.argv[index + 1] : undefined;
}

async function main() {
	const publicKeyFile = argument('--public-key-file');
	const simulator = await startSalesforceSimulator({
		port: Number(argument('--port') ?? process.env.SALESFORCE_SIM_PORT ?? 0),
		latencyMs: Number(argument('--latency-ms') ?? 0),
		batchSize: Number(argument('--batch-size') ?? 2000),
		multiCurrency: !process.argv.includes('--no-multi-currency'),
		jwtPublicKeyPem: publicKeyFile ? fs.readFileSync(publicKeyFile, 'utf8') : undefined,
	});
	process.stdout.write(`SALESFORCE_SIMULATOR_READY ${JSON.stringify(simulator.info())}\n`);
	const stop = () => {
		simulator.close().then(() => process.exit(0));
	};
	process.on('SIGINT', stop);
	process.on('SIGTERM', stop);
}

main().catch((error) => {
	process.stderr.write(`${error.stack}\n`);
	process.exit(1);
});
