// `npm run pretrain -- [options]`: pretrains a GPT on a text corpus in Node (Dawn: a real GPU driver or SwiftShader)
// with src/model/pretrain.ts, prints a line per log step, then the final losses, the wall time and sample
// continuations, and writes a checkpoint (src/model/checkpoint.ts) holding the tokenizer and the training facts.
// The bundled base model public/models/base-tiny.safetensors was made with it (see public/models/README.md).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GpuRuntime } from '../gpu';
import { createNodeRuntime } from '../gpu/node';
import { type Checkpoint, loadCheckpoint, saveCheckpoint, TRAINING_METADATA_KEY } from '../model/checkpoint';
import { makeConfig, parameterCount, PRESETS, type PresetName } from '../model/config';
import { generateText } from '../model/generate';
import { GPT } from '../model/gpt';
import { tokenizerFromJSON } from '../model/tokenizer';
import { buildTokenizer, encodeCorpus, type PretrainLogEntry, type PretrainResult, pretrain, type TokenizerKind } from '../model/pretrain';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Prompts of the sample continuations printed at the end: a story, a review, an instruction line. */
export const SAMPLE_PROMPTS = ['Once upon a time', 'Review of the', 'reverse: abc =>'];

export const DEFAULTS = {
  preset: 'tiny' as PresetName,
  steps: 600,
  batch: 2,
  lr: 3e-3,
  warmup: 30,
  dropout: 0,
  seed: 1337,
  tokenizer: 'char' as TokenizerKind,
  vocab: 1024,
  corpus: 'public/corpus/tiny-stories.txt',
  out: 'public/models/base-tiny.safetensors',
  logEvery: 20,
  evalEvery: 100,
  evalBatches: 4,
  finalEvalBatches: 32,
};

export const USAGE = `usage: npm run pretrain -- [options]

Pretrains a GPT on a text corpus (documents separated by blank lines, each trained as BOS text EOS) and writes a
checkpoint with its tokenizer and the training facts.

options:
  --preset NAME        nano | tiny | small (default ${DEFAULTS.preset})
  --steps N            optimizer steps (default ${DEFAULTS.steps})
  --batch N            sequences per step (default ${DEFAULTS.batch})
  --seq N              tokens per sequence, ≤ the preset's context length (default: the context length)
  --lr X               peak learning rate; cosine decay to X/10 at the last step (default ${DEFAULTS.lr})
  --warmup N           linear warm-up steps (default ${DEFAULTS.warmup}, or steps/10 when that is fewer)
  --seed N             seed of the initial weights, batches and dropout (default ${DEFAULTS.seed})
  --dropout X          dropout in [0, 1) while training, recorded in the checkpoint's config (default ${DEFAULTS.dropout}:
                       pretraining sees less than an epoch, so there is no overfitting for dropout to prevent)
  --tokenizer KIND     char | bpe (default ${DEFAULTS.tokenizer})
  --vocab N            BPE vocabulary size, ≥ 260 (only with --tokenizer bpe; default ${DEFAULTS.vocab})
  --init FILE          continue pretraining from this checkpoint: its weights, tokenizer and architecture (--preset,
                       --tokenizer and --vocab must then be left out); the new schedule starts at step 0
  --corpus FILE        training text (default ${DEFAULTS.corpus})
  --out FILE           checkpoint to write (default ${DEFAULTS.out})
  --log-every N        print a line every N steps (default ${DEFAULTS.logEvery})
  --eval-every N       validation loss every N steps, 0 = only at the end (default ${DEFAULTS.evalEvery})
  --eval-batches N     validation batches per periodic evaluation (default ${DEFAULTS.evalBatches})
  --final-eval-batches N  validation batches of the final evaluation, 0 = the whole split (default ${DEFAULTS.finalEvalBatches})
  --no-samples         skip the sample continuations at the end
  -h, --help           this text`;

/** A bad command line: main prints it with the usage and returns 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface PretrainCliOptions {
  preset: PresetName;
  steps: number;
  batch: number;
  /** undefined: the preset's contextLength. */
  seq?: number;
  lr: number;
  warmup: number;
  seed: number;
  dropout: number;
  tokenizer: TokenizerKind;
  vocab: number;
  corpus: string;
  /** A checkpoint to continue from. */
  init?: string;
  out: string;
  logEvery: number;
  evalEvery: number;
  evalBatches: number;
  /** 0: the whole validation split. */
  finalEvalBatches: number;
  samples: boolean;
}

const FLAGS = [
  '--preset', '--steps', '--batch', '--seq', '--lr', '--warmup', '--seed', '--dropout', '--tokenizer', '--vocab',
  '--corpus', '--init', '--out', '--log-every', '--eval-every', '--eval-batches', '--final-eval-batches',
] as const;
type Flag = (typeof FLAGS)[number];

/** Parses the command line (`--flag value` or `--flag=value`), or returns 'help'. Throws UsageError. */
export function parsePretrainArgs(args: readonly string[]): PretrainCliOptions | 'help' {
  const given = new Map<Flag, string>();
  let samples = true;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') continue;
    if (arg === '-h' || arg === '--help') return 'help';
    if (arg === '--no-samples') {
      samples = false;
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = (arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg) as Flag;
    if (!FLAGS.includes(flag)) throw new UsageError(arg.startsWith('-') ? `unknown option ${flag}` : `unexpected argument "${arg}"`);
    const value = flag !== arg ? arg.slice(eq + 1) : args[++i];
    if (value === undefined || value === '' || (flag === arg && value.startsWith('--'))) throw new UsageError(`${flag} needs a value`);
    if (given.has(flag)) throw new UsageError(`${flag} given twice`);
    given.set(flag, value);
  }
  const int = (flag: Flag, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const v = given.get(flag);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new UsageError(`${flag} needs an integer in [${min}, ${max === Number.MAX_SAFE_INTEGER ? '∞' : max}], got "${v}"`);
    }
    return n;
  };
  const num = (flag: Flag, fallback: number | undefined, ok: (x: number) => boolean, what: string): number | undefined => {
    const v = given.get(flag);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || !ok(n)) throw new UsageError(`${flag} needs ${what}, got "${v}"`);
    return n;
  };

  const preset = (given.get('--preset') ?? DEFAULTS.preset) as PresetName;
  if (!Object.hasOwn(PRESETS, preset)) throw new UsageError(`--preset must be one of ${Object.keys(PRESETS).join(', ')}, got "${preset}"`);
  const ctx = PRESETS[preset].contextLength;
  const tokenizer = (given.get('--tokenizer') ?? DEFAULTS.tokenizer) as TokenizerKind;
  if (tokenizer !== 'char' && tokenizer !== 'bpe') throw new UsageError(`--tokenizer must be char or bpe, got "${tokenizer}"`);
  if (given.has('--init') && (given.has('--tokenizer') || given.has('--vocab') || given.has('--preset'))) {
    throw new UsageError('--init continues a checkpoint with its own tokenizer and architecture: leave out --preset, --tokenizer and --vocab');
  }
  if (tokenizer === 'char' && given.has('--vocab')) throw new UsageError('--vocab applies to --tokenizer bpe only (a char vocabulary is the corpus\'s characters)');
  const steps = int('--steps', DEFAULTS.steps, 1);
  const warmup = int('--warmup', Math.min(DEFAULTS.warmup, Math.floor(steps / 10)), 0);
  if (warmup > steps) throw new UsageError(`--warmup (${warmup}) cannot exceed --steps (${steps})`);
  const seq = given.has('--seq') ? int('--seq', ctx, 1, ctx) : undefined;
  return {
    preset,
    steps,
    batch: int('--batch', DEFAULTS.batch, 1),
    seq,
    lr: num('--lr', DEFAULTS.lr, (x) => x > 0 && x < 1, 'a learning rate in (0, 1)')!,
    warmup,
    seed: int('--seed', DEFAULTS.seed, 0, 2 ** 32 - 1),
    dropout: num('--dropout', DEFAULTS.dropout, (x) => x >= 0 && x < 1, 'a probability in [0, 1)')!,
    tokenizer,
    vocab: int('--vocab', DEFAULTS.vocab, 260, 65536),
    corpus: given.get('--corpus') ?? DEFAULTS.corpus,
    init: given.get('--init'),
    out: given.get('--out') ?? DEFAULTS.out,
    logEvery: int('--log-every', DEFAULTS.logEvery, 1),
    evalEvery: int('--eval-every', DEFAULTS.evalEvery, 0),
    evalBatches: int('--eval-batches', DEFAULTS.evalBatches, 1),
    finalEvalBatches: int('--final-eval-batches', DEFAULTS.finalEvalBatches, 0),
    samples,
  };
}

/** The command line that reproduces a run (recorded in the checkpoint). */
export function commandLine(args: readonly string[]): string {
  const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  const rest = args.filter((a) => a !== '--');
  return `npm run pretrain${rest.length ? ` -- ${rest.map(quote).join(' ')}` : ''}`;
}

const fmt = (x: number | undefined, digits = 4) => (x === undefined ? '      ' : x.toFixed(digits));

function logLine(e: PretrainLogEntry, steps: number): string {
  const width = String(steps).length;
  return (
    `step ${String(e.step).padStart(width)}/${steps}  train ${fmt(e.trainLoss)}  val ${fmt(e.valLoss)}  ` +
    `lr ${e.lr.toExponential(2)}  |g| ${e.gradNorm.toFixed(2)}  ${Math.round(e.tokensPerSecond).toString().padStart(6)} tok/s  ` +
    `${e.elapsedSeconds.toFixed(1)} s`
  );
}

export interface MainIo {
  out?: (line: string) => void;
  err?: (line: string) => void;
  /** A runtime to use (tests); by default one is created with createNodeRuntime and destroyed at the end. */
  runtime?: GpuRuntime;
  /** Working directory for relative paths (default process.cwd()). */
  cwd?: string;
}

export interface PretrainRun {
  /** Absolute path of the checkpoint written. */
  path: string;
  result: PretrainResult;
  samples: { prompt: string; mode: string; text: string }[];
}

/** Runs a pretraining from parsed options and writes the checkpoint. Throws on failure. */
export async function runPretrain(opts: PretrainCliOptions, args: readonly string[], io: MainIo = {}): Promise<PretrainRun> {
  const out = io.out ?? console.log;
  const cwd = io.cwd ?? process.cwd();
  const corpusPath = resolve(cwd, opts.corpus);
  const outPath = resolve(cwd, opts.out);
  let text: string;
  try {
    text = readFileSync(corpusPath, 'utf8');
  } catch (e) {
    throw new Error(`cannot read the corpus ${opts.corpus}: ${(e as Error).message}`);
  }
  const t0 = performance.now();
  let init: Checkpoint | undefined;
  if (opts.init) {
    try {
      init = loadCheckpoint(readFileSync(resolve(cwd, opts.init)));
    } catch (e) {
      throw new Error(`cannot load --init ${opts.init}: ${(e as Error).message}`);
    }
  }
  const tokenizer = init ? tokenizerFromJSON(init.tokenizerJson) : buildTokenizer(opts.tokenizer, text, opts.vocab);
  const config = init ? makeConfig(opts.preset, { ...init.config, dropout: opts.dropout }) : makeConfig(opts.preset, { vocabSize: tokenizer.vocabSize, dropout: opts.dropout });
  const ids = encodeCorpus(text, tokenizer);
  const T = opts.seq ?? config.contextLength;
  const rt = io.runtime ?? (await createNodeRuntime());
  try {
    const { nLayer, nHead, dModel, contextLength, vocabSize, dropout } = config;
    out(`adapter: ${[rt.adapter.vendor, rt.adapter.architecture, rt.adapter.description].filter(Boolean).join(' ')}${rt.adapter.software ? ' (software)' : ''}`);
    out(
      `model: ${opts.preset}, ${parameterCount(config).toLocaleString('en-US')} params (${nLayer} layers, d ${dModel}, ${nHead} heads, ` +
        `ctx ${contextLength}, dropout ${dropout}), ${tokenizer.kind} tokenizer with ${vocabSize} ids`,
    );
    out(
      `data: ${relative(cwd, corpusPath) || corpusPath}, ${text.length.toLocaleString('en-US')} chars → ${ids.length.toLocaleString('en-US')} tokens ` +
        `(5% held out for validation); ${opts.steps} steps × ${opts.batch} × ${T} tokens = ` +
        `${(opts.steps * opts.batch * T).toLocaleString('en-US')} training tokens`,
    );
    out(`schedule: peak lr ${opts.lr}, ${opts.warmup} warm-up steps, cosine to ${Number((opts.lr / 10).toPrecision(6))}; seed ${opts.seed}`);
    const result = await pretrain(rt, {
      config,
      tokenizer,
      ids,
      steps: opts.steps,
      batchSize: opts.batch,
      seqLen: T,
      maxLr: opts.lr,
      warmupSteps: opts.warmup,
      seed: opts.seed,
      weights: init?.weights,
      logEvery: opts.logEvery,
      evalEvery: opts.evalEvery,
      evalBatches: opts.evalBatches,
      finalEvalBatches: opts.finalEvalBatches === 0 ? Infinity : opts.finalEvalBatches,
      onLog: (e) => out(logLine(e, opts.steps)),
    });
    const wall = (performance.now() - t0) / 1000;
    out(
      `done: ${result.steps} steps in ${result.wallSeconds.toFixed(1)} s of training (${wall.toFixed(1)} s in all); ` +
        `loss ${result.initialLoss.toFixed(4)} at step 0 → train ${result.finalTrainLoss.toFixed(4)} (last ${opts.logEvery}-step window), ` +
        `val ${result.finalValLoss.toFixed(4)} (${result.finalValTokens.toLocaleString('en-US')} validation tokens)`,
    );

    const samples: { prompt: string; mode: string; text: string }[] = [];
    if (opts.samples) {
      const model = GPT.create(rt, config, { weights: result.weights });
      try {
        const longest = Math.max(...SAMPLE_PROMPTS.map((p) => tokenizer.encode(p).length)) + 1; // + BOS
        const maxNewTokens = Math.max(0, Math.min(160, contextLength - longest));
        const modes = [
          { mode: 'greedy', options: { temperature: 0 } },
          { mode: 'T=0.8, seed 1', options: { temperature: 0.8, seed: 1 } },
        ];
        out(`samples (BOS + prompt, up to ${maxNewTokens} new tokens, stopping at EOS):`);
        for (const { mode, options } of modes) {
          const r = await generateText(model, tokenizer, SAMPLE_PROMPTS, { maxNewTokens, ...options });
          SAMPLE_PROMPTS.forEach((prompt, i) => {
            samples.push({ prompt, mode, text: r.texts[i] });
            out(`  [${mode}] ${JSON.stringify(prompt)} → ${JSON.stringify(r.texts[i])}${r.finished[i] ? ' <EOS>' : ''}`);
          });
        }
      } finally {
        model.dispose();
      }
    }

    const facts = {
      kind: 'pretrain',
      command: commandLine(args),
      preset: opts.preset,
      corpus: relative(ROOT, corpusPath) || corpusPath,
      corpusChars: text.length,
      tokens: ids.length,
      tokenizer: tokenizer.kind,
      ...(tokenizer.kind === 'bpe' ? { vocab: tokenizer.vocabSize } : {}),
      ...(init && opts.init ? { init: { checkpoint: opts.init, training: JSON.parse(init.metadata[TRAINING_METADATA_KEY] ?? 'null') } } : {}),
      steps: result.steps,
      batch: opts.batch,
      seq: T,
      lr: opts.lr,
      warmup: opts.warmup,
      dropout: opts.dropout,
      seed: opts.seed,
      initialLoss: result.initialLoss,
      finalTrainLoss: result.finalTrainLoss,
      finalValLoss: result.finalValLoss,
      finalValTokens: result.finalValTokens,
      trainingTokens: result.tokens,
      wallSeconds: Math.round(result.wallSeconds * 10) / 10,
      adapter: rt.adapter.description || rt.adapter.vendor,
    };
    const bytes = saveCheckpoint(result.weights, config, tokenizer.toJSON(), { [TRAINING_METADATA_KEY]: JSON.stringify(facts) });
    try {
      mkdirSync(dirname(outPath), { recursive: true });
      writeFileSync(outPath, bytes);
    } catch (e) {
      throw new Error(`cannot write ${opts.out}: ${(e as Error).message}`);
    }
    out(`wrote ${relative(cwd, outPath) || outPath}: ${bytes.length.toLocaleString('en-US')} bytes`);
    return { path: outPath, result, samples };
  } finally {
    if (!io.runtime) rt.destroy();
  }
}

/** The CLI: resolves to the exit status (0 ok, 1 failure, 2 usage error). */
export async function main(args: readonly string[], io: MainIo = {}): Promise<number> {
  const out = io.out ?? console.log;
  const err = io.err ?? console.error;
  try {
    const opts = parsePretrainArgs(args);
    if (opts === 'help') {
      out(USAGE);
      return 0;
    }
    await runPretrain(opts, args, { ...io, out });
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      err(`${e.message}\n\n${USAGE}`);
      return 2;
    }
    err(`pretrain failed: ${(e as Error).message}`);
    return 1;
  }
}

// Run as a script (vite-node); tests import main instead (Vitest sets VITEST).
if (!process.env.VITEST) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
