// The whole InstructGPT pipeline on one task, headless: the same code runs in the page's Web Worker and in Node
// (`npm run pipeline`). Stages, in order:
//   pretrain  only when no base checkpoint fits the preset (nano, small) or when forced: a short LM pretraining
//   sft       supervised fine-tuning of the base model on the task's demonstrations
//   rm        simulated labelers rank K samples of the SFT policy per prompt (noise calibrated to the target
//             agreement with gold); the reward model is trained on them, evaluated on held-out rankings, centred.
//             Rankings people made in the lab (`humanLabels`, source 'human') replace or join the simulated (or
//             imported) ones, as `humanLabels.mode` says
//   ppo       PPO (+ptx) against the reward model with a KL penalty to the SFT policy
//   bon       best-of-N from the SFT policy with the reward model, N = 1, 2, 4, …, maxN
//   eval      win rate of the PPO policy (EMA weights) over the SFT policy on held-out prompts, by the gold reward
// Weights move between stages as CPU records; each stage creates the GPU models it needs and frees them after, so
// any stage can be run again alone (with the outputs of the stages before it).
//
// Control: pause / resume / stop / single-step between units of work (an optimizer step, a PPO iteration, a chunk
// of sampling) through PipelineControl. Events stream metrics (MetricRecord, names from metrics.ts), progress with
// an ETA, PPO episodes, evaluation samples and checkpoints. Alarms (metrics.ts checkAlarms: NaN/Inf, negative
// KL, ratio far from 1, KL blow-up) stop the run with a PipelineAlarmError naming the cause; the policy keeps the
// last good weights (those before the iteration that raised it), which are then the PPO checkpoint and what the
// evaluation measures (not the EMA, which took in the refused step).
import type { GpuRuntime } from '../gpu';
import { loadCheckpoint, saveCheckpoint } from '../model/checkpoint';
import { type GPTConfig, makeConfig } from '../model/config';
import { mixSeed, shuffledIndices, sftBatch, type SftExample } from '../model/data';
import { GPT } from '../model/gpt';
import { encodeCorpus, pretrain } from '../model/pretrain';
import { supervisedFineTune } from '../model/sft';
import { type Tokenizer, tokenizerFromJSON } from '../model/tokenizer';
import { type BestOfNPoint, bestOfN } from './best-of-n';
import type { PipelineConfig } from './config';
import { compareByGold, type PolicySamples, samplePolicy } from './evaluate';
import { calibrateNoise, interLabelerAgreement, SimulatedLabeler } from './labelers';
import { checkAlarms, type Alarm, type MetricRecord } from './metrics';
import { type Episode, PPOTrainer } from './ppo';
import type { Ranking } from './preferences';
import { centerOnDemonstrations, evaluateRewardModel, sampleResponses, trainRewardModel } from './reward-model';
import { createTask, type Task, type TaskId } from './tasks';

export const STAGES = ['pretrain', 'sft', 'rm', 'ppo', 'bon', 'eval'] as const;
export type PipelineStage = (typeof STAGES)[number];

/** A held-out evaluation sample (samples.jsonl). */
export interface SampleRecord {
  prompt: string;
  response: string;
  policy: string; // 'sft' | 'ppo' | 'bon-<N>'
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
  stage?(stage: PipelineStage, state: 'started' | 'done' | 'skipped', seconds?: number): void;
  metrics?(record: MetricRecord): void;
  progress?(progress: Progress): void;
  episodes?(iteration: number, episodes: Episode[]): void;
  samples?(samples: SampleRecord[]): void;
  checkpoint?(name: string, bytes: Uint8Array): void;
  log?(line: string): void;
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

type Weights = Record<string, Float32Array>;

/** What the lab ships: the base checkpoint (its tokenizer is every preset's) and the pretraining corpus. */
export interface PipelineBundle {
  baseCheckpoint: Uint8Array;
  corpus: string;
  /** A task built elsewhere (an imported custom task); otherwise createTask(config.task). */
  task?: Task;
}

/**
 * A pipeline for `config` from the bundled files: the base checkpoint's weights when its architecture is the
 * preset's (tiny), otherwise pretraining from scratch with its tokenizer (nano, small).
 */
export function createPipeline(rt: GpuRuntime, config: PipelineConfig, bundle: PipelineBundle, events?: PipelineEvents, control?: PipelineControl): Pipeline {
  const checkpoint = loadCheckpoint(bundle.baseCheckpoint);
  const tokenizer = tokenizerFromJSON(checkpoint.tokenizerJson);
  const wanted = makeConfig(config.preset, { vocabSize: tokenizer.vocabSize, dropout: 0 });
  const fits = (['vocabSize', 'contextLength', 'nLayer', 'nHead', 'dModel'] as const).every((k) => checkpoint.config[k] === wanted[k]);
  const task = bundle.task ?? createTask(config.task as TaskId, { seed: config.seed, maxResponseTokens: config.ppo.maxResponseTokens });
  const base = fits ? { weights: checkpoint.weights, config: { ...checkpoint.config, dropout: 0 } } : undefined;
  return new Pipeline(rt, config, task, tokenizer, base, bundle.corpus, events, control);
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

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

export class Pipeline {
  /** Weights produced so far (CPU copies). */
  readonly weights: { base?: Weights; sft?: Weights; rm?: Weights; ppo?: Weights; ppoEma?: Weights } = {};
  rankings: { train: Ranking[]; heldout: Ranking[] } | undefined;
  /** Human rankings for the next reward-model stage (undefined: simulated or imported rankings only). */
  humanLabels: HumanLabels | undefined;
  readonly summary: PipelineSummary;
  readonly modelConfig: GPTConfig;
  private readonly started = performance.now();

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
      seconds: 0,
      stage_seconds: {},
    };
  }

  /** Runs the stages in order (all by default); pretrain is skipped when a base model is there. */
  async run(stages: readonly PipelineStage[] = STAGES): Promise<PipelineSummary> {
    for (const s of stages) await this.runStage(s);
    return this.summary;
  }

  async runStage(stage: PipelineStage): Promise<void> {
    if (stage === 'pretrain' && this.weights.base) {
      this.events.stage?.(stage, 'skipped');
      return;
    }
    const t0 = performance.now();
    this.events.stage?.(stage, 'started');
    await this.stageImpl[stage]();
    const seconds = (performance.now() - t0) / 1000;
    this.summary.stage_seconds[stage] = seconds;
    this.summary.seconds = (performance.now() - this.started) / 1000;
    this.events.stage?.(stage, 'done', seconds);
  }

  private readonly stageImpl: Record<PipelineStage, () => Promise<void>> = {
    pretrain: () => this.pretrainStage(),
    sft: () => this.sftStage(),
    rm: () => this.rewardModelStage(),
    ppo: () => this.ppoStage(),
    bon: () => this.bestOfNStage(),
    eval: () => this.evalStage(),
  };

  // ---- helpers ---------------------------------------------------------------------------------------------------

  private progress(stage: PipelineStage, startedAt: number) {
    return (done: number, total: number) => {
      const elapsed = (performance.now() - startedAt) / 1000;
      this.events.progress?.({ stage, done, total, etaSeconds: done > 0 ? (elapsed / done) * (total - done) : undefined });
    };
  }

  private emit(record: MetricRecord): void {
    this.events.metrics?.(record);
    const alarm = checkAlarms(record);
    if (alarm) throw new PipelineAlarmError(alarm, record.stage as PipelineStage, record.step);
  }

  private need<K extends keyof Pipeline['weights']>(key: K, stage: string): Weights {
    const w = this.weights[key];
    if (!w) throw new Error(`${stage} needs the ${key} weights: run the earlier stages first`);
    return w;
  }

  private model(weights: Weights, head?: 'score' | 'value'): GPT {
    return GPT.create(this.rt, this.modelConfig, { weights, head, seed: mixSeed(this.config.seed, head === 'score' ? 11 : 13) });
  }

  private checkpoint(name: string, weights: Weights): void {
    if (!this.events.checkpoint) return;
    this.events.checkpoint(name, saveCheckpoint(weights, this.modelConfig, this.tokenizer.toJSON(), { 'rlhf_lab.pipeline': JSON.stringify({ task: this.task.id, stage: name, seed: this.config.seed }) }));
  }

  private get rules() {
    const p = this.config.ppo;
    return { maxResponseTokens: p.maxResponseTokens, noEosPenalty: p.noEosPenalty };
  }

  // ---- stages ----------------------------------------------------------------------------------------------------

  private async pretrainStage(): Promise<void> {
    if (!this.corpus) throw new Error('pretrain needs a corpus (no base checkpoint fits this preset)');
    const c = this.config.pretrain;
    const report = this.progress('pretrain', performance.now());
    const controller = new AbortController();
    const result = await pretrain(this.rt, {
      config: this.modelConfig,
      tokenizer: this.tokenizer,
      ids: encodeCorpus(this.corpus, this.tokenizer),
      steps: c.steps,
      batchSize: c.batchSize,
      seqLen: Math.min(64, this.modelConfig.contextLength),
      maxLr: c.lr,
      warmupSteps: Math.min(20, Math.floor(c.steps / 10)),
      seed: this.config.seed,
      evalEvery: 0,
      finalEvalBatches: 4,
      signal: controller.signal,
      onStep: async (m) => {
        this.emit({ stage: 'pretrain', step: m.step, loss: m.loss, lr: m.lr, grad_norm: m.gradNorm });
        report(m.step + 1, c.steps);
        try {
          await this.control.gate();
        } catch (e) {
          controller.abort();
          throw e;
        }
      },
    });
    this.weights.base = result.weights;
    this.checkpoint('base', result.weights);
  }

  private async sftStage(): Promise<void> {
    const c = this.config.sft;
    const base = this.need('base', 'SFT');
    const demos = this.task.demonstrations;
    const heldCount = Math.max(1, Math.floor(demos.length * 0.1));
    const [train, held] = [demos.slice(heldCount), demos.slice(0, heldCount)];
    const model = this.model(base);
    const report = this.progress('sft', performance.now());
    try {
      if (c.steps > 0) {
        await supervisedFineTune(model, this.tokenizer, train, {
          steps: c.steps,
          batchSize: c.batchSize,
          seq: c.seq,
          lr: c.lr,
          warmupSteps: c.warmup,
          seed: mixSeed(this.config.seed, 21),
          onStep: async (m) => {
            this.emit({ stage: 'sft', step: m.step, loss: m.loss, lr: m.lr, grad_norm: m.gradNorm });
            this.summary.sft.final_loss = m.loss;
            report(m.step + 1, c.steps);
            await this.control.gate();
          },
        });
      }
      const accuracy = await tokenAccuracy(model, this.tokenizer, held, c.batchSize, c.seq);
      this.summary.sft.mean_token_accuracy = accuracy.accuracy;
      this.emit({ stage: 'sft', step: c.steps, mean_token_accuracy: accuracy.accuracy, entropy: accuracy.entropy, 'sft/heldout_loss': accuracy.loss });
      this.weights.sft = await model.params.getWeights();
    } finally {
      model.dispose();
    }
    this.checkpoint('sft', this.weights.sft);
  }

  /** Labels (simulated labelers, or the task's imported preferences), then the reward model. */
  private async rewardModelStage(): Promise<void> {
    const sft = this.need('sft', 'the reward model');
    const { labels, rm: c, seed } = this.config;
    const startedAt = performance.now();
    const report = this.progress('rm', startedAt);
    let rankings: Ranking[];
    const human = this.humanLabels;
    if (human?.mode === 'replace') {
      // At least 2, so one can be held out and one trained on.
      if (human.rankings.length < 2) throw new Error(`the reward model needs at least 2 human rankings to train on yours alone, got ${human.rankings.length} — label more`);
      rankings = [...human.rankings];
    } else if (this.task.preferences?.length) {
      rankings = [...this.task.preferences];
    } else {
      rankings = await this.simulateLabels(sft);
    }
    if (human?.mode === 'merge') rankings.push(...human.rankings);
    if (human && human.rankings.length > 0) this.events.log?.(`reward model: ${human.rankings.length} human rankings (${human.mode === 'replace' ? 'alone' : 'with the others'}) of ${rankings.length} in all`);
    const heldCount = Math.max(1, Math.round(rankings.length * labels.heldoutFraction));
    const order = shuffledIndices(rankings.length, mixSeed(seed, 31));
    const heldout = order.slice(0, heldCount).map((i) => rankings[i]);
    const train = order.slice(heldCount).map((i) => rankings[i]);
    if (train.length === 0) throw new Error(`the reward model has no training rankings (${rankings.length} in all, ${heldCount} held out)`);
    this.rankings = { train, heldout };

    const rm = this.model(sft, 'score');
    try {
      const log = await trainRewardModel(rm, this.tokenizer, train, { ...c, seed: mixSeed(seed, 32), groupsPerStep: c.groupsPerStep, warmupSteps: c.warmup, maxResponseTokens: this.rules.maxResponseTokens }, async (m) => {
        const { steps: _steps, ...record } = m;
        this.emit({ stage: 'rm', ...record });
        report(m.step + 1, m.steps);
        await this.control.gate();
      });
      this.summary.rm.train_accuracy = mean(log.map((m) => m['rm/accuracy']));
      const ev = await evaluateRewardModel(rm, this.tokenizer, heldout, this.rules.maxResponseTokens, this.task.gold);
      const shift = await centerOnDemonstrations(rm, this.tokenizer, this.task.demonstrations.slice(0, 64), this.rules.maxResponseTokens);
      this.summary.rm.heldout_accuracy = ev.accuracy;
      this.summary.rm.gold_agreement = ev.goldAgreement ?? null;
      this.summary.rm.labeler_gold_agreement = ev.labelerGoldAgreement ?? null;
      const inter = this.interLabelerAgreement(heldout);
      this.summary.rm.inter_labeler_agreement = inter;
      const record: MetricRecord = { stage: 'rm', step: log.length, 'rm/heldout_accuracy': ev.accuracy };
      if (ev.goldAgreement !== undefined) record['rm/gold_agreement'] = ev.goldAgreement;
      if (ev.labelerGoldAgreement !== undefined) record['rm/labeler_gold_agreement'] = ev.labelerGoldAgreement;
      if (inter !== null) record['rm/inter_labeler_agreement'] = inter;
      this.emit(record);
      const f = (x: number | null | undefined) => x?.toFixed(3) ?? 'n/a';
      this.events.log?.(
        `reward model: held-out accuracy ${f(ev.accuracy)} (a second labeler on the same labels: ${f(inter)}), ` +
          `gold agreement ${f(ev.goldAgreement)} (the labels themselves: ${f(ev.labelerGoldAgreement)}); bias shifted by ${shift.toFixed(3)} so demonstrations average 0`,
      );
      this.weights.rm = await rm.params.getWeights();
    } finally {
      rm.dispose();
    }
    this.checkpoint('reward-model', this.weights.rm);
  }

  /** A second simulated labeler on the held-out simulated rankings (null when there are none, e.g. human labels). */
  private interLabelerAgreement(heldout: readonly Ranking[]): number | null {
    const noise = this.summary.labelers.noise;
    const simulated = heldout.filter((r) => r.source === 'simulated');
    if (noise === null || simulated.length === 0 || !this.task.gold) return null;
    return interLabelerAgreement(this.task, simulated, noise, mixSeed(this.config.seed, 45));
  }

  private async simulateLabels(sft: Weights): Promise<Ranking[]> {
    const { labels, seed } = this.config;
    if (!this.task.gold) throw new Error(`task "${this.task.id}" has neither a gold reward for simulated labelers nor imported preferences`);
    const prompts = pickPrompts(this.task.prompts.train, labels.prompts, mixSeed(seed, 41));
    const policy = this.model(sft);
    let samples;
    try {
      // A few extra samples per prompt, so K distinct completions remain after removing duplicates.
      const report = this.progress('rm', performance.now());
      samples = await sampleResponses(policy, this.tokenizer, prompts, labels.k + 2, {
        maxResponseTokens: this.rules.maxResponseTokens,
        temperature: 1,
        seed: mixSeed(seed, 42),
        onBatch: async (done, total) => {
          report(done, total);
          this.events.log?.(`labels: sampled ${done}/${total} completions for the labelers`);
          await this.control.gate();
        },
      });
    } finally {
      policy.dispose();
    }
    const groups = prompts
      .map((prompt, p) => ({ prompt, completions: [...new Set(samples.texts[p])].slice(0, labels.k) }))
      .filter((g) => g.completions.length === labels.k);
    if (groups.length < 2) throw new Error(`only ${groups.length} prompts gave ${labels.k} distinct samples; the SFT policy is too repetitive to label`);
    const gold = this.task.gold;
    const noise = calibrateNoise(groups.map((g) => g.completions.map((c) => gold(g.prompt, c))), labels.agreement, mixSeed(seed, 43));
    const labeler = new SimulatedLabeler(this.task, { noise, seed: mixSeed(seed, 44) });
    const rankings = groups.map((g) => labeler.rank(g.prompt, g.completions));
    this.summary.labelers = { k: labels.k, agreement: labels.agreement, noise };
    return rankings;
  }

  private async ppoStage(): Promise<void> {
    const sft = this.need('sft', 'PPO');
    const rmWeights = this.need('rm', 'PPO');
    const c = this.config.ppo;
    const valueWeights = Object.fromEntries(Object.entries(rmWeights).map(([k, v]) => [k.replace(/^score\./, 'value.'), v]));
    const models = { policy: this.model(sft), reference: this.model(sft), reward: this.model(rmWeights, 'score'), value: this.model(valueWeights, 'value') };
    const trainer = new PPOTrainer(models, this.tokenizer, c, mixSeed(this.config.seed, 51), this.task.gold, this.task.pretrainText);
    const iterations = c.episodes / c.batchSize;
    const report = this.progress('ppo', performance.now());
    const prompts = this.task.prompts.train;
    const order = shuffledIndices(prompts.length, mixSeed(this.config.seed, 52));
    try {
      for (let it = 0; it < iterations; it++) {
        await this.control.gate();
        const batch = Array.from({ length: c.batchSize }, (_, i) => prompts[order[(it * c.batchSize + i) % prompts.length]]);
        const lastGood = await models.policy.params.getWeights();
        const { metrics, episodes } = await trainer.step(batch);
        this.events.episodes?.(it, episodes);
        try {
          this.emit(metrics);
        } catch (e) {
          models.policy.params.setWeights(lastGood);
          this.weights.ppo = lastGood;
          this.weights.ppoEma = lastGood;
          this.checkpoint('ppo', lastGood);
          throw e;
        }
        this.summary.ppo.kl = metrics['objective/kl'] ?? null;
        report(it + 1, iterations);
      }
      this.weights.ppo = await models.policy.params.getWeights();
      this.weights.ppoEma = await trainer.emaWeights();
    } finally {
      trainer.dispose();
      Object.values(models).forEach((m) => m.dispose());
    }
    this.checkpoint('ppo', this.weights.ppoEma);
  }

  private async bestOfNStage(): Promise<void> {
    const sft = this.need('sft', 'best-of-N');
    const rmWeights = this.need('rm', 'best-of-N');
    const { bon, seed } = this.config;
    const policy = this.model(sft);
    const rm = this.model(rmWeights, 'score');
    try {
      const prompts = this.task.prompts.heldout.slice(0, bon.prompts);
      const result = await bestOfN(policy, rm, this.tokenizer, prompts, { maxN: bon.maxN, ...this.rules, seed: mixSeed(seed, 61), gold: this.task.gold });
      this.summary.bon = result.points;
      for (const p of result.points) {
        const record: MetricRecord = { stage: 'bon', step: p.n, 'bon/proxy': p.proxy, 'bon/kl_bound': p.kl_bound };
        if (Number.isFinite(p.gold)) record['bon/gold'] = p.gold;
        this.emit(record);
      }
      this.events.samples?.(result.chosen.map((s) => ({ ...s, policy: `bon-${bon.maxN}`, gold: Number.isFinite(s.gold) ? s.gold : null })));
    } finally {
      policy.dispose();
      rm.dispose();
    }
  }

  private async evalStage(): Promise<void> {
    const sftWeights = this.need('sft', 'evaluation');
    const ppoWeights = this.need('ppoEma', 'evaluation');
    const rmWeights = this.need('rm', 'evaluation');
    const prompts = this.task.prompts.heldout.slice(0, this.config.eval.prompts);
    const rm = this.model(rmWeights, 'score');
    const options = { ...this.rules, seed: mixSeed(this.config.seed, 71), gold: this.task.gold };
    let sft: PolicySamples;
    let ppo: PolicySamples;
    try {
      const sftModel = this.model(sftWeights);
      try {
        sft = await samplePolicy(sftModel, rm, this.tokenizer, prompts, options);
      } finally {
        sftModel.dispose();
      }
      const ppoModel = this.model(ppoWeights);
      try {
        ppo = await samplePolicy(ppoModel, rm, this.tokenizer, prompts, options);
      } finally {
        ppoModel.dispose();
      }
    } finally {
      rm.dispose();
    }
    const toRecords = (s: PolicySamples, policy: string) =>
      s.responses.map((response, i) => ({ prompt: s.prompts[i], response, policy, proxy: s.proxy[i], gold: Number.isFinite(s.gold[i]) ? s.gold[i] : null }));
    this.events.samples?.([...toRecords(sft, 'sft'), ...toRecords(ppo, 'ppo')]);
    const record: MetricRecord = { stage: 'eval', step: 0, 'eval/proxy_sft': mean(sft.proxy), 'eval/proxy_ppo': mean(ppo.proxy) } as MetricRecord;
    if (this.task.gold) {
      const w = compareByGold(ppo, sft);
      Object.assign(record, { 'eval/win_rate': w.winRate, 'eval/win_rate_lo': w.ci[0], 'eval/win_rate_hi': w.ci[1], 'eval/gold_sft': mean(sft.gold), 'eval/gold_ppo': mean(ppo.gold) });
      this.summary.ppo = { ...this.summary.ppo, gold_sft: mean(sft.gold), gold_ppo: mean(ppo.gold), win_rate: w.winRate, win_rate_ci: w.ci };
    }
    this.emit(record);
  }
}

/**
 * On the response tokens of held-out demonstrations (dropout off): the mean next-token accuracy (argmax = target),
 * the loss, and the entropy of the next-token distribution.
 */
async function tokenAccuracy(model: GPT, tokenizer: Tokenizer, examples: readonly SftExample[], B: number, T: number): Promise<{ accuracy: number; loss: number; entropy: number }> {
  const V = model.config.vocabSize;
  let [right, total, loss, entropy] = [0, 0, 0, 0];
  model.eval();
  try {
    for (let start = 0; start < examples.length; start += B) {
      const rows = Math.min(B, examples.length - start);
      const batch = sftBatch(examples, tokenizer, rows, T, Array.from({ length: rows }, (_, i) => start + i));
      if (batch.weights.every((w) => w === 0)) continue;
      // One forward: accuracy, loss and entropy all come from the logits.
      const logits = await model.forward(batch.tokens, rows, T);
      for (let n = 0; n < rows * T; n++) {
        if (batch.weights[n] === 0) continue;
        const row = logits.subarray(n * V, (n + 1) * V);
        let best = 0;
        for (let v = 1; v < V; v++) if (row[v] > row[best]) best = v;
        let z = 0;
        for (let v = 0; v < V; v++) z += Math.exp(row[v] - row[best]);
        loss -= row[batch.targets[n]] - row[best] - Math.log(z);
        let h = 0;
        for (let v = 0; v < V; v++) {
          const lp = row[v] - row[best] - Math.log(z);
          h -= Math.exp(lp) * lp;
        }
        right += best === batch.targets[n] ? 1 : 0;
        entropy += h;
        total++;
      }
    }
  } finally {
    model.train();
  }
  return { accuracy: right / total, loss: loss / total, entropy: entropy / total };
}


/** `count` distinct prompts drawn without replacement (all of them when there are fewer). */
function pickPrompts(prompts: readonly string[], count: number, seed: number): string[] {
  return shuffledIndices(prompts.length, seed)
    .slice(0, count)
    .map((i) => prompts[i]);
}
