// PPO against the reward model (src/rlhf/ppo.ts): the four models, one iteration per batch of prompts; the reward
// from the source ppo.rewardSource names (./reward-source.ts: the reward model by default, or the ensemble, the
// task's verifier, the gold oracle) — the value model starts from the reward model whichever it is. A metric
// alarm, or the GPU running out of memory, stops it with the policy's last good weights kept as the PPO checkpoint
// (not the EMA, which took in the refused step); otherwise the checkpoint holds the EMA of the policy weights, which
// evaluation measures. Its prompts come from the source ppo.promptSource names (./prompt-source.ts).
import { GpuOutOfMemoryError } from '../../gpu';
import { mixSeed } from '../../model/data';
import { PPOTrainer } from '../ppo';
import type { StageContext } from './context';
import { trainingPrompts } from './prompt-source';
import { openRewardSource } from './reward-source';

export async function runPpo(ctx: StageContext): Promise<void> {
  const sft = ctx.need('sft', 'PPO');
  const rmWeights = ctx.need('reward-model', 'PPO');
  const c = ctx.config.ppo;
  const valueWeights = Object.fromEntries(Object.entries(rmWeights).map(([k, v]) => [k.replace(/^score\./, 'value.'), v]));
  const reward = openRewardSource(ctx, 'PPO', c.rewardSource);
  const models = { policy: ctx.model(sft), reference: ctx.model(sft), reward, value: ctx.model(valueWeights, 'value') };
  const trainer = new PPOTrainer(models, ctx.tokenizer, c, mixSeed(ctx.config.seed, 51), ctx.task.gold, ctx.task.pretrainText);
  const iterations = c.episodes / c.batchSize;
  const report = ctx.progress('ppo', performance.now());
  const nextPrompts = trainingPrompts(ctx, 'PPO', c.promptSource, 52);
  let ema;
  let lastGood = sft;
  try {
    for (let it = 0; it < iterations; it++) {
      await ctx.control.gate();
      const batch = nextPrompts(c.batchSize);
      lastGood = await models.policy.params.getWeights();
      const { metrics, episodes } = await trainer.step(batch);
      ctx.events.episodes?.('ppo', it, episodes);
      try {
        ctx.emit({ stage: 'ppo', ...metrics });
      } catch (e) {
        models.policy.params.setWeights(lastGood);
        ctx.keep('ppo', lastGood);
        throw e;
      }
      ctx.summary.ppo.kl = metrics['objective/kl'] ?? null;
      report(it + 1, iterations);
    }
    ema = await trainer.emaWeights();
  } catch (e) {
    if (e instanceof GpuOutOfMemoryError) ctx.keep('ppo', lastGood);
    throw e;
  } finally {
    trainer.dispose();
    Object.values(models).forEach((m) => m.dispose());
  }
  ctx.keep('ppo', ema);
}
