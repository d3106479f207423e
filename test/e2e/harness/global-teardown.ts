// Jest global teardown of the e2e project: removes the packed tarball and the template nodes folder.
import { cleanupPreparedPackage } from './package';

export default async function globalTeardown(): Promise<void> {
	cleanupPreparedPackage();
}
