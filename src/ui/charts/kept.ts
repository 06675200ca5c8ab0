// What the charts draw of a sweep's kept runs, made once. A kept run never changes (src/store/run.ts keptRuns), yet
// on every update (setData) uPlot scans each series for its scale's range and builds each series' path again from
// all its points: with 4 kept runs of 10,000 points per series that was most of an update's time (profiled: path
// building, the range scan, the kept runs' smoothing and frontier tables redone). So what is derived from a kept
// run's arrays is made once per array (lastFor; smoothing and padding: ./growing.ts), its series' paths are kept
// while nothing they depend on moves (keptSeries), and its series are left out of uPlot's range scan (`auto:
// false`), their extent, taken once, added by rangeWithKept: the same points through uPlot's own path builder, on the
// same ranges. The frontier's runs, each on its own √KL values, are joined by joinAscending (linear, where uPlot.join
// sorts), and to keep that join small a long kept run's frontier is drawn through its extremes per pixel column
// (minMaxRows); the line charts' kept runs are drawn whole (they share the current run's x values: nothing to join).
import uPlot from 'uplot';

/** `compute(object, arg)`, remembered per object (for as long as it lives) for the latest `arg` it was asked with. */
export function lastFor<O extends object, A, V>(compute: (object: O, arg: A) => V): (object: O, arg: A) => V {
  const cache = new WeakMap<O, { arg: A; value: V }>();
  return (object, arg) => {
    const hit = cache.get(object);
    if (hit && hit.arg === arg) return hit.value;
    const value = compute(object, arg);
    cache.set(object, { arg, value });
    return value;
  };
}

export type Values = ArrayLike<number | null | undefined>;

/** The smallest and largest finite value of `y[from…to]` (gaps and NaN skipped); null when it has none. */
export function extent(y: Values, from = 0, to = y.length - 1): [number, number] | null {
  let [lo, hi] = [Infinity, -Infinity];
  for (let i = Math.max(0, from); i <= Math.min(to, y.length - 1); i++) {
    const v = y[i];
    if (v == null || !Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : null;
}

const extentOnce = lastFor((y: Values, _: undefined) => extent(y));

/** uPlot's default range of a y scale: the data's extent padded by 10%, on round numbers. */
const defaultRange = (min: number | null, max: number | null): uPlot.Range.MinMax => (min == null || max == null ? [null, null] : uPlot.rangeNum(min, max, 0.1, true));

/**
 * A y scale's range as uPlot's default makes it, over the data it scanned (every series but the kept runs') and the
 * shown kept runs' series on the scale (`auto: false`). Their extent over all their points is taken once
 * (`pointsOf`: what stands for a series' values; its data array by default); over the visible points when zoomed.
 */
export function rangeWithKept(pointsOf: (u: uPlot, seriesIdx: number) => Values = (u, i) => u.data[i]): uPlot.Range.Function {
  return (u, dataMin, dataMax, scaleKey) => {
    let [min, max]: (number | null)[] = [dataMin, dataMax];
    const [first, last] = u.series[0].idxs ?? [0, u.data[0].length - 1];
    const zoomed = first !== 0 || last !== u.data[0].length - 1;
    u.series.forEach((s, i) => {
      if (i === 0 || s.auto !== false || !s.show || s.scale !== scaleKey) return;
      const e = zoomed ? extent(u.data[i], first ?? 0, last ?? -1) : extentOnce(pointsOf(u, i), undefined);
      if (!e) return;
      min = min == null ? e[0] : Math.min(min, e[0]);
      max = max == null ? e[1] : Math.max(max, e[1]);
    });
    return defaultRange(min, max);
  };
}

/**
 * A kept run's series options: left out of the range scan (see rangeWithKept) and drawn by uPlot's linear paths, kept
 * until the points, the scales or the plot area change. `points` stands for the series' values when its data array
 * is made anew on every update (re-aligned to the other runs' x values, as on the frontier); by default the data
 * array itself (with the x values and the visible index range) is what must stay the same.
 */
export function keptSeries(points?: object): Pick<uPlot.Series, 'auto' | 'paths'> {
  const linear = uPlot.paths.linear!();
  let key: readonly unknown[] = [];
  let paths: uPlot.Series.Paths | null = null;
  const build: uPlot.Series.PathBuilder = (u, seriesIdx, idx0, idx1) => {
    const x = u.scales.x;
    const y = u.scales[u.series[seriesIdx].scale ?? 'y'];
    const at = points ? [points, null, null, null] : [u.data[seriesIdx], u.data[0], idx0, idx1];
    const next = [...at, x.min, x.max, y.min, y.max, u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height];
    if (next.length !== key.length || next.some((v, i) => v !== key[i])) {
      key = next;
      paths = linear(u, seriesIdx, idx0, idx1);
    }
    return paths;
  };
  return { auto: false, paths: build };
}

/** The ascending union of two ascending arrays, each value once. */
function mergeAscending(a: ArrayLike<number>, b: ArrayLike<number>): number[] {
  const out: number[] = [];
  let [i, j] = [0, 0];
  while (i < a.length || j < b.length) {
    const v = j >= b.length || (i < a.length && a[i] <= b[j]) ? a[i++] : b[j++];
    if (out.length === 0 || out[out.length - 1] !== v) out.push(v);
  }
  return out;
}

const sameValues = (a: ArrayLike<unknown>, b: ArrayLike<unknown>) => {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
};

/**
 * uPlot.join (its default null mode) for tables whose x values ascend, in linear time: the union of x values, each
 * table's series on it (undefined where a table has no point; null kept; of an x value repeated in a table, the last
 * row), or, when every table has the same x values, their series side by side. uPlot.join puts the union in a Set and
 * sorts it: with a sweep's kept runs on the frontier, 50,000 √KL values on every update.
 */
export function joinAscending(tables: readonly uPlot.AlignedData[]): uPlot.AlignedData {
  if (tables.length === 0) return [[]];
  if (tables.every((t) => sameValues(t[0], tables[0][0]))) return [tables[0][0], ...tables.flatMap((t) => t.slice(1))];
  const x = tables.reduce<number[]>((union, t) => mergeAscending(union, t[0] as ArrayLike<number>), []);
  const data: uPlot.AlignedData = [x];
  for (const [xs, ...columns] of tables) {
    // Where each row of the table lands in the union (NaN never does).
    const at = new Int32Array(xs.length);
    for (let i = 0, j = 0; i < xs.length; i++) {
      while (j < x.length && x[j] !== xs[i]) j++;
      if (j === x.length || xs[i] < xs[i - 1]) throw new Error(`joinAscending: x values must ascend, got ${xs[i]} after ${xs[i - 1]}`);
      at[i] = j;
    }
    for (const ys of columns) {
      const aligned: (number | null | undefined)[] = new Array(x.length).fill(undefined);
      for (let i = 0; i < ys.length; i++) aligned[at[i]] = ys[i];
      data.push(aligned);
    }
  }
  return data;
}

/**
 * Min/max decimation: the rows of `table` (x ascending) that draw each of its series through every extreme at a
 * width of `columns` pixel columns. The x range is cut in `columns` equal columns; in each, the rows holding each
 * series' smallest and largest value are kept, in order, the rest dropped (so are rows whose series are all gaps:
 * the lines span gaps). A table of at most 4 rows per column is kept whole.
 */
export function minMaxRows(table: uPlot.AlignedData, columns: number): uPlot.AlignedData {
  const [x, ...series] = table as unknown as Values[];
  const n = x.length;
  if (n <= 4 * columns) return table;
  const [first, width] = [x[0]!, (x[n - 1]! - x[0]!) / columns];
  const columnOf = (i: number) => (width > 0 ? Math.min(columns - 1, Math.floor((x[i]! - first) / width)) : 0);
  const keep: number[] = [];
  for (let start = 0, end = 0; start < n; start = end) {
    const column = columnOf(start);
    while (end < n && columnOf(end) === column) end++;
    const rows = new Set<number>();
    for (const y of series) {
      let [min, max] = [-1, -1];
      for (let i = start; i < end; i++) {
        const v = y[i];
        if (v == null || !Number.isFinite(v)) continue;
        if (min < 0 || v < y[min]!) min = i;
        if (max < 0 || v > y[max]!) max = i;
      }
      if (min >= 0) rows.add(min).add(max);
    }
    keep.push(...[...rows].sort((a, b) => a - b));
  }
  return table.map((column) => keep.map((i) => column[i])) as uPlot.AlignedData;
}
