// The ONNX panel of the built page in headless Chromium (SwiftShader), under the page's Content-Security-Policy: with
// the bundled base model loaded (a valid policy; nothing is trained), "Run in ONNX Runtime Web" exports it, runs it
// greedily in ONNX Runtime Web beside the engine, and shows both continuations — the same, since both are greedy on
// the same weights — and a largest logit difference within float32 rounding. ONNX Runtime is in none of the scripts
// the page loads first; it is fetched only for the check, from the page's own origin (its .wasm is an asset of the
// build), and runs in a worker of its own.
import { expect, test } from 'vitest';
import { useBuiltPage } from '../helpers/built-page';
import { cspViolations, recordCspViolations } from '../helpers/csp-violations';
import { ENGINE_VS_ORT_LOGITS } from '../helpers/tolerance';

const lab = useBuiltPage();

test('the loaded base model runs in ONNX Runtime Web: the same continuation as the engine, logits within rounding', { timeout: 240_000 }, async () => {
  const page = await lab.browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  const workers: string[] = [];
  page.on('worker', (w) => workers.push(w.url()));
  await page.addInitScript(recordCspViolations);
  await page.goto(lab.url);

  const panel = page.getByRole('region', { name: 'ONNX Runtime Web' });
  const run = panel.getByRole('button', { name: 'Run in ONNX Runtime Web' });
  await expect.poll(() => run.isEnabled(), { timeout: 60_000 }).toBe(true);
  const onnxRuntime = (url: string) => /\/assets\/ort[.-]/.test(url);
  expect(requests.filter(onnxRuntime)).toEqual([]); // nothing of ONNX Runtime before it is used
  // Nor is any of its code bundled into the scripts loaded so far (the page's, the engine worker's): _OrtRun is its
  // wasm binding's entry point for running a model.
  const scripts = requests.filter((url) => url.endsWith('.js'));
  const [mainChunk, engineWorker] = [/\/assets\/index-[\w-]+\.js$/, /\/assets\/engine\.worker-[\w-]+\.js$/];
  expect(scripts).toEqual(expect.arrayContaining([expect.stringMatching(mainChunk), expect.stringMatching(engineWorker)]));
  for (const url of scripts) expect(await (await fetch(url)).text(), url).not.toContain('_OrtRun');

  await run.click();
  const shown = panel.getByTestId('onnx-check').or(panel.getByRole('alert'));
  await expect.poll(() => shown.count(), { timeout: 180_000, interval: 250 }).toBe(1);
  expect(await panel.getByRole('alert').count(), (await panel.getByRole('alert').allTextContents()).join()).toBe(0);

  expect(await panel.getByTestId('onnx-policy').textContent()).toBe('the loaded base model (no policy trained yet)');
  const onnxText = await panel.getByTestId('onnx-continuation').textContent();
  expect(onnxText).toMatch(/^Once upon a time.{20,}/s);
  expect(await panel.getByTestId('engine-continuation').textContent()).toBe(onnxText);
  expect(await panel.getByTestId('onnx-agreement').textContent()).toMatch(/^The same continuation\. Largest logit difference: /);
  const difference = Number(await panel.getByTestId('onnx-logit-difference').textContent());
  expect(difference).toBeGreaterThanOrEqual(0);
  expect(difference).toBeLessThan(ENGINE_VS_ORT_LOGITS);

  const origin = new URL(lab.url).origin;
  expect(requests.filter((url) => new URL(url).origin !== origin)).toEqual([]);
  expect(requests.filter((url) => url.endsWith('.wasm'))).toEqual([expect.stringMatching(/\/assets\/ort-wasm-simd-threaded-[\w-]+\.wasm$/)]);
  expect(workers).toContainEqual(expect.stringMatching(/\/assets\/ort\.worker-[\w-]+\.js$/));
  expect(await cspViolations(page)).toEqual([]);
  expect(errors).toEqual([]);
  await page.close();
});
