// `restore`: saved state (src/store/persist.ts autosaves it) back into the configured pipeline after a reload — saved
// checkpoints become its weights and the session's kept checkpoints, saved rankings join the person's. All or
// nothing: a checkpoint of another preset, with the wrong head, made with another tokenizer or with a weight that is
// not finite, or a ranking that is not a valid human one, refuses the whole request. Answered by `restored` (the page
// says "Loaded" only then), then the labels' stats.
import { type Checkpoint, loadCheckpoint } from '../model/checkpoint';
import { type Tokenizer, tokenizerFromJSON } from '../model/tokenizer';
import { tokenizerDifference, tokenizerIdentity } from '../model/tokenizer-identity';
import type { Pipeline } from '../rlhf/pipeline';
import { ENSEMBLE_CHECKPOINT } from '../rlhf/reward-source-kinds';
import type { Ranking } from '../rlhf/preferences';
import type { Weights } from '../rlhf/stages/context';
import { PipelineCommandError } from './errors';
import type { Feedback } from './feedback';
import type { CheckpointBytes, PipelineCheckpointName } from './protocol';
import { isCheckpointName, REWARD_CHECKPOINTS, type Session, unknownCheckpoint } from './session';

/**
 * The weights of a saved checkpoint if it fits the pipeline (its preset's architecture, the head the name says, its
 * tokenizer; loadCheckpoint checks that every weight is finite), else why not.
 */
export function savedWeights(name: string, bytes: Uint8Array, pipeline: Pick<Pipeline, 'modelConfig' | 'tokenizer'>): { weights: Weights } | { problem: string } {
  if (!isCheckpointName(name)) return { problem: unknownCheckpoint(name) };
  try {
    const c = loadCheckpoint(bytes);
    const want = pipeline.modelConfig;
    const wrong = (['vocabSize', 'contextLength', 'nLayer', 'nHead', 'dModel'] as const).filter((key) => c.config[key] !== want[key]);
    const head = REWARD_CHECKPOINTS.includes(name) ? 'score' : undefined;
    if (wrong.length > 0) return { problem: `${name}: ${wrong.map((key) => `${key} ${c.config[key]} ≠ ${want[key]}`).join(', ')} — it was made for another preset` };
    if (c.head !== head) return { problem: `${name}: has ${c.head ? `a ${c.head}` : 'no'} head, expected ${head ? `a ${head}` : 'none (the LM head)'}` };
    // The ensemble's checkpoint holds its members (member<i>/…); every other one a single model.
    const several = name === ENSEMBLE_CHECKPOINT;
    if (several !== (c.members !== undefined) || (several && c.members! < 2)) {
      return { problem: `${name}: holds ${c.members === undefined || c.members === 1 ? 'one model' : `${c.members} models`}, expected ${several ? 'an ensemble of 2 or more (weights member<i>/…)' : 'one'}` };
    }
    const tokens = tokenizerProblem(c, pipeline.tokenizer);
    if (tokens) return { problem: `${name}: ${tokens}` };
    return { weights: c.weights };
  } catch (e) {
    return { problem: `${name}: ${(e as Error).message}` };
  }
}

/** Why the checkpoint's token ids are not the pipeline's, or undefined when it was made with the pipeline's tokenizer. */
function tokenizerProblem(c: Checkpoint, ours: Tokenizer): string | undefined {
  const uses = `the pipeline uses the ${tokenizerIdentity(ours)}`;
  // Refused, not accepted with a warning: every checkpoint the lab has written records its tokenizer, so a file
  // without one was made elsewhere, and nothing would say that its ids mean the pipeline's tokens.
  if (c.tokenizerJson === undefined) return `it records no tokenizer (no "rlhf_lab.tokenizer" in its metadata), so its token ids cannot be checked; ${uses}`;
  const theirs = tokenizerFromJSON(c.tokenizerJson);
  const difference = tokenizerDifference(theirs, ours);
  if (difference === undefined) return undefined;
  return `this checkpoint's tokenizer is the ${tokenizerIdentity(theirs)}${madeBy(c.metadata)}; ${uses} (${difference}) — the same architecture, but its token ids mean other text`;
}

/** ` of task "sentiment"` for a checkpoint a pipeline wrote (its rlhf_lab.pipeline metadata, src/rlhf/pipeline.ts), else ''. */
function madeBy(metadata: Record<string, string>): string {
  try {
    const task: unknown = JSON.parse(metadata['rlhf_lab.pipeline'] ?? 'null')?.task;
    return typeof task === 'string' ? ` of task ${JSON.stringify(task)}` : '';
  } catch {
    return ''; // provenance only decorates the message
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
      const fit = savedWeights(name, bytes, p);
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
