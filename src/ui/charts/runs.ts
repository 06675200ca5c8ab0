// Which runs a chart draws, and in which colours. A normal run is drawn alone, each line in its metric's own colour
// (PALETTE: a metric looks the same wherever it appears). During a sweep (a lesson with several runs, e.g. the KL
// sweep) the run store keeps the sweep's finished runs (src/store/run.ts keptRuns) and a chart draws them all, the
// current run last so it lies on top: then colour means the run (RUN_COLORS, in sweep order), a dash pattern tells
// a chart's lines apart (LINE_DASHES), and every legend entry starts with its run's label.
import type uPlot from 'uplot';
import { COLORS } from '../../rlhf/stages/shared';
import type { KeptRun } from '../../store/run';

/** The stages' chart palette (src/rlhf/stages/shared.ts). */
export const PALETTE = COLORS;

/** A sweep's runs in order: the first, the second, … (enough for the current run and MAX_KEPT_RUNS kept ones). */
export const RUN_COLORS: readonly string[] = [PALETTE.blue, PALETTE.orange, PALETTE.green, PALETTE.purple, PALETTE.red];

/**
 * A kept run's lines are 1 px wide, the current run's wider: the current run stands out, and a 1-px line is far cheaper
 * to rasterise where the browser paints a canvas in software (charts benchmark, 4 kept runs: 6.9 → 16.6 painted
 * updates/s).
 */
export const KEPT_LINE_WIDTH = 1;

/** A chart's lines in order when colour means the run: the first solid, then dashed, then dotted. */
export const LINE_DASHES: readonly (number[] | undefined)[] = [undefined, [6, 4], [2, 3]];

/** Legend markers drawn dashed for dashed lines (uPlot's are always solid), so the legend tells them apart too. */
export const LEGEND_MARKERS: uPlot.Legend.Markers = { dash: (u, i) => (u.series[i].dash ? 'dashed' : 'solid') };

export interface ChartRun<T> {
  /** The run's label in the sweep; undefined for a normal run. */
  label: string | undefined;
  /** The run's colour in the sweep; undefined for a normal run (its lines keep their own colours). */
  color: string | undefined;
  /** What the chart draws of it (its series, its frontier). */
  data: T;
  /** The run going on (or the latest), not one the sweep kept: the only one whose points still change. */
  current: boolean;
}

/**
 * The runs a chart draws, oldest first: a sweep's kept runs, then the current run (labelled `label`); outside a sweep
 * (no label, so nothing is kept) the current run alone. `pick` takes what the chart draws from a kept run.
 */
export function chartRuns<T>(kept: readonly KeptRun[], label: string | undefined, current: T, pick: (run: KeptRun) => T): ChartRun<T>[] {
  if (label === undefined) return [{ label, color: undefined, data: current, current: true }];
  const runs = [...kept.map((k) => ({ label: k.label, data: pick(k), current: false })), { label, data: current, current: true }];
  return runs.map((r, i) => ({ ...r, color: RUN_COLORS[i % RUN_COLORS.length] }));
}

/** A legend entry or read-out of a run: "β = 0: Gold reward" in a sweep, the name alone otherwise. */
export const runName = (run: string | undefined, name: string) => (run === undefined ? name : `${run}: ${name}`);
