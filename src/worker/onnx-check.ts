// The engine's side of checking the current policy in ONNX Runtime Web (the page's ONNX panel, src/ui/OnnxPanel.tsx):
// `policy-onnx` exports the policy as ONNX with the prompt's token ids, and keeps that policy's weights; the page runs
// the export greedily in ONNX Runtime Web, then `policy-greedy` answers with the engine's own greedy continuation of
// the same prompt on the kept weights and the engine's logits along the continuation ONNX Runtime generated — so the
// two are compared on the same weights even if a stage writes a newer policy in between.
import type { GpuRuntime } from '../gpu';
import { loadCheckpoint } from '../model/checkpoint';
import type { GPTConfig } from '../model/config';
import { generate } from '../model/generate';
import { GPT } from '../model/gpt';
import { type Tokenizer, tokenizerFromJSON } from '../model/tokenizer';
import { exportGptOnnx } from '../onnx/gpt-export';
import { TRAINED_POLICY_STAGES } from '../rlhf/stages';
import { loadedModel } from './base-model';
import { PipelineCommandError } from './errors';
import type { PipelineCheckpointName } from './protocol';
import { POLICY_CHECKPOINTS, type Session } from './session';

const TRAINED = TRAINED_POLICY_STAGES.map((s) => s.writes!);
/** The untrained policies the check falls back to, best first: SFT, then a base model the pipeline pretrained. */
const UNTRAINED = POLICY_CHECKPOINTS.filter((name) => !TRAINED.includes(name)).reverse();

/**
 * The policy the check runs: of the checkpoints `written` (oldest first), the most recent trained policy (PPO, DPO,
 * GRPO, RLOO), else SFT, else the base model the pipeline pretrained; undefined: none, so the loaded base model.
 */
export function checkedPolicy(written: Iterable<PipelineCheckpointName>): PipelineCheckpointName | undefined {
  const names = [...written];
  return names.filter((name) => TRAINED.includes(name)).at(-1) ?? UNTRAINED.find((name) => names.includes(name));
}

/** The policy `policy-onnx` exported, kept for the `policy-greedy` after it. */
interface CheckedPolicy {
  model: PipelineCheckpointName | undefined;
  config: GPTConfig;
  weights: Record<string, Float32Array>;
  tokenizer: Tokenizer;
  tokens: number[];
  maxNewTokens: number;
}

/** Runs a command's work; a failure that is not already a refusal is reported under the command's name, so the
 * page's ONNX panel shows it (not the pipeline's alert, nor the engine's state). */
async function asCommand(who: 'policy-onnx' | 'policy-greedy', work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (e) {
    throw e instanceof PipelineCommandError ? e : new PipelineCommandError(`${who}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export class OnnxCheck {
  private checked: CheckedPolicy | undefined;

  constructor(
    private readonly session: Session,
    /** The GPU runtime (the engine's device). */
    private readonly gpu: () => Promise<GpuRuntime>,
    /** Whether a run is going: the check is refused then (the GPU is busy, and the policy may change under it). */
    private readonly running: () => boolean,
  ) {}

  /** `policy-onnx`: the current policy as ONNX and the prompt (BOS first), continued by at most `maxNewTokens`. */
  exportPolicy(prompt: string, maxNewTokens: number): Promise<void> {
    return asCommand('policy-onnx', () => this.exportNow(prompt, maxNewTokens));
  }

  private async exportNow(prompt: string, maxNewTokens: number): Promise<void> {
    if (this.running()) throw new PipelineCommandError('policy-onnx: a run is going — wait for it to end (the GPU is busy)');
    if (typeof prompt !== 'string') throw new PipelineCommandError('policy-onnx: the prompt must be a string');
    if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) throw new PipelineCommandError(`policy-onnx: maxNewTokens must be a positive integer, got ${maxNewTokens}`);
    const policy = await this.policy();
    const tokens = [policy.tokenizer.special.bos, ...policy.tokenizer.encode(prompt)];
    const room = policy.config.contextLength - tokens.length;
    if (room < 1) throw new PipelineCommandError(`policy-onnx: the prompt is ${tokens.length} tokens with BOS, and the context holds ${policy.config.contextLength}: shorten it`);
    this.checked = { ...policy, tokens, maxNewTokens: Math.min(maxNewTokens, room) };
    const onnx = new Uint8Array(exportGptOnnx(policy.config, policy.weights));
    this.session.post(
      { type: 'policy-onnx', ...(policy.model !== undefined && { model: policy.model }), onnx, tokens, maxNewTokens: this.checked.maxNewTokens, eos: policy.tokenizer.special.eos },
      [onnx.buffer],
    );
  }

  /** The policy checkedPolicy picks, read from its checkpoint or (the loaded base model) from the device. */
  private async policy(): Promise<Omit<CheckedPolicy, 'tokens' | 'maxNewTokens'>> {
    const model = checkedPolicy(this.session.checkpoints.keys());
    if (model === undefined) {
      const loaded = loadedModel(this.session);
      return { model, config: loaded.model.config, weights: await loaded.model.params.getWeights(), tokenizer: loaded.tokenizer };
    }
    const checkpoint = loadCheckpoint(this.session.checkpoints.get(model)!);
    return { model, config: checkpoint.config, weights: checkpoint.weights, tokenizer: tokenizerFromJSON(checkpoint.tokenizerJson) };
  }

  /**
   * `policy-greedy`: on the kept policy, the engine's greedy continuation of the kept prompt, the text of
   * `continuation` (ONNX Runtime's), and the engine's logits (steps × vocabulary) where each of its ids was chosen.
   */
  greedy(continuation: number[]): Promise<void> {
    return asCommand('policy-greedy', () => this.greedyNow(continuation));
  }

  private async greedyNow(continuation: number[]): Promise<void> {
    const checked = this.checked;
    if (!checked) throw new PipelineCommandError('policy-greedy: no policy was exported for the check yet — send policy-onnx first');
    if (this.running()) throw new PipelineCommandError('policy-greedy: a run is going — wait for it to end (the GPU is busy)');
    const { config, tokens, maxNewTokens, tokenizer } = checked;
    const V = config.vocabSize;
    if (!Array.isArray(continuation) || continuation.length < 1 || continuation.length > maxNewTokens) {
      throw new PipelineCommandError(`policy-greedy: the continuation must be an array of 1 to ${maxNewTokens} token ids`);
    }
    const outside = continuation.findIndex((id) => !(Number.isInteger(id) && id >= 0 && id < V));
    if (outside >= 0) throw new PipelineCommandError(`policy-greedy: continuation token ${outside} is ${continuation[outside]}, not an id of the vocabulary 0..${V - 1}`);

    const model = GPT.create(await this.gpu(), config, { weights: checked.weights }).eval();
    try {
      const own = await generate(model, { prompts: [Uint32Array.from(tokens)], maxNewTokens, temperature: 0, eos: tokenizer.special.eos });
      // The logits that chose continuation[i] are at position tokens.length − 1 + i of prompt + continuation.
      const scored = [...tokens, ...continuation.slice(0, -1)];
      const all = await model.forward(scored, 1, scored.length);
      const logits = all.slice((tokens.length - 1) * V);
      const ids = [...own.ids[0]];
      this.session.post(
        {
          type: 'policy-greedy',
          ...(checked.model !== undefined && { model: checked.model }),
          ids,
          text: tokenizer.decode(ids, { specials: 'drop' }),
          continuationText: tokenizer.decode(continuation, { specials: 'drop' }),
          logits,
        },
        [logits.buffer],
      );
    } finally {
      model.dispose();
    }
  }
}
