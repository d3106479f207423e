// Per-file setup of the e2e project.
import { stopAllN8n } from './n8n';

// A real n8n takes 10-60 s to start on a loaded 2-core machine, far beyond jest's 5 s default.
jest.setTimeout(600_000);

// Whatever a test file started and did not stop (say, its beforeAll timed out mid-start) is
// stopped here, so no n8n, database or Redis key outlives the file.
afterAll(async () => {
	await stopAllN8n();
});
