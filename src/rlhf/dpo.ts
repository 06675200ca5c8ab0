// Direct preference optimisation from rankings: sigmoid DPO (Rafailov et al. 2023) and IPO (Azar et al. 2023), with
// the conventions of Hugging Face TRL's DPOTrainer where the papers leave a choice.
//
// One optimizer step over `groupsPerStep` rankings:
//   1. Pack: each ranking (a prompt and its K completions, best → worst) is one group of K rows, as the reward model
//      packs them (src/rlhf/reward-model.ts packRankings); all C(K,2) pairs of a ranking are one batch element.
//   2. Reference: the frozen SFT policy's log-prob of every response token (one forward without gradients).
//   3. Policy: forward with the tape, log π of every target (op.logprob), then the fused loss kernel
//      (shaders/preference_loss_forward_backward.wgsl): per row z = Σₜ log π − log π_ref over the response tokens, per pair
//      h = z_w − z_l, loss −log σ(β·h) (sigmoid) or (h − 1/(2β))² (IPO), mean over a ranking's pairs, mean over
//      rankings; backward through the whole model; gradient-norm clipping and AdamW, one submit.
//   4. Metrics (TRL's names): the implicit rewards β·z of each pair's chosen and rejected response, their margin and
//      the fraction ordered right, and the responses' summed log-probs.
//
// Implementation details and departures:
//   - Sequence log-probs are summed over response tokens (not averaged: the DPO derivation is over whole responses);
//     prompt tokens carry no weight. Dropout is off in both models, as in every RLHF stage here.
//   - K-way rankings are used as all their C(K,2) pairs with weight 1/C(K,2) each (the reward model's convention):
//     a ranking counts once whatever K is. TRL takes one (chosen, rejected) pair per example.
//   - No label smoothing (conservative DPO) and no reference-free variant; β is fixed.
//   - The held-out pairs (the reward model's held-out rankings) are scored the same way without gradients, so the
//     implicit reward's held-out accuracy can be put beside the reward model's.
import { Tape } from '../autograd/tape';
import * as op from '../autograd/ops';
import { mixSeed, shuffledIndices } from '../model/data';
import type { GPT } from '../model/gpt';
import type { Tokenizer } from '../model/tokenizer';
import { Trainer } from '../model/train';
import { validatePreferenceGroups, type PreferenceLoss } from '../kernels/preference-loss';
import { SCORE_CHUNK_RANKINGS } from './batch-sizes';
import { sequenceLogprobs } from './forward';
import type { Ranking } from './preferences';
import { packRankings } from './reward-model';
import type { PackedBatch } from './sequences';

export interface DPOOptions {
  loss: PreferenceLoss;
  beta: number;
  lr: number;
  warmupSteps: number;
  /** Optimizer steps the schedule is built for (warm-up is capped at this). */
  steps: number;
  maxResponseTokens: number;
}

/** Per-pair statistics of implicit rewards over groups (TRL's rewards/* and logps/*). */
export interface PairStats {
  chosen: number;
  rejected: number;
  accuracy: number;
  margin: number;
  logpChosen: number;
  logpRejected: number;
}

export interface DPOStep extends PairStats {
  loss: number;
  lr: number;
  gradNorm: number;
}

/** (B) Σₜ mask·grid over each row of a packed batch. */
export function rowSums(batch: PackedBatch, grid: ArrayLike<number>): Float64Array {
  const out = new Float64Array(batch.B);
  for (let b = 0; b < batch.B; b++) for (let t = b * batch.T; t < (b + 1) * batch.T; t++) if (batch.mask[t] !== 0) out[b] += grid[t];
  return out;
}

/** Means over every pair (i above j) of every group: chosen/rejected rewards and log-probs, accuracy, margin. */
export function pairStats(rewards: ArrayLike<number>, logps: ArrayLike<number>, offsets: ArrayLike<number>): PairStats {
  const s = { chosen: 0, rejected: 0, accuracy: 0, margin: 0, logpChosen: 0, logpRejected: 0 };
  let pairs = 0;
  for (let g = 0; g + 1 < offsets.length; g++) {
    for (let i = offsets[g]; i < offsets[g + 1]; i++) {
      for (let j = i + 1; j < offsets[g + 1]; j++) {
        pairs++;
        s.chosen += rewards[i];
        s.rejected += rewards[j];
        s.accuracy += rewards[i] > rewards[j] ? 1 : 0;
        s.logpChosen += logps[i];
        s.logpRejected += logps[j];
      }
    }
  }
  for (const k of Object.keys(s) as (keyof PairStats)[]) s[k] /= pairs;
  s.margin = s.chosen - s.rejected;
  return s;
}

export class DPOTrainer {
  private readonly trainer: Trainer;

  constructor(
    readonly policy: GPT,
    /** The frozen SFT policy. */
    readonly reference: GPT,
    readonly tokenizer: Tokenizer,
    readonly options: DPOOptions,
  ) {
    if (policy.head !== undefined || reference.head !== undefined) throw new Error('DPO: the policy and the reference need the LM head');
    policy.eval();
    reference.eval();
    const warm = Math.min(options.warmupSteps, options.steps);
    this.trainer = new Trainer(policy, { schedule: { maxLr: options.lr, minLr: options.lr, warmupSteps: warm, decaySteps: warm } });
  }

  get step(): number {
    return this.trainer.step;
  }

  private pack(rankings: readonly Ranking[]) {
    const packed = packRankings(this.tokenizer, rankings, this.options.maxResponseTokens, this.policy.config.contextLength);
    validatePreferenceGroups(packed.offsets, packed.batch.B);
    return packed;
  }

  /** One optimizer step on these rankings. */
  async train(rankings: readonly Ranking[]): Promise<DPOStep> {
    const { policy, options } = this;
    const { batch, offsets } = this.pack(rankings);
    const G = rankings.length;
    const rt = policy.rt;
    const refLogp = await sequenceLogprobs(this.reference, batch);
    const input = policy.uploadBatch({ B: batch.B, T: batch.T, tokens: batch.tokens, targets: batch.targets, weights: batch.mask });
    const ref = rt.upload(refLogp, [batch.B * batch.T], 'dpo reference logprobs', 'f32');
    const offs = rt.upload(offsets, [G + 1], 'dpo group offsets', 'u32');
    let tape: Tape | undefined;
    try {
      const r = await this.trainer.objectiveStep(`dpo step ${this.trainer.step}`, (step) => {
        tape = new Tape(step);
        const logits = policy.logits(tape, policy.hidden(tape, input.tokens, input.index));
        const logp = op.logprob(tape, logits, input.targets, 1);
        const { losses, rewards } = op.preferenceLoss(tape, logp, ref, input.weights.reshape([batch.B, batch.T]), offs, options.beta, options.loss, 1 / G);
        tape.backward();
        return [losses, rewards, logp.tensor];
      });
      const [losses, rewards, logp] = r.reads;
      return { loss: losses.reduce((a, b) => a + b, 0) / G, ...pairStats(rewards, rowSums(batch, logp), offsets), lr: r.lr, gradNorm: r.gradNorm };
    } finally {
      tape?.dispose();
      policy.freeBatch(input);
      rt.free(ref, offs);
    }
  }

  /** Implicit-reward statistics on rankings the policy does not train on (no gradients), in chunks of SCORE_CHUNK_RANKINGS. */
  async heldout(rankings: readonly Ranking[]): Promise<PairStats> {
    const rewards: number[] = [];
    const logps: number[] = [];
    const offsets = [0];
    for (let i = 0; i < rankings.length; i += SCORE_CHUNK_RANKINGS) {
      const { batch } = this.pack(rankings.slice(i, i + SCORE_CHUNK_RANKINGS));
      const logp = rowSums(batch, await sequenceLogprobs(this.policy, batch));
      const ref = rowSums(batch, await sequenceLogprobs(this.reference, batch));
      logp.forEach((lp, b) => {
        rewards.push(this.options.beta * (lp - ref[b]));
        logps.push(lp);
      });
    }
    for (const r of rankings) offsets.push(offsets[offsets.length - 1] + r.completions.length);
    return pairStats(rewards, logps, offsets);
  }

  dispose(): void {
    this.trainer.dispose();
  }
}

/** The rankings of each optimizer step: `epochs` shuffled passes, `perStep` rankings a step (the last may be fewer). */
export function dpoSchedule(count: number, perStep: number, epochs: number, seed: number): number[][] {
  const steps: number[][] = [];
  for (let epoch = 0; epoch < epochs; epoch++) {
    const order = shuffledIndices(count, mixSeed(seed, epoch));
    for (let s = 0; s < order.length; s += perStep) steps.push(order.slice(s, s + perStep));
  }
  return steps;
}
