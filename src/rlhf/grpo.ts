// The group methods: RL from several sampled completions per prompt with no value model — GRPO (Shao et al. 2024,
// DeepSeekMath) and RLOO (Ahmadian et al. 2024, "Back to Basics") — one trainer, as Hugging Face TRL's GRPOTrainer and
// RLOOTrainer run them. Both sample a group of completions per prompt, score them with a reward source (the reward
// model, the task's verifier, an ensemble or the gold oracle: src/rlhf/reward-sources.ts) and turn each completion's
// reward into one advantage by comparing it with the rest of its group, which every token of the completion gets.
// They differ in three places only — the advantage, where the KL to the SFT reference goes, and the loss — and those
// are each method's GroupMethod object, built by its stage (src/rlhf/stages/grpo-run.ts, rloo-run.ts): this trainer
// runs any method the same way.
//
//            advantage                                   KL to the reference            policy loss
//   GRPO     (r − mean_group)/(std_group + ε)            k3 per token, β·k3 in the       clipped surrogate per token,
//            (grpo.scaleRewards: group | batch | none)   loss (DeepSeekMath)             ε_low/ε_high, aggregated by
//                                                                                        grpo.lossType
//   RLOO     r' − mean of the other k − 1 r'             k1 summed over the sequence,    REINFORCE on the sequence:
//            (r' = r − β·Σₜ KLₜ)                         in the reward r'                −A·Σₜ log π, mean over sequences
//
// One iteration = phases 1–5 over `promptsPerIteration` prompts and `groupSize` completions each:
//   1. Rollout: every prompt repeated groupSize times, its completions contiguous (rows g·G … g·G + G − 1: TRL's
//      layout), sampled from the policy at temperature 1 with top-k and top-p off (the log-probs must be the policy's),
//      at most maxResponseTokens, seeded per iteration (the generator's RNG is per row, so a group's rows differ).
//      Dynamic sampling (DAPO, Yu et al. 2025; `dynamicRounds` > 0): a group whose rewards all agree has advantage 0
//      and teaches nothing, so it is set aside and the next prompts are sampled and scored in its place, a round at a
//      time, for at most dynamicRounds more rounds; the batch is the first promptsPerIteration groups with a spread,
//      filled up with set-aside groups (in the order drawn) when the rounds run out. DAPO samples until the batch is
//      full; the cap bounds an iteration's time.
//   2. Score: the reward source's score of each completion, or `noEosPenalty` instead for one that hit
//      maxResponseTokens without EOS (the lab's response rule, as PPO's); the reward model's score of the same rows
//      when the run has one (objective/scores: the frontier's proxy axis, the same number PPO logs) and the hidden
//      gold (objective/gold), for reporting only. The frozen reference's log-probs when β > 0 — at β = 0 there is no
//      reference at all (not loaded, never run: TRL) and no KL metric. The policy's own log-probs before the update
//      when something needs them then: RLOO's reward (β > 0), or GRPO's ratio when it takes μ > 1 steps on the batch.
//   3. Advantages: per completion, from its group (the table above); GRPO's std is the unbiased one with ε = 1e-4
//      (TRL's torch.std). src/rlhf/group-advantages.ts has the formulas.
//   4. Optimise: μ = grpo.iterations optimizer steps on the batch (RLOO: 1), each ONE AdamW update over every
//      completion — gradients accumulated over micro-batches of POLICY_MICROBATCH_TOKENS tokens in one submit —
//      clipped by global norm, constant learning rate after a linear warm-up. The loss is the fused group kernel
//      (shaders/grpo_loss_forward_backward.wgsl) with each token weighted by the aggregation (src/rlhf/loss-aggregation.ts:
//      grpo, dapo, dr_grpo, or rloo's 1/B), computed on the whole batch so the micro-batches keep its normaliser.
//      With μ = 1 (TRL's default num_iterations) the old log-probs ARE the current ones (the loss binds log π twice):
//      ρ = 1 exactly, nothing clips, and no separate forward is needed; with μ > 1 the ratio is against the rollout
//      policy's log-probs from phase 2.
//   5. Metrics (TRL's GRPO names): reward, reward_std, frac_reward_zero_std, kl, clip_ratio/low_mean,
//      clip_ratio/high_mean, clip_ratio/region_mean, entropy, completions/mean_length; and the lab's objective/scores, objective/gold,
//      objective/kl (k1 summed over a completion, as PPO's: the frontier's x-axis), objective/kl_stderr, policy/sqrt_kl;
//      RLOO also objective/kl_coef, objective/non_score_reward and objective/rlhf_reward (its reward with the KL penalty).
//      With dynamic sampling, sampling/groups_drawn and sampling/rounds; the others are the batch's (its
//      frac_reward_zero_std is what the rounds could not replace).
//
// Departures from the papers / TRL, on purpose:
//   - The missing-EOS rule replaces the reward of a truncated completion by noEosPenalty (TRL's GRPO has none; its
//     RLOO subtracts an optional missing_eos_penalty).
//   - `entropy` is the Monte-Carlo estimate −mean log π(sampled token) over the completion tokens (TRL computes the
//     full distribution's entropy from the logits); `reward_std` is the mean over groups of the group's std.
//   - kl and the clip ratios are token means over the batch (TRL's masked means), averaged over the μ steps.
//   - One optimizer step per μ pass over the whole batch (TRL: per generation batch and gradient-accumulation
//     round); no learning-rate decay; no value model, no EMA of the weights (the last weights are the policy).
import { Tape, type Var } from '../autograd/tape';
import * as op from '../autograd/ops';
import type { Tensor } from '../gpu';
import { mixSeed } from '../model/data';
import type { BatchTensors, GPT } from '../model/gpt';
import type { Tokenizer } from '../model/tokenizer';
import { Trainer } from '../model/train';
import { POLICY_MICROBATCH_TOKENS } from './batch-sizes';
import { lastTokenScores, sequenceLogprobs } from './forward';
import { allEqual, fracRewardZeroStd } from './group-advantages';
import { aggregationWeights, type LossAggregation } from './loss-aggregation';
import type { Episode } from './episode';
import type { MetricRecord } from './metrics';
import type { RewardSource } from './reward-sources';
import { sampleRollout } from './rollout';
import { encodeQuery, type PackedBatch, packSequences } from './sequences';

/** A micro-batch's per-token inputs to a method's loss, (n) each. */
export interface LossInputs {
  /** The policy's log-probs, on the tape. */
  logp: Var;
  /** The ratio's denominator: the rollout policy's log-probs (μ > 1), or logp's own tensor (ρ = 1 exactly). */
  old: Tensor;
  /** The reference's log-probs when β > 0 and the KL is in the loss (klInReward false); else undefined. */
  ref: Tensor | undefined;
  advantages: Tensor;
  /** The aggregation's weights (0 off the response tokens). */
  weights: Tensor;
}

/** One optimizer step's readback: the policy's log-probs before it, and the loss's per-token statistics if any. */
export interface StepReadback {
  logp: Float32Array;
  /** (3, B·T) as the loss returned them (GRPO's: clipped low, clipped high, k3), undefined when it returns none. */
  stats?: Float32Array;
  gradNorm: number;
  lr: number;
}

/**
 * What makes a group method: its advantages, where the KL to the reference goes, its loss and its own metrics (GRPO's
 * and RLOO's are built by their stages: src/rlhf/stages/grpo-run.ts, rloo-run.ts). Completions come in groups of G
 * contiguous rows.
 */
export interface GroupMethod {
  /** As errors and optimizer-step labels name it. */
  readonly name: string;
  /** μ: optimizer steps on each batch (> 1: the ratio is against the rollout policy's log-probs). */
  readonly passes: number;
  /** How the per-token losses are weighted over the batch (src/rlhf/loss-aggregation.ts). */
  readonly aggregation: LossAggregation;
  /** β's KL is in the reward (each completion's Σₜ log π − log π_ref, before the advantages), not a term of the loss. */
  readonly klInReward: boolean;
  /** Per completion its advantage, from the rewards and, with klInReward and β > 0, each completion's KL; its metrics. */
  advantages(rewards: Float64Array, G: number, beta: number, klSeq: Float64Array | undefined): { advantages: Float64Array; metrics: Record<string, number> };
  /** Records one micro-batch's loss on the tape; returns per-token statistics (3,n) to read back, or undefined. */
  loss(tape: Tape, inputs: LossInputs, beta: number): Tensor | undefined;
  /** Its metrics from the μ steps' readbacks (token means over the batch's response tokens: `mean`). */
  stepMetrics(steps: readonly StepReadback[], mean: (f: (i: number) => number) => number, refGrid: Float32Array | undefined): Record<string, number>;
}

export interface GroupConfig {
  readonly method: GroupMethod;
  /** Completions sampled per prompt: GRPO's G, RLOO's k (≥ 2). */
  readonly groupSize: number;
  readonly promptsPerIteration: number;
  readonly lr: number;
  /** Optimizer steps of linear learning-rate warm-up (constant after). */
  readonly warmup: number;
  /** Global gradient-norm clipping. */
  readonly gradClip: number;
  /** β: GRPO's k3 term in the loss, RLOO's KL penalty in the reward; 0: no reference model. */
  readonly beta: number;
  readonly maxResponseTokens: number;
  /** The reward of a completion without EOS, instead of its score (the lab's response rule); null: its score as it is (TRL's GRPO). */
  readonly noEosPenalty: number | null;
  /** Tokens of a policy step's micro-batch (default POLICY_MICROBATCH_TOKENS; the update is the same whatever it is). */
  readonly microBatchTokens?: number;
  /** Dynamic sampling: at most this many more rounds of prompts an iteration to replace groups with no spread (0 or undefined: off). */
  readonly dynamicRounds?: number;
}

/** A prompt's sampled group, scored: its G rows. */
interface SampledGroup {
  prompt: string;
  query: Uint32Array;
  ids: Uint32Array[];
  texts: string[];
  finished: boolean[];
  /** The reward source's scores. */
  scores: number[];
  /** The training rewards (noEosPenalty for a completion without EOS). */
  rewards: number[];
}

export interface GroupModels {
  policy: GPT;
  /** The frozen SFT policy the KL is measured against; needed when β > 0, never read at β = 0 (may be undefined). */
  reference: GPT | undefined;
  /** The training reward. */
  reward: RewardSource;
  /** The reward model, for objective/scores when the reward source is another one (undefined: none in the run). */
  proxy?: GPT;
}

export interface GroupIteration {
  /** The iteration's metrics (the stage that runs it names the record's stage). */
  metrics: Omit<MetricRecord, 'stage'>;
  /** Its completions, each with its group, reward and advantage. */
  episodes: Episode[];
}

const sum = (xs: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s;
};
const mean = (xs: ArrayLike<number>) => sum(xs) / xs.length;

/** (B,T): each row's value on its response tokens (the mask's 1s), 0 elsewhere: a sequence's advantage on all its tokens. */
export function broadcastToTokens(batch: Pick<PackedBatch, 'B' | 'T' | 'mask'>, perSequence: ArrayLike<number>): Float32Array {
  if (perSequence.length !== batch.B) throw new RangeError(`broadcastToTokens: ${perSequence.length} values for ${batch.B} rows`);
  return Float32Array.from(batch.mask, (m, i) => (m !== 0 ? perSequence[Math.floor(i / batch.T)] : 0));
}

/** (B) Σₜ mask·f(t) over each row's response tokens. */
function rowSums(batch: PackedBatch, f: (i: number) => number): Float64Array {
  const out = new Float64Array(batch.B);
  for (let b = 0; b < batch.B; b++) for (let i = b * batch.T; i < (b + 1) * batch.T; i++) if (batch.mask[i] !== 0) out[b] += f(i);
  return out;
}

/** Row b's values of `grid` (B,T) on its response tokens, in order. */
function responseValues(batch: PackedBatch, grid: ArrayLike<number>, b: number): number[] {
  const out: number[] = [];
  for (let i = b * batch.T; i < (b + 1) * batch.T; i++) if (batch.mask[i] !== 0) out.push(grid[i]);
  return out;
}

/** The token mean over the batch's response tokens of f (TRL's masked mean). */
function tokenMean(batch: PackedBatch, f: (i: number) => number): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < batch.mask.length; i++) {
    if (batch.mask[i] === 0) continue;
    s += f(i);
    n++;
  }
  return n === 0 ? 0 : s / n;
}

/** k3 = exp(e) − e − 1, e = log π_ref − log π, without cancellation for small e (the kernel's estimator). */
export function k3(logp: number, refLogp: number): number {
  const e = refLogp - logp;
  return Math.expm1(e) - e;
}

export class GroupTrainer {
  /** Iterations done. */
  iteration = 0;
  /** Completions sampled so far. */
  episodes = 0;
  private readonly trainer: Trainer;

  constructor(
    readonly models: GroupModels,
    readonly tokenizer: Tokenizer,
    readonly config: GroupConfig,
    readonly seed: number,
    /** The task's gold reward (hidden from training; only reported). */
    readonly gold: ((prompt: string, response: string) => number) | undefined,
  ) {
    const c = config;
    const who = c.method.name;
    if (!Number.isInteger(c.groupSize) || c.groupSize < 2) throw new Error(`${who}: groupSize must be an integer ≥ 2, got ${c.groupSize}`);
    if (!(Number.isInteger(c.method.passes) && c.method.passes >= 1)) throw new Error(`${who}: iterations must be an integer ≥ 1, got ${c.method.passes}`);
    if (!(c.beta >= 0)) throw new Error(`${who}: β must be ≥ 0, got ${c.beta}`);
    if (c.beta > 0 && !models.reference) throw new Error(`${who}: β = ${c.beta} needs the reference policy`);
    if (models.policy.head !== undefined || models.reference?.head !== undefined) throw new Error(`${who}: the policy and the reference need the LM head`);
    if (models.proxy && models.proxy.head !== 'score') throw new Error(`${who}: the reward model needs the score head`);
    models.policy.eval(); // dropout off in every model during RL
    models.reference?.eval();
    models.proxy?.eval();
    this.trainer = new Trainer(models.policy, { schedule: { maxLr: c.lr, minLr: c.lr, warmupSteps: c.warmup, decaySteps: c.warmup }, optimizer: { gradClip: c.gradClip } });
  }

  /** The learning rate of the next optimizer step. */
  get lr(): number {
    return this.trainer.lr;
  }

  /** Optimizer steps taken (the method's μ per iteration). */
  get optimizerSteps(): number {
    return this.trainer.step;
  }

  /**
   * Runs one iteration on these prompts (promptsPerIteration of them); with dynamic sampling, `more(n)` gives the next
   * n prompts to sample in place of groups with no spread.
   */
  async step(prompts: readonly string[], more?: (n: number) => readonly string[]): Promise<GroupIteration> {
    const c = this.config;
    const m = c.method;
    const G = c.groupSize;
    const P = c.promptsPerIteration;
    const { policy, reference } = this.models;
    const tok = this.tokenizer;
    const who = m.name;
    const rounds = c.dynamicRounds ?? 0;
    if (prompts.length !== P) throw new Error(`${who}: got ${prompts.length} prompts for a batch of ${P}`);
    if (rounds > 0 && !more) throw new Error(`${who}: dynamic sampling needs a source of more prompts`);
    const it = this.iteration;

    // 1. Rollout and score, a round at a time (one round without dynamic sampling).
    let groups = await this.sampleGroups(prompts, mixSeed(this.seed, it));
    let drawn = groups.length;
    let extraRounds = 0;
    if (rounds > 0) {
      const [spread, flat]: SampledGroup[][] = [[], []];
      const sort = (gs: SampledGroup[]) => gs.forEach((g) => (allEqual(g.rewards, 0, G) ? flat : spread).push(g));
      sort(groups);
      while (extraRounds < rounds && spread.length < P) {
        extraRounds++;
        const next = await this.sampleGroups(more!(P - spread.length), mixSeed(mixSeed(this.seed, it), extraRounds));
        drawn += next.length;
        sort(next);
      }
      groups = [...spread, ...flat].slice(0, P);
    }
    const rowPrompts = groups.flatMap((g) => Array<string>(G).fill(g.prompt));
    const ids = groups.flatMap((g) => g.ids);
    const texts = groups.flatMap((g) => g.texts);
    const finished = groups.flatMap((g) => g.finished);
    const scores = groups.flatMap((g) => g.scores);
    const rewards = Float64Array.from(groups.flatMap((g) => g.rewards));
    const batch = packSequences(groups.flatMap((g) => Array<Uint32Array>(G).fill(g.query)), ids, tok.special.pad, policy.config.contextLength);

    // 2. The reference's (β > 0) and the rollout policy's (when needed before the update) log-probs.
    const proxy = this.models.reward.kind === 'rm' ? scores : this.models.proxy ? await lastTokenScores(this.models.proxy, batch) : undefined;
    const golds = this.gold ? rowPrompts.map((p, b) => this.gold!(p, texts[b])) : undefined;
    const refGrid = c.beta > 0 ? await sequenceLogprobs(reference!, batch) : undefined;
    const klInReward = m.klInReward && refGrid !== undefined;
    const oldGrid = klInReward || m.passes > 1 ? await sequenceLogprobs(policy, batch) : undefined;

    // 3. Advantages. klSeq: k1 summed over each completion, the rollout policy against the reference.
    let klSeq = klInReward ? rowSums(batch, (i) => oldGrid![i] - refGrid[i]) : undefined;
    const { advantages, metrics: methodMetrics } = m.advantages(rewards, G, c.beta, klSeq);

    // 4. Optimise: the method's μ steps, each over the whole batch.
    const weights = aggregationWeights(batch.mask, batch.T, m.aggregation, c.maxResponseTokens);
    const advGrid = broadcastToTokens(batch, advantages);
    const lossRef = m.klInReward ? undefined : refGrid;
    const steps: StepReadback[] = [];
    for (let pass = 0; pass < m.passes; pass++) steps.push(await this.policyStep(batch, weights, advGrid, oldGrid, lossRef, `${m.name} step ${this.trainer.step}`));

    // 5. Metrics.
    this.iteration++;
    this.episodes += batch.B;
    const logp = oldGrid ?? steps[0].logp; // the rollout policy's log-probs (μ = 1: the step's forward, before its update)
    const metrics: GroupIteration['metrics'] = {
      step: it,
      reward: mean(rewards),
      reward_std: groupStd(rewards, G),
      frac_reward_zero_std: fracRewardZeroStd(rewards, G),
      entropy: -tokenMean(batch, (i) => logp[i]),
      'completions/mean_length': mean(batch.lengths),
      lr: steps[steps.length - 1].lr,
      grad_norm: mean(steps.map((s) => s.gradNorm)),
      episode: this.episodes,
      ...(rounds > 0 ? { 'sampling/groups_drawn': drawn, 'sampling/rounds': extraRounds } : {}),
      ...methodMetrics,
      ...m.stepMetrics(steps, (f) => tokenMean(batch, f), refGrid),
    };
    if (refGrid) {
      if (!klSeq) klSeq = rowSums(batch, (i) => logp[i] - refGrid[i]);
      const kl = mean(klSeq);
      metrics['objective/kl'] = kl;
      metrics['policy/sqrt_kl'] = Math.sqrt(Math.max(0, kl));
      if (batch.B > 1) metrics['objective/kl_stderr'] = Math.sqrt(sum(Array.from(klSeq, (k) => (k - kl) ** 2)) / (batch.B - 1) / batch.B);
    }
    if (proxy) metrics['objective/scores'] = mean(proxy);
    if (golds) metrics['objective/gold'] = mean(golds);

    const episodes: Episode[] = rowPrompts.map((prompt, b) => {
      const logprobs = responseValues(batch, logp, b);
      return {
        prompt,
        response: texts[b],
        score: rewards[b],
        gold: golds?.[b],
        finished: finished[b],
        group: Math.floor(b / G),
        tokens: tok.tokenize(ids[b]),
        kl: refGrid ? responseValues(batch, Float64Array.from(logp, (l, i) => l - refGrid[i]), b) : logprobs.map(() => NaN),
        advantages: logprobs.map(() => advantages[b]),
        logprobs,
      };
    });
    return { metrics, episodes };
  }

  /** Samples G completions of each prompt (rows of a group contiguous) and scores them. */
  private async sampleGroups(prompts: readonly string[], seed: number): Promise<SampledGroup[]> {
    const c = this.config;
    const G = c.groupSize;
    const { policy } = this.models;
    const queries = prompts.map((p) => encodeQuery(this.tokenizer, p, policy.config.contextLength - c.maxResponseTokens));
    const rowPrompts = prompts.flatMap((p) => Array<string>(G).fill(p));
    const { rollout, batch, texts } = await sampleRollout(policy, this.tokenizer, queries.flatMap((q) => Array<Uint32Array>(G).fill(q)), c.maxResponseTokens, seed);
    const scores = await this.models.reward.score({ batch, prompts: rowPrompts, responses: texts });
    const rows = (g: number) => Array.from({ length: G }, (_, i) => g * G + i);
    return prompts.map((prompt, g) => ({
      prompt,
      query: queries[g],
      ids: rows(g).map((b) => rollout.ids[b]),
      texts: rows(g).map((b) => texts[b]),
      finished: rows(g).map((b) => rollout.finished[b]),
      scores: rows(g).map((b) => scores[b]),
      rewards: rows(g).map((b) => (rollout.finished[b] || c.noEosPenalty === null ? scores[b] : c.noEosPenalty)),
    }));
  }

  /**
   * One optimizer step on the whole batch, its gradients accumulated over micro-batches of rows in one submit.
   * oldGrid: the ratio's denominator (undefined: the step's own log-probs, ρ = 1); refGrid: the reference's, when the
   * loss reads them.
   */
  private async policyStep(batch: PackedBatch, weights: Float32Array, advGrid: Float32Array, oldGrid: Float32Array | undefined, refGrid: Float32Array | undefined, label: string): Promise<StepReadback> {
    const c = this.config;
    const m = c.method;
    const { policy } = this.models;
    const rt = policy.rt;
    const { B, T } = batch;
    const rows = Math.max(1, Math.floor((c.microBatchTokens ?? POLICY_MICROBATCH_TOKENS) / T));
    // Every micro-batch's inputs are uploaded before the submit (an upload lands before the whole submit, so its buffer
    // cannot be reused within it); their outputs are copied out of each micro-batch's tape before the next reuses them.
    const micro: { r0: number; n: number; input: BatchTensors; adv: Tensor; old?: Tensor; ref?: Tensor; logp: Tensor; stats?: Tensor }[] = [];
    try {
      for (let r0 = 0; r0 < B; r0 += rows) {
        const r1 = Math.min(B, r0 + rows);
        const n = (r1 - r0) * T;
        const [from, to] = [r0 * T, r1 * T];
        const input = policy.uploadBatch({ B: r1 - r0, T, tokens: batch.tokens.subarray(from, to), targets: batch.targets.subarray(from, to), weights: weights.subarray(from, to) });
        const mb: (typeof micro)[number] = { r0, n, input, adv: rt.upload(advGrid.subarray(from, to), [n], 'group advantages', 'f32'), logp: rt.tensor([n], 'group step log-probs') };
        micro.push(mb);
        if (oldGrid) mb.old = rt.upload(oldGrid.subarray(from, to), [n], 'group old logprobs', 'f32');
        if (refGrid) mb.ref = rt.upload(refGrid.subarray(from, to), [n], 'group reference logprobs', 'f32');
      }
      const r = await this.trainer.objectiveStep(label, (step) => {
        for (const mb of micro) {
          const tape = new Tape(step);
          try {
            const logits = policy.logits(tape, policy.hidden(tape, mb.input.tokens, mb.input.index));
            const logp = op.logprob(tape, logits, mb.input.targets, 1);
            step.copy(logp.tensor, mb.logp);
            const stats = m.loss(tape, { logp, old: mb.old ?? logp.tensor, ref: mb.ref, advantages: mb.adv, weights: mb.input.weights }, c.beta);
            if (stats) step.copy(stats, (mb.stats ??= rt.tensor([3, mb.n], 'group step statistics')));
            tape.backward();
          } finally {
            tape.dispose(); // its activations go back to the pool for the next micro-batch (dispatches run in order)
          }
        }
        return micro.flatMap((mb) => (mb.stats ? [mb.logp, mb.stats] : [mb.logp]));
      });
      const logp = new Float32Array(B * T);
      const stats = micro.some((mb) => mb.stats) ? new Float32Array(3 * B * T) : undefined;
      let k = 0;
      for (const mb of micro) {
        const at = mb.r0 * T;
        logp.set(r.reads[k++], at);
        if (!mb.stats) continue;
        const part = r.reads[k++]; // (3,n): row s of it is row s of the batch's (3, B·T), at the micro-batch's offset
        for (let s = 0; s < 3; s++) stats!.set(part.subarray(s * mb.n, (s + 1) * mb.n), s * B * T + at);
      }
      return { logp, stats, gradNorm: r.gradNorm, lr: r.lr };
    } finally {
      for (const mb of micro) {
        policy.freeBatch(mb.input);
        rt.free(mb.adv, mb.logp, ...[mb.stats, mb.old, mb.ref].filter((t): t is Tensor => t !== undefined));
      }
    }
  }

  dispose(): void {
    this.trainer.dispose();
  }
}

/** The mean over groups of each group's unbiased standard deviation (TRL's reward_std with group scaling). */
function groupStd(rewards: ArrayLike<number>, G: number): number {
  let total = 0;
  const groups = rewards.length / G;
  for (let g = 0; g < groups; g++) {
    let s = 0;
    for (let i = g * G; i < (g + 1) * G; i++) s += rewards[i];
    const mu = s / G;
    let sq = 0;
    for (let i = g * G; i < (g + 1) * G; i++) sq += (rewards[i] - mu) ** 2;
    total += Math.sqrt(sq / (G - 1));
  }
  return total / groups;
}
