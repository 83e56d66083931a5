/**
 * The Run page's plots (uPlot: ~20 KB gzipped, canvas, no dependencies): requests per second, requests in flight,
 * p50/p99 latency and desired vs ready replicas over the last hour, then each replica's CPU and memory (and GPU
 * when its agent reports GPU figures), one line per replica. Canvas strokes cannot use CSS variables, so
 * the colours are read from the page's theme and the charts are made again when the system switches light/dark.
 * Each chart's element carries its uPlot instance (`.uplot`), so tests read the plotted data, not pixels.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Api } from '../api.js';
import { ErrorNote } from '../components.js';
import { columns, replicaColumns, useHistory, type HistoryPoint, type ReplicaFigures, type RunFigure } from '../history.js';

interface Line {
  key: RunFigure;
  label: string;
  /** A CSS variable of app.css. */
  color: string;
  dash?: number[];
}

interface Chart {
  id: string;
  title: string;
  unit: string;
  lines: Line[];
  /** Whole numbers only (replicas, requests): no 0.5 ticks. */
  integer?: boolean;
}

export const CHARTS: readonly Chart[] = [
  { id: 'rps', title: 'Requests per second', unit: 'req/s', lines: [{ key: 'rps', label: 'RPS (30 s)', color: '--info' }] },
  { id: 'inflight', title: 'Requests in flight', unit: 'requests', integer: true, lines: [{ key: 'inFlight', label: 'In flight', color: '--warn' }] },
  {
    id: 'latency',
    title: 'Latency (60 s window)',
    unit: 'ms',
    lines: [
      { key: 'p50', label: 'p50', color: '--ok' },
      { key: 'p99', label: 'p99', color: '--bad' },
    ],
  },
  {
    id: 'replicas',
    title: 'Replicas',
    unit: 'replicas',
    integer: true,
    lines: [
      // Desired last, dashed: drawn over Ready, so both show when they are equal.
      { key: 'ready', label: 'Ready', color: '--ok' },
      { key: 'desired', label: 'Desired', color: '--muted', dash: [6, 4] },
    ],
  },
];

const HEIGHT = 180;
const dark = () => matchMedia('(prefers-color-scheme: dark)');

function useColorScheme(): boolean {
  const [isDark, setDark] = useState(() => dark().matches);
  useEffect(() => {
    const m = dark();
    const on = () => setDark(m.matches);
    m.addEventListener('change', on);
    return () => m.removeEventListener('change', on);
  }, []);
  return isDark;
}

/** One replica's line per colour, dashed once the colours run out. */
const REPLICA_COLORS = ['--info', '--ok', '--warn', '--bad', '--muted'];

interface ReplicaChart {
  id: string;
  title: string;
  unit: string;
  figure: keyof ReplicaFigures;
  /** Shown only when some replica reports it (GPU figures need GPUs and the agent's SMI tool). */
  optional?: boolean;
}

export const REPLICA_CHARTS: readonly ReplicaChart[] = [
  { id: 'cpu', title: 'CPU per replica', unit: '% (100 = one core)', figure: 'cpu' },
  { id: 'memory', title: 'Memory per replica', unit: 'MiB', figure: 'memoryMiB' },
  { id: 'gpu', title: 'GPU utilisation per replica', unit: '%', figure: 'gpu', optional: true },
  { id: 'gpu-memory', title: 'GPU memory per replica', unit: 'MiB', figure: 'gpuMemoryMiB', optional: true },
];

/** What a drawn chart needs: its lines (fixed for the life of one uPlot instance) and its columns. */
interface Drawn {
  id: string;
  title: string;
  unit: string;
  integer?: boolean | undefined;
  lines: Omit<Line, 'key'>[];
  data: (number | null)[][];
}

function options(chart: Drawn, width: number): uPlot.Options {
  const css = getComputedStyle(document.documentElement);
  const v = (name: string) => css.getPropertyValue(name).trim() || '#888';
  const axis = { stroke: v('--muted'), grid: { stroke: v('--line'), width: 1 }, ticks: { stroke: v('--line'), width: 1 } };
  return {
    width,
    height: HEIGHT,
    legend: { show: true },
    cursor: { drag: { x: false, y: false } },
    scales: { y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
    axes: [axis, { ...axis, size: 56, ...(chart.integer ? { incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] } : {}) }],
    series: [{}, ...chart.lines.map((l) => ({ label: l.label, stroke: v(l.color), width: 2, ...(l.dash ? { dash: l.dash } : {}), points: { show: false } }))],
  };
}

function Plot({ chart, isDark }: { chart: Drawn; isDark: boolean }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const data = () => chart.data as uPlot.AlignedData;
  // A new replica is a new line: uPlot's series are fixed, so the chart is made again.
  const shape = chart.lines.map((l) => l.label).join('\n');

  useEffect(() => {
    const el = box.current!;
    const u = new uPlot(options(chart, el.clientWidth || 400), data(), el);
    plot.current = u;
    (el as HTMLElement & { uplot?: uPlot }).uplot = u;
    const resize = new ResizeObserver(() => u.setSize({ width: el.clientWidth, height: HEIGHT }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      u.destroy();
    };
  }, [isDark, shape]);

  useEffect(() => plot.current?.setData(data()), [chart.data]);

  const lastOf = (i: number) => chart.data[i + 1]?.at(-1);
  const summary =
    chart.data[0]!.length > 0 ? chart.lines.map((l, i) => `${l.label} ${lastOf(i) ?? '-'} ${chart.unit}`).join(', ') : 'no data yet';
  return (
    <figure class="plot" data-chart={chart.id}>
      <figcaption>{chart.title}</figcaption>
      <div ref={box} role="img" aria-label={`${chart.title}: ${summary}`} />
    </figure>
  );
}

function runCharts(points: HistoryPoint[]): Drawn[] {
  return CHARTS.map((c) => ({ ...c, data: columns(points, c.lines.map((l) => l.key)) }));
}

function replicaCharts(points: HistoryPoint[]): Drawn[] {
  return REPLICA_CHARTS.flatMap((c) => {
    const { labels, data } = replicaColumns(points, c.figure);
    if (c.optional && labels.length === 0) return [];
    const lines = labels.map((label, i) => ({
      label: `replica ${label}`,
      color: REPLICA_COLORS[i % REPLICA_COLORS.length]!,
      ...(i >= REPLICA_COLORS.length ? { dash: [6, 4] } : {}),
    }));
    return [{ id: c.id, title: c.title, unit: c.unit, lines, data }];
  });
}

export function PlotsPanel({ api, run, active }: { api: Api; run: string; active: boolean }) {
  const history = useHistory(api, run, active);
  const isDark = useColorScheme();
  const charts = useMemo(() => [...runCharts(history.points), ...replicaCharts(history.points)], [history.points]);
  return (
    <section aria-labelledby="plots-title" class="panel">
      <h2 id="plots-title">Last hour</h2>
      <ErrorNote error={history.error} />
      {history.points.length === 0 && !history.error ? <p class="empty">The first point comes within 5 seconds.</p> : null}
      <div class="plots">
        {charts.map((c) => (
          <Plot key={c.id} chart={c} isDark={isDark} />
        ))}
      </div>
    </section>
  );
}
