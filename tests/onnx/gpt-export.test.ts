import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import { afterAll, describe, expect, test } from 'vitest';
import { main, parseExportArgs, UsageError } from '../../src/cli/export';
import { saveCheckpoint } from '../../src/model/checkpoint';
import { makeConfig, parameterShapes, type GPTConfig } from '../../src/model/config';
import { exportGptOnnx, ONNX_IR_VERSION, ONNX_OPSET } from '../../src/onnx/gpt-export';
import { readFields } from '../../src/onnx/protobuf';
import { gptForward } from '../../src/reference/gpt';
import { randomGptWeights } from '../helpers/gpt-fixtures';
import { integers } from '../helpers/random';
import { expectClose, type Tolerance } from '../helpers/tolerance';

// onnxruntime-web's wasm build runs in Node (the browser test runs the same file on the WebGPU EP).
ort.env.wasm.numThreads = 1;

// ORT computes in float32, the reference in float64. The logits come out of float32 matmuls of length ≤ 4C = 256,
// LayerNorms and softmaxes per layer, each adding a few ulps (2⁻²⁴ ≈ 6e-8) of the magnitudes it handles. With
// weights of std ≤ 0.3 (|logits| ≲ 6, activations O(1)) that is ~1e-6 (measured worst 8.3e-6, 14% of TOL);
// with std 1 the residual stream and attention scores reach tens to hundreds, so errors scale up by ~10×
// (measured worst 4.9e-5 at |z| ≤ 32, 25% of TOL_LARGE). Checked by mutation: a mask one step too wide, a
// 0.1% wrong attention scale, erf instead of tanh GELU or ε = 1e-6 each fail these tests (errors ≥ 1e-3).
const TOL: Tolerance = { atol: 5e-5, rtol: 2e-5 };
const TOL_LARGE: Tolerance = { atol: 2e-4, rtol: 5e-5 };

const NANO = makeConfig('nano', { vocabSize: 37 }); // 2 layers, d 32, 2 heads, ctx 32; a ragged vocabulary

async function session(model: Uint8Array): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(model, { executionProviders: ['wasm'] });
}

async function runLogits(s: ort.InferenceSession, tokens: ArrayLike<number>, B: number, T: number): Promise<ort.Tensor> {
  const { logits } = await s.run({ tokens: new ort.Tensor('int64', BigInt64Array.from(tokens, (t) => BigInt(t)), [B, T]) });
  return logits;
}

async function expectMatchesReference(
  config: GPTConfig,
  weights: Record<string, Float32Array>,
  shapes: [number, number][],
  seed: number,
  tol = TOL,
) {
  const s = await session(exportGptOnnx(config, weights));
  try {
    for (const [B, T] of shapes) {
      const tokens = integers(B * T, config.vocabSize, seed + T);
      const logits = await runLogits(s, tokens, B, T);
      expect(logits.type).toBe('float32');
      expect(logits.dims).toEqual([B, T, config.vocabSize]);
      expectClose(logits.data as Float32Array, gptForward(config, weights, tokens, B, T), tol, `logits B=${B} T=${T}`);
    }
  } finally {
    await s.release();
  }
}

describe('ONNX export of the GPT forward pass', () => {
  test('nano: logits match the float64 reference (batch 2 × seq 7, seq = contextLength, 1 × 1)', async () => {
    await expectMatchesReference(NANO, randomGptWeights(NANO, 11), [[2, 7], [2, NANO.contextLength], [1, 1]], 100);
  });

  test('tiny preset (4 layers, 4 heads, d 64, ctx 128): logits match at full context', async () => {
    const tiny = makeConfig('tiny', { vocabSize: 53 });
    await expectMatchesReference(tiny, randomGptWeights(tiny, 12, 0.2), [[1, tiny.contextLength], [3, 5]], 200);
  });

  test('large activations (weights std 1: attention scores of tens, saturated GELU) still match', async () => {
    const w = randomGptWeights(NANO, 13, 1);
    await expectMatchesReference(NANO, w, [[2, 19]], 300, TOL_LARGE);
  });

  test('embeddings with variance below ε = 1e-5: LayerNorm’s ε shapes the result, and matches', async () => {
    // x = wte + wpe has variance ~2e-5 per row, so 1e-5 vs 1e-6 (or a missing ε) changes the normalised values by
    // O(1); the logits (|z| ~ 0.02, wte is tiny) would be off by ~1e-2.
    const w = randomGptWeights(NANO, 18);
    for (const name of ['wte', 'wpe']) w[name] = w[name].map((v) => v * 0.01);
    await expectMatchesReference(NANO, w, [[2, 9]], 500, { atol: 1e-6, rtol: 1e-5 });
  });

  test('the graph: names, dynamic dims, opset, every weight stored once and bit-exact', async () => {
    const weights = randomGptWeights(NANO, 14);
    const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);
    bits(weights['h.0.ln_1.bias']).set([0x7fc00001, 0x80000000]); // NaN payload and −0 survive too
    const model = exportGptOnnx(NANO, weights);
    const text = (v: bigint | Uint8Array) => new TextDecoder().decode(v as Uint8Array);
    const fields = readFields(model);
    const one = (n: number) => fields.filter((f) => f.field === n);
    expect(one(1)[0].value).toBe(BigInt(ONNX_IR_VERSION));
    const opset = readFields(one(8)[0].value as Uint8Array);
    expect(opset.map((f) => (f.field === 1 ? text(f.value) : f.value))).toEqual(['', BigInt(ONNX_OPSET)]);
    const meta = readFields(one(14)[0].value as Uint8Array).map((f) => text(f.value));
    expect(meta[0]).toBe('rlhf_lab.config');
    expect(JSON.parse(meta[1])).toEqual({ ...NANO });

    const graph = readFields(one(7)[0].value as Uint8Array);
    const initializers = new Map<string, { dims: number[]; type: bigint; raw: Uint8Array }>();
    for (const f of graph.filter((g) => g.field === 5)) {
      const t = readFields(f.value as Uint8Array);
      const name = text(t.find((x) => x.field === 8)!.value);
      expect(initializers.has(name), `initializer ${name} twice`).toBe(false);
      initializers.set(name, {
        dims: t.filter((x) => x.field === 1).map((x) => Number(x.value)),
        type: t.find((x) => x.field === 2)!.value as bigint,
        raw: t.find((x) => x.field === 9)!.value as Uint8Array,
      });
    }
    for (const { name, shape } of parameterShapes(NANO)) {
      const init = initializers.get(name)!;
      expect(init.dims, name).toEqual(shape);
      expect(init.type).toBe(1n); // FLOAT
      const w = weights[name];
      const expected = new Uint8Array(w.buffer, w.byteOffset, w.byteLength);
      expect(init.raw.length).toBe(expected.length);
      expect(init.raw.every((b, i) => b === expected[i]), `${name} bytes`).toBe(true);
    }
    // The tied LM head reuses wte (no second V×C matrix).
    const vc = [...initializers].filter(([, t]) => t.dims.length === 2 && t.dims.includes(NANO.vocabSize)).map(([n]) => n);
    expect(vc).toEqual(['wte']);

    const s = await session(model);
    expect(s.inputNames).toEqual(['tokens']);
    expect(s.outputNames).toEqual(['logits']);
    await s.release();
  });

  test('a sequence longer than contextLength is refused by ONNX Runtime, not silently truncated', async () => {
    const s = await session(exportGptOnnx(NANO, randomGptWeights(NANO, 15)));
    await expect(runLogits(s, new Array(NANO.contextLength + 1).fill(1), 1, NANO.contextLength + 1)).rejects.toThrow();
    await s.release();
  });

  test('rejects weights that do not fit the config', () => {
    const w = randomGptWeights(NANO, 16);
    const { 'ln_f.bias': _dropped, ...missing } = w;
    expect(() => exportGptOnnx(NANO, missing)).toThrow(/exportGptOnnx: weight ln_f.bias is missing or not a Float32Array/);
    expect(() => exportGptOnnx(NANO, { ...w, wpe: new Float32Array(5) })).toThrow(/weight wpe has 5 values, shape \[32, 32\] needs 1024/);
    expect(() => exportGptOnnx({ ...NANO, nHead: 3 }, w)).toThrow(/divisible by nHead/);
  });
});

describe('npm run export', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rlhf-export-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const weights = randomGptWeights(NANO, 17);
  const checkpoint = join(dir, 'model.safetensors');
  writeFileSync(checkpoint, saveCheckpoint(weights, NANO, { type: 'char' }));

  async function run(args: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const status = await main(args, (l) => out.push(l), (l) => err.push(l));
    return { status, out: out.join('\n'), err: err.join('\n') };
  }

  test('exports a checkpoint: the .onnx reproduces the reference logits, one summary line', async () => {
    const onnx = join(dir, 'model.onnx');
    const r = await run(['--', '--checkpoint', checkpoint, `--onnx=${onnx}`]);
    expect(r.err).toBe('');
    expect(r.status).toBe(0);
    expect(r.out).toMatch(
      new RegExp(`^wrote ${onnx.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: 27,680 params \\(2 layers, d 32, 2 heads, ctx 32\\), vocab 37, [\\d,]+ bytes, opset 17$`),
    );
    const s = await session(readFileSync(onnx));
    const tokens = integers(2 * 7, NANO.vocabSize, 400);
    expectClose((await runLogits(s, tokens, 2, 7)).data as Float32Array, gptForward(NANO, weights, tokens, 2, 7), TOL, 'CLI export');
    await s.release();
  });

  test('usage errors exit 2 with the usage text', async () => {
    for (const [args, message] of [
      [[], /missing --checkpoint <in.safetensors>/],
      [['--checkpoint', checkpoint], /missing --onnx <out.onnx>/],
      [['--checkpoint'], /--checkpoint needs a file name/],
      [['--checkpoint', '--onnx', 'x.onnx'], /--checkpoint needs a file name/],
      [['--checkpoint', 'a', '--checkpoint', 'b', '--onnx', 'c'], /--checkpoint given twice/],
      [['--ckpt', 'a'], /unknown option --ckpt/],
      [['model.safetensors'], /unexpected argument "model.safetensors"/],
    ] as [string[], RegExp][]) {
      const r = await run(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.err).toMatch(message);
      expect(r.err).toMatch(/usage: npm run export -- --checkpoint <in.safetensors> \[--onnx <out.onnx>\] \[--hf <dir>\]/);
    }
    expect(await run(['--help'])).toMatchObject({ status: 0, out: expect.stringMatching(/^usage: npm run export/) });
    expect(() => parseExportArgs(['--onnx', 'x'])).toThrow(UsageError);
  });

  test('an unreadable or invalid checkpoint exits 1 and writes no .onnx', async () => {
    const onnx = join(dir, 'bad.onnx');
    const missing = await run(['--checkpoint', join(dir, 'nope.safetensors'), '--onnx', onnx]);
    expect(missing.status).toBe(1);
    expect(missing.err).toMatch(/export failed: cannot read checkpoint .*nope\.safetensors: ENOENT/);
    const truncated = join(dir, 'truncated.safetensors');
    const full = readFileSync(checkpoint);
    writeFileSync(truncated, full.subarray(0, full.length - 1000));
    const bad = await run(['--checkpoint', truncated, '--onnx', onnx]);
    expect(bad.status).toBe(1);
    expect(bad.err).toMatch(/export failed: .*truncated\.safetensors: safetensors: tensor ".*" needs data bytes .* \(truncated\?\)/);
    expect(existsSync(onnx)).toBe(false);
    const unwritable = await run(['--checkpoint', checkpoint, '--onnx', join(dir, 'no-such-dir', 'x.onnx')]);
    expect(unwritable.status).toBe(1);
    expect(unwritable.err).toMatch(/cannot write .*x\.onnx: ENOENT/);
  });

  test('runs as a script through vite-node, as the npm script does', () => {
    const onnx = join(dir, 'script.onnx');
    const env = { ...process.env };
    delete env.VITEST; // the CLI runs main only outside Vitest
    const r = spawnSync(process.execPath, ['node_modules/vite-node/dist/cli.mjs', 'src/cli/export.ts', '--', '--checkpoint', checkpoint, '--onnx', onnx], {
      env,
      encoding: 'utf8',
    });
    expect(r.status, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/wrote .*script\.onnx: 27,680 params/);
    expect(Buffer.compare(readFileSync(onnx), exportGptOnnx(NANO, weights))).toBe(0);
    const usage = spawnSync(process.execPath, ['node_modules/vite-node/dist/cli.mjs', 'src/cli/export.ts', '--', '--onnx', onnx], { env, encoding: 'utf8' });
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/missing --checkpoint/);
  });
});
