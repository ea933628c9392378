import type { LogEntry } from '@ortrain/trainer';
import { writeFileAtomic } from '@ortrain/trainer';
import { isRunMetric } from './results.js';

/**
 * A picture of a run, drawn from its log history as a self-contained SVG: three stacked panels over
 * the same step axis — training (and validation) loss, learning rate, evaluation metrics — with
 * epoch boundaries, ticks, gridlines and legends. Hand-written SVG: no fonts, scripts or links.
 */

export interface ChartOptions {
  readonly title?: string;
  /** A second line under the title, e.g. the final metrics. */
  readonly subtitle?: string;
  /** Pixels; default 960. */
  readonly width?: number;
}

interface Series {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
  /** Dots on each point; evaluations are few and discrete. */
  readonly markers: boolean;
}

interface Panel {
  readonly title: string;
  readonly series: readonly Series[];
  readonly empty: string;
  readonly scientific: boolean;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const CHAR_WIDTH = 6.6; // average advance of the 12px sans-serif used for labels

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function seriesOf(history: readonly LogEntry[], key: string, name: string, markers: boolean): Series {
  const points: [number, number][] = [];
  for (const entry of history) {
    const value = entry[key];
    if (value !== undefined) points.push([entry.step, value]);
  }
  return { name, points, markers };
}

function panelsOf(history: readonly LogEntry[]): Panel[] {
  const evalKeys = [
    ...new Set(history.flatMap((e) => Object.keys(e).filter((k) => k.startsWith('eval_')))),
  ].filter((k) => k !== 'eval_loss' && !isRunMetric(k));
  const nonEmpty = (series: Series[]) => series.filter((s) => s.points.length > 0);
  return [
    {
      title: 'Loss',
      series: nonEmpty([
        seriesOf(history, 'loss', 'training loss', false),
        seriesOf(history, 'eval_loss', 'validation loss', true),
      ]),
      empty: 'no loss logged yet',
      scientific: false,
    },
    {
      title: 'Learning rate',
      series: nonEmpty([seriesOf(history, 'learning_rate', 'learning rate', false)]),
      empty: 'no learning rate logged yet',
      scientific: true,
    },
    {
      title: 'Evaluation metrics',
      series: nonEmpty(evalKeys.map((k) => seriesOf(history, k, k.replace(/^eval_/, ''), true))),
      empty: 'no evaluations logged (eval_strategy no?)',
      scientific: false,
    },
  ];
}

/** Round tick steps (1, 2, 5 x 10^k; whole numbers if `integer`) covering [lo, hi] in about `count` intervals. */
export function niceTicks(
  lo: number,
  hi: number,
  count = 5,
  integer = false,
): { ticks: number[]; lo: number; hi: number } {
  if (!(hi > lo)) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    [lo, hi] = [lo - pad, hi + pad];
  }
  const raw = (hi - lo) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / magnitude;
  const nice = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * magnitude;
  const step = integer ? Math.max(1, nice) : nice;
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  // Integer multiples of the step avoid accumulating float error (0.30000000000000004).
  const ticks = Array.from({ length: last - first + 1 }, (_, i) =>
    Number(((first + i) * step).toPrecision(12)),
  );
  return { ticks, lo: ticks[0]!, hi: ticks.at(-1)! };
}

function tickLabel(value: number, ticks: readonly number[], scientific: boolean): string {
  if (value === 0) return '0';
  if (scientific) return value.toExponential(1).replace('.0e', 'e');
  const step = ticks.length > 1 ? Math.abs(ticks[1]! - ticks[0]!) : 1;
  return value.toFixed(Math.max(0, -Math.floor(Math.log10(step) + 1e-9)));
}

const fmt = (n: number) => Number(n.toFixed(2)).toString();

/** Renders `log_history` (HF's trainer_state.json list) as an SVG document. */
export function renderRunChart(history: readonly LogEntry[], options: ChartOptions = {}): string {
  const width = options.width ?? 960;
  const margin = { left: 72, right: 24 };
  const plotWidth = width - margin.left - margin.right;
  const panelHeight = 190;
  const panelGap = 62;
  const top = (options.title ? 34 : 8) + (options.subtitle ? 20 : 0) + 40;
  const panels = panelsOf(history);
  const height = top + panels.length * (panelHeight + panelGap) - panelGap + 44;

  const maxStep = Math.max(1, ...history.map((e) => e.step).filter(Number.isFinite));
  const xAxis = niceTicks(0, maxStep, 8, true);
  const x = (step: number) => margin.left + ((step - xAxis.lo) / (xAxis.hi - xAxis.lo)) * plotWidth;

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif" font-size="12">`,
    `<title>${escapeXml(options.title ?? 'Training run')}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
  ];
  let y = 8;
  if (options.title) {
    y += 24;
    out.push(
      `<text x="${margin.left}" y="${y}" font-size="18" font-weight="600" fill="#111">${escapeXml(options.title)}</text>`,
    );
  }
  if (options.subtitle) {
    y += 20;
    out.push(
      `<text x="${margin.left}" y="${y}" font-size="13" fill="#444">${escapeXml(options.subtitle)}</text>`,
    );
  }

  const epochLines = epochBoundaries(history, xAxis.hi);
  panels.forEach((panel, p) => {
    const py = top + p * (panelHeight + panelGap);
    out.push(
      ...renderPanel(
        panel,
        { x, left: margin.left, top: py, width: plotWidth, height: panelHeight },
        xAxis.ticks,
        epochLines,
      ),
    );
  });
  out.push(
    `<text x="${fmt(margin.left + plotWidth / 2)}" y="${height - 10}" text-anchor="middle" fill="#333">step</text>`,
    '</svg>',
  );
  return `${out.join('\n')}\n`;
}

/** Steps where each epoch ends, estimated from the entries' (step, epoch) pairs. */
function epochBoundaries(history: readonly LogEntry[], maxStep: number): { step: number; epoch: number }[] {
  const last = history.filter((e) => e.epoch !== undefined && e.epoch > 0).at(-1);
  if (!last || last.epoch === undefined) return [];
  const stepsPerEpoch = last.step / last.epoch;
  const epochs = Math.floor(last.epoch + 1e-6);
  if (epochs > 20) return [];
  return Array.from({ length: epochs }, (_, i) => ({ step: (i + 1) * stepsPerEpoch, epoch: i + 1 })).filter(
    (b) => b.step <= maxStep,
  );
}

interface Frame {
  readonly x: (step: number) => number;
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

function renderPanel(
  panel: Panel,
  frame: Frame,
  xTicks: readonly number[],
  epochs: readonly { step: number; epoch: number }[],
): string[] {
  const { x, left, top, width, height } = frame;
  const bottom = top + height;
  const out = [`<g class="panel" data-title="${escapeXml(panel.title)}">`];
  out.push(
    `<text x="${left}" y="${top - 12}" font-size="14" font-weight="600" fill="#222">${escapeXml(panel.title)}</text>`,
  );

  const values = panel.series.flatMap((s) => s.points.map(([, v]) => v)).filter(Number.isFinite);
  // Loss and learning rate start at zero; metrics zoom in on where they move.
  const zeroBased = panel.title !== 'Evaluation metrics';
  const lo = values.length ? Math.min(...values, ...(zeroBased ? [0] : [])) : 0;
  const hi = values.length ? Math.max(...values) : 1;
  const pad = zeroBased ? 0 : (hi - lo) * 0.1;
  const yAxis = niceTicks(lo - pad, hi + pad, 4);
  const y = (v: number) => bottom - ((v - yAxis.lo) / (yAxis.hi - yAxis.lo)) * height;

  // Exponents only where plain decimals would be unreadable (learning rates around 1e-5).
  const scientific = panel.scientific && yAxis.hi < 1e-2;
  // An empty panel gets no value axis: there is no scale to show.
  for (const t of values.length > 0 ? yAxis.ticks : []) {
    out.push(
      `<line x1="${left}" x2="${left + width}" y1="${fmt(y(t))}" y2="${fmt(y(t))}" stroke="#e6e6e6"/>`,
      `<text x="${left - 8}" y="${fmt(y(t) + 4)}" text-anchor="end" fill="#555">${escapeXml(tickLabel(t, yAxis.ticks, scientific))}</text>`,
    );
  }
  for (const t of xTicks) {
    out.push(
      `<line x1="${fmt(x(t))}" x2="${fmt(x(t))}" y1="${bottom}" y2="${bottom + 5}" stroke="#888"/>`,
      `<text x="${fmt(x(t))}" y="${bottom + 18}" text-anchor="middle" fill="#555">${tickLabel(t, xTicks, false)}</text>`,
    );
  }
  for (const e of epochs) {
    out.push(
      `<line class="epoch" x1="${fmt(x(e.step))}" x2="${fmt(x(e.step))}" y1="${top}" y2="${bottom}" stroke="#b0b0b0" stroke-dasharray="4 4"/>`,
      `<text x="${fmt(x(e.step) - 4)}" y="${top + 12}" text-anchor="end" font-size="11" fill="#888">epoch ${e.epoch}</text>`,
    );
  }
  out.push(`<rect x="${left}" y="${top}" width="${width}" height="${height}" fill="none" stroke="#888"/>`);

  if (panel.series.length === 0) {
    out.push(
      `<text x="${fmt(left + width / 2)}" y="${fmt(top + height / 2)}" text-anchor="middle" fill="#999">${escapeXml(panel.empty)}</text>`,
    );
  }
  panel.series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    out.push(...renderSeries(s, color, x, y));
  });
  out.push(...renderLegend(panel.series, left + width, top - 12));
  out.push('</g>');
  return out;
}

function renderSeries(
  s: Series,
  color: string,
  x: (step: number) => number,
  y: (v: number) => number,
): string[] {
  // A non-finite value (a diverged loss) breaks the line instead of dropping silently to an edge.
  let d = '';
  let pen = 'M';
  for (const [step, v] of s.points) {
    if (!Number.isFinite(v)) {
      pen = 'M';
      continue;
    }
    d += `${pen}${fmt(x(step))} ${fmt(y(v))} `;
    pen = 'L';
  }
  const name = escapeXml(s.name);
  const out = [
    `<path class="series" data-series="${name}" data-points="${s.points.length}" d="${d.trim()}" fill="none" stroke="${color}" stroke-width="1.8" stroke-linejoin="round"/>`,
  ];
  if (s.markers) {
    for (const [step, v] of s.points) {
      if (!Number.isFinite(v)) continue;
      out.push(
        `<circle cx="${fmt(x(step))}" cy="${fmt(y(v))}" r="3.5" fill="${color}"><title>${name} at step ${step}: ${v.toFixed(4)}</title></circle>`,
      );
    }
  }
  return out;
}

/** Right-aligned on the panel's title row, so it never covers data. */
function renderLegend(series: readonly Series[], right: number, baseline: number): string[] {
  const out: string[] = [];
  let xEnd = right;
  for (let i = series.length - 1; i >= 0; i--) {
    const s = series[i]!;
    const color = PALETTE[i % PALETTE.length]!;
    const textWidth = s.name.length * CHAR_WIDTH;
    const textX = xEnd - textWidth;
    out.push(
      `<line x1="${fmt(textX - 24)}" x2="${fmt(textX - 6)}" y1="${baseline - 4}" y2="${baseline - 4}" stroke="${color}" stroke-width="2.5"/>`,
      `<text x="${fmt(textX)}" y="${baseline}" fill="#333">${escapeXml(s.name)}</text>`,
    );
    xEnd = textX - 40;
  }
  return out;
}

/** Renders and writes the chart atomically (e.g. `<output_dir>/run.svg`). */
export function writeRunChart(path: string, history: readonly LogEntry[], options: ChartOptions = {}): void {
  writeFileAtomic(path, renderRunChart(history, options));
}
