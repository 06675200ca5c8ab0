// The built page in headless Chromium on SwiftShader: it must start the engine worker and report the adapter.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { build, preview, type PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CHROMIUM_ARGS } from '../../vite.config';

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
