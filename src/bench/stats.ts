/**
 * Order statistics for benchmark samples. Quantiles are nearest-rank (the sample at rank ceil(q·n)):
 * with 20 samples the p95 is the 19th, an observed value rather than an interpolation.
 * @module
 */

export interface Summary {
  readonly n: number;
  readonly min: number;
  readonly median: number;
  readonly p95: number;
  readonly max: number;
  readonly mean: number;
}

/**
 * Nearest-rank quantile of `samples` (need not be sorted).
 * @throws RangeError for no samples, a non-finite sample or q outside [0, 1]
 * @example quantile([5, 1, 3], 0.5) // 3
 */
export function quantile(samples: readonly number[], q: number): number {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile: q must be in [0, 1], got ${q}`);
  const sorted = sortedFinite(samples);
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1]!;
}

/**
 * min, median, p95, max and mean of `samples`.
 * @throws RangeError for no samples or a non-finite sample
 */
export function summarize(samples: readonly number[]): Summary {
  const sorted = sortedFinite(samples);
  const at = (q: number) => sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
  return {
    n: sorted.length,
    min: sorted[0]!,
    median: at(0.5),
    p95: at(0.95),
    max: sorted[sorted.length - 1]!,
    mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
  };
}

/** `a / b`, or null when b is 0 (a ratio to nothing is not a number to print). */
export function ratio(a: number, b: number): number | null {
  return b === 0 ? null : a / b;
}

function sortedFinite(samples: readonly number[]): number[] {
  if (samples.length === 0) throw new RangeError('no samples');
  for (const s of samples) {
    if (typeof s !== 'number' || !Number.isFinite(s)) throw new RangeError(`not a finite sample: ${String(s)}`);
  }
  return [...samples].sort((a, b) => a - b);
}
