// The delay, loss and upload table that delay-loss.mjs and signed-chunks.mjs print: one
// Markdown row per setting, each run over the same seeds.

const pct = (ratio) => `${(ratio * 100).toFixed(2)} %`;
const ms = (value) => `${Math.round(value).toLocaleString('en-US')}`;

/**
 * Prints the table's header, then for each setting (`{ name, options }`) whose name
 * contains one of `chosen` (all when empty) a row over `seeds`: `run(options, seed)` returns
 * a cluster summary. Delay p50 and CLR are means over the seeds, p99 and start-up the worst.
 */
export function printDelayTable(settings, seeds, chosen, run) {
  console.log(
    `| setting | delay p50 ms | delay p99 ms | start-up p99 ms | CLR mean | worst peer (seeds ${seeds[0]}-${seeds.at(-1)}) | source upload | peer upload |`,
  );
  console.log('|---|---:|---:|---:|---:|---|---:|---:|');
  for (const setting of settings) {
    if (chosen.length > 0 && !chosen.some((name) => setting.name.includes(name))) continue;
    const runs = seeds.map((seed) => run(setting.options, seed));
    const mean = (pick) => runs.reduce((sum, summary) => sum + pick(summary), 0) / runs.length;
    const worst = (pick) => Math.max(...runs.map(pick));
    console.log(
      `| ${setting.name} | ${ms(mean((s) => s.chunkDelayMs.p50))} | ${ms(worst((s) => s.chunkDelayMs.p99))} | ` +
        `${ms(worst((s) => s.startupDelayMs.p99))} | ${pct(mean((s) => s.chunkLossRatio.mean))} | ` +
        `${runs.map((s) => (s.chunkLossRatio.max * 100).toFixed(2)).join(', ')} % | ` +
        `${mean((s) => s.sourceUploadRatio).toFixed(3)} x | ${mean((s) => s.peerUploadRatio).toFixed(3)} x |`,
    );
  }
}
