import uPlot from 'uplot';

// The dashboard: one snapshot a second over server-sent events (the source's /status and the
// monitor's own counters), log lines as they happen. Rates come from the counters' growth
// over the last RATE_WINDOW_MS: chunks arrive in bursts and peers report every 2 s, so the
// difference of two 1-second snapshots zig-zags.

interface Member {
  memberId: number;
  role: string;
  endpoint: string;
  nat: string;
  chunksSent: number;
  complaints: number;
  report?: { chunksReceived: number; chunksLost: number; neighbours: number } | null;
}
interface Snapshot {
  time: number;
  source: 'up' | 'down';
  status: {
    members: Member[];
    stats: { bytesIngested: number };
    host: { datagramBytesSent: number };
  } | null;
  monitor: {
    bufferFill: number;
    chunksPlayed: number;
    chunksLost: number;
    memberId: number;
  } | null;
}

/** Points kept on each chart: two minutes at one a second. */
const WINDOW = 120;
/** The span rates are measured over. */
const RATE_WINDOW_MS = 10_000;
const LOG_LINES = 200;
const element = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

class Chart {
  readonly #container: HTMLElement;
  #names: string[] = [];
  #plot: uPlot | null = null;
  readonly #data: (number | null)[][] = [[]];

  /** `floor`: the y axis spans at least 0 to it, so small wobbles do not fill the chart. */
  constructor(
    id: string,
    readonly floor: number,
  ) {
    this.#container = element(id);
  }

  /** Adds a point; `values` by series name (a new name adds a series). */
  push(time: number, values: Record<string, number | null>): void {
    for (const name of Object.keys(values)) {
      if (!this.#names.includes(name)) {
        this.#names.push(name);
        this.#data.push(this.#data[0]!.map(() => null));
        this.#plot?.destroy();
        this.#plot = null;
      }
    }
    this.#data[0]!.push(time / 1000);
    this.#names.forEach((name, index) => {
      this.#data[index + 1]!.push(values[name] ?? null);
    });
    if (this.#data[0]!.length > WINDOW) for (const series of this.#data) series.shift();
    this.#plot ??= new uPlot(
      {
        width: Math.max(300, this.#container.clientWidth),
        height: 160,
        series: [
          {},
          ...this.#names.map((label, index) => ({
            label,
            stroke: `hsl(${(index * 67) % 360} 60% 45%)`,
            width: 1.5,
          })),
        ],
        axes: [{}, { size: 50 }],
        // A legend names the peers on the loss chart; one series needs none (the title says).
        legend: { show: this.#names.length > 1 },
        scales: { y: { range: (_plot, _min, max) => [0, Math.max(this.floor, max * 1.15)] } },
      },
      this.#data as uPlot.AlignedData,
      this.#container,
    );
    this.#plot.setData(this.#data as uPlot.AlignedData);
    this.#container.dataset.points = String(this.#data[0]!.length);
  }
}

const charts = {
  buffer: new Chart('chart-buffer', 10),
  loss: new Chart('chart-loss', 5),
  bitrate: new Chart('chart-bitrate', 64),
  upload: new Chart('chart-upload', 1.2),
  offload: new Chart('chart-offload', 1),
};
/** The snapshots of the last RATE_WINDOW_MS with the source up, oldest first. */
let recent: Snapshot[] = [];
const ROLE_ORDER = ['monitor', 'member', 'external', 'liberated'];

function drawGraph(members: Member[]): void {
  const svg = element<HTMLElement>('graph');
  const ns = 'http://www.w3.org/2000/svg';
  svg.replaceChildren();
  const sorted = [...members].sort(
    (a, b) => ROLE_ORDER.indexOf(a.role) - ROLE_ORDER.indexOf(b.role) || a.memberId - b.memberId,
  );
  const node = (x: number, y: number, classes: string, lines: string[], id?: number) => {
    const group = document.createElementNS(ns, 'g');
    group.setAttribute('class', classes);
    if (id !== undefined) group.dataset.memberId = String(id);
    const circle = document.createElementNS(ns, 'circle');
    circle.setAttribute('cx', String(x));
    circle.setAttribute('cy', String(y));
    circle.setAttribute('r', '14');
    group.append(circle);
    lines.forEach((line, index) => {
      const text = document.createElementNS(ns, 'text');
      text.setAttribute('x', String(x));
      text.setAttribute('y', String(y + 25 + index * 10));
      text.textContent = line;
      group.append(text);
    });
    svg.append(group);
  };
  sorted.forEach((member, index) => {
    const angle = (2 * Math.PI * index) / sorted.length - Math.PI / 2;
    const [x, y] = [Math.cos(angle) * 150, Math.sin(angle) * 105];
    const line = document.createElementNS(ns, 'line');
    line.setAttribute('x1', '0');
    line.setAttribute('y1', '0');
    line.setAttribute('x2', String(x));
    line.setAttribute('y2', String(y));
    svg.append(line);
    node(
      x,
      y,
      `member-node ${member.role}${member.complaints > 0 ? ' complained' : ''}`,
      [`#${member.memberId} ${member.role}`, `${member.nat}, ${member.complaints} complaints`],
      member.memberId,
    );
  });
  node(0, 0, 'source', ['source']);
}

function drawTable(members: Member[]): void {
  const body = element<HTMLTableElement>('members').tBodies[0]!;
  body.replaceChildren(
    ...members.map((member) => {
      const row = document.createElement('tr');
      const cells = [
        member.memberId,
        member.role,
        member.endpoint,
        member.nat,
        member.chunksSent,
        member.complaints,
        member.report?.chunksReceived ?? '–',
        member.report?.chunksLost ?? '–',
        member.report?.neighbours ?? '–',
      ];
      for (const value of cells) {
        const cell = document.createElement('td');
        cell.textContent = String(value);
        row.append(cell);
      }
      return row;
    }),
  );
}

function setConnection(text: string, state: 'up' | 'down' | 'back'): void {
  const badge = element('connection');
  badge.textContent = text;
  badge.className = `state ${state}`;
}

function onSnapshot(snapshot: Snapshot): void {
  const status = snapshot.status;
  if (status === null) {
    setConnection('source unreachable: reconnecting…', 'down');
    recent = [];
    return;
  }
  if (element('connection').classList.contains('down')) {
    setConnection('reconnected to the source', 'back');
  } else if (!element('connection').classList.contains('back')) {
    setConnection('live', 'up');
  }
  const members = status.members;
  element('member-count').textContent = String(members.length);
  drawGraph(members);
  drawTable(members);
  const monitor = snapshot.monitor;
  if (monitor) {
    element('buffer-text').textContent =
      `${monitor.bufferFill} chunks buffered; ${monitor.chunksPlayed} played, ${monitor.chunksLost} lost`;
  }
  const oldest = recent[0]?.status;
  // A restarted source counts from 0 again: measure from its first snapshot on.
  if (oldest && oldest.stats.bytesIngested > status.stats.bytesIngested) recent = [];
  recent.push(snapshot);
  while (snapshot.time - recent[0]!.time > RATE_WINDOW_MS) recent.shift();
  const first = recent[0]!;
  if (monitor) charts.buffer.push(snapshot.time, { chunks: monitor.bufferFill });
  if (first === snapshot || !first.status) return;
  const seconds = (snapshot.time - first.time) / 1000;
  const ingested = status.stats.bytesIngested - first.status.stats.bytesIngested;
  const uploaded = status.host.datagramBytesSent - first.status.host.datagramBytesSent;
  const loss: Record<string, number | null> = {};
  const before = new Map(first.status.members.map((member) => [member.memberId, member]));
  for (const member of members) {
    const [now, then] = [member.report, before.get(member.memberId)?.report];
    if (!now || !then) continue;
    const lost = now.chunksLost - then.chunksLost;
    const received = now.chunksReceived - then.chunksReceived;
    loss[`#${member.memberId}`] = lost + received > 0 ? (100 * lost) / (lost + received) : null;
  }
  charts.loss.push(snapshot.time, loss);
  charts.bitrate.push(snapshot.time, { stream: (ingested * 8) / seconds / 1000 });
  charts.upload.push(snapshot.time, { ratio: ingested > 0 ? uploaded / ingested : null });
  charts.offload.push(snapshot.time, {
    offload: uploaded > 0 ? (members.length * ingested) / uploaded : null,
  });
}

const WARNINGS = new Set(['peer-expel', 'complaint-receive', 'punch-skip', 'source-lost']);

function onLog(entry: { time: string; name: string; [field: string]: unknown }): void {
  const { time, name, ...fields } = entry;
  const item = document.createElement('li');
  item.className = WARNINGS.has(name) ? 'warn' : '';
  item.dataset.event = name;
  const details = Object.entries(fields)
    .map(([key, value]) => `${key}=${typeof value === 'object' ? JSON.stringify(value) : value}`)
    .join(' ');
  item.textContent = `${time.slice(11, 19)} ${name} ${details}`;
  const log = element('log');
  log.prepend(item);
  while (log.childElementCount > LOG_LINES) log.lastElementChild?.remove();
  if (name === 'source-reconnect') setConnection('reconnected to the source', 'back');
}

const updates = new EventSource('updates');
// Each (re)connection starts with the monitor's log so far: show it once.
updates.addEventListener('open', () => element('log').replaceChildren());
updates.addEventListener('snapshot', (event) => onSnapshot(JSON.parse(event.data) as Snapshot));
updates.addEventListener('log', (event) => onLog(JSON.parse(event.data)));
updates.addEventListener('error', () => setConnection('dashboard disconnected: retrying…', 'down'));
