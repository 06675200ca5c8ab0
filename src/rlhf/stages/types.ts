// What a pipeline stage declares about itself, in one place (src/rlhf/stages/<id>.ts): its id and name, what it
// produces, which checkpoints it reads and writes, the settings its output depends on, its own config sections (each
// field documented and checked), its metrics (meaning, healthy range), its teaching text, the GPU memory its phases
// need — and `run`, which loads the training code only when the stage runs, so the page's main bundle holds the
// descriptors alone.
// Types only: the registry (./index.ts) lists the descriptors; src/rlhf/pipeline.ts runs them.
import type { GPTConfig, PresetName } from '../../model/config';
import type { PipelineConfig } from '../config';
import type { MemoryPlanner, StagePlan } from '../memory';
import type { StageContext } from './context';
import type { StageDiagram } from './diagram';

/** A metric's documentation (the metric table in src/rlhf/metrics.ts adds which stages log it). */
export interface MetricDoc {
  /** Short label for a chart title or a table header. */
  readonly label: string;
  /** One line: what the number is. */
  readonly meaning: string;
  /** What a healthy run shows. */
  readonly healthy?: string;
  readonly unit?: string;
  /** The stage whose records carry it, when not the declaring one (the evaluation stage logs each policy's win rate). */
  readonly loggedBy?: string;
}

export interface Formula {
  readonly title: string;
  /** The formula as plain text. */
  readonly text: string;
  /** Each symbol and what it stands for. */
  readonly symbols: readonly (readonly [symbol: string, meaning: string])[];
  /** Where it comes from. */
  readonly source: string;
}

export interface StageTeaching {
  readonly title: string;
  /** What the stage does, in a sentence or two. */
  readonly what: string;
  /** Why the recipe has it. */
  readonly why: string;
  /** What a healthy run shows (and what an unhealthy one looks like). */
  readonly healthy: string;
  readonly formulas: readonly Formula[];
  /** The metrics to watch in it. */
  readonly metrics: readonly string[];
}

/** What a bound may read of the preset's model besides the section. */
export type PresetModel = Pick<GPTConfig, 'contextLength'>;

/** A maximum that follows another field of the section or the preset's model, with the words --help shows for it. */
export interface Bound<S = object> {
  readonly text: string;
  of(section: S, model: PresetModel): number;
}

/** One documented setting of a stage's config section; `makePipelineConfig` checks values against it. */
export type SettingDoc<S = object> =
  /** `max` is required: a count without a bound (1e15 sequences a step) would validate and only fail on the GPU. */
  | { readonly kind: 'int'; readonly meaning: string; readonly min: number; readonly max: number | Bound<S> }
  | { readonly kind: 'number'; readonly meaning: string; readonly min: number; readonly max: number; readonly minOpen?: boolean }
  | { readonly kind: 'choice'; readonly meaning: string; readonly options: readonly string[] }
  | { readonly kind: 'boolean'; readonly meaning: string }
  /**
   * Off (null) or on with its own documented numbers (PPO's adaptive KL controller): setting one of them switches it
   * on with `whenOn` for the others; "off" switches it off.
   */
  | { readonly kind: 'optional'; readonly meaning: string; readonly fields: { readonly [key: string]: SettingDoc }; readonly whenOn: { readonly [key: string]: number } };

/** A config section of a stage: its defaults per preset, every field documented, and cross-field checks. */
export interface StageConfig<S extends object = object> {
  readonly section: string;
  readonly defaults: (preset: PresetName) => S;
  /** In the order of the defaults' keys (the order --help lists them in). */
  readonly fields: { readonly [K in keyof S]: SettingDoc<S> };
  /** Problems a field-by-field check cannot see (e.g. one field must divide another), each naming its field. */
  check?(section: S): { field: string; message: string }[];
}

/** The metrics that place a record on the gold-vs-√KL frontier (kl in nats; the chart takes its square root). */
export interface FrontierMetrics {
  readonly kl: string;
  readonly proxy: string;
  readonly gold: string;
}

/** How a stage that yields a policy's answers appears beside the others (frontier chart, samples view). */
export interface PolicyDisplay {
  /** The frontier chart's colour for it. */
  readonly color: string;
  /** Its training-time trajectory, one point per record (PPO's rollouts, DPO's held-out checks). */
  readonly trajectory?: FrontierMetrics;
  /** Separate points, one per record (best-of-N: one per N). */
  readonly points?: FrontierMetrics;
}

/** One line of a stage's chart: a metric the stage logs. Colours are the page's palette (src/ui/charts/runs.ts PALETTE). */
export interface StageChartLine {
  readonly metric: string;
  /** Legend label; the metric's label by default. */
  readonly label?: string;
  readonly color: string;
  /** A second unit on the same chart goes on the right axis. */
  readonly axis?: 'left' | 'right';
}

/** A chart of the stage's metrics: one question a user asks of the run (is it learning, is it healthy). */
export interface StageChart {
  readonly title: string;
  readonly lines: readonly StageChartLine[];
}

export type StageProduct = 'base model' | 'policy' | 'reward model' | 'measurement';

export interface StageDescriptor<Id extends string = string, Metric extends string = string> {
  readonly id: Id;
  /** The name the page shows. */
  readonly name: string;
  readonly produces: StageProduct;
  /** Checkpoints it needs from earlier stages (each named by the stage that writes it). */
  readonly reads: readonly string[];
  /** Checkpoint it may also use when present (e.g. a reward model to report proxy scores). */
  readonly readsIfPresent?: readonly string[];
  /** The checkpoint it writes. */
  readonly writes?: string;
  /** Settings (sections or dotted paths) its output depends on, besides its own section and its inputs'. */
  readonly dependsOn?: readonly string[];
  /** Settings of its own sections that only the stages using its output read: changing them keeps its checkpoint. */
  readonly notInOutput?: readonly string[];
  /** Part of the pipeline when no stages are named (the InstructGPT recipe); the others are chosen. */
  readonly byDefault: boolean;
  /**
   * The settings (dotted paths) its running time grows with, in proportion (steps, episodes, prompts): the page scales
   * a measured time by them (src/ui/expected-time.ts). None: its time does not follow the settings.
   */
  readonly lengthSettings?: readonly string[];
  /** A further factor its running time grows by, not in proportion to one setting (the evaluation's pass@k samples). */
  readonly lengthFactor?: (c: PipelineConfig) => number;
  /** Its config sections, in the order the page and --help list them (the reward model's: its labels, then its own). */
  readonly config?: readonly StageConfig[];
  readonly metrics: { readonly [M in Metric]: MetricDoc };
  /** Its charts, in page order (a trained policy's first chart is followed by the frontier chart). */
  readonly charts?: readonly StageChart[];
  readonly teaching: StageTeaching;
  readonly policy?: PolicyDisplay;
  /** Its place on the pipeline diagram: the boxes it lights and the metrics on the arrows (./diagram.ts). */
  readonly diagram?: StageDiagram;
  /**
   * The GPU memory of its phases under `c`, from the planner's building blocks (src/rlhf/memory.ts): a configuration
   * too large for the device is refused before the pipeline allocates anything.
   */
  readonly memory: (plan: MemoryPlanner, c: PipelineConfig) => StagePlan;
  /** How "Continue in TRL" (src/hf/trl.ts) carries the stage: its TRL trainer, or why TRL does not rerun it. */
  readonly trl: StageTrlLink;
  /** Runs the stage (loads its training code first). */
  readonly run: (ctx: StageContext) => Promise<void>;
}

/**
 * A stage in "Continue in TRL": either not rerun, every setting of its sections mapped to "no TRL equivalent" with
 * `notRerun` as the reason, or rerun by a TRL trainer whose module (./<id>-trl.ts) loads with the export, so the
 * page's main bundle holds none of the Python.
 */
export type StageTrlLink = { readonly notRerun: string } | { readonly load: () => Promise<{ readonly trl: StageTrl }> };

/** A TRL setting row: its TRL argument (null where TRL has none) and why, or how the value maps ('' when plain). */
export type TrlSetting = readonly [argument: string | null, note: string];

/** What the model being exported tells a stage's Python besides the run's config. */
export interface TrlModelFacts {
  readonly contextLength: number;
}

/** How a TRL trainer reruns a stage in train_trl.py. */
export interface StageTrl {
  /** Every setting of the stage's sections by dotted path (an optional group both off, its own path, and on, its fields'). */
  readonly settings: Readonly<Record<string, TrlSetting>>;
  /** Trains on the run's preference rankings (data/preferences*.jsonl): the export refuses a run without them. */
  readonly needsRankings: boolean;
  /** What the stage makes for the stages after it in the script: the policy they start from, or the reward model. */
  readonly provides?: 'policy' | 'reward';
  /** An RL stage: trains the policy, with the reward model when `needsReward`. */
  readonly needsReward?: boolean;
  /** Its trainer and Python under the run's config. */
  script(c: PipelineConfig, model: TrlModelFacts): StageTrlScript;
}

/** A stage's part of train_trl.py. */
export interface StageTrlScript {
  /** The TRL trainer class, e.g. "PPOTrainer"; absent when the settings leave nothing to train (SFT with 0 steps). */
  readonly trainer?: string;
  /** Its config class and the overrides --smoke runs it with, as a Python dict literal. */
  readonly smoke?: readonly [configClass: string, args: string];
  /** The Python functions it defines (def <id>(…)); '' with no trainer. */
  readonly code: string;
  /** Python helper functions the code calls, by name: each defined once in the script however many stages use it. */
  readonly helpers?: Readonly<Record<string, string>>;
  /** Its line in __main__: the expression for the policy or reward it provides, or the statement of an RL stage. */
  readonly call: string;
}
