// Kernel benchmark results: the row type written to bench-results/kernels.json, the shape list, medians,
// the printed table and the summary that checks the targets. Pure code, shared by the page and the CLI.

export type Shape = [m: number, k: number, n: number];
export type Impl = 'lab' | 'tfjs-webgpu' | 'ort-webgpu' | 'ceiling';

/**
 * One measurement. `op` says what was timed:
 * - 'matmul': C (M,N) = A (M,K) · B (K,N) for every impl; the lab row runs the variant the start-up tuning picked
 *   for this adapter (named in `variant`).
 * - 'matmul-variant': impl 'lab' with one named `variant` forced, every variant at every shape, so the report shows
 *   which variant wins where (the 'matmul' lab row repeats the numbers of the chosen variant's row).
 * - 'matmul-tune': the start-up tuning itself: one row per variant with `ms` as tuneMatmul measured it and
 *   `chosen` set on the winner (`shape` is the tuning shape when known, else [0, 0, 0]).
 * - 'fma-ceiling': impl 'ceiling', the independent vec4 multiply-add kernel; `shape` is
 *   [threads, vec4 multiply-adds per thread, 4 lanes] so that FLOPs = 2·m·k·n as for a matmul.
 * - 'row-kernel': impl 'lab', one per-row kernel (`kernel`) with one `variant` forced (src/kernels/rows.ts) at the
 *   tiny preset's training shape; `shape` is [rows N = B·T, row width C or V, 0], `gflops` null, `chosen` marks
 *   the variant this adapter gets by default, and `ms` is the kernel's own GPU time (timestamp queries; wall
 *   clock when the adapter has none, as `note` says).
 * Otherwise `ms` is the median wall-clock time from issuing the work to the GPU queue reporting it done, over `runs` timed
 * runs after warm-up; null when the impl failed (then `error` says why).
 */
export interface BenchRow {
  op: 'matmul' | 'matmul-variant' | 'matmul-tune' | 'fma-ceiling' | 'row-kernel';
  impl: Impl;
  shape: Shape;
  ms: number | null;
  gflops: number | null;
  adapter: string;
  variant?: string;
  chosen?: boolean;
  /** The shader a 'row-kernel' row timed. */
  kernel?: string;
  /** Every timed run in ms, in order. */
  runsMs?: number[];
  /** Largest |GPU − CPU float64| over sampled output entries (a benchmark of a wrong kernel is worthless). */
  maxAbsErr?: number;
  note?: string;
  error?: string;
}

export const CUBE_SHAPES: Shape[] = [
  [256, 256, 256],
  [512, 512, 512],
  [1024, 1024, 1024],
];
/** GPT-sized products (B·T = 2048 rows; C = 128, 3C = 384, 4C = 512): attention/MLP projections and their grads. */
export const GPT_SHAPES: Shape[] = [
  [2048, 128, 512],
  [2048, 512, 128],
  [2048, 128, 384],
];
export const DEFAULT_SHAPES: Shape[] = [...CUBE_SHAPES, ...GPT_SHAPES];

/** Parses "256,1024,gpt,2048x128x512": a number is a cube, "cubes"/"gpt" are the groups above, MxKxN explicit. */
export function parseShapes(spec: string): Shape[] {
  const shapes: Shape[] = [];
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (part === 'gpt') shapes.push(...GPT_SHAPES);
    else if (part === 'cubes') shapes.push(...CUBE_SHAPES);
    else if (/^\d+$/.test(part)) shapes.push([+part, +part, +part]);
    else if (/^\d+x\d+x\d+$/.test(part)) shapes.push(part.split('x').map(Number) as Shape);
    else throw new Error(`Bad shape "${part}": use N (a cube), MxKxN, "cubes" or "gpt"`);
  }
  for (const s of shapes) if (s.some((d) => d < 1)) throw new Error(`Bad shape ${shapeText(s)}: dimensions must be ≥ 1`);
  const seen = new Set<string>();
  return shapes.filter((s) => !seen.has(shapeText(s)) && seen.add(shapeText(s)));
}

export function shapeText([m, k, n]: Shape): string {
  return m === k && k === n ? `${m}³` : `${m}×${k}×${n}`;
}

export function flops([m, k, n]: Shape): number {
  return 2 * m * k * n;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median of no values');
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function gflops(shape: Shape, ms: number): number {
  return flops(shape) / (ms * 1e6);
}

/** A row from timed runs: median ms and the GFLOP/s it implies. */
export function timedRow(base: Omit<BenchRow, 'ms' | 'gflops' | 'runsMs'>, runsMs: number[]): BenchRow {
  const ms = median(runsMs);
  return { ...base, ms, gflops: gflops(base.shape, ms), runsMs };
}

export function errorRow(base: Omit<BenchRow, 'ms' | 'gflops'>, error: unknown): BenchRow {
  const message = error instanceof Error ? error.message : String(error);
  return { ...base, ms: null, gflops: null, error: message.split('\n')[0].slice(0, 300) };
}

/** bench-results/kernels.json: a JSON array, one row per line, keys in the documented order first. */
export function toJson(rows: readonly BenchRow[]): string {
  const ordered = rows.map(({ op, impl, shape, ms, gflops, adapter, ...rest }) => ({ op, impl, shape, ms, gflops, adapter, ...rest }));
  return `[\n${ordered.map((r) => '  ' + JSON.stringify(r)).join(',\n')}\n]\n`;
}

function fixed(x: number | null | undefined, digits: number): string {
  return x === null || x === undefined ? '—' : x.toFixed(digits);
}

/** Plain-text table, one line per row, columns padded to their widest cell. */
export function formatTable(rows: readonly BenchRow[]): string {
  const header = ['op', 'impl', 'variant', 'shape', 'ms', 'GFLOP/s', 'max err', 'note'];
  const cells = rows.map((r) => [
    r.op,
    r.impl,
    r.variant ? r.variant + (r.chosen ? ' *' : '') : '',
    r.op === 'fma-ceiling'
      ? `${r.shape[0]} thr × ${r.shape[1]} vec4`
      : r.op === 'matmul-tune' && r.shape[0] === 0
        ? 'tuning shapes'
        : r.op === 'row-kernel'
          ? `${r.kernel} ${r.shape[0]}×${r.shape[1]}`
          : shapeText(r.shape),
    fixed(r.ms, r.op === 'row-kernel' ? 2 : 1),
    fixed(r.gflops, 2),
    r.maxAbsErr === undefined ? '' : r.maxAbsErr.toExponential(1),
    r.error ? `ERROR: ${r.error}` : (r.note ?? ''),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const right = new Set([4, 5, 6]);
  const line = (c: string[]) =>
    c
      .map((x, i) => (right.has(i) ? x.padStart(widths[i]) : x.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

export type Verdict = 'met' | 'not met' | 'not measured';

export interface Summary {
  /** Per matmul shape: lab's speed-up over the faster of TF.js and ORT (peer ms / lab ms). */
  speedups: { shape: Shape; labMs: number | null; peer: Impl | null; peerMs: number | null; speedup: number | null }[];
  /** lab GFLOP/s at 1024³ over the ceiling kernel's GFLOP/s. */
  ceilingFraction: number | null;
  speedupTarget: Verdict;
  ceilingTarget: Verdict;
  lines: string[];
}

export const SPEEDUP_TARGET = 3;
export const CEILING_TARGET = 0.5;
const BIG: Shape = [1024, 1024, 1024];

/** The two targets: lab ≥ 3× the faster peer at every shape ≥ 256³ (in MACs), and ≥ 50% of the ceiling at 1024³. */
export function summarize(rows: readonly BenchRow[]): Summary {
  const lines: string[] = [];
  // A row with an error (failed, or wrong results) counts as not measured.
  const all = rows.filter((r) => r.op === 'matmul');
  const matmul = all.filter((r) => r.ms !== null && !r.error);
  const keys = [...new Set(all.map((r) => shapeText(r.shape)))];
  const speedups = keys.map((key) => {
    const shape = all.find((r) => shapeText(r.shape) === key)!.shape;
    const at = matmul.filter((r) => shapeText(r.shape) === key);
    const lab = at.find((r) => r.impl === 'lab');
    const peers = at.filter((r) => r.impl !== 'lab').sort((a, b) => a.ms! - b.ms!);
    const best = peers[0];
    const labMs = lab?.ms ?? null;
    const speedup = labMs !== null && best ? best.ms! / labMs : null;
    return { shape, labMs, peer: best?.impl ?? null, peerMs: best?.ms ?? null, speedup };
  });

  lines.push('lab speed-up over the faster peer (peer ms / lab ms):');
  for (const s of speedups) {
    lines.push(
      `  ${shapeText(s.shape).padEnd(14)} ` +
        (s.speedup === null
          ? `not measured (lab ${fixed(s.labMs, 1)} ms, peer ${s.peer ?? 'none'})`
          : `${s.speedup.toFixed(2)}× (lab ${fixed(s.labMs, 1)} ms vs ${s.peer} ${fixed(s.peerMs, 1)} ms)`),
    );
  }
  const big = speedups.filter((s) => s.shape[0] * s.shape[1] * s.shape[2] >= 256 ** 3);
  const speedupTarget: Verdict = big.some((s) => s.speedup !== null && s.speedup < SPEEDUP_TARGET)
    ? 'not met'
    : big.length === 0 || big.some((s) => s.speedup === null)
      ? 'not measured'
      : 'met';

  const labBig = matmul.find((r) => r.impl === 'lab' && shapeText(r.shape) === shapeText(BIG));
  const ceiling = rows.find((r) => r.op === 'fma-ceiling' && r.gflops !== null && !r.error);
  const ceilingFraction = labBig?.gflops != null && ceiling?.gflops ? labBig.gflops / ceiling.gflops : null;
  lines.push(
    `lab / ceiling at 1024³: ` +
      (ceilingFraction === null
        ? 'not measured'
        : `${(100 * ceilingFraction).toFixed(1)}% (${fixed(labBig!.gflops, 2)} of ${fixed(ceiling!.gflops, 2)} GFLOP/s)`),
  );
  const ceilingTarget: Verdict =
    ceilingFraction === null ? 'not measured' : ceilingFraction >= CEILING_TARGET ? 'met' : 'not met';

  const failing = big.filter((s) => s.speedup !== null && s.speedup < SPEEDUP_TARGET).map((s) => shapeText(s.shape));
  lines.push(
    `target: lab ≥ ${SPEEDUP_TARGET}× the faster peer at every shape ≥ 256³: ${speedupTarget.toUpperCase()}` +
      (failing.length ? ` (below at ${failing.join(', ')})` : ''),
  );
  lines.push(`target: lab ≥ ${CEILING_TARGET * 100}% of the ceiling at 1024³: ${ceilingTarget.toUpperCase()}`);
  return { speedups, ceilingFraction, speedupTarget, ceilingTarget, lines };
}
