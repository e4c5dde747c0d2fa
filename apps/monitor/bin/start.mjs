#!/usr/bin/env node
// `pnpm --filter @p2psp/monitor start -- --source HOST:PORT [--status URL] [--port PORT]
// [--credential SECRET]`: the same monitor as `p2psp monitor`, from this package's build.
import { parseArgs } from 'node:util';
import { startMonitor } from '../dist/index.js';

const { values } = parseArgs({
  options: {
    source: { type: 'string' },
    status: { type: 'string' },
    port: { type: 'string', default: '8090' },
    credential: { type: 'string' },
  },
});
if (!values.source) {
  process.stderr.write(
    'usage: start --source HOST:PORT [--status URL] [--port PORT] [--credential SECRET]\n',
  );
  process.exit(2);
}
try {
  const monitor = await startMonitor({
    source: values.source,
    port: Number(values.port),
    ...(values.status ? { statusUrl: values.status } : {}),
    ...(values.credential ? { credential: new TextEncoder().encode(values.credential) } : {}),
  });
  process.stdout.write(`dashboard: ${monitor.url}\n`);
  process.on('SIGINT', () => void monitor.stop().then(() => process.exit(0)));
  process.on('SIGTERM', () => void monitor.stop().then(() => process.exit(0)));
} catch (error) {
  process.stderr.write(`error: ${error.message}${error.code ? ` [${error.code}]` : ''}\n`);
  process.exit(1);
}
