// `restore`: saved state (src/store/persist.ts autosaves it) back into the configured pipeline after a reload — saved
// checkpoints become its weights and the session's kept checkpoints, saved rankings join the person's. All or
// nothing: a checkpoint of another preset or with the wrong head, or a ranking that is not a valid human one, refuses
// the whole request. Answered by `restored`, then the labels' stats.
import { loadCheckpoint } from '../model/checkpoint';
import type { GPTConfig } from '../model/config';
import type { Pipeline } from '../rlhf/pipeline';
import type { Ranking } from '../rlhf/preferences';
import type { Weights } from '../rlhf/stages/context';
import { PipelineCommandError } from './errors';
import type { Feedback } from './feedback';
import type { CheckpointBytes, PipelineCheckpointName } from './protocol';
import { isCheckpointName, REWARD_MODEL, type Session, unknownCheckpoint } from './session';

/** The weights of a saved checkpoint if it fits `want` (the preset's architecture, the head its name says), else why not. */
export function savedWeights(name: string, bytes: Uint8Array, want: GPTConfig): { weights: Weights } | { problem: string } {
  if (!isCheckpointName(name)) return { problem: unknownCheckpoint(name) };
  try {
    const c = loadCheckpoint(bytes);
    const wrong = (['vocabSize', 'contextLength', 'nLayer', 'nHead', 'dModel'] as const).filter((key) => c.config[key] !== want[key]);
    const head = name === REWARD_MODEL.checkpoint ? 'score' : undefined;
    if (wrong.length > 0) return { problem: `${name}: ${wrong.map((key) => `${key} ${c.config[key]} ≠ ${want[key]}`).join(', ')} — it was made for another preset` };
    if (c.head !== head) return { problem: `${name}: has ${c.head ? `a ${c.head}` : 'no'} head, expected ${head ? `a ${head}` : 'none (the LM head)'}` };
    return { weights: c.weights };
  } catch (e) {
    return { problem: `${name}: ${(e as Error).message}` };
  }
}

export async function restore(
  session: Session,
  feedback: Feedback,
  pipeline: (who: string) => Promise<Pipeline>,
  saved: readonly CheckpointBytes[] = [],
  rankings: readonly Ranking[] = [],
): Promise<void> {
  const refuse = (problems: string[]) => new PipelineCommandError(`restore: nothing restored — ${problems.join('; ')}`);
  const restored = feedback.restored(rankings);
  if (restored.problems.length > 0) throw refuse(restored.problems);
  const loaded: { name: PipelineCheckpointName; weights: Weights; bytes: Uint8Array }[] = [];
  if (saved.length > 0) {
    const p = await pipeline('restore');
    const problems: string[] = [];
    for (const { name, bytes } of saved) {
      const fit = savedWeights(name, bytes, p.modelConfig);
      if ('problem' in fit) problems.push(fit.problem);
      else loaded.push({ name, weights: fit.weights, bytes });
    }
    if (problems.length > 0) throw refuse(problems);
    for (const { name, weights, bytes } of loaded) {
      p.weights[name] = weights;
      session.checkpoints.set(name, new Uint8Array(bytes));
    }
  }
  feedback.merge(restored.rankings);
  session.post({ type: 'restored', checkpoints: loaded.map((l) => l.name), rankings: session.human.length });
  feedback.postStats();
}
