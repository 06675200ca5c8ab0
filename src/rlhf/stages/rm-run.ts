// The reward model: the run's preference data, then a scalar-head copy of the SFT model trained on it, evaluated on
// the held-out rankings and centred so the demonstrations score 0.
import { mixSeed } from '../../model/data';
import type { MetricRecord } from '../metrics';
import { centerOnDemonstrations, evaluateRewardModel, trainRewardModel } from '../reward-model';
import type { StageContext } from './context';
import { preferenceData, secondLabelerAgreement } from './preference-data';

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export async function runRewardModel(ctx: StageContext): Promise<void> {
  const sft = ctx.need('sft', 'the reward model');
  const { rm: c, seed } = ctx.config;
  // Made again for this run: a new reward model is trained on the labels as they are now (yours included).
  ctx.rankings = undefined;
  const { train, heldout } = await preferenceData(ctx, 'rm');
  const report = ctx.progress('rm', performance.now());
  const rm = ctx.model(sft, 'score');
  let weights;
  try {
    const log = await trainRewardModel(rm, ctx.tokenizer, train, { ...c, seed: mixSeed(seed, 32), groupsPerStep: c.groupsPerStep, warmupSteps: c.warmup, maxResponseTokens: ctx.rules.maxResponseTokens }, async (m) => {
      const { steps: _steps, ...record } = m;
      ctx.emit({ stage: 'rm', ...record });
      report(m.step + 1, m.steps);
      await ctx.control.gate();
    });
    ctx.summary.rm.train_accuracy = mean(log.map((m) => m['rm/accuracy']));
    const ev = await evaluateRewardModel(rm, ctx.tokenizer, heldout, ctx.rules.maxResponseTokens, ctx.task.gold);
    const shift = await centerOnDemonstrations(rm, ctx.tokenizer, ctx.task.demonstrations.slice(0, 64), ctx.rules.maxResponseTokens);
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
    weights = await rm.params.getWeights();
  } finally {
    rm.dispose();
  }
  ctx.keep('reward-model', weights);
}
