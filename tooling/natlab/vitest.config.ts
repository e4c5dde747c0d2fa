import { packageConfig } from '@p2psp/vitest-preset';

// One lab at a time: each test file builds its own fake internet, and the 2-core CI machine
// measures the hole-punching matrix more faithfully when nothing else competes for it.
export default packageConfig(import.meta.dirname, { fileParallelism: false });
