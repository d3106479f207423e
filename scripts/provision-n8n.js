#!/usr/bin/env node
// Installs the pinned n8n into its cache outside the repository (~/.cache/n8n-nodes-dealflow or
// $DEALFLOW_N8N_CACHE) unless it is there already. `npm start` and `npm test` call the same code.
'use strict';

require('./lib/bootstrap').ensureNode24(__filename);

const runtime = require('./lib/n8n-runtime');

runtime
	.provisionN8n({ log: (line) => process.stdout.write(`${line}\n`) })
	.then((dir) => process.stdout.write(`n8n ${runtime.N8N_VERSION} is ready in ${dir}\n`))
	.catch((error) => {
		process.stderr.write(`${error.message}\n`);
		process.exit(1);
	});
