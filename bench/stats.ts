// Summary statistics of latency samples. Pure: no I/O, no clock.

export interface Summary {
  n: number;
  min: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/**
 * The q-quantile (0..1) of samples by the nearest-rank method: the smallest sample with at least
 * q*n samples at or below it. With few samples p99 is simply the maximum, which is what we want to
 * see rather than an interpolated value no request ever took.
 */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return Number.NaN;
  if (q < 0 || q > 1) throw new RangeError(`quantile must be in [0, 1], got ${q}`);
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1]!;
}

export function median(samples: readonly number[]): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) {
    return { n: 0, min: Number.NaN, p50: Number.NaN, p95: Number.NaN, p99: Number.NaN, max: Number.NaN, mean: Number.NaN };
  }
  return {
    n: samples.length,
    min: Math.min(...samples),
    p50: quantile(samples, 0.5),
    p95: quantile(samples, 0.95),
    p99: quantile(samples, 0.99),
    max: Math.max(...samples),
    mean: samples.reduce((a, b) => a + b, 0) / samples.length,
  };
}

/** value / floor, or null when the floor is not a positive number (no meaningful ratio). */
export function ratio(value: number, floor: number): number | null {
  if (!Number.isFinite(value) || !Number.isFinite(floor) || floor <= 0) return null;
  return value / floor;
}

/** Ratios of each percentile to the floor's same percentile. */
export function ratioSummary(s: Summary, floor: Summary): { p50: number | null; p95: number | null; p99: number | null } {
  return { p50: ratio(s.p50, floor.p50), p95: ratio(s.p95, floor.p95), p99: ratio(s.p99, floor.p99) };
}

/** Rounds for reports (JSON and tables): milliseconds to 0.01, ratios to 0.01. */
export function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
