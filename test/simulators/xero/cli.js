#!/usr/bin/env node
'use strict';
/**
 * Runs the Xero simulator as its own process, for the e2e harness and `npm start` sandbox mode.
 *
 *   node test/simulators/xero/cli.js [--port 0] [--config '{"minuteWindowMs":6000}']
 *
 * Prints one JSON line with the URLs once it listens, then serves until SIGTERM or SIGINT.
 * Drive it from outside through /__sim/faults, /__sim/config, /__sim/ledger and /__sim/reset.
 */
const { createXeroSimulator } = require('./server');

function argument(name) {
	const index = process.argv.indexOf(`--${name}`);
	return index === -1 ? undefined : process.argv[index + 1];
}

async function main() {
	const overrides = JSON.parse(argument('config') || process.env.XERO_SIM_CONFIG || '{}');
	const sim = createXeroSimulator(overrides);
	await sim.start(Number(argument('port') || process.env.XERO_SIM_PORT || 0));
	process.stdout.write(
		`${JSON.stringify({
			url: sim.url,
			apiBaseUrl: sim.apiBaseUrl,
			tokenUrl: sim.tokenUrl,
			connectionsUrl: sim.connectionsUrl,
			authorizeUrl: sim.authorizeUrl,
		})}\n`,
	);
	const stop = () => void sim.stop().then(() => process.exit(0));
	process.on('SIGTERM', stop);
	process.on('SIGINT', stop);
}

main().catch((error) => {
	process.stderr.write(`xero simulator failed to start: ${error && error.stack}\n`);
	process.exit(1);
});
