// A tiny SVG line-plot writer for the experiment figures (docs/simulation.md). Hand-written
// so the experiments need no plotting dependency: axes, ticks, a legend and polylines.

const COLOURS = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#ff7f0e',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#17becf',
];

function escapeXml(text) {
  return String(text).replace(/[<>&"]/g, (character) => `&#${character.charCodeAt(0)};`);
}

function niceTicks(min, max, count) {
  const span = max - min || 1;
  const rough = span / count;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10]
    .map((factor) => factor * magnitude)
    .find((candidate) => candidate >= rough);
  const ticks = [];
  for (let value = Math.ceil(min / step) * step; value <= max + step * 1e-9; value += step) {
    ticks.push(Number(value.toPrecision(12)));
  }
  return ticks;
}

/**
 * series: [{ name, points: [[x, y], ...], dashed? }]; options: { title, xLabel, yLabel,
 * yLog (log10 y axis; values <= yFloor are drawn at yFloor), yFloor, width, height,
 * yFormat (tick label function), references: [{ name, points, dashed }] drawn grey }.
 */
export function linePlot(series, options) {
  const width = options.width ?? 720;
  const height = options.height ?? 440;
  const margin = { left: 78, right: 190, top: 42, bottom: 56 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const all = series.flatMap((entry) => entry.points);
  const xs = all.map(([x]) => x);
  const yLog = options.yLog === true;
  const yFloor = options.yFloor ?? 1e-4;
  const transformY = (y) => (yLog ? Math.log10(Math.max(y, yFloor)) : y);
  const ys = all.map(([, y]) => transformY(y));
  const xMin = options.xMin ?? Math.min(...xs);
  const xMax = options.xMax ?? Math.max(...xs);
  let yMin = options.yMin ?? (yLog ? Math.floor(Math.min(...ys)) : Math.min(0, ...ys));
  let yMax = options.yMax ?? (yLog ? Math.ceil(Math.max(...ys)) : Math.max(...ys));
  if (yLog && options.yMin !== undefined) yMin = Math.log10(options.yMin);
  if (yLog && options.yMax !== undefined) yMax = Math.log10(options.yMax);
  if (yMax === yMin) yMax = yMin + 1;
  const px = (x) => margin.left + ((x - xMin) / (xMax - xMin || 1)) * plotWidth;
  const py = (y) => margin.top + plotHeight - ((transformY(y) - yMin) / (yMax - yMin)) * plotHeight;
  const format = options.yFormat ?? ((value) => String(value));
  const parts = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${margin.left + plotWidth / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(options.title)}</text>`,
  );
  // Grid and ticks.
  for (const tick of niceTicks(xMin, xMax, 8)) {
    const x = px(tick).toFixed(1);
    parts.push(
      `<line x1="${x}" y1="${margin.top}" x2="${x}" y2="${margin.top + plotHeight}" stroke="#eee"/>`,
      `<text x="${x}" y="${margin.top + plotHeight + 18}" text-anchor="middle">${escapeXml(tick)}</text>`,
    );
  }
  const yTicks = yLog
    ? Array.from({ length: Math.round(yMax - yMin) + 1 }, (_, index) => 10 ** (yMin + index))
    : niceTicks(yMin, yMax, 6);
  for (const tick of yTicks) {
    const y = py(tick).toFixed(1);
    parts.push(
      `<line x1="${margin.left}" y1="${y}" x2="${margin.left + plotWidth}" y2="${y}" stroke="#eee"/>`,
      `<text x="${margin.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${escapeXml(format(tick))}</text>`,
    );
  }
  parts.push(
    `<rect x="${margin.left}" y="${margin.top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#333"/>`,
    `<text x="${margin.left + plotWidth / 2}" y="${height - 14}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`,
    `<text transform="translate(18 ${margin.top + plotHeight / 2}) rotate(-90)" text-anchor="middle">${escapeXml(options.yLabel)}</text>`,
  );
  // Series and legend.
  series.forEach((entry, index) => {
    const colour = entry.colour ?? COLOURS[index % COLOURS.length];
    const points = entry.points
      .map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`)
      .join(' ');
    const dash = entry.dashed ? ' stroke-dasharray="6 4"' : '';
    parts.push(
      `<polyline fill="none" stroke="${colour}" stroke-width="2"${dash} points="${points}"/>`,
    );
    for (const [x, y] of entry.points) {
      parts.push(
        `<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="2.5" fill="${colour}"/>`,
      );
    }
    const legendY = margin.top + 10 + index * 18;
    const legendX = margin.left + plotWidth + 12;
    parts.push(
      `<line x1="${legendX}" y1="${legendY}" x2="${legendX + 22}" y2="${legendY}" stroke="${colour}" stroke-width="2"${dash}/>`,
      `<text x="${legendX + 28}" y="${legendY}" dominant-baseline="middle">${escapeXml(entry.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
