// The reward model: the run's preference data, then a scalar-head copy of the SFT model trained on it, evaluated on
// the held-out rankings and centred so the demonstrations score 0. fitRewardModel is that training, evaluation and
// centring for any set of training rankings: the reward-model stage's, and each member of the ensemble's
// (./ensemble-run.ts) — one implementation, the rm.* settings.
import { mixSeed } from '../../model/data';
import type { MetricRecord } from '../metrics';
import type { Ranking } from '../preferences';
import { centerOnDemonstrations, evaluateRewardModel, type RewardModelEvaluation, type RewardModelStep, trainRewardModel } from '../reward-model';
import type { StageContext, Weights } from './context';
import { preferenceData, secondLabelerAgreement } from './preference-data';

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** A reward model fitRewardModel trained: its centred weights, its steps, and its held-out quality. */
export interface FittedRewardModel {
  weights: Weights;
  log: RewardModelStep[];
  /** Held-out accuracy and agreements (unchanged by the centring), and the held-out scores after it. */
  heldout: RewardModelEvaluation;
  /** The bias shift that made the demonstrations average 0. */
  shift: number;
}

export interface RewardModelFit {
  /** Rankings trained on (the preference data's training split, or a resample of it). */
  train: readonly Ranking[];
  heldout: readonly Ranking[];
  /** Seed of the training order. */
  seed: number;
  /** Seed of the score head's initialisation (default: the run's). */
  headSeed?: number;
  /** Called after every optimizer step (log it, report progress, pause or stop there). */
  onStep: (m: RewardModelStep) => Promise<void>;
}

/**
 * A scalar-head copy of the SFT model trained on `fit.train` with the rm.* settings, evaluated on `fit.heldout` and
 * shifted so the demonstrations score 0 on average; the GPU model is freed before it returns.
 */
export async function fitRewardModel(ctx: StageContext, who: string, fit: RewardModelFit): Promise<FittedRewardModel> {
  const sft = ctx.need('sft', who);
  const c = ctx.config.rm;
  const { maxResponseTokens } = ctx.rules;
  const rm = ctx.model(sft, 'score', fit.headSeed);
  try {
    const log = await trainRewardModel(rm, ctx.tokenizer, fit.train, { ...c, seed: fit.seed, groupsPerStep: c.groupsPerStep, warmupSteps: c.warmup, maxResponseTokens }, fit.onStep);
    const ev = await evaluateRewardModel(rm, ctx.tokenizer, fit.heldout, maxResponseTokens, ctx.task.gold);
    const shift = await centerOnDemonstrations(rm, ctx.tokenizer, ctx.task.demonstrations.slice(0, 64), maxResponseTokens);
    const heldout = { ...ev, scores: ev.scores.map((s) => s.map((x) => x + shift)) };
    return { weights: await rm.params.getWeights(), log, heldout, shift };
  } finally {
    rm.dispose();
  }
}

export async function runRewardModel(ctx: StageContext): Promise<void> {
  ctx.need('sft', 'the reward model');
  const { seed } = ctx.config;
  // Made again for this run: a new reward model is trained on the labels as they are now (yours included).
  ctx.rankings = undefined;
  const { train, heldout } = await preferenceData(ctx, 'rm');
  const report = ctx.progress('rm', performance.now());
  const { weights, log, heldout: ev, shift } = await fitRewardModel(ctx, 'the reward model', {
    train,
    heldout,
    seed: mixSeed(seed, 32),
    onStep: async (m) => {
      const { steps: _steps, ...record } = m;
      ctx.emit({ stage: 'rm', ...record });
      report(m.step + 1, m.steps);
      await ctx.control.gate();
    },
  });
  ctx.summary.rm.train_accuracy = mean(log.map((m) => m['rm/accuracy']));
  ctx.summary.rm.heldout_accuracy = ev.accuracy;
  ctx.summary.rm.gold_agreement = ev.goldAgreement ?? null;
  ctx.summary.rm.labeler_gold_agreement = ev.labelerGoldAgreement ?? null;
  const inter = secondLabelerAgreement(ctx, heldout);
  ctx.summary.rm.inter_labeler_agreement = inter;
  const record: MetricRecord = { stage: 'rm', step: log.length, 'rm/heldout_accuracy': ev.accuracy };
  if (ev.goldAgreement !== undefined) record['rm/gold_agreement'] = ev.goldAgreement;
  if (ev.labelerGoldAgreement !== undefined) record['rm/labeler_gold_agreement'] = ev.labelerGoldAgreement;
  if (inter !== null) record['rm/inter_labeler_agreement'] = inter;
  ctx.emit(record);
  const f = (x: number | null | undefined) => x?.toFixed(3) ?? 'n/a';
  ctx.events.log?.(
    `reward model: held-out accuracy ${f(ev.accuracy)} (a second labeler on the same labels: ${f(inter)}), ` +
      `gold agreement ${f(ev.goldAgreement)} (the labels themselves: ${f(ev.labelerGoldAgreement)}); bias shifted by ${shift.toFixed(3)} so demonstrations average 0`,
  );
  ctx.keep('reward-model', weights);
}
