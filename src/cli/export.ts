// `npm run export -- --checkpoint <in.safetensors> --onnx <out.onnx>`: a checkpoint (src/model/checkpoint.ts,
// fully validated) → the model's forward pass as ONNX (src/onnx/gpt-export.ts), with a one-line summary.
import { readFileSync, writeFileSync } from 'node:fs';
import { loadCheckpoint, type Checkpoint } from '../model/checkpoint';
import { parameterCount } from '../model/config';
import { exportGptOnnx, ONNX_OPSET } from '../onnx/gpt-export';

export const USAGE = `usage: npm run export -- --checkpoint <in.safetensors> --onnx <out.onnx>

Writes the forward pass of a checkpoint's GPT (tokens int64 [batch, seq] → logits float32 [batch, seq, vocab])
as an ONNX model (opset ${ONNX_OPSET}) that ONNX Runtime runs.

options:
  --checkpoint FILE  a checkpoint saved by RLHF Lab (safetensors with GPT-2 tensor names and its config)
  --onnx FILE        the .onnx file to write (overwritten)
  -h, --help         this text`;

/** A bad command line: main prints it with the usage and exits with status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface ExportOptions {
  checkpoint: string;
  onnx: string;
}

/** Parses `--checkpoint X --onnx Y` (also `--flag=value`), or returns 'help'. Throws UsageError. */
export function parseExportArgs(args: readonly string[]): ExportOptions | 'help' {
  const opts: Partial<ExportOptions> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') continue;
    if (arg === '-h' || arg === '--help') return 'help';
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const key = flag === '--checkpoint' ? 'checkpoint' : flag === '--onnx' ? 'onnx' : undefined;
    if (key === undefined) throw new UsageError(arg.startsWith('-') ? `unknown option ${flag}` : `unexpected argument "${arg}"`);
    const value = flag !== arg ? arg.slice(eq + 1) : args[++i];
    if (value === undefined || value === '' || value.startsWith('--')) throw new UsageError(`${flag} needs a file name`);
    if (opts[key] !== undefined) throw new UsageError(`${flag} given twice`);
    opts[key] = value;
  }
  if (opts.checkpoint === undefined) throw new UsageError('missing --checkpoint <in.safetensors>');
  if (opts.onnx === undefined) throw new UsageError('missing --onnx <out.onnx>');
  return { checkpoint: opts.checkpoint, onnx: opts.onnx };
}

/** Reads, validates and exports; returns the summary line. Throws on any failure, writing nothing. */
export function runExport(opts: ExportOptions): string {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(opts.checkpoint);
  } catch (e) {
    throw new Error(`cannot read checkpoint ${opts.checkpoint}: ${(e as Error).message}`);
  }
  let model: Checkpoint;
  try {
    model = loadCheckpoint(bytes);
  } catch (e) {
    throw new Error(`${opts.checkpoint}: ${(e as Error).message}`);
  }
  const onnx = exportGptOnnx(model.config, model.weights);
  try {
    writeFileSync(opts.onnx, onnx);
  } catch (e) {
    throw new Error(`cannot write ${opts.onnx}: ${(e as Error).message}`);
  }
  const { vocabSize, contextLength, nLayer, nHead, dModel } = model.config;
  return (
    `wrote ${opts.onnx}: ${parameterCount(model.config).toLocaleString('en-US')} params ` +
    `(${nLayer} layers, d ${dModel}, ${nHead} heads, ctx ${contextLength}), vocab ${vocabSize}, ` +
    `${onnx.length.toLocaleString('en-US')} bytes, opset ${ONNX_OPSET}`
  );
}

/** The CLI: returns the exit status (0 ok, 1 failure, 2 usage error); prints to the given streams. */
export function main(args: readonly string[], out = console.log, err = console.error): number {
  try {
    const opts = parseExportArgs(args);
    if (opts === 'help') {
      out(USAGE);
      return 0;
    }
    out(runExport(opts));
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      err(`${e.message}\n\n${USAGE}`);
      return 2;
    }
    err(`export failed: ${(e as Error).message}`);
    return 1;
  }
}

// Run as a script (vite-node); tests import main instead (Vitest sets VITEST).
if (!process.env.VITEST) process.exitCode = main(process.argv.slice(2));
