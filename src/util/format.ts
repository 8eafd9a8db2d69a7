/** Numbers and durations for people: CLI lines, the report, make-model's summary. */

const grouped = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/**
 * A count: `1,234,567`; with `compact`, counts from 10,000 up are shortened for progress lines (`12.3k`, `1.23M`).
 */
export function formatCount(value: number, { compact = false }: { compact?: boolean } = {}): string {
  if (!compact || value < 10_000) return grouped.format(value);
  for (const [unit, size] of [
    ['G', 1e9],
    ['M', 1e6],
    ['k', 1e3],
  ] as const) {
    if (value >= size) return `${(value / size).toFixed(value >= size * 100 ? 0 : value >= size * 10 ? 1 : 2)}${unit}`;
  }
  return String(value);
}

/** `512.0 KiB`, `1.5 MiB`, `2.00 GiB`. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1 << 30) return `${(bytes / (1 << 30)).toFixed(2)} GiB`;
  if (bytes >= 1 << 20) return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

/** `42s`, `3m07s`, `2h05m`; `--` when unknown. */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '--';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
