// The whole pipeline on one task, headless: the same code runs in the page's Web Worker and in Node
// (`npm run pipeline`). The stages are the registry's (src/rlhf/stages/index.ts), run in its order; by default the
// InstructGPT recipe:
//   pretrain  only when no base checkpoint fits the preset (nano, small) or when forced: a short LM pretraining
//   sft       supervised fine-tuning of the base model on the task's demonstrations
//   rm        the run's preference data — simulated labelers rank K samples of the SFT policy per prompt (noise
//             calibrated to the target agreement with gold), or the task's imported rankings, with or without the
//             rankings people made in the lab (`humanLabels`) — then the reward model trained on it
//   ppo       PPO (+ptx) against the reward model with a KL penalty to the SFT policy
//   bon       best-of-N from the SFT policy with the reward model, N = 1, 2, 4, …, maxN
//   eval      win rate of every trained policy over the SFT policy on held-out prompts, by the gold reward
// and the methods a run may add, e.g. dpo (DPO or IPO on the same preference data, no reward model needed), grpo and
// rloo (value-free RL from groups of completions per prompt, src/rlhf/grpo.ts).
// Weights move between stages as CPU records keyed by checkpoint name; each stage creates the GPU models it needs
// and frees them after, so any stage can be run again alone (with the outputs of the stages before it). Before a run
// or a stage allocates anything, what it needs on the GPU is checked against the device (src/rlhf/memory.ts): too
// much is a PipelineConfigError naming the settings to lower.
//
// Control: pause / resume / stop / single-step between units of work (an optimizer step, a PPO iteration, a chunk
// of sampling) through PipelineControl. Events stream metrics (MetricRecord, names from the stages' descriptors),
// progress with an ETA, PPO episodes, evaluation samples and checkpoints. Alarms (metrics.ts checkAlarms: NaN/Inf,
// negative KL, ratio far from 1, KL blow-up) stop the run with a PipelineAlarmError naming the cause; a policy stage
// keeps its last good weights as its checkpoint, which is then what the evaluation measures.
import { type GpuRuntime, splitTime, type TimeSplit } from '../gpu';
import { loadCheckpoint, saveCheckpoint } from '../model/checkpoint';
import { type GPTConfig, makeConfig } from '../model/config';
import { mixSeed } from '../model/data';
import { GPT } from '../model/gpt';
import { type Tokenizer, tokenizerFromJSON } from '../model/tokenizer';
import { sampleBatchRows } from './batch-sizes';
import type { BestOfNPoint } from './best-of-n';
import { configProblems, type PipelineConfig, PipelineConfigError, taskProblems } from './config';
import { fitPointOf, fitStage, type FitPoint, type GaoFitSummary, gaoFitSummary } from './frontier-fits';
import { memoryProblems } from './memory';
import { checkAlarms, type Alarm, type MetricRecord } from './metrics';
import type { Episode } from './episode';
import type { Ranking } from './preferences';
import type { PreferenceSplit, StageContext, Weights } from './stages/context';
import { DEFAULT_STAGES, STAGE_IDS, stageById, type StageId } from './stages';
import { createTask, type Task, type TaskId } from './tasks';

/** Every stage, in run order (the registry's). */
export const STAGES = STAGE_IDS;
export type PipelineStage = StageId;

/** A held-out evaluation sample (samples.jsonl). */
export interface SampleRecord {
  prompt: string;
  response: string;
  policy: string; // 'sft', a trained policy's stage id, or 'bon-<N>'
  proxy: number;
  gold: number | null;
}

export interface Progress {
  stage: PipelineStage;
  done: number;
  total: number;
  /** Seconds left in this stage, from its pace so far (undefined before the first unit). */
  etaSeconds: number | undefined;
}

export interface PipelineEvents {
  /** `time`: when the pipeline's `timeSplit` is on, where a done stage's seconds went (src/gpu/time-split.ts). */
  stage?(stage: PipelineStage, state: 'started' | 'done' | 'skipped', seconds?: number, time?: TimeSplit): void;
  metrics?(record: MetricRecord): void;
  progress?(progress: Progress): void;
  /** An RL stage's rollouts of one iteration (PPO, GRPO, RLOO). */
  episodes?(stage: PipelineStage, iteration: number, episodes: Episode[]): void;
  samples?(samples: SampleRecord[]): void;
  checkpoint?(name: string, bytes: Uint8Array): void;
  log?(line: string): void;
}

/** One policy against SFT on the held-out prompts (null where the task has no gold reward or the run no reward model). */
export interface PolicyEvaluation {
  gold: number | null;
  win_rate: number | null;
  win_ci: [number, number] | null;
  /** KL(π ‖ π_SFT) per response on its own samples, nats. */
  kl: number;
  proxy: number | null;
  /** The held-out exact-answer rate (the task's verifier: 1 for an exact answer), where the task has a verifier. */
  verifier_rate?: number;
  /** With eval.passK = k and a verifier: the share of held-out prompts with an exact answer among k samples. */
  pass_at_k?: number;
  /** With eval.passK: the share of those k samples per prompt that are exact. */
  pass_at_1?: number;
}

/** The reward-model ensemble's held-out report (summary.json `ensemble`, when the ensemble stage ran). */
export interface EnsembleSummary {
  members: number;
  combine: string;
  lambda: number;
  /** Held-out pairwise accuracy of the members' mean score. */
  heldout_accuracy: number;
  member_heldout_accuracy: number[];
  gold_agreement: number | null;
  /** Mean over the held-out responses of the std of the members' scores. */
  disagreement: number;
}

export interface PipelineSummary {
  task: string;
  preset: string;
  seed: number;
  labelers: { k: number; agreement: number | null; noise: number | null };
  sft: { steps: number; final_loss: number | null; mean_token_accuracy: number | null };
  rm: {
    heldout_accuracy: number | null;
    gold_agreement: number | null;
    train_accuracy: number | null;
    /** The held-out labels' own agreement with gold (what gold_agreement compares with). */
    labeler_gold_agreement: number | null;
    /** A second simulated labeler's agreement with the held-out labels (what heldout_accuracy compares with). */
    inter_labeler_agreement: number | null;
  };
  ppo: { gold_sft: number | null; gold_ppo: number | null; win_rate: number | null; win_rate_ci: [number, number] | null; kl: number | null };
  bon: BestOfNPoint[];
  /** The reward-model ensemble, when its stage ran. */
  ensemble?: EnsembleSummary;
  /** The evaluation of every trained policy against SFT on the same held-out prompts, by stage id. */
  policies: Record<string, PolicyEvaluation>;
  /**
   * Gao et al.'s curves fitted to each policy stage's frontier points, by stage id (every stage run with a frontier
   * display; src/rlhf/frontier-fits.ts, the same fits as the page's frontier chart): best-of-N-style points
   * (`form: 'bon'`) gold − gold₀ = d(α − βd), a trajectory (`form: 'rl'`: PPO, DPO, …) d(α − β ln d), d = √KL; gold₀
   * is the gold of the stage's own first point, at KL ≈ 0 (best-of-1; the policy before its first update). Each:
   * { ok: true, form, alpha, beta, r2, d_star (√nats; null: no peak), kl_star, gold_0, max_d, points } or
   * { ok: false, form, reason, points }. Written when the stage ends (an alarm included).
   */
  gao_fits: Record<string, GaoFitSummary>;
  seconds: number;
  stage_seconds: Partial<Record<PipelineStage, number>>;
}

/** The run was stopped from the control. */
export class PipelineStopped extends Error {
  constructor() {
    super('the pipeline was stopped');
    this.name = 'PipelineStopped';
  }
}

/** A metric alarm stopped training; the policy keeps its last good weights. */
export class PipelineAlarmError extends Error {
  constructor(
    readonly alarm: Alarm,
    readonly stage: PipelineStage,
    readonly step: number,
    /** The alarmed metric's value in the record that raised it (the step itself for a bad step number). */
    readonly value: number,
  ) {
    super(`${stage} stopped at step ${step}: ${alarm.message}`);
    this.name = 'PipelineAlarmError';
  }
}

/**
 * Pause, resume, stop and single-step, checked between units of work (gate()). `onWaiting(true)` is called when a
 * gate actually starts waiting (the run is paused at a unit boundary, not merely asked to pause) and
 * `onWaiting(false)` when it goes on.
 */
export class PipelineControl {
  private paused = false;
  private stopped = false;
  private stepsAllowed = 0;
  private wake: (() => void) | undefined;

  constructor(private readonly onWaiting?: (waiting: boolean) => void) {}

  get state(): 'running' | 'paused' | 'stopped' {
    return this.stopped ? 'stopped' : this.paused ? 'paused' : 'running';
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.stepsAllowed = 0;
    this.release();
  }

  stop(): void {
    this.stopped = true;
    this.release();
  }

  /** While paused: let one more unit of work run, then pause again (ignored while running). */
  step(): void {
    if (!this.paused) return;
    this.stepsAllowed++;
    this.release();
  }

  /** Back to running, for a new run. */
  reset(): void {
    this.paused = false;
    this.stopped = false;
    this.stepsAllowed = 0;
    this.release();
  }

  /** Waits while paused; throws PipelineStopped once stopped. */
  async gate(): Promise<void> {
    let waited = false;
    for (;;) {
      if (this.stopped) throw new PipelineStopped();
      if (!this.paused) break;
      if (this.stepsAllowed > 0) {
        this.stepsAllowed--;
        break;
      }
      if (!waited) this.onWaiting?.(true);
      waited = true;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    if (waited) this.onWaiting?.(false);
  }

  private release(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
}

/** What the lab ships: the base checkpoint (its tokenizer is every preset's) and the pretraining corpus. */
export interface PipelineBundle {
  baseCheckpoint: Uint8Array;
  /** The base checkpoint is a model the person chose (a Hugging Face folder, src/model/hf-model.ts): its architecture
   * is the pipeline's whatever the preset, so nothing is pretrained (unless pretrain.force). */
  chosenBase?: boolean;
  corpus: string;
  /** A task built elsewhere (an imported custom task); otherwise createTask(config.task). */
  task?: Task;
}

/**
 * A pipeline for `config` from the bundled files: the base checkpoint's weights when its architecture is the
 * preset's (tiny) or when it is a chosen base model, otherwise pretraining from scratch with its tokenizer (nano, small).
 */
export function createPipeline(rt: GpuRuntime, config: PipelineConfig, bundle: PipelineBundle, events?: PipelineEvents, control?: PipelineControl): Pipeline {
  const checkpoint = loadCheckpoint(bundle.baseCheckpoint);
  const tokenizer = tokenizerFromJSON(checkpoint.tokenizerJson);
  const wanted = makeConfig(config.preset, { vocabSize: tokenizer.vocabSize, dropout: 0 });
  const fits = bundle.chosenBase === true || (['vocabSize', 'contextLength', 'nLayer', 'nHead', 'dModel'] as const).every((k) => checkpoint.config[k] === wanted[k]);
  const task = bundle.task ?? createTask(config.task as TaskId, { seed: config.seed, maxResponseTokens: config.ppo.maxResponseTokens });
  const base = fits ? { weights: checkpoint.weights, config: { ...checkpoint.config, dropout: 0 } } : undefined;
  return new Pipeline(rt, config, task, tokenizer, base, bundle.corpus, events, control);
}

/**
 * How the reward-model stage uses human rankings:
 *   replace   train (and evaluate) on the human rankings alone: the reward model learns YOUR preference
 *   merge     the simulated labelers' (or the task's imported) rankings plus the human ones, split together
 */
export type HumanLabelMode = 'replace' | 'merge';

/** Rankings people made (source 'human'), for the reward-model stage. */
export interface HumanLabels {
  rankings: readonly Ranking[];
  mode: HumanLabelMode;
}

export class Pipeline implements StageContext {
  /** Weights produced so far (CPU copies), by checkpoint name. */
  readonly weights: Record<string, Weights | undefined> = {};
  rankings: PreferenceSplit | undefined;
  private human: HumanLabels | undefined;
  /**
   * Split each stage's time into generation, forward/backward, optimizer, readback and CPU (src/gpu/time-split.ts),
   * reported with its 'done' event. Off by default: it adds a wait for the GPU at the end of every timed region.
   */
  timeSplit = false;
  readonly summary: PipelineSummary;
  readonly modelConfig: GPTConfig;
  private readonly started = performance.now();
  /** Each policy stage's frontier points as emitted (./frontier-fits.ts), for summary.gao_fits. */
  private readonly fitPoints: Record<string, FitPoint[]> = {};

  constructor(
    readonly rt: GpuRuntime,
    readonly config: PipelineConfig,
    readonly task: Task,
    readonly tokenizer: Tokenizer,
    /** Base weights for the preset (e.g. the bundled checkpoint's), or undefined to pretrain from scratch. */
    base: { weights: Weights; config: GPTConfig } | undefined,
    /** The pretraining corpus (needed when there is no base). */
    readonly corpus: string | undefined,
    readonly events: PipelineEvents = {},
    readonly control: PipelineControl = new PipelineControl(),
  ) {
    this.modelConfig = base?.config ?? makeConfig(config.preset, { vocabSize: tokenizer.vocabSize, dropout: 0 });
    if (base && !config.pretrain.force) this.weights.base = base.weights;
    this.summary = {
      task: task.id,
      preset: config.preset,
      seed: config.seed,
      labelers: { k: config.labels.k, agreement: null, noise: null },
      sft: { steps: config.sft.steps, final_loss: null, mean_token_accuracy: null },
      rm: { heldout_accuracy: null, gold_agreement: null, train_accuracy: null, labeler_gold_agreement: null, inter_labeler_agreement: null },
      ppo: { gold_sft: null, gold_ppo: null, win_rate: null, win_rate_ci: null, kl: null },
      bon: [],
      policies: {},
      gao_fits: {},
      seconds: 0,
      stage_seconds: {},
    };
  }

  /** Human rankings for the next run's preference data (setting them drops the preference data made so far). */
  get humanLabels(): HumanLabels | undefined {
    return this.human;
  }

  set humanLabels(labels: HumanLabels | undefined) {
    if (labels !== this.human) this.rankings = undefined;
    this.human = labels;
  }

  /**
   * Runs the stages in run order (the default recipe when none are named); pretrain is skipped when a base model is there.
   * A metric alarm ends the run, or with `onAlarm` only its own stage (a policy stage kept its last good weights): the
   * alarm goes to onAlarm and the later stages run on what the stage kept, as the page's lessons do.
   */
  async run(stages: readonly PipelineStage[] = DEFAULT_STAGES, onAlarm?: (alarm: PipelineAlarmError) => void): Promise<PipelineSummary> {
    this.checkRun(stages);
    for (const s of STAGE_IDS.filter((id) => stages.includes(id))) {
      try {
        await this.runStage(s);
      } catch (e) {
        if (!onAlarm || !(e instanceof PipelineAlarmError)) throw e;
        onAlarm(e);
      }
    }
    return this.summary;
  }

  async runStage(stage: PipelineStage): Promise<void> {
    const descriptor = stageById(stage);
    if (this.skips(stage)) {
      this.events.stage?.(stage, 'skipped');
      return;
    }
    this.checkMemory([stage]);
    // The free buffers earlier stages left in the pool are of their shapes: destroyed, the device holds this stage's.
    this.rt.buffers.trim();
    const t0 = performance.now();
    this.events.stage?.(stage, 'started');
    this.fitPoints[stage] = [];
    let time: TimeSplit | undefined;
    try {
      if (this.timeSplit) time = (await splitTime(() => this.rt.device.queue.onSubmittedWorkDone(), () => descriptor.run(this))).split;
      else await descriptor.run(this);
    } finally {
      const fit = fitStage(stage, this.fitPoints[stage]);
      if (fit) this.summary.gao_fits[stage] = gaoFitSummary(fit);
    }
    const seconds = (performance.now() - t0) / 1000;
    this.summary.stage_seconds[stage] = seconds;
    this.summary.seconds = (performance.now() - this.started) / 1000;
    if (time) this.events.stage?.(stage, 'done', seconds, time);
    else this.events.stage?.(stage, 'done', seconds);
  }

  /**
   * Refuses a run of `stages` before anything is allocated, with a PipelineConfigError naming the settings: one over
   * the model's context length (a chosen base model's may be shorter than the preset's), a reward source the task or
   * the run cannot provide (config.ts taskProblems), or more GPU memory than the device allows (checkMemory).
   */
  checkRun(stages: readonly PipelineStage[]): void {
    const checkpoints = Object.keys(this.weights).filter((name) => this.weights[name] !== undefined);
    const problems = [...configProblems(this.config, this.modelConfig.contextLength), ...taskProblems(this.config, this.task, { stages, checkpoints })];
    if (problems.length > 0) throw new PipelineConfigError(problems);
    this.checkMemory(stages);
  }

  /**
   * Refuses, with a PipelineConfigError naming the settings to lower, when a stage of `stages` needs more GPU memory
   * than this device allows (src/rlhf/memory.ts) — before anything of it is allocated.
   */
  checkMemory(stages: readonly PipelineStage[]): void {
    const problems = memoryProblems(this.config, this.modelConfig, stages.filter((s) => !this.skips(s)), this.rt.memory, sampleBatchRows(this.rt.adapter));
    if (problems.length > 0) throw new PipelineConfigError(problems);
  }

  /** A base model that came with the lab (or an earlier run) is not made again. */
  private skips(stage: PipelineStage): boolean {
    const descriptor = stageById(stage);
    return descriptor.produces === 'base model' && descriptor.writes !== undefined && this.weights[descriptor.writes] !== undefined;
  }

  // ---- the stages' services (StageContext) -------------------------------------------------------------------------

  progress(stage: string, startedAt: number) {
    return (done: number, total: number) => {
      const elapsed = (performance.now() - startedAt) / 1000;
      this.events.progress?.({ stage: stage as PipelineStage, done, total, etaSeconds: done > 0 ? (elapsed / done) * (total - done) : undefined });
    };
  }

  emit(record: MetricRecord): void {
    this.events.metrics?.(record);
    const point = fitPointOf(record);
    if (point) (this.fitPoints[record.stage] ??= []).push(point);
    const alarm = checkAlarms(record);
    if (alarm) throw new PipelineAlarmError(alarm, record.stage, record.step, alarm.metric === 'step' ? record.step : record[alarm.metric]!);
  }

  need(checkpoint: string, who: string): Weights {
    const w = this.weights[checkpoint];
    if (!w) throw new Error(`${who} needs the ${checkpoint} checkpoint: run the earlier stages first`);
    return w;
  }

  model(weights: Weights, head?: 'score' | 'value', seed?: number): GPT {
    return GPT.create(this.rt, this.modelConfig, { weights, head, seed: seed ?? mixSeed(this.config.seed, head === 'score' ? 11 : 13) });
  }

  keep(checkpoint: string, weights: Weights): void {
    this.weights[checkpoint] = weights;
    if (!this.events.checkpoint) return;
    this.events.checkpoint(checkpoint, saveCheckpoint(weights, this.modelConfig, this.tokenizer.toJSON(), { 'rlhf_lab.pipeline': JSON.stringify({ task: this.task.id, stage: checkpoint, seed: this.config.seed }) }));
  }

  get rules() {
    const p = this.config.ppo;
    return { maxResponseTokens: p.maxResponseTokens, noEosPenalty: p.noEosPenalty };
  }
}
