// What a stage's `run` gets: the pipeline's state (settings, task, tokenizer, checkpoints so far, the preference
// data) and its services (metrics with alarms, progress, pause/stop, checkpoint events, model construction).
// src/rlhf/pipeline.ts's Pipeline is the one implementation.
import type { GpuRuntime } from '../../gpu';
import type { GPTConfig } from '../../model/config';
import type { GPT } from '../../model/gpt';
import type { Tokenizer } from '../../model/tokenizer';
import type { PipelineConfig } from '../config';
import type { MetricRecord } from '../metrics';
import type { HumanLabels, PipelineControl, PipelineEvents, PipelineSummary } from '../pipeline';
import type { Ranking } from '../preferences';
import type { Task } from '../tasks';

export type Weights = Record<string, Float32Array>;

/** Rankings split the way the reward model trains and is evaluated on them. */
export interface PreferenceSplit {
  train: Ranking[];
  heldout: Ranking[];
}

export interface StageContext {
  readonly rt: GpuRuntime;
  readonly config: PipelineConfig;
  readonly task: Task;
  readonly tokenizer: Tokenizer;
  readonly modelConfig: GPTConfig;
  /** The pretraining corpus (only needed when there is no base model). */
  readonly corpus: string | undefined;
  /** Weights by checkpoint name ('base', 'sft', 'reward-model', one per policy stage), as CPU copies. */
  readonly weights: Record<string, Weights | undefined>;
  /** The preference data of this run (made by the first stage that needs it; every later one uses the same). */
  rankings: PreferenceSplit | undefined;
  /** Human rankings for the preference data (undefined: simulated or imported rankings only). */
  readonly humanLabels: HumanLabels | undefined;
  readonly summary: PipelineSummary;
  readonly events: PipelineEvents;
  readonly control: PipelineControl;
  /** The response rules every stage samples and scores with. */
  readonly rules: { readonly maxResponseTokens: number; readonly noEosPenalty: number };
  /** A progress reporter for a unit of work that started at `startedAt` (performance.now()). */
  progress(stage: string, startedAt: number): (done: number, total: number) => void;
  /** Streams a metric record; throws PipelineAlarmError when it raises an alarm. */
  emit(record: MetricRecord): void;
  /** The weights of a checkpoint an earlier stage wrote, or an error saying which stage to run first. */
  need(checkpoint: string, who: string): Weights;
  /**
   * A GPU model of the run's architecture with these weights (LM head, or a scalar head); a head the weights lack is
   * initialised from `seed` (by default the run's seed for that head).
   */
  model(weights: Weights, head?: 'score' | 'value', seed?: number): GPT;
  /** Keeps weights under a checkpoint name and sends them as a checkpoint event. */
  keep(checkpoint: string, weights: Weights): void;
}
