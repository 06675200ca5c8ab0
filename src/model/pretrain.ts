// Pretraining: the loop that turns a corpus into a base model — tokenizer, token stream, TextBatcher windows,
// Trainer steps (one submit each) under a warm-up + cosine schedule, periodic validation, progress callbacks —
// shared by `npm run pretrain` (src/cli/pretrain.ts) and, later, the engine worker.
//
// The token stream: the corpus's documents (separated by blank lines, as public/corpus/tiny-stories.txt) each
// become [BOS, text…, EOS], concatenated. So the model learns where documents start and stop: a prompt that
// begins with BOS (what generateText sends) is in distribution, and sampling ends at an EOS.
//
// Determinism: the initial weights come from `seed`, the training batches from (seed, step), the dropout masks
// from (seed, forward pass): the same options on the same adapter give the same losses step for step.
import type { GpuRuntime } from '../gpu';
import { trainBpe } from './bpe-tokenizer';
import { CharTokenizer } from './char-tokenizer';
import type { GPTConfig } from './config';
import { type TokenBatch, TextBatcher } from './data';
import { GPT } from './gpt';
import type { AdamWOptions } from './optimizer';
import type { Tokenizer } from './tokenizer';
import { type StepMetrics, Trainer } from './train';

// ---- corpus → tokens -------------------------------------------------------------------------------------------

/** The documents of a corpus: the text split at blank lines, each trimmed, empty ones dropped. */
export function splitDocuments(text: string): string[] {
  return text
    .split(/\r?\n[ \t]*\r?\n/)
    .map((d) => d.trim())
    .filter((d) => d.length > 0);
}

/** Every document as [BOS, ids…, EOS], concatenated into one stream (the input of TextBatcher). */
export function encodeCorpus(text: string, tokenizer: Tokenizer): Uint32Array {
  const { bos, eos } = tokenizer.special;
  const parts = splitDocuments(text).map((d) => tokenizer.encode(d));
  const out = new Uint32Array(parts.reduce((s, p) => s + p.length + 2, 0));
  let at = 0;
  for (const p of parts) {
    out[at++] = bos;
    out.set(p, at);
    at += p.length;
    out[at++] = eos;
  }
  return out;
}

export type TokenizerKind = 'char' | 'bpe';

/** A character tokenizer over the corpus's characters, or a byte-level BPE of `bpeVocab` ids learned from it. */
export function buildTokenizer(kind: TokenizerKind, text: string, bpeVocab = 512): Tokenizer {
  if (kind === 'char') return CharTokenizer.fromText(text);
  if (kind === 'bpe') return trainBpe(text, bpeVocab);
  throw new Error(`pretrain: unknown tokenizer kind "${String(kind)}" (expected char or bpe)`);
}

// ---- the loop --------------------------------------------------------------------------------------------------

export interface PretrainOptions {
  /** The model; vocabSize must equal the tokenizer's. */
  config: GPTConfig;
  tokenizer: Tokenizer;
  /** The token stream (encodeCorpus); its last `valFraction` is the validation split. */
  ids: Uint32Array;
  /** Optimizer steps. */
  steps: number;
  /** Sequences per step (B). */
  batchSize: number;
  /** Tokens per sequence (T ≤ contextLength; default contextLength). */
  seqLen?: number;
  /** Peak learning rate (after warm-up); the cosine decays to maxLr/10 at the last step (minLr overrides). */
  maxLr: number;
  minLr?: number;
  warmupSteps: number;
  /** Seeds the initial weights, the batches and the dropout masks. */
  seed: number;
  /** Start from these weights instead of GPT-2's initialisation (continued pretraining). */
  weights?: Record<string, ArrayLike<number>>;
  /** Fraction of the stream held out for validation (default 0.05, TextBatcher's). */
  valFraction?: number;
  /** Log (onLog) every this many steps, and after the last (default 10). */
  logEvery?: number;
  /** Validation loss every this many steps (0: only at the end; default 100). */
  evalEvery?: number;
  /** Validation batches per periodic evaluation (default 8); the final one uses up to `finalEvalBatches`. */
  evalBatches?: number;
  /** Validation batches of the final evaluation (default all of the split). */
  finalEvalBatches?: number;
  optimizer?: Partial<AdamWOptions>;
  /** Called after every step (e.g. a live loss chart). */
  onStep?: (metrics: StepMetrics) => void | Promise<void>;
  /** Called at every log step, and with the final entry. */
  onLog?: (entry: PretrainLogEntry) => void | Promise<void>;
  /** Stops after the step in progress (the result has stopped: true and the weights reached so far). */
  signal?: AbortSignal;
}

export interface PretrainLogEntry {
  /** Steps completed. */
  step: number;
  /** Mean training loss (with dropout, as trained) over the steps since the previous entry. */
  trainLoss: number;
  /** Validation loss (no dropout), when evaluated at this step. */
  valLoss?: number;
  /** Learning rate of the last step. */
  lr: number;
  /** Gradient norm (before clipping) of the last step. */
  gradNorm: number;
  /** Training tokens per second since the previous entry (evaluation time excluded). */
  tokensPerSecond: number;
  /** Seconds since the loop started (evaluations included). */
  elapsedSeconds: number;
}

export interface PretrainResult {
  config: GPTConfig;
  /** The trained parameters, by name (parameterShapes order). */
  weights: Record<string, Float32Array>;
  log: PretrainLogEntry[];
  /** Steps taken (less than `steps` when stopped). */
  steps: number;
  stopped: boolean;
  /** Loss of step 0 (the untrained model, ≈ ln V). */
  initialLoss: number;
  /** Mean training loss (with dropout) over the last log window. */
  finalTrainLoss: number;
  /** Validation loss (no dropout) of the final weights over up to finalEvalBatches batches. */
  finalValLoss: number;
  /** Validation tokens finalValLoss averages over. */
  finalValTokens: number;
  /** Training tokens processed. */
  tokens: number;
  wallSeconds: number;
}

/** Checks the options before anything runs, with errors that name the option. */
export function validatePretrainOptions(o: PretrainOptions): void {
  const int = (name: string, v: unknown, min: number) => {
    if (!Number.isInteger(v) || (v as number) < min) throw new RangeError(`pretrain: ${name} must be an integer ≥ ${min}, got ${v}`);
  };
  int('steps', o.steps, 1);
  int('batchSize', o.batchSize, 1);
  const T = o.seqLen ?? o.config.contextLength;
  int('seqLen', T, 1);
  if (T > o.config.contextLength) throw new RangeError(`pretrain: seqLen ${T} exceeds the model's contextLength ${o.config.contextLength}`);
  if (!(Number.isFinite(o.maxLr) && o.maxLr > 0)) throw new RangeError(`pretrain: maxLr must be a positive number, got ${o.maxLr}`);
  int('warmupSteps', o.warmupSteps, 0);
  if (o.warmupSteps > o.steps) throw new RangeError(`pretrain: warmupSteps (${o.warmupSteps}) exceeds steps (${o.steps})`);
  int('seed', o.seed, 0);
  int('logEvery', o.logEvery ?? 10, 1);
  int('evalEvery', o.evalEvery ?? 100, 0);
  int('evalBatches', o.evalBatches ?? 8, 1);
  if (o.finalEvalBatches !== undefined && o.finalEvalBatches !== Infinity) int('finalEvalBatches', o.finalEvalBatches, 1);
  if (o.tokenizer.vocabSize !== o.config.vocabSize) {
    throw new RangeError(`pretrain: the tokenizer has ${o.tokenizer.vocabSize} ids but config.vocabSize is ${o.config.vocabSize}`);
  }
  const valFraction = o.valFraction ?? 0.05;
  if (!(valFraction > 0 && valFraction < 1)) throw new RangeError(`pretrain: valFraction must be in (0, 1), got ${valFraction}`);
}

/** Weighted mean loss of `batches` (no dropout): each batch's mean weighted by its Σw, so partial batches count right. */
export async function evaluateLoss(model: GPT, batches: readonly TokenBatch[]): Promise<number> {
  let sum = 0;
  let weight = 0;
  for (const b of batches) {
    let w = 0;
    for (let i = 0; i < b.weights.length; i++) w += b.weights[i];
    sum += (await model.evaluate(b)) * w;
    weight += w;
  }
  return sum / weight;
}

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/**
 * Pretrains a GPT from `options.weights` or a seeded initialisation on the stream `ids`, and returns the trained
 * weights with a log. Creates its own GPT on `rt` and frees everything before returning (or throwing, e.g.
 * TrainingDivergedError).
 */
export async function pretrain(rt: GpuRuntime, options: PretrainOptions): Promise<PretrainResult> {
  validatePretrainOptions(options);
  const { config, steps, batchSize, seed } = options;
  const T = options.seqLen ?? config.contextLength;
  const logEvery = options.logEvery ?? 10;
  const evalEvery = options.evalEvery ?? 100;
  const batcher = new TextBatcher(options.ids, { batchSize, contextLength: T, seed, valFraction: options.valFraction ?? 0.05 });
  const periodicVal = batcher.valBatches(options.evalBatches ?? 8);
  const finalVal = batcher.valBatches(options.finalEvalBatches ?? Infinity);

  const model = GPT.create(rt, config, { seed, weights: options.weights, dropoutSeed: seed });
  const trainer = new Trainer(model, {
    schedule: { maxLr: options.maxLr, minLr: options.minLr, warmupSteps: options.warmupSteps, decaySteps: steps },
    optimizer: options.optimizer,
  });
  const log: PretrainLogEntry[] = [];
  const start = now();
  let windowStart = start;
  let windowEvalMs = 0;
  let windowLoss = 0;
  let windowSteps = 0;
  let windowTokens = 0;
  let tokens = 0;
  let initialLoss = NaN;
  let last: StepMetrics | undefined;
  let stopped = false;

  const validate = async (batches: readonly TokenBatch[]) => {
    const t0 = now();
    const loss = await evaluateLoss(model, batches);
    const dt = now() - t0;
    windowEvalMs += dt;
    return loss;
  };

  const emit = async (valLoss: number | undefined) => {
    const t = now();
    const entry: PretrainLogEntry = {
      step: trainer.step,
      trainLoss: windowLoss / windowSteps,
      valLoss,
      lr: last!.lr,
      gradNorm: last!.gradNorm,
      tokensPerSecond: windowTokens / Math.max(1e-9, (t - windowStart - windowEvalMs) / 1000),
      elapsedSeconds: (t - start) / 1000,
    };
    if (valLoss === undefined) delete entry.valLoss;
    log.push(entry);
    windowStart = t;
    windowEvalMs = 0;
    windowLoss = 0;
    windowSteps = 0;
    windowTokens = 0;
    await options.onLog?.(entry);
    return entry;
  };

  try {
    for (let s = 0; s < steps; s++) {
      if (options.signal?.aborted) {
        stopped = true;
        break;
      }
      last = await trainer.trainStep(batcher.batch('train', s));
      if (s === 0) initialLoss = last.loss;
      tokens += last.tokens;
      windowLoss += last.loss;
      windowSteps++;
      windowTokens += last.tokens;
      await options.onStep?.(last);
      const done = s + 1;
      if (done === steps) break; // the final entry comes after the loop, with the full validation
      const evalNow = evalEvery > 0 && done % evalEvery === 0;
      if (done % logEvery === 0 || evalNow) await emit(evalNow ? await validate(periodicVal) : undefined);
    }
    if (!last) throw new Error('pretrain: stopped before the first step');
    const finalValLoss = await validate(finalVal);
    const finalTrainLoss = windowSteps > 0 ? windowLoss / windowSteps : log[log.length - 1].trainLoss;
    if (windowSteps > 0) await emit(finalValLoss);
    else {
      log[log.length - 1].valLoss = finalValLoss;
      await options.onLog?.(log[log.length - 1]);
    }
    const weights = await model.params.getWeights();
    return {
      config,
      weights,
      log,
      steps: trainer.step,
      stopped,
      initialLoss,
      finalTrainLoss,
      finalValLoss,
      finalValTokens: finalVal.reduce((n, b) => n + b.weights.reduce((a, w) => a + w, 0), 0),
      tokens,
      wallSeconds: (now() - start) / 1000,
    };
  } finally {
    trainer.dispose();
    model.dispose();
  }
}
