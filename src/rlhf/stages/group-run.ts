// The loop of a group method's stage (GRPO: ./grpo-run.ts, RLOO: ./rloo-run.ts) around src/rlhf/grpo.ts's trainer:
// the policy from the SFT checkpoint, the frozen reference only when β > 0, the reward source the stage's rewardSource
// names (./reward-source.ts) and the run's reward model for the proxy score when the source is another; prompts
// from the source promptSource names (./prompt-source.ts: the training prompts cycled in a seeded order, or the task's
// generator; dynamic sampling draws its extra prompts from the same stream), one trainer.step per
// iteration. The checkpoint holds the last weights (TRL keeps no EMA); a metric alarm, or the GPU running out of
// memory, stops it with the policy's last good weights kept instead (those before the iteration whose record raised
// it, as PPO's stage does).
import { GpuOutOfMemoryError } from '../../gpu';
import { mixSeed } from '../../model/data';
import { type GroupConfig, type GroupMethod, GroupTrainer } from '../grpo';
import type { RewardSource } from '../reward-sources';
import type { StageContext } from './context';
import type { GroupStageSettings } from './group';
import { trainingPrompts } from './prompt-source';
import { openRewardSource } from './reward-source';

export interface GroupStage {
  readonly id: 'grpo' | 'rloo';
  /** As errors and logs name it. */
  readonly name: string;
  readonly settings: GroupStageSettings;
  readonly groupSize: number;
  readonly method: GroupMethod;
  /** Dynamic sampling's most extra rounds an iteration (GRPO's grpo.dynamicSampling; 0: off). */
  readonly dynamicRounds: number;
  /** Salts of the run's seed: the trainer's (sampling) and the prompts' (their order, or the generator's stream). */
  readonly seeds: readonly [trainer: number, order: number];
}

export async function runGroupStage(ctx: StageContext, stage: GroupStage): Promise<void> {
  const { id, name, settings: s, groupSize } = stage;
  const sft = ctx.need('sft', name);
  const config: GroupConfig = { ...s, method: stage.method, groupSize, maxResponseTokens: ctx.rules.maxResponseTokens, noEosPenalty: ctx.rules.noEosPenalty, dynamicRounds: stage.dynamicRounds };
  const perIteration = s.promptsPerIteration * groupSize;
  const iterations = s.episodes / perIteration;
  const rmWeights = ctx.weights['reward-model'];
  let reward: RewardSource | undefined;
  const policy = ctx.model(sft);
  const reference = s.beta > 0 ? ctx.model(sft) : undefined; // β = 0: no reference at all (TRL)
  const proxy = s.rewardSource !== 'rm' && rmWeights ? ctx.model(rmWeights, 'score') : undefined;
  let trainer: GroupTrainer | undefined;
  let lastGood = sft;
  let weights;
  try {
    reward = openRewardSource(ctx, name, s.rewardSource);
    trainer = new GroupTrainer({ policy, reference, reward, proxy }, ctx.tokenizer, config, mixSeed(ctx.config.seed, stage.seeds[0]), ctx.task.gold);
    const report = ctx.progress(id, performance.now());
    /** The next n prompts (dynamic sampling draws more than promptsPerIteration an iteration). */
    const next = trainingPrompts(ctx, name, s.promptSource, stage.seeds[1]);
    for (let it = 0; it < iterations; it++) {
      await ctx.control.gate();
      lastGood = await policy.params.getWeights();
      const { metrics, episodes } = await trainer.step(next(s.promptsPerIteration), next);
      ctx.events.episodes?.(id, it, episodes);
      try {
        ctx.emit({ stage: id, ...metrics });
      } catch (e) {
        policy.params.setWeights(lastGood);
        ctx.keep(id, lastGood);
        throw e;
      }
      report(it + 1, iterations);
    }
    weights = await policy.params.getWeights();
  } catch (e) {
    if (e instanceof GpuOutOfMemoryError) ctx.keep(id, lastGood);
    throw e;
  } finally {
    trainer?.dispose();
    reward?.dispose();
    for (const m of [policy, reference, proxy]) m?.dispose();
  }
  ctx.keep(id, weights);
}
