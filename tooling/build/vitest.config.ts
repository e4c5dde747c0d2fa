// The shared preset by path: @p2psp/vitest-preset depends on this package (its workspace
// aliases), so a package dependency back would be a cycle.
import { packageConfig } from '../vitest/src/index.mjs';

export default packageConfig(import.meta.dirname);
