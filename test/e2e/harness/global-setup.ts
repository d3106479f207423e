// Jest global setup of the e2e project: n8n provisioned, the package built, packed and installed
// once for the whole run. DEALFLOW_SKIP_BUILD=1 skips the build (test/run-all.js has built).
import { sweepStaleResources } from './machine';
import { preparePackage, pruneArtifacts } from './package';

export default async function globalSetup(): Promise<void> {
	pruneArtifacts();
	await sweepStaleResources();
	await preparePackage({ build: process.env.DEALFLOW_SKIP_BUILD !== '1' });
}
