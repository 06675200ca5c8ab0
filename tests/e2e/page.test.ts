// The built page in headless Chromium on SwiftShader: it must start the engine worker and report the adapter, sample
// from and download the bundled base model, explain a missing WebGPU adapter, and run the whole RLHF pipeline from
// the page (a nano run cut down to a few steps per stage) with its charts, metrics, samples, exports and import.
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

  test('runs the whole pipeline from the page: charts, latest metrics, samples and a CSV download; a bad import changes nothing', { timeout: 240_000 }, async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // nano, cut down like the engine test's run (every stage, a step or two each): most overrides by URL…
    const settings = { seed: '5', 'pretrain.steps': '4', 'labels.prompts': '4', 'ppo.batchSize': '4', 'bon.maxN': '2', 'bon.prompts': '2', 'eval.prompts': '2' };
    await page.goto(`${url}?${new URLSearchParams({ task: 'sentiment', preset: 'nano', ...settings })}`);
    expect(await page.getByLabel('Task', { exact: true }).inputValue()).toBe('sentiment');
    expect(await page.getByLabel('Preset', { exact: true }).inputValue()).toBe('nano');
    await expect.poll(() => page.getByTestId('task-description').textContent()).toMatch(/^Continue a product review/);

    // …and two through the advanced panel, which writes them to the URL.
    await page.getByText('Advanced settings').click();
    await page.getByLabel('sft.steps', { exact: true }).fill('2');
    await page.getByLabel('ppo.episodes', { exact: true }).fill('8');
    expect(Object.fromEntries(new URL(page.url()).searchParams)).toEqual({ task: 'sentiment', preset: 'nano', ...settings, 'sft.steps': '2', 'ppo.episodes': '8' });

    const run = page.getByRole('button', { name: 'Run pipeline' });
    await expect.poll(() => run.isEnabled(), { timeout: 60_000 }).toBe(true);
    await run.click();
    const stageState = (stage: string) => page.locator(`li[data-stage="${stage}"] .stage-state`).textContent();
    await expect.poll(() => stageState('eval'), { timeout: 200_000, interval: 500 }).toBe('done');
    for (const stage of ['pretrain', 'sft', 'rm', 'ppo', 'bon', 'eval']) expect(await stageState(stage), stage).toBe('done');
    await expect.poll(() => page.locator('.run-state').textContent()).toBe('Done');
    expect(await page.getByRole('alert').count()).toBe(0);

    // The charts received points (their hidden text summaries), the frontier too.
    const chart = (title: string) => page.locator('figure.run-chart', { has: page.locator('figcaption', { hasText: title }) }).locator('.visually-hidden');
    expect(await chart('SFT loss').textContent()).toMatch(/^Latest: .* at step 1\.$/);
    expect(await chart('Reward model loss and accuracy').textContent()).toMatch(/^Latest: /);
    expect(await chart('PPO reward: proxy and gold').textContent()).toMatch(/^Latest: .* at step 1/);
    expect(await chart('Reward vs √KL').textContent()).not.toMatch(/no data|No data/);
    const metricRows = page.getByRole('table', { name: 'Latest metrics' }).locator('tr[data-metric]');
    expect(await metricRows.count()).toBeGreaterThan(10);
    const samples = page.getByRole('region', { name: 'Samples' });
    expect(await samples.locator('article.episode').count()).toBe(4); // ppo.batchSize rollouts of the last iteration
    expect(await samples.locator('table.eval-samples tbody tr').count()).toBeGreaterThan(0);

    const [csvFile] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download metrics (CSV)' }).click()]);
    expect(csvFile.suggestedFilename()).toBe('rlhf-lab-metrics.csv');
    const csv = readFileSync((await csvFile.path())!, 'utf8').trim().split('\n');
    expect(csv[0]).toMatch(/^stage,step,/);
    expect(new Set(csv.slice(1).map((l) => l.split(',')[0]))).toEqual(new Set(['pretrain', 'sft', 'rm', 'ppo', 'bon', 'eval']));
    for (const name of ['Download SFT checkpoint', 'Download reward model', 'Download PPO policy', 'Download PPO policy (ONNX)', 'Download preferences (JSONL)', 'Download samples (JSONL)']) {
      expect(await page.getByRole('button', { name, exact: true }).isEnabled(), name).toBe(true);
    }
    await page.screenshot({ path: 'test-results/lab-pipeline.png', fullPage: true });

    // A malformed import: the worker's line-numbered problems, and nothing changes (task, URL, the run's results).
    const urlBefore = page.url();
    const rowsBefore = await metricRows.count();
    const bad = ['{"prompt": "Say hi.", "chosen": "hi", "rejected": "go away"}', 'not json', '{"prompt": "Say bye.", "chosen": 3, "rejected": "no"}'].join('\n');
    await page.getByLabel('Import dataset (JSONL)').setInputFiles({ name: 'bad.jsonl', mimeType: 'application/jsonl', buffer: Buffer.from(bad) });
    const refusal = page.getByRole('region', { name: 'Export and import' }).getByRole('alert');
    await expect.poll(() => refusal.textContent(), { timeout: 30_000 }).toMatch(/bad\.jsonl was not imported .*nothing changed.*Line 2: .*Line 3: .*"chosen" must be a string/s);
    expect(await page.getByLabel('Task', { exact: true }).inputValue()).toBe('sentiment');
    expect(await page.locator('select option[value="custom"]').count()).toBe(0);
    expect(page.url()).toBe(urlBefore);
    expect(await metricRows.count()).toBe(rowsBefore);
    expect(await stageState('eval')).toBe('done');
    expect(await page.getByRole('button', { name: 'Download PPO policy', exact: true }).isEnabled()).toBe(true);
    expect(errors).toEqual([]);
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
