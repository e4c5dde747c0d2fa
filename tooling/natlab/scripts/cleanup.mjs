#!/usr/bin/env node
// Removes the namespaces (and their processes) of NAT-lab runs whose process is dead, e.g.
// after a SIGKILL. Usage: pnpm --filter @p2psp/natlab build && pnpm --filter @p2psp/natlab cleanup
import { cleanupStaleLabs } from '../dist/index.js';

const removed = cleanupStaleLabs();
console.log(removed.length === 0 ? 'no stale lab namespaces' : `removed ${removed.join(', ')}`);
