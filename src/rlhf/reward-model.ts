// The reward model (InstructGPT §3.5): the SFT model with a scalar head (`score`, C → 1) read at the final token of
// prompt + response, trained on K-way rankings with
//     loss = −1/C(K,2) · Σ_{i ranked above j} log σ(r_i − r_j)
// where ALL C(K,2) comparisons of one prompt form one batch element: each of its K completions is run through the
// model once, and the pairs are formed from the K scores (shaders/ranking_loss_forward_backward.wgsl). Shuffling
// the pairs as independent examples would run each completion K−1 times and overfit (the paper's observation).
//
// Implementation details (and departures from the paper):
//   1. Initialised from the SFT model (the paper uses a 6B RM for a 175B policy; here the same tiny GPT), the head
//      from N(0, 1/(C+1)) (N-details). Dropout off, as every RLHF stage here.
//   2. One epoch by default (more overfits, as the paper found); `groupsPerStep` prompts per AdamW step, each a
//      batch element of K sequences; constant learning rate after a short warm-up.
//   3. Accuracy = fraction of a ranking's pairs the model orders as the labeler did; gold agreement the same
//      against the task's hidden gold ordering (it can only reach the labelers' own agreement with gold).
//   4. After training a bias is added so the demonstrations score 0 on average (InstructGPT), which makes
//      "reward > 0" mean "better than a demonstration" and keeps PPO's value targets centred.
import { Tape } from '../autograd/tape';
import * as op from '../autograd/ops';
import { generate } from '../model/generate';
import type { GPT } from '../model/gpt';
import { mixSeed, shuffledIndices, type SftExample } from '../model/data';
import type { Tokenizer } from '../model/tokenizer';
import { Trainer } from '../model/train';
import { SAMPLE_SEED_BLOCK_ROWS, sampleBatchRows, SCORE_CHUNK_RANKINGS } from './batch-sizes';
import { lastTokenScores } from './forward';
import { pairwiseAgreement } from './math';
import type { Ranking } from './preferences';
import { encodeQuery, encodeResponse, packSequences, type PackedBatch } from './sequences';

export interface SampleOptions {
  /** Response tokens at most. */
  maxResponseTokens: number;
  temperature: number;
  seed: number;
  /** Sequences generated per batch (default sampleBatchRows of the adapter); it does not change the samples. */
  batchSize?: number;
  /** Called after each batch (sequences done, total): progress, and a point to pause or stop at. */
  onBatch?: (done: number, total: number) => void | Promise<void>;
}

/** Samples `k` responses for every prompt from `policy` (rows grouped per prompt). Texts, EOS-finished flags. */
export async function sampleResponses(
  policy: GPT,
  tokenizer: Tokenizer,
  prompts: readonly string[],
  k: number,
  options: SampleOptions,
): Promise<{ texts: string[][]; ids: Uint32Array[][]; finished: boolean[][] }> {
  const { maxResponseTokens, temperature, seed, batchSize = sampleBatchRows(policy.rt.adapter) } = options;
  const queryRoom = policy.config.contextLength - maxResponseTokens;
  const queries = prompts.flatMap((p) => Array.from({ length: k }, () => encodeQuery(tokenizer, p, queryRoom)));
  const block = SAMPLE_SEED_BLOCK_ROWS;
  const stream = (r: number) => [mixSeed(seed, r - (r % block)), r % block] as const;
  const ids: Uint32Array[] = [];
  const finished: boolean[] = [];
  for (let i = 0; i < queries.length; i += batchSize) {
    const rows = queries.slice(i, i + batchSize);
    const r = await generate(policy, {
      prompts: rows,
      maxNewTokens: maxResponseTokens,
      temperature,
      topK: 0,
      topP: 1,
      streams: rows.map((_, j) => stream(i + j)),
      eos: tokenizer.special.eos,
    });
    ids.push(...r.ids);
    finished.push(...r.finished);
    await options.onBatch?.(ids.length, queries.length);
  }
  const group = <X>(xs: X[]) => prompts.map((_, p) => xs.slice(p * k, (p + 1) * k));
  return { texts: group(ids.map((r) => tokenizer.decode(r, { specials: 'drop' }))), ids: group(ids), finished: group(finished) };
}

/** Packs rankings (completions best→worst) as one batch: rows grouped per ranking, offsets (G+1) delimiting them. */
export function packRankings(tokenizer: Tokenizer, rankings: readonly Ranking[], maxResponseTokens: number, contextLength: number): { batch: PackedBatch; offsets: Uint32Array } {
  const queries: Uint32Array[] = [];
  const responses: Uint32Array[] = [];
  const offsets = new Uint32Array(rankings.length + 1);
  rankings.forEach((r, g) => {
    const q = encodeQuery(tokenizer, r.prompt, contextLength - maxResponseTokens);
    for (const c of r.completions) {
      queries.push(q);
      responses.push(encodeResponse(tokenizer, c, maxResponseTokens));
    }
    offsets[g + 1] = offsets[g] + r.completions.length;
  });
  return { batch: packSequences(queries, responses, tokenizer.special.pad, contextLength), offsets };
}

export interface RewardModelTrainingOptions {
  lr: number;
  /** Rankings (prompts) per optimizer step. */
  groupsPerStep: number;
  epochs: number;
  warmupSteps: number;
  seed: number;
  maxResponseTokens: number;
}

export interface RewardModelStep {
  step: number;
  steps: number;
  'rm/loss': number;
  'rm/accuracy': number;
  'rm/margin': number;
  'rm/reward_mean': number;
  'rm/reward_min': number;
  'rm/reward_max': number;
  lr: number;
  grad_norm: number;
}

/** Trains `rm` (a GPT with the score head) on rankings; calls onStep after every optimizer step. */
export async function trainRewardModel(
  rm: GPT,
  tokenizer: Tokenizer,
  rankings: readonly Ranking[],
  options: RewardModelTrainingOptions,
  onStep?: (m: RewardModelStep) => void | Promise<void>,
): Promise<RewardModelStep[]> {
  if (rm.head !== 'score') throw new Error('trainRewardModel: the model needs the score head');
  if (rankings.length === 0) throw new Error('trainRewardModel: no rankings to train on');
  const { groupsPerStep: G, epochs, seed } = options;
  const perEpoch = Math.ceil(rankings.length / G);
  const steps = perEpoch * epochs;
  const trainer = new Trainer(rm.eval(), { schedule: { maxLr: options.lr, minLr: options.lr, warmupSteps: Math.min(options.warmupSteps, steps), decaySteps: Math.min(options.warmupSteps, steps) } });
  const log: RewardModelStep[] = [];
  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      const order = shuffledIndices(rankings.length, mixSeed(seed, epoch));
      for (let s = 0; s < perEpoch; s++) {
        const chunk = order.slice(s * G, (s + 1) * G).map((i) => rankings[i]);
        const m = await rankingStep(trainer, tokenizer, chunk, options.maxResponseTokens, `reward model step ${log.length}`);
        const entry = { step: log.length, steps, ...m };
        log.push(entry);
        await onStep?.(entry);
      }
    }
  } finally {
    trainer.dispose();
  }
  return log;
}

async function rankingStep(trainer: Trainer, tokenizer: Tokenizer, rankings: readonly Ranking[], maxResponseTokens: number, label: string) {
  const rm = trainer.model;
  const { batch, offsets } = packRankings(tokenizer, rankings, maxResponseTokens, rm.config.contextLength);
  const G = rankings.length;
  const uploaded = rm.uploadBatch({ B: batch.B, T: batch.T, tokens: batch.tokens, targets: batch.targets, weights: new Float32Array(batch.B * batch.T).fill(1) });
  const last = rm.rt.upload(batch.last, [batch.B], 'rm last positions', 'u32');
  const offs = rm.rt.upload(offsets, [G + 1], 'rm group offsets', 'u32');
  let tape: Tape | undefined;
  try {
    const r = await trainer.objectiveStep(label, (step) => {
      tape = new Tape(step);
      const scores = rm.scalar(tape, rm.hidden(tape, uploaded.tokens, uploaded.index));
      const losses = op.rankingLoss(tape, scores, last, offs, 1 / G);
      tape.backward();
      return [losses, scores.tensor];
    });
    const [losses, grid] = r.reads;
    const scores = Array.from(batch.last, (t, b) => grid[b * batch.T + t]);
    const { accuracy, margin } = rankingStats(scores, offsets);
    return {
      'rm/loss': losses.reduce((a, b) => a + b, 0) / G,
      'rm/accuracy': accuracy,
      'rm/margin': margin,
      'rm/reward_mean': scores.reduce((a, b) => a + b, 0) / scores.length,
      'rm/reward_min': Math.min(...scores),
      'rm/reward_max': Math.max(...scores),
      lr: r.lr,
      grad_norm: r.gradNorm,
    };
  } finally {
    tape?.dispose();
    rm.freeBatch(uploaded);
    rm.rt.free(last, offs);
  }
}

/** Pairwise accuracy (pairs ordered as ranked) and mean margin r_better − r_worse over groups of scores. */
function rankingStats(scores: ArrayLike<number>, offsets: ArrayLike<number>): { accuracy: number; margin: number } {
  let right = 0;
  let pairs = 0;
  let margin = 0;
  for (let g = 0; g + 1 < offsets.length; g++) {
    for (let i = offsets[g]; i < offsets[g + 1]; i++) {
      for (let j = i + 1; j < offsets[g + 1]; j++) {
        pairs++;
        if (scores[i] > scores[j]) right++;
        margin += scores[i] - scores[j];
      }
    }
  }
  return { accuracy: pairs ? right / pairs : NaN, margin: pairs ? margin / pairs : NaN };
}


/** Scores of every completion of every ranking (per ranking, in its order), in chunks of rankings. */
export async function scoreRankings(rm: GPT, tokenizer: Tokenizer, rankings: readonly Ranking[], maxResponseTokens: number): Promise<number[][]> {
  const out: number[][] = [];
  for (let i = 0; i < rankings.length; i += SCORE_CHUNK_RANKINGS) {
    const chunk = rankings.slice(i, i + SCORE_CHUNK_RANKINGS);
    const { batch, offsets } = packRankings(tokenizer, chunk, maxResponseTokens, rm.config.contextLength);
    const scores = await lastTokenScores(rm, batch);
    chunk.forEach((_, g) => out.push(Array.from(scores.subarray(offsets[g], offsets[g + 1]))));
  }
  return out;
}

/** Indices of `scores` best→worst (ties keep the given order). */
export const orderByScore = (scores: readonly number[]): number[] => scores.map((_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);

/** A reward model's held-out quality (evaluateRewardModel). */
export interface RewardModelEvaluation {
  /** Pairwise agreement of its ordering with the labelers' rankings. */
  accuracy: number;
  /** The same against the ordering by the task's gold function (undefined without one). */
  goldAgreement: number | undefined;
  /** The labels' own agreement with the gold ordering. */
  labelerGoldAgreement: number | undefined;
  /** Its score of every completion of every ranking (per ranking, in its order). */
  scores: number[][];
}

/**
 * Held-out quality of the reward model: `accuracy` = pairwise agreement of its ordering with the labelers'
 * rankings; `goldAgreement` = the same against the ordering by the task's gold function (when there is one).
 */
export async function evaluateRewardModel(
  rm: GPT,
  tokenizer: Tokenizer,
  rankings: readonly Ranking[],
  maxResponseTokens: number,
  gold?: (prompt: string, response: string) => number,
): Promise<RewardModelEvaluation> {
  return rankingAgreement(await scoreRankings(rm, tokenizer, rankings, maxResponseTokens), rankings, gold);
}

/** The held-out quality of scores of every completion of `rankings` (a reward model's, or an ensemble's combined ones). */
export function rankingAgreement(scores: number[][], rankings: readonly Ranking[], gold?: (prompt: string, response: string) => number): RewardModelEvaluation {
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const identity = (k: number) => Array.from({ length: k }, (_, i) => i);
  const accuracy = mean(scores.map((s) => pairwiseAgreement(orderByScore(s), identity(s.length))));
  if (!gold) return { accuracy, goldAgreement: undefined, labelerGoldAgreement: undefined, scores };
  const goldOrders = rankings.map((r) => orderByScore(r.completions.map((c) => gold(r.prompt, c))));
  return {
    accuracy,
    goldAgreement: mean(scores.map((s, g) => pairwiseAgreement(orderByScore(s), goldOrders[g]))),
    labelerGoldAgreement: mean(rankings.map((r, g) => pairwiseAgreement(identity(r.completions.length), goldOrders[g]))),
    scores,
  };
}

/** Shifts the score head's bias so the demonstrations score 0 on average; returns the shift applied. */
export async function centerOnDemonstrations(rm: GPT, tokenizer: Tokenizer, demonstrations: readonly SftExample[], maxResponseTokens: number): Promise<number> {
  const scores = await scoreRankings(
    rm,
    tokenizer,
    demonstrations.map((d) => ({ prompt: d.prompt, completions: [d.completion], source: 'imported' as const })),
    maxResponseTokens,
  );
  const mean = scores.reduce((s, [x]) => s + x, 0) / scores.length;
  const bias = (await rm.params.getWeights())['score.bias'];
  rm.params.setWeights({ 'score.bias': [bias[0] - mean] }, { partial: true });
  return -mean;
}
