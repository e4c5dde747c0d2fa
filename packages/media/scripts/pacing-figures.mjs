// Prints paced duration vs ffprobe for the demo sample and any files given (needs a build and ffprobe):
//   pnpm --filter @p2psp/media build && node packages/media/scripts/pacing-figures.mjs [FILE...]

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { demoSamplePath } from '../dist/assets.js';
import { createPacer, detectMediaType } from '../dist/index.js';

const files = process.argv.slice(2);
for (const path of [demoSamplePath, ...files]) {
  const bytes = readFileSync(path);
  const { kind } = detectMediaType({ firstBytes: bytes.subarray(0, 65536), fileName: path });
  const created = createPacer(kind, {});
  if (!created.ok) {
    console.log(path, created.error.message);
    continue;
  }
  let n = 0;
  for (let o = 0; o < bytes.length; o += 4096)
    n += created.pacer.push(bytes.subarray(o, o + 4096)).length;
  n += created.pacer.end().length;
  const probe = Number(
    execFileSync('ffprobe', [
      '-v',
      'error',
      '-show_entries',
      'format=duration',
      '-of',
      'csv=p=0',
      path,
    ]).toString(),
  );
  console.log(
    `${path.split('/').pop()} kind=${kind} pieces=${n} paced=${(created.pacer.mediaTimeMicros / 1e6).toFixed(4)}s ffprobe=${probe.toFixed(4)}s diff=${((created.pacer.mediaTimeMicros / 1e6 - probe) * 1000).toFixed(1)}ms`,
  );
}
