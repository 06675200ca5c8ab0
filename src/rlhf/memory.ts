// The GPU memory a configuration needs, stage by stage, counted from what the engine allocates — so that a
// configuration too large for the device is refused before anything is allocated ("needs X, this GPU allows Y")
// instead of failing mid-run. All tensors are f32 or u32 (4 bytes).
//
// A stage's need is its largest phase: the buffers that stay allocated through the stage (each GPT's parameter and
// gradient arenas, AdamW's two moment arenas per trained model, a checkpoint's readback) plus the phase's own:
//   training step  N = rows·T tokens: every activation the tape keeps for the backward (per token: embedding C, per
//                  block 18C + NH + 4 — ln_1 C+2, c_attn 3C, attention C + NH, c_proj C, residual C, ln_2 C+2,
//                  c_fc 4C + its pre-GELU 4C, mlp.c_proj C, residual C — ln_f C+2, and the head: the LM loss's
//                  logits and their gradient 2V+1, the log-probability's V+3 and its gradient V, a scalar head's 1
//                  and its gradient C), the backward's working gradients (about 14C per token: the spare buffers of
//                  the (N,C), (N,3C) and (N,4C) shapes it reuses), the uploaded batch (tokens, targets, weights, the
//                  token index: 4 per token and V+1) and a loss's per-token inputs and outputs;
//   forward pass   the same activations without gradients, in chunks of at most CHUNK_TOKENS tokens;
//   generation     the KV cache 2·L·B·W·C, the prefill's activations B·W·(12C + NH + 2), one token's B·(12C + V + 2),
//                  and the sequences and their log-probabilities 2·B·W;
// and in every phase a submit's uniforms (256 bytes a dispatch; 16 decode steps of 12 dispatches a layer and 8 more).
// Packed (prompt, response) rows are counted at the context length, the longest they can be; the preference data as
// the simulated labelers make it (labels.prompts rankings of labels.k, labels.heldoutFraction of them held out —
// imported or added human rankings may be more, but are scored in chunks of SCORE_CHUNK_RANKINGS all the same). The phases follow src/rlhf/stages/*-run.ts; tests/rlhf/memory.test.ts compares the
// estimate with what the buffer pool really holds on the nano preset.
import { arenaBytes, type GPTConfig, type HeadName } from '../model/config';
import { type MemoryBudget, mebibytes } from '../gpu';
import type { PipelineConfig } from './config';
import { CHUNK_TOKENS } from './forward';
import { SAMPLE_BATCH_ROWS, SCORE_CHUNK_RANKINGS } from './reward-model';
import { STAGE_NAMES, type StageId } from './stages';

const F32 = 4;
/** Pretraining rows (pretrain-run.ts) and PPO-ptx rows (ppo.ts) are at most this many tokens. */
const PRETRAIN_ROW_TOKENS = 64;
/** Working gradients of the backward per token, in units of C (see the header). */
const BACKWARD_C_PER_TOKEN = 14;

export interface MemoryPart {
  readonly what: string;
  readonly bytes: number;
}

/** What a stage needs at its largest phase. */
export interface StageMemory {
  readonly stage: StageId;
  /** The phase that needs the most (e.g. "rollout"). */
  readonly phase: string;
  /** The setting that phase grows with: the one a refusal names. */
  readonly field: string;
  /** What is allocated at once in that phase, largest first. */
  readonly parts: readonly MemoryPart[];
  readonly totalBytes: number;
  /** The stage's largest single buffer, over all its phases (the device caps one buffer). */
  readonly largest: MemoryPart;
  /** The setting the largest buffer grows with. */
  readonly largestField: string;
}

type Head = 'lm-loss' | 'logprob' | 'scalar' | 'logits';

/** Floats one token keeps through a forward pass (activations, head outputs, the uploaded batch). */
function forwardFloats(m: GPTConfig, head: Head): number {
  const { dModel: C, nHead: NH, nLayer: L, vocabSize: V } = m;
  const dropout = m.dropout > 0 ? 1 : 0; // a dropout output after the embedding and after each block's two projections
  const embedding = C * (1 + dropout);
  const block = 18 * C + NH + 4 + 2 * C * dropout;
  const final = C + 2;
  const headFloats = { 'lm-loss': 2 * V + 1, logprob: V + 3, scalar: 1, logits: V }[head];
  const batch = 4;
  return embedding + L * block + final + headFloats + batch;
}

/** Floats one token adds for the backward: working gradients, the head's gradient, a loss's inputs and outputs. */
function backwardFloats(m: GPTConfig, head: Head): number {
  const { dModel: C, vocabSize: V } = m;
  const headGradient = { 'lm-loss': 0, logprob: V, scalar: C, logits: V }[head];
  const loss = 3;
  return BACKWARD_C_PER_TOKEN * C + headGradient + loss;
}

/** The token index's offsets (V+1) of one uploaded batch. */
const indexBytes = (m: GPTConfig) => (m.vocabSize + 1) * F32;

/** Tokens of a forward pass over `rows` rows of `T` tokens: one chunk of at most CHUNK_TOKENS (src/rlhf/forward.ts). */
const chunkTokens = (rows: number, T: number) => Math.min(rows, Math.max(1, Math.floor(CHUNK_TOKENS / T))) * T;

/** A phase: what it allocates on top of the stage's resident buffers, and the setting it grows with. */
interface Phase {
  readonly name: string;
  readonly field: string;
  readonly parts: readonly MemoryPart[];
  /** Its largest single buffer. */
  readonly largest: MemoryPart;
}

const part = (what: string, bytes: number): MemoryPart => ({ what, bytes });
const biggest = (...parts: MemoryPart[]): MemoryPart => parts.reduce((a, b) => (b.bytes > a.bytes ? b : a));

/** The biggest (N, ·) activation of a pass over N tokens: the logits (N,V) with an LM head, else the MLP's (N,4C). */
function largestActivation(m: GPTConfig, N: number, head: Head): MemoryPart {
  const mlp = part(`the MLP activations of ${N} tokens`, N * 4 * m.dModel * F32);
  return head === 'scalar' ? mlp : biggest(mlp, part(`the logits of ${N} tokens`, N * m.vocabSize * F32));
}

/** A training step's buffers over N tokens; `extraPerToken` floats of a loss's own inputs. */
const trainingPart = (m: GPTConfig, N: number, head: Head, extraPerToken = 0) =>
  part(`activations and gradients of ${N} tokens`, N * (forwardFloats(m, head) + backwardFloats(m, head) + extraPerToken) * F32 + indexBytes(m));

function training(name: string, field: string, m: GPTConfig, N: number, head: Head, extraPerToken = 0): Phase {
  return { name, field, parts: [trainingPart(m, N, head, extraPerToken)], largest: largestActivation(m, N, head) };
}

function forward(name: string, field: string, m: GPTConfig, N: number, head: Head): Phase {
  return { name, field, parts: [part(`activations of ${N} tokens`, N * forwardFloats(m, head) * F32 + indexBytes(m))], largest: largestActivation(m, N, head) };
}

function generation(name: string, field: string, m: GPTConfig, B: number, W: number): Phase {
  const { dModel: C, nHead: NH, nLayer: L, vocabSize: V } = m;
  const cache = part(`the KV cache of ${B} sequences`, 2 * L * B * W * C * F32);
  const activations = part(`sampling activations of ${B} sequences`, (B * W * (12 * C + NH + 2) + B * (12 * C + V + 2) + 2 * B * W + 2 * B) * F32);
  return { name, field, parts: [cache, activations], largest: biggest(part(`one layer's KV cache of ${B} sequences`, B * W * C * F32), part(`the prefill's MLP activations of ${B} sequences`, B * W * 4 * C * F32)) };
}

/** A GPT's parameter and gradient arenas (every model has both, trained or frozen). */
const model = (m: GPTConfig, what: string, head?: HeadName) => part(what, 2 * arenaBytes(m, head));
/** AdamW's moments (two arenas) and a checkpoint readback (one) of a trained model. */
const trained = (m: GPTConfig, what: string, head?: HeadName) => part(what, 3 * arenaBytes(m, head));

/** A submit's uniform buffer at its largest: a generation submit's 16 decode steps (src/model/generate.ts). */
const uniforms = (m: GPTConfig) => part('uniforms', 256 * 16 * (12 * m.nLayer + 8));

/** The phases of a stage and the buffers that stay allocated through it. */
function stagePlan(stage: StageId, c: PipelineConfig, m: GPTConfig): { resident: MemoryPart[]; phases: Phase[] } {
  const T = m.contextLength;
  // The preference data's rankings, held out and trained on (src/rlhf/stages/preference-data.ts).
  const heldout = Math.max(1, Math.round(c.labels.prompts * c.labels.heldoutFraction));
  const trainRankings = Math.max(1, c.labels.prompts - heldout);
  const heldoutRows = Math.min(SCORE_CHUNK_RANKINGS, heldout) * c.labels.k;
  const labels = (): Phase => generation('sampling for the labelers', 'labels.k', m, Math.min(SAMPLE_BATCH_ROWS, c.labels.prompts * (c.labels.k + 2)), T);
  switch (stage) {
    case 'pretrain': {
      const N = c.pretrain.batchSize * Math.min(PRETRAIN_ROW_TOKENS, T);
      return { resident: [model(m, 'the model'), trained(m, 'its optimizer')], phases: [training('a training step', 'pretrain.batchSize', m, N, 'lm-loss')] };
    }
    case 'sft':
      return { resident: [model(m, 'the model'), trained(m, 'its optimizer')], phases: [training('a training step', 'sft.batchSize', m, c.sft.batchSize * c.sft.seq, 'lm-loss')] };
    case 'rm': {
      const rows = Math.min(c.rm.groupsPerStep, trainRankings) * c.labels.k;
      // Sampling for the labelers runs on the SFT policy before the reward model exists.
      const sampling = labels();
      return {
        resident: [],
        phases: [
          { ...sampling, parts: [model(m, 'the SFT policy'), ...sampling.parts] },
          ...[training('a training step', 'rm.groupsPerStep', m, rows * T, 'scalar'), forward('scoring held-out rankings', 'labels.k', m, chunkTokens(heldoutRows, T), 'scalar')].map(
            (p): Phase => ({ ...p, parts: [model(m, 'the reward model', 'score'), trained(m, 'its optimizer', 'score'), ...p.parts] }),
          ),
        ],
      };
    }
    case 'ppo': {
      const p = c.ppo;
      const mb = (p.batchSize / p.miniBatches) * T;
      // A policy step's loss reads the old log-probs, advantages, old values and returns (4 per token); with PPO-ptx
      // the pretraining batch's forward and backward are in the same step.
      const policyStep = training('a policy step', 'ppo.batchSize', m, mb, 'logprob', 4);
      const ptx = p.ptxBatchSize * Math.min(PRETRAIN_ROW_TOKENS, T);
      const withPtx: Phase = { ...policyStep, name: 'a policy step with its pretraining batch', parts: [...policyStep.parts, trainingPart(m, ptx, 'lm-loss')], largest: biggest(policyStep.largest, largestActivation(m, ptx, 'lm-loss')) };
      return {
        resident: [model(m, 'the policy'), model(m, 'the reference policy'), model(m, 'the reward model', 'score'), model(m, 'the value model', 'value'), trained(m, "the policy's optimizer"), trained(m, "the value model's optimizer", 'value')],
        phases: [
          generation('rollout', 'ppo.batchSize', m, p.batchSize, T),
          forward('scoring the rollout', 'ppo.batchSize', m, chunkTokens(p.batchSize, T), 'logprob'),
          p.ptxCoef > 0 ? withPtx : policyStep,
          training('a value step', 'ppo.batchSize', m, mb, 'scalar', 4),
        ],
      };
    }
    case 'dpo': {
      const d = c.dpo;
      const rows = Math.min(d.groupsPerStep, trainRankings) * c.labels.k;
      const sampling = labels();
      const models = [model(m, 'the policy'), model(m, 'the reference policy'), model(m, 'the reward model', 'score'), trained(m, "the policy's optimizer")];
      const checkRows = Math.min(SAMPLE_BATCH_ROWS, d.evalPrompts);
      return {
        resident: [],
        phases: [
          { ...sampling, parts: [model(m, 'the SFT policy'), ...sampling.parts] },
          ...[
            forward("the reference's log-probabilities", 'dpo.groupsPerStep', m, chunkTokens(rows, T), 'logprob'),
            training('a training step', 'dpo.groupsPerStep', m, rows * T, 'logprob', 1), // the reference log-probabilities
            forward('held-out rankings', 'labels.k', m, chunkTokens(heldoutRows, T), 'logprob'),
            generation('sampling at a check', 'dpo.evalPrompts', m, checkRows, T),
            forward('scoring at a check', 'dpo.evalPrompts', m, chunkTokens(d.evalPrompts, T), 'logprob'),
          ].map((p): Phase => ({ ...p, parts: [...models, ...p.parts] })),
        ],
      };
    }
    case 'bon':
      return {
        resident: [model(m, 'the SFT policy'), model(m, 'the reward model', 'score')],
        phases: [generation('sampling', 'bon.maxN', m, Math.min(SAMPLE_BATCH_ROWS, c.bon.prompts * c.bon.maxN), T), forward('scoring', 'bon.maxN', m, chunkTokens(c.bon.maxN, T), 'scalar')],
      };
    case 'eval':
      return {
        resident: [model(m, 'the SFT policy'), model(m, 'a trained policy'), model(m, 'the reward model', 'score')],
        phases: [generation('sampling', 'eval.prompts', m, Math.min(SAMPLE_BATCH_ROWS, c.eval.prompts), T), forward('scoring', 'eval.prompts', m, chunkTokens(c.eval.prompts, T), 'logprob')],
      };
  }
}

/** What `stage` needs on the GPU under configuration `c` for model `m` (the pipeline's: the preset with the tokenizer's vocabulary). */
export function stageMemory(stage: StageId, c: PipelineConfig, m: GPTConfig): StageMemory {
  const { resident, phases } = stagePlan(stage, c, m);
  const sum = (parts: readonly MemoryPart[]) => parts.reduce((s, p) => s + p.bytes, 0);
  const needs = phases.map((p) => ({ ...p, parts: [...resident, ...p.parts, uniforms(m)].sort((a, b) => b.bytes - a.bytes) }));
  const top = needs.reduce((a, b) => (sum(b.parts) > sum(a.parts) ? b : a));
  const arenas = part('the parameters', arenaBytes(m));
  const largestPhase = phases.reduce((a, b) => (b.largest.bytes > a.largest.bytes ? b : a));
  const largest = biggest(arenas, largestPhase.largest);
  return { stage, phase: top.name, field: top.field, parts: top.parts, totalBytes: sum(top.parts), largest, largestField: largest === arenas ? 'preset' : largestPhase.field };
}

/**
 * The stages of `stages` whose need `budget` cannot meet, each as a problem naming the setting to lower: the total
 * over the device's memory, or the largest buffer over what one buffer may hold.
 */
export function memoryProblems(c: PipelineConfig, m: GPTConfig, stages: readonly StageId[], budget: MemoryBudget): { field: string; message: string }[] {
  const oneBuffer = Math.min(budget.maxBufferSize, budget.maxStorageBufferBindingSize);
  const limitName = budget.maxStorageBufferBindingSize <= budget.maxBufferSize ? 'maxStorageBufferBindingSize' : 'maxBufferSize';
  return stages.flatMap((stage) => {
    const need = stageMemory(stage, c, m);
    const name = STAGE_NAMES[stage];
    const problems: { field: string; message: string }[] = [];
    if (need.largest.bytes > oneBuffer) {
      problems.push({ field: need.largestField, message: `${name} needs ${mebibytes(need.largest.bytes)} in one buffer for ${need.largest.what}, this GPU allows ${mebibytes(oneBuffer)} (${limitName})` });
    }
    if (need.totalBytes > budget.totalBytes) {
      // The verdict first: the page shows a problem's first 200 characters.
      const top = need.parts[0];
      problems.push({ field: need.field, message: `${name} needs ${mebibytes(need.totalBytes)} of GPU memory, this GPU allows ${mebibytes(budget.totalBytes)} (${budget.totalSource}); the most in ${need.phase}: ${top.what}, ${mebibytes(top.bytes)}` });
    }
    return problems;
  });
}
