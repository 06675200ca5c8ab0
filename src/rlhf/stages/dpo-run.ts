// DPO / IPO (src/rlhf/dpo.ts) on the run's preference data, from the SFT policy with the SFT policy frozen as the
// reference. Before the first step, every dpo.evalEvery steps, at the end of every epoch and after the last, a
// held-out check: the implicit reward's accuracy on the held-out rankings, and samples of the policy on held-out
// prompts with their KL to SFT (the estimator PPO logs), gold reward and — when a reward model was trained — proxy
// score: DPO's trajectory on the same gold-vs-√KL frontier as PPO's. A metric alarm, or the GPU running out of
// memory, keeps the last good weights as the checkpoint (the weights of the last check it passed).
import { GpuOutOfMemoryError } from '../../gpu';
import { mixSeed } from '../../model/data';
import { DPOTrainer, dpoSchedule } from '../dpo';
import { sampleKL, samplePolicy } from '../evaluate';
import type { MetricRecord } from '../metrics';
import type { StageContext } from './context';
import { preferenceData } from './preference-data';

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export async function runDpo(ctx: StageContext): Promise<void> {
  const sft = ctx.need('sft', 'DPO');
  const c = ctx.config.dpo;
  const { train, heldout } = await preferenceData(ctx, 'dpo');
  const schedule = dpoSchedule(train.length, c.groupsPerStep, c.epochs, mixSeed(ctx.config.seed, 81));
  const stepsPerEpoch = Math.ceil(train.length / c.groupsPerStep);
  const rmWeights = ctx.weights['reward-model'];
  const policy = ctx.model(sft);
  const reference = ctx.model(sft);
  const rm = rmWeights && ctx.model(rmWeights, 'score');
  const trainer = new DPOTrainer(policy, reference, ctx.tokenizer, { ...c, warmupSteps: c.warmup, steps: schedule.length, maxResponseTokens: ctx.rules.maxResponseTokens });
  const prompts = ctx.task.prompts.heldout.slice(0, c.evalPrompts);
  const report = ctx.progress('dpo', performance.now());

  let heldoutAccuracy = NaN;
  /** The held-out check after `step` optimizer steps. The same prompts and seed every time: the points differ by the policy alone. */
  const check = async (step: number) => {
    const pairs = await trainer.heldout(heldout);
    heldoutAccuracy = pairs.accuracy;
    const samples = await samplePolicy(policy, rm, ctx.tokenizer, prompts, { ...ctx.rules, seed: mixSeed(ctx.config.seed, 82), gold: ctx.task.gold });
    const kls = await sampleKL(policy, reference, samples);
    const kl = mean(kls);
    const record: MetricRecord = {
      stage: 'dpo',
      step,
      'eval_rewards/accuracies': pairs.accuracy,
      'eval_rewards/margins': pairs.margin,
      'objective/kl': kl,
      'policy/sqrt_kl': Math.sqrt(Math.max(0, kl)),
    };
    if (kls.length > 1) record['objective/kl_stderr'] = Math.sqrt(kls.reduce((a, k) => a + (k - kl) ** 2, 0) / (kls.length - 1) / kls.length);
    if (rm) record['objective/scores'] = mean(samples.proxy);
    if (ctx.task.gold) record['objective/gold'] = mean(samples.gold);
    return record;
  };

  let lastGood = sft;
  const emit = async (record: MetricRecord) => {
    try {
      ctx.emit(record);
    } catch (e) {
      ctx.keep('dpo', lastGood);
      throw e;
    }
  };
  let weights;
  try {
    await emit(await check(0));
    for (let s = 0; s < schedule.length; s++) {
      await ctx.control.gate();
      const m = await trainer.train(schedule[s].map((i) => train[i]));
      await emit({
        stage: 'dpo',
        step: s,
        'loss/dpo': m.loss,
        'rewards/chosen': m.chosen,
        'rewards/rejected': m.rejected,
        'rewards/accuracies': m.accuracy,
        'rewards/margins': m.margin,
        'logps/chosen': m.logpChosen,
        'logps/rejected': m.logpRejected,
        lr: m.lr,
        grad_norm: m.gradNorm,
      });
      const done = s + 1;
      // Every evalEvery steps, and at the end of every epoch (the KL per epoch of a run of several).
      // The weights are read back at checks only (not every step): an alarm keeps those of the last passed check.
      if (done % c.evalEvery === 0 || done % stepsPerEpoch === 0 || done === schedule.length) {
        await emit(await check(done));
        lastGood = await policy.params.getWeights();
      }
      report(done, schedule.length);
    }
    weights = lastGood;
    const rmAccuracy = ctx.summary.rm.heldout_accuracy;
    ctx.events.log?.(
      `dpo (${c.loss}): held-out implicit-reward accuracy ${heldoutAccuracy.toFixed(3)} on ${heldout.length} held-out rankings` +
        (rmAccuracy === null ? '' : ` (the reward model on the same pairs: ${rmAccuracy.toFixed(3)})`),
    );
  } catch (e) {
    if (e instanceof GpuOutOfMemoryError) ctx.keep('dpo', lastGood);
    throw e;
  } finally {
    trainer.dispose();
    policy.dispose();
    reference.dispose();
    rm?.dispose();
  }
  ctx.keep('dpo', weights);
}
