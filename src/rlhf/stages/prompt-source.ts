// The training data of a stage, from the source its `promptSource` setting names (./shared.ts): the task's own
// training prompts (an RL stage: cycled in a seeded order) or demonstrations (SFT), or an endless stream of fresh
// examples from the task's generator (RL: their prompts; SFT: prompt and answer as a demonstration).
import { mixSeed, shuffledIndices, type SftExample } from '../../model/data';
import type { SftStream } from '../../model/sft';
import type { StageContext } from './context';
import type { PromptSourceKind } from './shared';

/** The task's example stream seeded by (run seed, salt); a clear error on a task whose prompts are a fixed set. */
function generatedExamples(ctx: StageContext, who: string, salt: number): SftStream {
  if (!ctx.task.exampleGenerator) throw new Error(`${who}: the ${ctx.task.id} task has no example generator (its prompts are a fixed set): set promptSource to train`);
  return ctx.task.exampleGenerator(mixSeed(ctx.config.seed, salt));
}

/** The next n training prompts of an RL stage at each call; `salt` seeds the order (or the generator's stream) from the run's seed. */
export function trainingPrompts(ctx: StageContext, who: string, source: PromptSourceKind, salt: number): (n: number) => string[] {
  if (source === 'generated') {
    const next = generatedExamples(ctx, who, salt);
    return (n) => Array.from({ length: n }, () => next().prompt);
  }
  const prompts = ctx.task.prompts.train;
  const order = shuffledIndices(prompts.length, mixSeed(ctx.config.seed, salt));
  let drawn = 0;
  return (n) => Array.from({ length: n }, () => prompts[order[drawn++ % prompts.length]]);
}

/**
 * SFT's demonstrations: `train` as they are (train), or the generator's stream (generated) with the prompts of
 * `heldOut` skipped, so that the held-out demonstrations stay unseen.
 */
export function trainingDemonstrations(ctx: StageContext, source: PromptSourceKind, salt: number, train: readonly SftExample[], heldOut: readonly SftExample[]): readonly SftExample[] | SftStream {
  if (source === 'train') return train;
  const next = generatedExamples(ctx, 'SFT', salt);
  const skip = new Set(heldOut.map((d) => d.prompt));
  return () => {
    for (;;) {
      const example = next();
      if (!skip.has(example.prompt)) return example;
    }
  };
}
