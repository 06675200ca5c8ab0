// PPO against the reward model with a per-token KL penalty to the frozen SFT policy: InstructGPT's RL stage
// (Ouyang et al. 2022, building on Ziegler et al. 2019 and Stiennon et al. 2020), with the implementation details
// of "The N Implementation Details of RLHF with PPO" (Huang et al.) and Hugging Face TRL's PPO trainer.
//
// One iteration = phases 1–6 below over `batchSize` episodes (a prompt and one sampled response each):
//   1. Rollout: sample responses from the policy at temperature 1, top-k and top-p OFF (truncated sampling makes
//      the sampled distribution differ from π, which shows up as a negative KL), at most maxResponseTokens.
//   2. Evaluate: one forward of each model over prompt+response: the policy's log-probs (recomputed rather than
//      taken from the sampler, so the ratio starts at exactly 1), the frozen reference (SFT) policy's log-probs,
//      the value model's V(s_t), and the reward: the reward model's score at the last token, or whichever reward
//      source the stage chose (ppo.rewardSource: src/rlhf/reward-sources.ts — the ensemble, the task's verifier,
//      the gold oracle). Dropout is off in every model.
//   3. Rewards: per-token KL_t (k1 = log π − log π_ref, or k3 = (r−1) − log r with r = π_ref/π), reward_t = −β·KL_t,
//      plus the RM score at the final token — or a fixed `noEosPenalty` instead of the score when the response hit
//      maxResponseTokens without an EOS (TRL's missing-EOS penalty).
//   4. Advantages: GAE with γ = 1 and λ = 0.95 over response tokens (the bandit episode ends at the last token, whose
//      next value is 0); returns = advantages + values; advantages whitened over the batch.
//   5. Optimise: `epochs` passes over the batch in `miniBatches` shuffled minibatches. The policy minimises the
//      clipped surrogate  max(−A·ρ, −A·clip(ρ, 1−ε, 1+ε))  (ρ = π/π_old, token mean over the minibatch), plus with
//      PPO-ptx γ_ptx × the LM loss on pretraining text in the same step; the value model minimises the clipped value
//      loss ½·max((V−R)², (V_clip−R)²) (times vfCoef). Each is one AdamW step on the GPU (one submit), gradients
//      clipped by global norm; constant learning rate after a linear warm-up.
//   6. Bookkeeping: the adaptive KL controller (Ziegler et al.; or a fixed β) updates β from this batch's mean KL.
//      After every policy step the EMA of the policy weights (decay 0.992, InstructGPT) is updated; evaluation
//      uses those weights.
//
// Departures from the paper / TRL, on purpose:
//   - Separate value model initialised from the reward model (InstructGPT), not a value head on the policy (TRL).
//   - The policy and value model each get their own AdamW; vfCoef scales the value loss's gradient only.
//   - AdamW eps = 1e-8 is added outside the square root (PyTorch's placement; TensorFlow's inside placement made
//     early updates ~6× more aggressive in the N-details study).
//   - The EMA starts at zero and is bias-corrected (divided by 1 − decay^steps, as Adam's moments): a lab run has
//     tens of policy steps, not thousands, and an EMA started at the SFT weights would still be mostly SFT.
//   - Batch sizes are tiny (the lab trains a 0.27M-parameter model on a laptop): default 32 episodes per
//     iteration, not 512.
import type { Episode } from './episode';
import { Tape } from '../autograd/tape';
import * as op from '../autograd/ops';
import { mixSeed, shuffledIndices, TextBatcher, type TokenBatch } from '../model/data';
import type { GPT } from '../model/gpt';
import type { Tokenizer } from '../model/tokenizer';
import { Trainer } from '../model/train';
import { PRETRAIN_ROW_TOKENS } from './batch-sizes';
import { sequenceLogprobs, sequenceScalars } from './forward';
import {
  AdaptiveKLController,
  emaUpdate,
  explainedVariance,
  FixedKLController,
  gae,
  klPerToken,
  type KLController,
  maskedStd,
  perTokenRewards,
  whiten,
} from './math';
import type { MetricRecord } from './metrics';
import { type RewardSource, rewardModelSource } from './reward-sources';
import { sampleRollout } from './rollout';
import { encodeQuery, type PackedBatch } from './sequences';

export interface PPOConfig {
  /** Episodes (prompt + sampled response) per iteration. */
  batchSize: number;
  /** Minibatches per epoch (batchSize must divide evenly). */
  miniBatches: number;
  /** Passes over each batch (InstructGPT: 1; TRL: 4). */
  epochs: number;
  /** Learning rate of the policy and of the value model (constant after warm-up). */
  lr: number;
  valueLr: number;
  /** Iterations of linear learning-rate warm-up (InstructGPT: 10). */
  warmupIterations: number;
  /** ε of the policy's clipped surrogate. */
  clip: number;
  /** ε of the value loss clipping. */
  valueClip: number;
  /** Weight of the value loss. */
  vfCoef: number;
  gamma: number;
  lambda: number;
  /** β: the KL penalty's initial (or fixed) coefficient. */
  klCoef: number;
  klEstimator: 'k1' | 'k3';
  /** Adaptive KL control: the target KL (nats per response) and horizon; null for a fixed β. */
  adaptiveKL: { target: number; horizon: number } | null;
  /** Reward instead of the RM score for a response without EOS. */
  noEosPenalty: number;
  /** γ_ptx: weight of the pretraining LM loss mixed into each policy step (0 = plain PPO). */
  ptxCoef: number;
  /** Pretraining sequences per policy step when ptxCoef > 0. */
  ptxBatchSize: number;
  /** Decay of the EMA of the policy weights used for evaluation. */
  emaDecay: number;
  maxResponseTokens: number;
  /** Global gradient-norm clipping of both models. */
  gradClip: number;
}

/** The four models of the RL stage. */
export interface PPOModels {
  policy: GPT;
  /** The frozen SFT policy the KL is measured against. */
  reference: GPT;
  /** The reward: a reward model (score head, frozen) or any reward source (ppo.rewardSource). */
  reward: GPT | RewardSource;
  /** Value head, initialised from the reward model. */
  value: GPT;
}

export interface PPOIteration {
  /** The iteration's metrics (the stage that runs it names the record's stage). */
  metrics: Omit<MetricRecord, 'stage'>;
  episodes: Episode[];
}

function sum(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s;
}

/** Rows of a compact (B, Tr) layout with the response tokens first in each row and a prefix mask. */
function compact(rows: readonly ArrayLike<number>[]): { data: Float64Array; mask: Float64Array; width: number } {
  const width = Math.max(1, ...rows.map((r) => r.length));
  const data = new Float64Array(rows.length * width);
  const mask = new Float64Array(rows.length * width);
  rows.forEach((r, b) => {
    for (let j = 0; j < r.length; j++) {
      data[b * width + j] = r[j];
      mask[b * width + j] = 1;
    }
  });
  return { data, mask, width };
}

function uncompact(data: ArrayLike<number>, lengths: ArrayLike<number>, width: number): Float64Array[] {
  return Array.from(lengths, (n, b) => Float64Array.from({ length: n }, (_, j) => data[b * width + j]));
}

const isModel = (reward: GPT | RewardSource): reward is GPT => 'params' in reward;

export class PPOTrainer {
  readonly kl: KLController;
  /** Where the rewards come from (a reward model given as such is scored at the last token; the caller frees it). */
  private readonly reward: RewardSource;
  /** Iterations done. */
  iteration = 0;
  /** Episodes seen. */
  episodes = 0;
  private readonly policyTrainer: Trainer;
  private readonly valueTrainer: Trainer;
  private readonly ptx: TextBatcher | undefined;
  private readonly ema = new Map<string, Float32Array>();
  private emaSteps = 0;

  constructor(
    readonly models: PPOModels,
    readonly tokenizer: Tokenizer,
    readonly config: PPOConfig,
    readonly seed: number,
    /** The task's gold reward (hidden from training; only reported). */
    readonly gold: ((prompt: string, response: string) => number) | undefined,
    /** Pretraining documents for PPO-ptx. */
    pretrainText: readonly string[] = [],
  ) {
    const c = config;
    if (c.batchSize % c.miniBatches !== 0) throw new Error(`PPO: batchSize ${c.batchSize} is not divisible by miniBatches ${c.miniBatches}`);
    if (isModel(models.reward) && models.reward.head !== 'score') throw new Error('PPO: the reward model needs the score head');
    if (models.value.head !== 'value') throw new Error('PPO: the value model needs the value head');
    for (const m of [models.policy, models.reference, models.value]) m.eval(); // dropout off in every model during RL
    // The reward model's source leaves it to the caller to free (dispose() does nothing here).
    this.reward = isModel(models.reward) ? { ...rewardModelSource(models.reward.eval()), dispose: () => {} } : models.reward;
    this.kl = c.adaptiveKL ? new AdaptiveKLController(c.klCoef, c.adaptiveKL.target, c.adaptiveKL.horizon) : new FixedKLController(c.klCoef);
    const warm = c.warmupIterations * c.miniBatches * c.epochs;
    const schedule = (lr: number) => ({ maxLr: lr, minLr: lr, warmupSteps: warm, decaySteps: warm });
    this.policyTrainer = new Trainer(models.policy, { schedule: schedule(c.lr), optimizer: { gradClip: c.gradClip } });
    this.valueTrainer = new Trainer(models.value, { schedule: schedule(c.valueLr), optimizer: { gradClip: c.gradClip } });
    if (c.ptxCoef > 0) {
      if (pretrainText.length === 0) throw new Error('PPO-ptx: ptxCoef > 0 needs pretraining text');
      const { bos, eos } = tokenizer.special;
      const ids = pretrainText.flatMap((d) => [bos, ...tokenizer.encode(d), eos]);
      this.ptx = new TextBatcher(Uint32Array.from(ids), { batchSize: c.ptxBatchSize, contextLength: Math.min(PRETRAIN_ROW_TOKENS, models.policy.config.contextLength), seed: mixSeed(seed, 7), valFraction: 0 });
    }
  }

  /** Runs one PPO iteration on these prompts (batchSize of them). */
  async step(prompts: readonly string[]): Promise<PPOIteration> {
    const c = this.config;
    const { policy, reference, value } = this.models;
    const tok = this.tokenizer;
    if (prompts.length !== c.batchSize) throw new Error(`PPO: got ${prompts.length} prompts for a batch of ${c.batchSize}`);
    const it = this.iteration;
    const started = performance.now();

    // 1. Rollout.
    const queries = prompts.map((p) => encodeQuery(tok, p, policy.config.contextLength - c.maxResponseTokens));
    const { rollout, batch, texts } = await sampleRollout(policy, tok, queries, c.maxResponseTokens, mixSeed(this.seed, it));

    // 2. Evaluate.
    const [logpGrid, refGrid, valueGrid, scores] = [
      await sequenceLogprobs(policy, batch),
      await sequenceLogprobs(reference, batch),
      await sequenceScalars(value, batch),
      await this.reward.score({ batch, prompts, responses: texts }),
    ];
    const rows = (grid: Float32Array) => Array.from({ length: batch.B }, (_, b) => grid.subarray(b * batch.T + batch.start[b], b * batch.T + batch.start[b] + batch.lengths[b]));
    const logp = compact(rows(logpGrid));
    const ref = compact(rows(refGrid));
    const values = compact(rows(valueGrid));
    const mask = logp.mask;

    // 3. Rewards.
    const beta = this.kl.value;
    const kl = klPerToken(logp.data, ref.data, c.klEstimator);
    for (let i = 0; i < kl.length; i++) kl[i] *= mask[i];
    const { rewards, nonScore } = perTokenRewards(kl, mask, scores, beta, rollout.finished, c.noEosPenalty);

    // 4. Advantages.
    const { advantages, returns } = gae(rewards, values.data, mask, c.gamma, c.lambda, logp.width);
    const whitened = whiten(advantages, mask);

    // 5. Optimise.
    const lengths = batch.lengths;
    const toGrid = (data: Float64Array) => {
      const out = new Float32Array(batch.B * batch.T);
      uncompact(data, lengths, logp.width).forEach((r, b) => out.set(r, b * batch.T + batch.start[b]));
      return out;
    };
    const grids = { oldLogp: logpGrid, adv: toGrid(whitened), oldValues: valueGrid, returns: toGrid(returns) };
    const stats = { pgLoss: 0, vfLoss: 0, clipped: 0, vfClipped: 0, approxkl: 0, ratio: [] as number[], tokens: 0, gradNorm: 0, ptxLoss: 0, steps: 0 };
    const mb = c.batchSize / c.miniBatches;
    for (let epoch = 0; epoch < c.epochs; epoch++) {
      const order = shuffledIndices(batch.B, mixSeed(this.seed, it, epoch));
      for (let m = 0; m < c.miniBatches; m++) {
        const idx = order.slice(m * mb, (m + 1) * mb);
        await this.optimiseMinibatch(batch, idx, grids, stats);
      }
    }

    // 6. Bookkeeping.
    const klSum = Array.from({ length: batch.B }, (_, b) => sum(kl.subarray(b * logp.width, (b + 1) * logp.width)));
    const meanKL = sum(klSum) / batch.B;
    const klStderr = batch.B > 1 ? Math.sqrt(sum(klSum.map((k) => (k - meanKL) ** 2)) / (batch.B - 1) / batch.B) : undefined;
    this.kl.update(meanKL, c.batchSize);
    this.iteration++;
    this.episodes += c.batchSize;

    const golds = this.gold ? prompts.map((p, b) => this.gold!(p, texts[b])) : undefined;
    const nonScoreSum = Array.from({ length: batch.B }, (_, b) => sum(nonScore.subarray(b * logp.width, (b + 1) * logp.width)));
    const mean = (xs: ArrayLike<number>) => sum(xs) / xs.length;
    const ratioMean = mean(stats.ratio);
    const ratioVar = mean(stats.ratio.map((r) => (r - ratioMean) ** 2));
    const seconds = (performance.now() - started) / 1000;
    const finishedCount = rollout.finished.filter(Boolean).length;
    const metrics: PPOIteration['metrics'] = {
      step: it,
      'objective/scores': mean(scores),
      'objective/kl': meanKL,
      'policy/sqrt_kl': Math.sqrt(Math.max(0, meanKL)),
      'objective/entropy': -sum(logp.data) / batch.B, // TRL's estimate: Σ_t −log π(y_t) of the sampled tokens
      'objective/non_score_reward': mean(nonScoreSum),
      'objective/rlhf_reward': mean(scores) + mean(nonScoreSum),
      'objective/kl_coef': beta,
      'policy/approxkl': stats.approxkl / stats.tokens,
      'policy/clipfrac': stats.clipped / stats.tokens,
      'policy/advantage_std': maskedStd(advantages, mask), // of the raw GAE advantages: whitened ones have std 1
      'loss/policy': stats.pgLoss / stats.steps,
      'loss/value': stats.vfLoss / stats.steps,
      'val/clipfrac': stats.vfClipped / stats.tokens,
      'val/ratio': ratioMean,
      'val/ratio_var': ratioVar,
      'val/num_eos_tokens': finishedCount,
      'val/response_length': mean(lengths),
      lr: this.policyTrainer.lr,
      grad_norm: stats.gradNorm / stats.steps,
      episode: this.episodes,
      eps: c.batchSize / seconds,
    };
    if (klStderr !== undefined) metrics['objective/kl_stderr'] = klStderr;
    if (c.ptxCoef > 0) metrics['loss/ptx'] = stats.ptxLoss / stats.steps;
    // Undefined (NaN) when every return is the same, e.g. a batch whose responses all hit the missing-EOS penalty.
    const ev = explainedVariance(values.data, returns, mask);
    if (Number.isFinite(ev)) metrics['val/explained_variance'] = ev;
    if (golds) metrics['objective/gold'] = mean(golds);

    const advRows = uncompact(whitened, lengths, logp.width);
    const klRows = uncompact(kl, lengths, logp.width);
    const lpRows = uncompact(logp.data, lengths, logp.width);
    const episodes: Episode[] = prompts.map((prompt, b) => ({
      prompt,
      response: texts[b],
      score: rollout.finished[b] ? scores[b] : c.noEosPenalty,
      gold: golds?.[b],
      finished: rollout.finished[b],
      tokens: tok.tokenize(rollout.ids[b]),
      kl: Array.from(klRows[b]),
      advantages: Array.from(advRows[b]),
      logprobs: Array.from(lpRows[b]),
    }));
    return { metrics, episodes };
  }

  /** One policy step and one value step on rows `idx` of the batch. */
  private async optimiseMinibatch(
    batch: PackedBatch,
    idx: number[],
    grids: { oldLogp: Float32Array; adv: Float32Array; oldValues: Float32Array; returns: Float32Array },
    stats: { pgLoss: number; vfLoss: number; clipped: number; vfClipped: number; approxkl: number; ratio: number[]; tokens: number; gradNorm: number; ptxLoss: number; steps: number },
  ): Promise<void> {
    const c = this.config;
    const { policy, value } = this.models;
    const { T } = batch;
    const B = idx.length;
    const pick = <A extends Uint32Array | Float32Array>(a: A, make: (n: number) => A): A => {
      const out = make(B * T);
      idx.forEach((r, i) => out.set(a.subarray(r * T, (r + 1) * T), i * T));
      return out;
    };
    const f32 = (n: number) => new Float32Array(n);
    const u32 = (n: number) => new Uint32Array(n);
    const tokens = pick(batch.tokens, u32);
    const targets = pick(batch.targets, u32);
    const mask = pick(batch.mask, f32);
    const oldLogp = pick(grids.oldLogp, f32);
    const nTokens = sum(mask);
    const rt = policy.rt;

    // Policy (+ ptx).
    const input = policy.uploadBatch({ B, T, tokens, targets, weights: mask });
    const t = {
      oldLogp: rt.upload(oldLogp, [B * T], 'old logprobs', 'f32'),
      adv: rt.upload(pick(grids.adv, f32), [B * T], 'advantages', 'f32'),
      oldValues: rt.upload(pick(grids.oldValues, f32), [B * T], 'old values', 'f32'),
      returns: rt.upload(pick(grids.returns, f32), [B * T], 'returns', 'f32'),
    };
    const ptxBatch: TokenBatch | undefined = this.ptx?.batch('train', this.policyTrainer.step);
    const ptxInput = ptxBatch ? policy.uploadBatch(ptxBatch) : undefined;
    let tape: Tape | undefined;
    try {
      const r = await this.policyTrainer.objectiveStep(`ppo policy step ${this.policyTrainer.step}`, (step) => {
        tape = new Tape(step);
        const logits = policy.logits(tape, policy.hidden(tape, input.tokens, input.index));
        const logp = op.logprob(tape, logits, input.targets, 1);
        const { losses, clipped } = op.ppoPolicyLoss(tape, logp, t.oldLogp, t.adv, input.weights, c.clip, 1 / nTokens);
        const reads = [logp.tensor, losses, clipped];
        if (ptxInput) reads.push(policy.loss(tape, ptxInput, c.ptxCoef / ptxInput.weightSum));
        tape.backward();
        return reads;
      });
      const [newLogp, losses, clipped, ptxLosses] = r.reads;
      stats.pgLoss += sum(losses) / nTokens;
      stats.clipped += sum(clipped);
      for (let i = 0; i < B * T; i++) {
        if (mask[i] === 0) continue;
        const d = newLogp[i] - oldLogp[i];
        stats.approxkl += 0.5 * d * d;
        stats.ratio.push(Math.exp(d));
      }
      stats.tokens += nTokens;
      stats.gradNorm += r.gradNorm;
      if (ptxLosses && ptxInput) stats.ptxLoss += sum(ptxLosses) / ptxInput.weightSum;
      stats.steps++;
      await this.updateEma();
    } finally {
      tape?.dispose();
      tape = undefined;
      policy.freeBatch(input);
      if (ptxInput) policy.freeBatch(ptxInput);
    }

    // Value model.
    const vInput = value.uploadBatch({ B, T, tokens, targets, weights: mask });
    try {
      const r = await this.valueTrainer.objectiveStep(`ppo value step ${this.valueTrainer.step}`, (step) => {
        tape = new Tape(step);
        const v = value.scalar(tape, value.hidden(tape, vInput.tokens, vInput.index));
        const { losses, clipped } = op.ppoValueLoss(tape, v, t.oldValues, t.returns, vInput.weights, c.valueClip, c.vfCoef / nTokens);
        tape.backward();
        return [losses, clipped];
      });
      stats.vfLoss += sum(r.reads[0]) / nTokens;
      stats.vfClipped += sum(r.reads[1]);
    } finally {
      (tape as Tape | undefined)?.dispose();
      value.freeBatch(vInput);
      rt.free(t.oldLogp, t.adv, t.oldValues, t.returns);
    }
  }

  private async updateEma(): Promise<void> {
    const w = await this.models.policy.params.getWeights();
    for (const [name, x] of Object.entries(w)) {
      if (!this.ema.has(name)) this.ema.set(name, new Float32Array(x.length));
      emaUpdate(this.ema.get(name)!, x, this.config.emaDecay);
    }
    this.emaSteps++;
  }

  /** The bias-corrected EMA of the policy weights (the current weights before the first step). */
  async emaWeights(): Promise<Record<string, Float32Array>> {
    if (this.emaSteps === 0) return this.models.policy.params.getWeights();
    const correction = 1 / (1 - this.config.emaDecay ** this.emaSteps);
    return Object.fromEntries([...this.ema].map(([name, e]) => [name, e.map((x) => x * correction)]));
  }

  dispose(): void {
    this.policyTrainer.dispose();
    this.valueTrainer.dispose();
  }
}

