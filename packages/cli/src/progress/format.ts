/** Number and time formatting shared by the progress reporter and the run chart. */

const COUNT = new Intl.NumberFormat('en-US');

/** `109483778` -> `109,483,778`. */
export function formatCount(n: number): string {
  return COUNT.format(n);
}

/** Seconds as `0.8s`, `42s`, `4m12s`, `1h02m03s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 10) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m${String(rest).padStart(2, '0')}s`;
  return m > 0 ? `${m}m${String(rest).padStart(2, '0')}s` : `${rest}s`;
}

/** A learning rate the way Python prints small floats: `2e-05`, `3.19e-05`. */
export function formatLearningRate(lr: number): string {
  if (lr === 0) return '0';
  const [mantissa, exponent] = lr.toExponential(2).split('e') as [string, string];
  const trimmed = mantissa.replace(/\.?0+$/, '');
  const sign = exponent.startsWith('-') ? '-' : '+';
  return `${trimmed}e${sign}${exponent.replace(/^[+-]/, '').padStart(2, '0')}`;
}

/** Metric and loss values: four decimals, as the course's tables show them. */
export function formatMetric(value: number): string {
  return Number.isFinite(value) ? value.toFixed(4) : String(value);
}

/** `{accuracy: 0.8578, f1: 0.8997}`; an `eval_` prefix is dropped. */
export function formatMetrics(metrics: Readonly<Record<string, number>>): string {
  const parts = Object.entries(metrics).map(([k, v]) => `${k.replace(/^eval_/, '')}: ${formatMetric(v)}`);
  return `{${parts.join(', ')}}`;
}

/** Quotes an argument for a copy-pasteable POSIX shell command when it needs it. */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}
