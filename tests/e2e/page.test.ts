// The built page in headless Chromium on SwiftShader: it must start the engine worker and report the adapter.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { build, preview, type PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as ort from 'onnxruntime-web';
import { loadCheckpoint } from '../../src/model/checkpoint';
import { gptForward } from '../../src/reference/gpt';
import { CHROMIUM_ARGS } from '../../vite.config';
import { expectClose } from '../helpers/tolerance';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

describe('lab page (built bundle)', () => {
  const outDir = mkdtempSync(join(tmpdir(), 'rlhf-lab-dist-'));
  let server: PreviewServer;
  let browser: Browser;
  let url: string;

  beforeAll(async () => {
    await build({ configFile: 'vite.config.ts', logLevel: 'error', build: { outDir, emptyOutDir: true } });
    server = await preview({ configFile: 'vite.config.ts', logLevel: 'error', build: { outDir }, preview: { host: '127.0.0.1', port: 0 } });
    url = server.resolvedUrls!.local[0];
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    rmSync(outDir, { recursive: true, force: true });
  });

  test('reports the WebGPU adapter found by the engine worker', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await expect.poll(() => page.getByTestId('adapter-name').textContent(), { timeout: 30_000 }).toMatch(/\S/);
    expect(await page.getByRole('region', { name: 'WebGPU adapter' }).textContent()).toMatch(/timestampQuery|none/);
    expect(errors).toEqual([]);
    await page.close();
  });

  test('opens with the bundled base model and samples a continuation from it', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    const panel = page.getByRole('region', { name: 'Base model' });
    await expect.poll(() => panel.textContent(), { timeout: 60_000 }).toMatch(/0\.2\dM parameters · 4 layers.*Pretrained by this lab for \d+ steps/s);
    await page.getByLabel('Temperature').fill('0');
    await page.getByRole('button', { name: 'Generate' }).click();
    const sample = page.getByTestId('sample-text');
    await expect.poll(() => sample.textContent(), { timeout: 120_000 }).toMatch(/^Once upon a time.{20,}/s);
    await page.screenshot({ path: 'test-results/lab-base-model.png', fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  test('downloads the model as a safetensors checkpoint and as ONNX that match the bundled weights', async () => {
    const bundled = loadCheckpoint(readFileSync('public/models/base-tiny.safetensors'));
    const page = await browser.newPage();
    await page.goto(url);
    const download = async (name: string) => {
      const button = page.getByRole('button', { name });
      await expect.poll(() => button.isVisible(), { timeout: 60_000 }).toBe(true);
      const [file] = await Promise.all([page.waitForEvent('download'), button.click()]);
      return readFileSync((await file.path())!);
    };
    const checkpoint = loadCheckpoint(await download('Download checkpoint (safetensors)'));
    expect(checkpoint.config).toEqual(bundled.config);
    for (const [name, w] of Object.entries(bundled.weights)) {
      const got = checkpoint.weights[name];
      const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
      expect(bytes(got).equals(bytes(w)), `${name} is bit-identical`).toBe(true);
    }
    expect(checkpoint.tokenizerJson).toEqual(bundled.tokenizerJson);

    ort.env.wasm.numThreads = 1;
    const session = await ort.InferenceSession.create(await download('Download ONNX'), { executionProviders: ['wasm'] });
    const tokens = [1, 2, 3, 4, 5, 6, 7];
    const { logits } = await session.run({ tokens: new ort.Tensor('int64', BigInt64Array.from(tokens, BigInt), [1, 7]) });
    // f32 ONNX Runtime vs the float64 reference on the real model (the export test explains the budget).
    expectClose(logits.data as Float32Array, gptForward(bundled.config, bundled.weights, tokens, 1, 7), { atol: 2e-4, rtol: 5e-5 }, 'ONNX logits');
    await session.release();
    await page.close();
  });

  test('explains what to do when the browser offers no WebGPU adapter', async () => {
    // Linux Chromium without --enable-unsafe-webgpu has navigator.gpu but gives no adapter: a real user's case.
    const plain = await chromium.launch({
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS.filter((a) => a !== '--enable-unsafe-webgpu'),
      headless: true,
    });
    try {
      const page = await plain.newPage();
      await page.goto(url);
      const alert = page.getByRole('alert');
      await expect.poll(() => alert.textContent(), { timeout: 30_000 }).toMatch(/WebGPU is not available.*Chrome/s);
    } finally {
      await plain.close();
    }
  });
});
