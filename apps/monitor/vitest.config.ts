import { packageConfig } from '@p2psp/vitest-preset';

export default packageConfig(import.meta.dirname);
