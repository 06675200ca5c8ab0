// One pipeline run as the page sees it: run and stage states, progress, the latest value of every metric, the
// latest PPO rollouts, evaluation samples, the summary and the reward-vs-√KL frontier. Fed by plain functions that
// match the pipeline's events (src/rlhf/pipeline.ts PipelineEvents; the worker forwards the same payloads).
//
// Metric series live OUTSIDE React state, in a MetricSeries (growable Float64Arrays per metric and stage): a run logs
// thousands of records and copying arrays into state per record would re-render the page per record. What React
// sees changes in one throttled commit (at most ~10 a second): `version` (charts redraw from the series when it
// moves), `latest`, the frontier points and the record count. Stage/run state, progress, episodes, samples and the
// summary are rare events and are set at once.
//
// A sweep (a lesson with several runs, e.g. β = 0, 0.05, 0.2) is compared on the same charts: each run is labelled,
// and when the next one starts (reset with `sweep`) the run so far is kept — a trimmed copy of its series and its
// frontier — for the charts to draw under the current one. At most MAX_KEPT_RUNS are kept; anything that is not a
// sweep's next run drops them, and so does clearKeptRuns. They are saved across reloads (src/store/bridge.ts
// createLabSession, through MetricSeries.toColumns) and come back with restoreSweep.
import { create } from 'zustand';
import { METRIC_NAMES, METRICS, type MetricRecord, type Stage } from '../rlhf/metrics';
import type { PipelineStage, PipelineSummary, Progress, SampleRecord } from '../rlhf/pipeline';
import type { Episode } from '../rlhf/episode';
import { DEFAULT_STAGES, inRunOrder, STAGE_IDS, STAGE_REGISTRY, stageById } from '../rlhf/stages';
import { withLatestSamples } from '../worker/protocol';

/** Every stage in run order, and the stages' names as the page shows them (the stage registry's; descriptors only). */
export { DEFAULT_STAGES, STAGE_IDS as RUN_STAGES, STAGE_NAMES } from '../rlhf/stages';

/** The stages that put points on the reward-vs-√KL frontier (a trajectory or separate points), in run order. */
export const FRONTIER_STAGES: readonly PipelineStage[] = STAGE_REGISTRY.filter((s) => 'policy' in s).map((s) => s.id);

export type RunState = 'idle' | 'running' | 'paused' | 'stopping' | 'done' | 'stopped' | 'failed';

/** Whether a run is going (started and not yet ended): running, paused or stopping. */
export const isGoing = (state: RunState) => state === 'running' || state === 'paused' || state === 'stopping';
/** 'alarm': a metric alarm stopped the stage (src/rlhf/metrics.ts checkAlarms); it kept its last good weights. */
export type StageState = 'pending' | 'running' | 'done' | 'skipped' | 'failed' | 'alarm';

export interface StageStatus {
  state: StageState;
  /** Wall time of the stage once done. */
  seconds?: number;
}

export interface LatestValue {
  value: number;
  stage: Stage;
  step: number;
}

/** One point of the reward-vs-√KL frontier. */
export interface FrontierPoint {
  /** PPO iteration, or N for best-of-N. */
  step: number;
  sqrtKl: number;
  proxy: number;
  /** NaN when the task has no gold reward. */
  gold: number;
}

// ---- metric series -------------------------------------------------------------------------------------------------

/** A growable pair of Float64Arrays (x, y); capacity doubles, so pushing n points costs O(n) copies in all. */
class Growable {
  constructor(
    public x = new Float64Array(64),
    public y = new Float64Array(64),
    public length = 0,
  ) {}

  push(x: number, y: number): void {
    if (this.length === this.x.length) {
      const grow = (a: Float64Array) => {
        const b = new Float64Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.x = grow(this.x);
      this.y = grow(this.y);
    }
    this.x[this.length] = x;
    this.y[this.length] = y;
    this.length++;
  }

  /** A copy without the spare capacity. */
  trimmed(): Growable {
    return new Growable(this.x.slice(0, this.length), this.y.slice(0, this.length), this.length);
  }
}

/** One metric's points in one stage as plain data (structured clone, and so IndexedDB, stores typed arrays as they are). */
export interface SeriesColumn {
  name: string;
  stage: Stage;
  x: Float64Array<ArrayBuffer>;
  y: Float64Array<ArrayBuffer>;
}

export interface SeriesView {
  /** x = the record's step (per stage; steps restart at 0 in each stage). Views, valid until the next clear. */
  x: Float64Array;
  y: Float64Array;
}

const EMPTY: SeriesView = Object.freeze({ x: new Float64Array(0), y: new Float64Array(0) });

/**
 * Every metric's values, per metric name and stage, in logging order. Points are appended; `get` returns
 * subarray views of the current buffers (no copy), which stay valid after later pushes (a reallocation leaves the
 * old buffer alone).
 */
export class MetricSeries {
  private readonly byName = new Map<string, Map<Stage, Growable>>();
  /** Bumped by every change; lets a chart skip work when nothing moved. */
  revision = 0;
  /** Bumped when points are dropped (a stage run again, a reset): anything derived incrementally must restart. */
  generation = 0;

  push(name: string, stage: Stage, x: number, y: number): void {
    let stages = this.byName.get(name);
    if (!stages) this.byName.set(name, (stages = new Map()));
    let g = stages.get(stage);
    if (!g) stages.set(stage, (g = new Growable()));
    g.push(x, y);
    this.revision++;
  }

  /** Appends every metric of a record (x = its step). */
  pushRecord(record: MetricRecord): void {
    for (const [name, value] of Object.entries(record)) {
      if (name === 'stage' || name === 'step' || typeof value !== 'number') continue;
      this.push(name, record.stage, record.step, value);
    }
  }

  get(name: string, stage: Stage): SeriesView {
    const g = this.byName.get(name)?.get(stage);
    return g ? { x: g.x.subarray(0, g.length), y: g.y.subarray(0, g.length) } : EMPTY;
  }

  length(name: string, stage: Stage): number {
    return this.byName.get(name)?.get(stage)?.length ?? 0;
  }

  /** Metric names with at least one point (in any stage). */
  names(): string[] {
    return [...this.byName.keys()];
  }

  /** A copy holding exactly the points so far (no spare capacity): a finished run kept for the charts. */
  trimmedCopy(): MetricSeries {
    const copy = new MetricSeries();
    for (const [name, stages] of this.byName) copy.byName.set(name, new Map([...stages].map(([stage, g]) => [stage, g.trimmed()])));
    return copy;
  }

  /** Every metric and stage as plain data: copies holding exactly the points (a kept run, for saving). */
  toColumns(): SeriesColumn[] {
    return [...this.byName].flatMap(([name, stages]) => [...stages].map(([stage, g]) => ({ name, stage, x: g.x.slice(0, g.length), y: g.y.slice(0, g.length) })));
  }

  /** The series that toColumns gave (its arrays are taken, not copied; an empty column is no metric, as in names()). */
  static fromColumns(columns: readonly SeriesColumn[]): MetricSeries {
    const series = new MetricSeries();
    for (const { name, stage, x, y } of columns) {
      if (x.length !== y.length) throw new Error(`series ${name} (${stage}): ${x.length} steps but ${y.length} values`);
      if (x.length === 0) continue;
      let stages = series.byName.get(name);
      if (!stages) series.byName.set(name, (stages = new Map()));
      stages.set(stage, new Growable(x, y, x.length));
    }
    return series;
  }

  /** Drops one stage's points (it is being run again), or everything. */
  clear(stage?: Stage): void {
    if (stage === undefined) this.byName.clear();
    else for (const stages of this.byName.values()) stages.delete(stage);
    this.revision++;
    this.generation++;
  }
}

// ---- throttle ------------------------------------------------------------------------------------------------------

/** Runs `callback` after `delayMs`; returns a function that cancels it. */
export type Scheduler = (callback: () => void, delayMs: number) => () => void;

/** Timers rather than requestAnimationFrame: rAF stops in background tabs, and the data must still be committed then. */
export const timerScheduler: Scheduler = (callback, delayMs) => {
  const id = setTimeout(callback, delayMs);
  return () => clearTimeout(id);
};

/**
 * Calls `fn` at most once per `intervalMs`: at once when the last call is older than that (leading edge), otherwise
 * once at the end of the interval however many requests came in meanwhile (trailing edge).
 */
export class Throttle {
  private last = -Infinity;
  private cancel: (() => void) | undefined;

  constructor(
    private readonly fn: () => void,
    readonly intervalMs = 100,
    private readonly now: () => number = () => performance.now(),
    private readonly schedule: Scheduler = timerScheduler,
  ) {}

  request(): void {
    if (this.cancel) return;
    const wait = this.last + this.intervalMs - this.now();
    if (wait <= 0) this.fire();
    else this.cancel = this.schedule(() => this.fire(), wait);
  }

  /** Runs a pending call now (e.g. at the end of a stage, so the final values show without waiting). */
  flush(): void {
    if (this.cancel) this.fire();
  }

  /** Drops a pending call. */
  stop(): void {
    this.cancel?.();
    this.cancel = undefined;
  }

  private fire(): void {
    this.stop();
    this.last = this.now();
    this.fn();
  }
}

// ---- the store -----------------------------------------------------------------------------------------------------

export interface EpisodeBatch {
  /** The RL stage that sampled them. */
  stage: PipelineStage;
  iteration: number;
  episodes: Episode[];
}

/** A finished run of a sweep, kept for the charts to draw under the current run. */
export interface KeptRun {
  /** The run's label in the sweep (e.g. "β = 0"). */
  label: string;
  /** Its metric series (a trimmed copy: nothing is pushed to it again). */
  series: MetricSeries;
  frontier: RunData['frontier'];
  /** The run's configuration, where known: its policies' names (the gold-oracle mark, policyLabel) come from it. */
  config?: object;
}

/**
 * The most finished runs a sweep keeps (the oldest goes first). Each is a trimmed copy of its series: 16 bytes per
 * point, so a run of 10,000 records × 40 metrics is 6.4 MB and the kept runs stay under ~26 MB.
 */
export const MAX_KEPT_RUNS = 4;

/** The run a reset starts when it is one of a sweep's runs. */
export interface SweepRun {
  label: string;
  /** The sweep's first run: earlier kept runs (another sweep's) are dropped, nothing is kept. */
  first: boolean;
  /** The configuration of the run so far, kept with it (undefined where the page does not know it). */
  keptConfig?: object;
}

const NO_KEPT_RUNS: readonly KeptRun[] = Object.freeze([]);

export interface RunData {
  state: RunState;
  /** The stage running (or where the run ended). */
  stage: PipelineStage | undefined;
  /** Why the run failed (an alarm's or a stage's message). */
  error: string | undefined;
  /** The stages this run is to run, in run order (the stepper shows these). */
  plan: readonly PipelineStage[];
  stages: Record<PipelineStage, StageStatus>;
  progress: Partial<Record<PipelineStage, Omit<Progress, 'stage'>>>;
  /** The latest value of every metric logged so far (committed with `version`). */
  latest: Partial<Record<string, LatestValue>>;
  /** Moves when the series (and `latest`, `frontier`, `recordCount`) change: at most ~10 times a second. */
  version: number;
  recordCount: number;
  /** Reward vs √KL by stage (FRONTIER_STAGES): a policy's trajectory (PPO: one point per iteration; DPO: one per
   * held-out check) or separate points (best-of-N: one per N). A stage without points may be missing. */
  frontier: Record<string, FrontierPoint[]>;
  /** The rollouts of the latest PPO iteration. */
  episodes: EpisodeBatch | undefined;
  /** Held-out evaluation samples (best-of-N, SFT, PPO), the latest batch per policy. */
  samples: SampleRecord[];
  summary: PipelineSummary | undefined;
  /** The current run's label when it is one of a sweep's runs; undefined for a normal run. */
  runLabel: string | undefined;
  /** The sweep's finished runs before the current one, oldest first (changes only when a run is kept or cleared). */
  keptRuns: readonly KeptRun[];
}

export interface RunActions {
  onStage(stage: PipelineStage, state: 'started' | 'done' | 'skipped', seconds?: number): void;
  onMetrics(records: readonly MetricRecord[]): void;
  onProgress(progress: Progress): void;
  onEpisodes(stage: PipelineStage, iteration: number, episodes: Episode[]): void;
  onSamples(samples: readonly SampleRecord[]): void;
  onSummary(summary: PipelineSummary): void;
  /** The run's state as the worker reports it; `stage` is where it is (or ended). 'failed' marks that stage failed,
   * or stopped by a metric alarm when `alarm`. */
  setRunState(state: RunState, stage?: PipelineStage, error?: string, alarm?: boolean): void;
  /** Commits pending metric changes now instead of at the next throttle tick. */
  flush(): void;
  /**
   * Back to an empty, idle run. `sweep` labels the new run as one of a sweep's: unless it is the sweep's first, the
   * run so far is kept (under its own label) for the charts. Without `sweep` the kept runs are dropped.
   */
  reset(sweep?: SweepRun): void;
  /** The stages this run is to run (shown in run order); a stage that starts outside it joins it. */
  setPlan(stages: readonly PipelineStage[]): void;
  /** Drops the kept runs (the current run stays). */
  clearKeptRuns(): void;
  /** Puts a saved sweep back (after a reload): the current run's label and the runs kept before it; the current
   * run's series, frontier and state stay as they are. */
  restoreSweep(runLabel: string | undefined, keptRuns: readonly KeptRun[]): void;
}

export type RunStoreState = RunData &
  RunActions & {
    /** The metric series (one object for the store's lifetime: selecting it never re-renders). */
    readonly series: MetricSeries;
    /** Every metric record of the run, in logging order (for export; not reactive: read it on demand). */
    readonly records: readonly MetricRecord[];
  };

export interface RunStoreOptions {
  /** Minimum time between commits of metric changes (default 100 ms: ≤ 10 chart redraws a second). */
  intervalMs?: number;
  now?: () => number;
  schedule?: Scheduler;
}

function initialData(): RunData {
  return {
    state: 'idle',
    stage: undefined,
    error: undefined,
    plan: DEFAULT_STAGES,
    stages: Object.fromEntries(STAGE_IDS.map((s) => [s, { state: 'pending' }])) as Record<PipelineStage, StageStatus>,
    progress: {},
    latest: {},
    version: 0,
    recordCount: 0,
    frontier: emptyFrontier(),
    episodes: undefined,
    samples: [],
    summary: undefined,
    runLabel: undefined,
    keptRuns: NO_KEPT_RUNS,
  };
}

const emptyFrontier = (): Record<string, FrontierPoint[]> => Object.fromEntries(FRONTIER_STAGES.map((s) => [s, []]));

/** The frontier point of a record, if its stage places points there and it has a KL and a proxy reward (√ of the KL). */
export function frontierPoint(r: MetricRecord): FrontierPoint | undefined {
  const display = stageById(r.stage).policy;
  const m = display?.trajectory ?? display?.points;
  if (!m) return undefined;
  const values = r as Partial<Record<string, number>>;
  const [kl, proxy] = [values[m.kl], values[m.proxy]];
  if (kl === undefined || proxy === undefined) return undefined;
  return { step: r.step, sqrtKl: Math.sqrt(Math.max(0, kl)), proxy, gold: values[m.gold] ?? NaN };
}

/** A run store of its own (tests make theirs with a fake clock); the page uses `useRunStore`. */
export function createRunStore(options: RunStoreOptions = {}) {
  return create<RunStoreState>()((set, get) => {
    const series = new MetricSeries();
    let records: MetricRecord[] = [];
    // Changes waiting for the next commit.
    const latest: Record<string, LatestValue> = {};
    let frontier: RunData['frontier'] = emptyFrontier();
    let frontierChanged = false;

    const commit = () => {
      const changes: Partial<RunStoreState> = { version: get().version + 1, latest: { ...latest }, recordCount: records.length, records };
      if (frontierChanged) changes.frontier = Object.fromEntries(Object.entries(frontier).map(([stage, points]) => [stage, [...points]]));
      frontierChanged = false;
      set(changes);
    };
    const throttle = new Throttle(commit, options.intervalMs ?? 100, options.now, options.schedule);

    const setStage = (stage: PipelineStage, status: StageStatus) => set({ stages: { ...get().stages, [stage]: status } });

    return {
      ...initialData(),
      series,
      records,

      onStage(stage, state, seconds) {
        // A stage outside the plan (run alone, or restored from saved data) joins it, in run order.
        if (!get().plan.includes(stage)) set({ plan: inRunOrder([...get().plan, stage]) });
        if (state === 'started') {
          // A stage run again replaces its earlier results (steps restart at 0, so old points would interleave).
          series.clear(stage);
          records = records.filter((r) => r.stage !== stage);
          for (const [name, v] of Object.entries(latest)) if (v.stage === stage) delete latest[name];
          if (frontier[stage]) {
            frontier = { ...frontier, [stage]: [] };
            frontierChanged = true;
          }
          const progress = { ...get().progress };
          delete progress[stage];
          const run = get().state;
          set({ stage, progress, state: run === 'paused' || run === 'stopping' ? run : 'running', error: undefined });
          setStage(stage, { state: 'running' });
          throttle.stop();
          commit();
        } else {
          throttle.flush();
          setStage(stage, { state: state === 'done' ? 'done' : 'skipped', seconds });
        }
      },

      onMetrics(batch) {
        for (const r of batch) {
          records.push(r);
          series.pushRecord(r);
          for (const [name, value] of Object.entries(r)) {
            if (name === 'stage' || name === 'step' || typeof value !== 'number') continue;
            latest[name] = { value, stage: r.stage, step: r.step };
          }
          const point = frontierPoint(r);
          if (point) {
            (frontier[r.stage] ??= []).push(point);
            frontierChanged = true;
          }
        }
        if (batch.length) throttle.request();
      },

      onProgress({ stage, done, total, etaSeconds }) {
        set({ progress: { ...get().progress, [stage]: { done, total, etaSeconds } } });
      },

      onEpisodes(stage, iteration, episodes) {
        set({ episodes: { stage, iteration, episodes } });
      },

      onSamples(samples) {
        set({ samples: withLatestSamples(get().samples, samples) }); // the latest batch per policy
      },

      onSummary(summary) {
        throttle.flush();
        set({ summary });
      },

      setRunState(state, stage, error, alarm = false) {
        throttle.flush();
        const at = stage ?? get().stage;
        const changes: Partial<RunData> = { state, stage: at };
        if (state === 'failed') changes.error = error;
        if (at && get().stages[at].state === 'running') {
          // The stage that was running failed with the run, or (stopped) did not finish.
          if (state === 'failed') changes.stages = { ...get().stages, [at]: { state: alarm ? 'alarm' : 'failed' } };
          if (state === 'stopped') changes.stages = { ...get().stages, [at]: { state: 'pending' } };
        }
        set(changes);
      },

      flush() {
        throttle.flush();
      },

      reset(sweep) {
        const { runLabel, keptRuns } = get();
        const keep = sweep !== undefined && !sweep.first && runLabel !== undefined;
        const kept = keep ? [...keptRuns, { label: runLabel, series: series.trimmedCopy(), frontier, config: sweep.keptConfig }].slice(-MAX_KEPT_RUNS) : NO_KEPT_RUNS;
        throttle.stop();
        series.clear();
        records = [];
        for (const name of Object.keys(latest)) delete latest[name];
        frontier = emptyFrontier();
        frontierChanged = false;
        set({ ...initialData(), version: get().version + 1, records, runLabel: sweep?.label, keptRuns: kept });
      },

      setPlan(stages) {
        set({ plan: inRunOrder(stages) });
      },

      clearKeptRuns() {
        set({ keptRuns: NO_KEPT_RUNS });
      },

      restoreSweep(runLabel, keptRuns) {
        set({ runLabel, keptRuns: keptRuns.length > 0 ? keptRuns.slice(-MAX_KEPT_RUNS) : NO_KEPT_RUNS });
      },
    };
  });
}

export type RunStore = ReturnType<typeof createRunStore>;

/** The page's run. */
export const useRunStore: RunStore = createRunStore();

/** The metric names that have a latest value, in METRICS order (names the table does not know last). */
export function latestNames(latest: RunData['latest']): string[] {
  const names = Object.keys(latest);
  return [...METRIC_NAMES.filter((n) => latest[n] !== undefined), ...names.filter((n) => !(n in METRICS)).sort()];
}
