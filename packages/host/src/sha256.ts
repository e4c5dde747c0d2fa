import { createHash } from 'node:crypto';
import type { Sha256 } from '@p2psp/wire';

/** SHA-256 (FIPS 180-4) on `node:crypto`, for the cores' signed chunks. */
export const sha256: Sha256 = (parts) => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
};
