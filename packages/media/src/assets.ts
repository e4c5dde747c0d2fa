// The media sample the project ships for its demo (see the README, "Demo sample").
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const FILE_NAME = 'demo.mp3';

function locateDemoSample(): string {
  // assets/ sits beside src/ and dist/, so one level up works from both.
  const besideModule = fileURLToPath(new URL(`../assets/${FILE_NAME}`, import.meta.url));
  if (existsSync(besideModule)) return besideModule;
  // Bundled into another program (the CLI's single-file build): ask Node where the package is.
  try {
    const require = createRequire(import.meta.url);
    return join(dirname(require.resolve('@p2psp/media/package.json')), 'assets', FILE_NAME);
  } catch {
    return besideModule;
  }
}

/** Absolute path of the demo sample: ~35 s MP3, 128 kbit/s CBR, 44.1 kHz stereo. */
export const demoSamplePath: string = locateDemoSample();

/** Its media type, as {@link detectMediaType} would report it. */
export const demoSampleMimeType = 'audio/mpeg';
