// Opens the reward source an RL stage's `rewardSource` setting names (src/rlhf/reward-sources.ts), from the run's
// checkpoints and task, with an error that says what to run or choose instead when the run cannot provide it.
import { splitMembers } from '../../model/checkpoint';
import type { GPT } from '../../model/gpt';
import { ENSEMBLE_CHECKPOINT, ensembleSource, type RewardSource, type RewardSourceKind, rewardModelSource, supportedRewardSources, textRewardSource } from '../reward-sources';
import type { StageContext } from './context';

export function openRewardSource(ctx: StageContext, who: string, kind: RewardSourceKind): RewardSource {
  const { task } = ctx;
  switch (kind) {
    case 'rm':
      return rewardModelSource(ctx.model(ctx.need('reward-model', who), 'score'));
    case 'verifier':
      if (!task.verifier) throw new Error(`${who}: the ${task.id} task has no verifier (reward sources it supports: ${supportedRewardSources(task).join(', ')})`);
      return textRewardSource('verifier', task.verifier);
    case 'gold':
      if (!task.gold) throw new Error(`${who}: the ${task.id} task has no gold reward to use as an oracle (reward sources it supports: ${supportedRewardSources(task).join(', ')})`);
      return textRewardSource('gold', task.gold);
    case 'ensemble': {
      const weights = ctx.weights[ENSEMBLE_CHECKPOINT];
      if (!weights) throw new Error(`${who}: rewardSource "ensemble" needs the ${ENSEMBLE_CHECKPOINT} checkpoint — add the ensemble stage before it (e.g. --stages sft,rm,ensemble,…)`);
      const members = splitMembers(weights);
      if (members.length < 2) throw new Error(`${who}: the ${ENSEMBLE_CHECKPOINT} checkpoint holds ${members.length} model, an ensemble needs 2 or more — run the ensemble stage again`);
      const models: GPT[] = [];
      try {
        for (const m of members) models.push(ctx.model(m, 'score'));
      } catch (e) {
        models.forEach((m) => m.dispose());
        throw e;
      }
      const { combine, lambda } = ctx.config.ensemble;
      return ensembleSource(models, combine, lambda);
    }
  }
}
