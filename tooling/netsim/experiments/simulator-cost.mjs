#!/usr/bin/env node
// What the simulator itself costs per datagram, without the P2PSP cores: N nodes whose
// trivial cores pass every datagram they receive on to a node drawn at random
// (`forwardingLoad`), with a fixed number of datagrams in flight per node (a streaming peer at 128 kbit/s and 20-50 ms links
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
  const { forwardingLoad } = await import('../dist/index.js');
  const { sim, run } = forwardingLoad({
    nodes,
    datagrams: DATAGRAMS,
    inFlightPerNode: IN_FLIGHT_PER_NODE,
  });
  const cpuStarted = process.cpuUsage();
  const wallStarted = performance.now();
  run();
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
