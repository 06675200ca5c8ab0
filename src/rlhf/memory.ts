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
//   generation     the KV cache 2·L·B·T·C, the prefill's activations B·T·(12C + NH + 2), one token's B·(12C + V + 2),
//                  and the sequences and their log-probabilities 2·B·T;
// and in every phase a submit's uniforms (256 bytes a dispatch; 16 decode steps of 12 dispatches a layer and 8 more).
// Packed (prompt, response) rows are counted at the context length, the longest they can be; the preference data as
// the simulated labelers make it (labels.prompts rankings of labels.k, labels.heldoutFraction of them held out —
// imported or added human rankings may be more, but are scored in chunks of SCORE_CHUNK_RANKINGS all the same).
//
// This file has the building blocks (the planner) and the sum; each stage plans its own phases with them in its
// descriptor's `memory` (src/rlhf/stages/<id>.ts), following its *-run.ts. tests/rlhf/memory.test.ts compares the
// estimate with what the buffer pool really holds on the nano preset.
import { arenaBytes, type GPTConfig, type HeadName } from '../model/config';
import { type MemoryBudget, mebibytes } from '../gpu';
import { CHUNK_TOKENS, PRETRAIN_ROW_TOKENS, SCORE_CHUNK_RANKINGS } from './batch-sizes';
import type { PipelineConfig } from './config';
import { STAGE_NAMES, stageById, type StageId } from './stages';

const F32 = 4;
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

/** The head a pass ends in: the LM loss, the log-probability of the targets, a scalar head, or the logits alone. */
export type Head = 'lm-loss' | 'logprob' | 'scalar' | 'logits';

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

/** A phase: what it allocates on top of the stage's resident buffers, and the setting it grows with. */
export interface Phase {
  readonly name: string;
  readonly field: string;
  readonly parts: readonly MemoryPart[];
  /** Its largest single buffer. */
  readonly largest: MemoryPart;
}

/** A stage's plan (its descriptor's `memory`): the buffers that stay allocated through it, and its phases. */
export interface StagePlan {
  readonly resident: readonly MemoryPart[];
  readonly phases: readonly Phase[];
}

const part = (what: string, bytes: number): MemoryPart => ({ what, bytes });
const biggest = (...parts: MemoryPart[]): MemoryPart => parts.reduce((a, b) => (b.bytes > a.bytes ? b : a));

/** A submit's uniform buffer at its largest: a generation submit's 16 decode steps (src/model/generate.ts). */
const uniforms = (m: GPTConfig) => part('uniforms', 256 * 16 * (12 * m.nLayer + 8));

/** The building blocks a stage's `memory` plans with (src/rlhf/stages/<id>.ts), for one model and configuration. */
export interface MemoryPlanner {
  /** Tokens of a packed (prompt, response) row, counted at the context length. */
  readonly T: number;
  /** Tokens of a pretraining row (pretraining, PPO-ptx). */
  readonly pretrainRowTokens: number;
  /** Rankings of the preference data trained on. */
  readonly trainRankings: number;
  /** Rows of one scoring batch of held-out rankings: SCORE_CHUNK_RANKINGS rankings of labels.k at most. */
  readonly heldoutRows: number;
  /** A GPT's parameter and gradient arenas (every model has both, trained or frozen). */
  model(what: string, head?: HeadName): MemoryPart;
  /** AdamW's moments (two arenas) and a checkpoint readback (one) of a trained model. */
  trained(what: string, head?: HeadName): MemoryPart;
  /** The largest of `parts`. */
  biggest(...parts: MemoryPart[]): MemoryPart;
  /** The biggest (N, ·) activation of a pass over N tokens: the logits (N,V) with an LM head, else the MLP's (N,4C). */
  largestActivation(N: number, head: Head): MemoryPart;
  /** A training step's buffers over N tokens; `extraPerToken` floats of a loss's own inputs. */
  trainingPart(N: number, head: Head, extraPerToken?: number): MemoryPart;
  /** A training step over N tokens, as a phase. */
  training(name: string, field: string, N: number, head: Head, extraPerToken?: number): Phase;
  /** A forward pass over `rows` rows of T tokens: its largest chunk, of at most CHUNK_TOKENS (src/rlhf/forward.ts). */
  forward(name: string, field: string, rows: number, head: Head): Phase;
  /** Generating B sequences of T tokens at once. */
  generation(name: string, field: string, B: number): Phase;
  /** sampleResponses: generating `sequences` sequences, the device's sampleBatchRows at a time. */
  sampling(name: string, field: string, sequences: number): Phase;
  /** Sampling for the simulated labelers (labels.k + 2 per prompt), on the SFT policy before the reward model exists. */
  labelerSampling(): Phase;
  /** `phases`, each holding `parts` too: the buffers of a stage's later phases (after its sampling for the labelers). */
  holding(parts: readonly MemoryPart[], phases: readonly Phase[]): Phase[];
}

/** The planner for model `m` under configuration `c`, on a device that samples `sampleRows` sequences at once. */
function memoryPlanner(c: PipelineConfig, m: GPTConfig, sampleRows: number): MemoryPlanner {
  const { dModel: C, nHead: NH, nLayer: L, vocabSize: V } = m;
  const T = m.contextLength;
  // The preference data's rankings, held out and trained on (src/rlhf/stages/preference-data.ts).
  const heldoutRankings = Math.max(1, Math.round(c.labels.prompts * c.labels.heldoutFraction));
  const model = (what: string, head?: HeadName) => part(what, 2 * arenaBytes(m, head));

  function largestActivation(N: number, head: Head): MemoryPart {
    const mlp = part(`the MLP activations of ${N} tokens`, N * 4 * C * F32);
    return head === 'scalar' ? mlp : biggest(mlp, part(`the logits of ${N} tokens`, N * V * F32));
  }

  const trainingPart = (N: number, head: Head, extraPerToken = 0) =>
    part(`activations and gradients of ${N} tokens`, N * (forwardFloats(m, head) + backwardFloats(m, head) + extraPerToken) * F32 + indexBytes(m));

  function generation(name: string, field: string, B: number): Phase {
    const cache = part(`the KV cache of ${B} sequences`, 2 * L * B * T * C * F32);
    const activations = part(`sampling activations of ${B} sequences`, (B * T * (12 * C + NH + 2) + B * (12 * C + V + 2) + 2 * B * T + 2 * B) * F32);
    return { name, field, parts: [cache, activations], largest: biggest(part(`one layer's KV cache of ${B} sequences`, B * T * C * F32), part(`the prefill's MLP activations of ${B} sequences`, B * T * 4 * C * F32)) };
  }

  const sampling = (name: string, field: string, sequences: number) => generation(name, field, Math.min(sampleRows, sequences));

  return {
    T,
    pretrainRowTokens: Math.min(PRETRAIN_ROW_TOKENS, T),
    trainRankings: Math.max(1, c.labels.prompts - heldoutRankings),
    heldoutRows: Math.min(SCORE_CHUNK_RANKINGS, heldoutRankings) * c.labels.k,
    model,
    trained: (what, head) => part(what, 3 * arenaBytes(m, head)),
    biggest,
    largestActivation,
    trainingPart,
    training: (name, field, N, head, extraPerToken = 0) => ({ name, field, parts: [trainingPart(N, head, extraPerToken)], largest: largestActivation(N, head) }),
    forward(name, field, rows, head) {
      const N = Math.min(rows, Math.max(1, Math.floor(CHUNK_TOKENS / T))) * T;
      return { name, field, parts: [part(`activations of ${N} tokens`, N * forwardFloats(m, head) * F32 + indexBytes(m))], largest: largestActivation(N, head) };
    },
    generation,
    sampling,
    labelerSampling() {
      const phase = sampling('sampling for the labelers', 'labels.k', c.labels.prompts * (c.labels.k + 2));
      return { ...phase, parts: [model('the SFT policy'), ...phase.parts] };
    },
    holding: (parts, phases) => phases.map((p) => ({ ...p, parts: [...parts, ...p.parts] })),
  };
}

/**
 * What `stage` needs on the GPU under configuration `c` for model `m` (the pipeline's: the preset with the
 * tokenizer's vocabulary), on a device that samples `sampleRows` sequences at once (sampleBatchRows).
 */
export function stageMemory(stage: StageId, c: PipelineConfig, m: GPTConfig, sampleRows: number): StageMemory {
  const { resident, phases } = stageById(stage).memory(memoryPlanner(c, m, sampleRows), c);
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
export function memoryProblems(c: PipelineConfig, m: GPTConfig, stages: readonly StageId[], budget: MemoryBudget, sampleRows: number): { field: string; message: string }[] {
  const oneBuffer = Math.min(budget.maxBufferSize, budget.maxStorageBufferBindingSize);
  const limitName = budget.maxStorageBufferBindingSize <= budget.maxBufferSize ? 'maxStorageBufferBindingSize' : 'maxBufferSize';
  return stages.flatMap((stage) => {
    const need = stageMemory(stage, c, m, sampleRows);
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
