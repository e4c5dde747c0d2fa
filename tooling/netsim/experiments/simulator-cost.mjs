#!/usr/bin/env node
// What the simulator itself costs per datagram, without the P2PSP cores: N nodes whose
// trivial cores pass every datagram they receive on to a node drawn at random, with a fixed
// number of datagrams in flight per node (a streaming peer at 128 kbit/s and 20-50 ms links
// has about one). Each size runs in its own process (peak RSS is its own). The figure is
// CPU nanoseconds of the process per datagram delivered: routing, the event queue, link
// models, the bookkeeping; what is left of a cluster run's cost is the cores'.
// Run after building: node tooling/netsim/experiments/simulator-cost.mjs [N ...]
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
/** Datagrams delivered per run, whatever N. */
const DATAGRAMS = 2_000_000;
/** Datagrams each node puts in flight at the start (each one is forwarded until the end). */
const IN_FLIGHT_PER_NODE = 1;

if (args[0] === '--one') {
  const nodes = Number(args[1]);
  const { Simulator } = await import('../dist/index.js');
  const sim = new Simulator({ seed: 1 });
  const endpoints = [];
  const payload = new Uint8Array(1024);
  let sent = 0;
  const started = [];
  for (let index = 0; index < nodes; index += 1) {
    const node = sim.addNode({
      name: `node-${index}`,
      link: { latencyMs: 10, jitterMs: 5 },
      createCore: ({ random }) => {
        const outputs = [];
        const sendToAnyone = (bytes) => {
          sent += 1;
          outputs.push({
            type: 'send-datagram',
            to: endpoints[Math.floor(random.next() * nodes)],
            bytes,
          });
        };
        return {
          handle: (input) => {
            if (input.type === 'datagram' && sent < DATAGRAMS) sendToAnyone(input.bytes);
          },
          handleTimeout: () => {},
          pollTimeout: () => undefined,
          pollOutput: () => outputs.pop(),
          start: () => {
            for (let count = 0; count < IN_FLIGHT_PER_NODE; count += 1) sendToAnyone(payload);
          },
        };
      },
    });
    endpoints.push(node.endpoint);
    started.push(node);
  }
  const cpuStarted = process.cpuUsage();
  const wallStarted = performance.now();
  for (const node of started) {
    node.core.start();
    sim.wake(node);
  }
  sim.runUntil(Number.MAX_SAFE_INTEGER);
  const cpu = process.cpuUsage(cpuStarted);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  process.stdout.write(
    `${JSON.stringify({
      nodes,
      datagrams: sim.datagramsDelivered,
      cpuSeconds,
      wallSeconds: (performance.now() - wallStarted) / 1000,
      nanosecondsPerDatagram: (cpuSeconds * 1e9) / sim.datagramsDelivered,
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
    })}\n`,
  );
  process.exit(0);
}

const sizes = args.length > 0 ? args.map(Number) : [100, 1000, 10_000, 100_000];
const rows = [];
for (const nodes of sizes) {
  const output = execFileSync(
    process.execPath,
    [fileURLToPath(import.meta.url), '--one', String(nodes)],
    {
      encoding: 'utf8',
    },
  );
  const result = JSON.parse(output.trim().split('\n').at(-1));
  process.stderr.write(`${JSON.stringify(result)}\n`);
  rows.push(
    `| ${nodes.toLocaleString('en-US')} | ${result.datagrams.toLocaleString('en-US')} | ${result.cpuSeconds.toFixed(2)} | ${Math.round(result.nanosecondsPerDatagram)} | ${result.peakRssMiB.toFixed(0)} |`,
  );
}
process.stdout.write(
  `${['| nodes | datagrams | CPU s | CPU ns / datagram | peak RSS MiB |', '|---:|---:|---:|---:|---:|', ...rows].join('\n')}\n`,
);
