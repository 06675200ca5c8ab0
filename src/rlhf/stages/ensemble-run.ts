// The reward-model ensemble (./ensemble.ts): on the run's preference data (the same split the reward model used;
// made now when no stage made it yet), M members trained one after another with the reward-model stage's code and
// settings (rm-run.ts fitRewardModel), member i on a bootstrap resample of the training rankings — as many as there
// are, drawn with replacement with seed mixSeed(seed, 33, i) — with training-order seed mixSeed(seed, 34, i) and
// score-head seed mixSeed(seed, 35, i). Each member is centred on the demonstrations as the reward model is. Then the
// held-out report: every member's accuracy, the mean-combined ensemble's accuracy and gold agreement, and how much the
// members disagree; and one checkpoint holding every member (weights member<i>/…, src/model/checkpoint.ts).
import { joinMembers } from '../../model/checkpoint';
import { mixSeed, seededRandom } from '../../model/data';
import type { MetricRecord } from '../metrics';
import { combineEnsemble, ENSEMBLE_CHECKPOINT, memberSpread } from '../reward-source-kinds';
import { rankingAgreement } from '../reward-model';
import type { StageContext, Weights } from './context';
import { preferenceData } from './preference-data';
import { fitRewardModel } from './rm-run';

/** `n` indices drawn uniformly from 0…n−1 with replacement (a bootstrap resample), deterministic from `seed`. */
export function bootstrapIndices(n: number, seed: number): number[] {
  const random = seededRandom(seed);
  return Array.from({ length: n }, () => Math.min(n - 1, Math.floor(random() * n)));
}

export async function runEnsemble(ctx: StageContext): Promise<void> {
  const who = 'the reward-model ensemble';
  ctx.need('sft', who);
  const { ensemble: e, seed } = ctx.config;
  const { train, heldout } = await preferenceData(ctx, 'ensemble');
  const report = ctx.progress('ensemble', performance.now());
  const members: Weights[] = [];
  const accuracies: number[] = [];
  /** Per member, its centred score of every held-out completion (rankings flattened). */
  const scores: number[][] = [];
  let step = 0;
  for (let i = 0; i < e.members; i++) {
    await ctx.control.gate();
    const resample = bootstrapIndices(train.length, mixSeed(seed, 33, i)).map((j) => train[j]);
    const fit = await fitRewardModel(ctx, who, {
      train: resample,
      heldout,
      seed: mixSeed(seed, 34, i),
      headSeed: mixSeed(seed, 35, i),
      onStep: async (m) => {
        ctx.emit({ stage: 'ensemble', step: step++, 'ensemble/member': i, 'ensemble/loss': m['rm/loss'], 'ensemble/train_accuracy': m['rm/accuracy'], lr: m.lr, grad_norm: m.grad_norm });
        report(i * m.steps + m.step + 1, e.members * m.steps);
        await ctx.control.gate();
      },
    });
    members.push(fit.weights);
    accuracies.push(fit.heldout.accuracy);
    scores.push(fit.heldout.scores.flat());
    ctx.emit({ stage: 'ensemble', step, 'ensemble/member': i, 'ensemble/member_accuracy': fit.heldout.accuracy });
    ctx.events.log?.(`reward-model ensemble: member ${i + 1}/${e.members} held-out accuracy ${fit.heldout.accuracy.toFixed(3)} (${new Set(resample).size} distinct of ${train.length} training rankings)`);
  }
  // The mean-combined ensemble on the held-out rankings, regrouped per ranking.
  const combined = combineEnsemble(scores, 'mean');
  let at = 0;
  const grouped = heldout.map((r) => Array.from(combined.subarray(at, (at += r.completions.length))));
  const ev = rankingAgreement(grouped, heldout, ctx.task.gold);
  const spread = memberSpread(scores);
  const disagreement = spread.reduce((a, b) => a + b, 0) / spread.length;
  const record: MetricRecord = {
    stage: 'ensemble',
    step,
    'ensemble/accuracy': ev.accuracy,
    'ensemble/member_accuracy_min': Math.min(...accuracies),
    'ensemble/member_accuracy_max': Math.max(...accuracies),
    'ensemble/disagreement': disagreement,
  };
  if (ev.goldAgreement !== undefined) record['ensemble/gold_agreement'] = ev.goldAgreement;
  ctx.emit(record);
  ctx.summary.ensemble = {
    members: e.members,
    combine: e.combine,
    lambda: e.lambda,
    heldout_accuracy: ev.accuracy,
    member_heldout_accuracy: accuracies,
    gold_agreement: ev.goldAgreement ?? null,
    disagreement,
  };
  ctx.events.log?.(
    `reward-model ensemble: ${e.members} members, held-out accuracy of their mean ${ev.accuracy.toFixed(3)} (members ${Math.min(...accuracies).toFixed(3)}…${Math.max(...accuracies).toFixed(3)}), ` +
      `disagreement (mean std of their scores) ${disagreement.toFixed(3)}; RL stages combine them by ${e.combine}${e.combine === 'uwo' ? ` (λ = ${e.lambda})` : ''}`,
  );
  ctx.keep(ENSEMBLE_CHECKPOINT, joinMembers(members));
}
