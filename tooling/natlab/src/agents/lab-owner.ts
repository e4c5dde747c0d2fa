// A process that builds a lab and waits: the teardown tests kill it (SIGTERM, SIGKILL) and
// check what is left. Not run inside a namespace; it needs root like any lab.
import { createLab } from '../lab.js';
import { emit } from './agent-io.js';

const lab = createLab({ runAddressCount: 0 });
lab.spawn('a-host', 'sleep', ['600']);
emit({ type: 'ready', prefix: lab.prefix });
setTimeout(() => process.exit(0), 120_000);
