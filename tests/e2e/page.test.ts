// The built page in headless Chromium on SwiftShader: it must start the engine worker and report the adapter, sample
// from and download the bundled base model, explain a missing WebGPU adapter, and run the whole RLHF pipeline from
// the page (a nano run cut down to a few steps per stage) with its charts, metrics, samples, exports and import, in the
// worker: a probe (src/bench/page.ts) watches the main thread during the run (GPU calls, long tasks, a heartbeat).
// On that run's page: human feedback (label pairs by click and key, train the reward model on them), a reload that
// restores the run from IndexedDB, a corrupt checkpoint upload that changes nothing, and Clear saved data. Lessons
// (?lesson=) and the stage explanations are checked on a page of their own.
import { readFileSync } from 'node:fs';
import { unzipSync } from 'fflate';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as ort from 'onnxruntime-web';
import { HEARTBEAT_MS, installPageProbe, meterMainThreadCpu, readProbe, servePage, type ServedPage, summarizeRun } from '../../src/bench/page';
import { CONTENT_SECURITY_POLICY } from '../../src/build/csp';
import { loadCheckpoint } from '../../src/model/checkpoint';
import { gptForward } from '../../src/reference/gpt';
import { makePipelineConfig } from '../../src/rlhf/config';
import { createTask } from '../../src/rlhf/tasks';
import { LESSONS } from '../../src/ui/lessons';
import { CHROMIUM_ARGS } from '../../vite.config';
import { cspViolations, pagePolicy, recordCspViolations } from '../helpers/csp-violations';
import { hfGpt2Folder } from '../helpers/hf-folder';
import { expectClose } from '../helpers/tolerance';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** A number as the charts write it (src/ui/charts/format.ts), finite only: NaN, ∞ and −∞ do not match. */
const FINITE = String.raw`-?\d+(?:\.\d+)?(?:e[+-]\d+)?`;

/** A chart's hidden summary, "Latest: <line> <value> at step <step>; …." — fails unless it has points and every value
 * and step is a finite number. */
function finiteLatestPoints(summary: string | null): { line: string; value: number; step: number }[] {
  const body = /^Latest: (.+)\.$/.exec(summary ?? '');
  expect(body, `a chart summary with points, got "${summary}"`).not.toBeNull();
  return body![1].split('; ').map((entry) => {
    const point = new RegExp(`^(.+) (${FINITE}) at step (${FINITE})$`).exec(entry);
    expect(point, `"${entry}": a finite value at a finite step`).not.toBeNull();
    return { line: point![1], value: Number(point![2]), step: Number(point![3]) };
  });
}

describe('lab page (built bundle)', () => {
  let served: ServedPage;
  let browser: Browser;
  let url: string;
  /** The pipeline test's page, left open for the feedback and restore test after it (same IndexedDB). */
  let runPage: Page | undefined;

  beforeAll(async () => {
    // The production bundle, as `npm run build` makes it (also what `npm run bench -- page` measures).
    served = await servePage();
    url = served.url;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await served?.close();
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

  test('opens with the bundled base model and samples a continuation from it; a Hugging Face folder’s files picked in the page become the base model, which then samples', async () => {
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

    const { files } = hfGpt2Folder({ dtype: 'F16' });
    await page.getByTestId('base-files').setInputFiles(files.map((f) => ({ name: f.name, mimeType: 'application/octet-stream', buffer: Buffer.from(f.bytes) })));
    await expect.poll(() => panel.textContent(), { timeout: 60_000 }).toMatch(/2 layers · d 16 · 2 heads · context 16 · GPT-2's byte-level BPE tokenizer \(259\s+tokens\)/);
    expect(await panel.textContent()).toContain('The Hugging Face model "config.json, model.safetensors, tokenizer.json".');
    // Its 16-token context leaves room for 8 characters of prompt: the default prompt is cut to them, and samples
    // (not the bundled model's "Once upon a time…" still shown from before).
    const prompt = panel.getByRole('textbox', { name: 'Prompt' });
    expect(await prompt.inputValue()).toBe('Once upo');
    await panel.getByRole('button', { name: 'Generate' }).click();
    await expect.poll(() => sample.textContent(), { timeout: 60_000 }).toMatch(/^Once upo(?!n a time).+/s);
    await prompt.fill(' the');
    await panel.getByRole('button', { name: 'Generate' }).click();
    await expect.poll(() => sample.textContent(), { timeout: 60_000 }).toMatch(/^ the.+/s);
    expect(await page.getByRole('alert').count()).toBe(0);
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

  test('runs the whole pipeline with PPO and DPO from the page, in the worker (the page answers Pause and Resume, its main thread never touches the GPU): charts, the frontier, latest metrics, samples and a CSV download; a bad import changes nothing', { timeout: 240_000 }, async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // Watches the main thread from before the page's own scripts (src/bench/page.ts: GPU calls, long tasks, heartbeat).
    await page.addInitScript(installPageProbe, HEARTBEAT_MS);
    await page.addInitScript(recordCspViolations);
    // nano, cut down like the engine test's run (every stage, a step or two each): most overrides by URL…
    const settings = { seed: '5', 'pretrain.steps': '4', 'labels.prompts': '4', 'ppo.batchSize': '4', 'dpo.epochs': '1', 'dpo.evalPrompts': '2', 'bon.maxN': '2', 'bon.prompts': '2', 'eval.prompts': '2' };
    await page.goto(`${url}?${new URLSearchParams({ task: 'sentiment', preset: 'nano', ...settings })}`);
    expect(await page.getByLabel('Task', { exact: true }).inputValue()).toBe('sentiment');
    expect(await page.getByLabel('Preset', { exact: true }).inputValue()).toBe('nano');
    await expect.poll(() => page.getByTestId('task-description').textContent()).toMatch(/^Continue a product review/);

    // …and two through the advanced panel, which writes them to the URL.
    await page.getByText('Advanced settings').click();
    await page.getByLabel('sft.steps', { exact: true }).fill('2');
    await page.getByLabel('ppo.episodes', { exact: true }).fill('8');
    // (location.search, not page.url(): Playwright learns of replaceState from an event that may still be on its way.)
    // DPO joins PPO on the same labels: its box in the config bar, which also goes into the URL.
    await page.getByLabel('DPO', { exact: true }).check();
    expect(Object.fromEntries(new URLSearchParams(await page.evaluate(() => location.search)))).toEqual({ task: 'sentiment', preset: 'nano', methods: 'dpo', ...settings, 'sft.steps': '2', 'ppo.episodes': '8' });

    const run = page.getByRole('button', { name: 'Run pipeline' });
    await expect.poll(() => run.isEnabled(), { timeout: 60_000 }).toBe(true);
    await run.click();
    const mainThreadCpu = await meterMainThreadCpu(page);
    // While it trains, the page answers clicks: Pause (the worker pauses at its next step and says so), then Resume.
    const runState = page.locator('.run-state');
    await page.getByRole('button', { name: 'Pause' }).click();
    await expect.poll(() => runState.textContent(), { timeout: 60_000 }).toBe('Paused');
    await page.getByRole('button', { name: 'Resume' }).click();
    const stageState = (stage: string) => page.locator(`li[data-stage="${stage}"] .stage-state`).textContent();
    await expect.poll(() => stageState('eval'), { timeout: 200_000, interval: 500 }).toBe('done');
    for (const stage of ['pretrain', 'sft', 'rm', 'ppo', 'dpo', 'bon', 'eval']) expect(await stageState(stage), stage).toBe('done');
    await expect.poll(() => runState.textContent()).toBe('Done');
    expect(await page.getByRole('alert').count()).toBe(0);

    // Training ran in the worker: the main thread never asked for a GPU adapter or device (the probe wraps them in the
    // page's realm only; the worker has its own), and it was never held for long while the stages trained.
    const cpu = await mainThreadCpu();
    const probe = await readProbe(page);
    const { mainThread, stages, totalSeconds } = summarizeRun(probe);
    expect(probe.changes.filter(([, key]) => key === 'run').map(([, , text]) => text)).toEqual(['Not started', 'Running', 'Paused', 'Running', 'Done']);
    expect(mainThread.gpuCalls).toBe(0);
    expect(stages.map((s) => [s.stage, s.state])).toEqual(['pretrain', 'sft', 'rm', 'ppo', 'dpo', 'bon', 'eval'].map((stage) => [stage, 'done']));
    // The main thread's own work (React commits, chart redraws, layout, paint) shares these 2 cores with SwiftShader
    // (the worker's GPU work) and, under `npm test`, other test files. Descheduled, a task of 1 to 50 ms of CPU takes
    // 100 ms to over a second of wall clock (Chrome traces). Measured in this run and in `npm run bench -- page
    // --preset nano` at load averages 3 to 13: 3 to 67 long tasks a run, the longest 78 ms to 1.9 s; heartbeat gaps up
    // to 2.8 s, at most 6.3% of a run. Strict figures are the benchmark's job; asserted is what holds at any load. CPU
    // time, which descheduling does not inflate: 1.8 to 2.2 s here, ≤ 8% of the run, so under half even were the run
    // 6× faster. And no stall of half the run (the run stretches with the stalls; ≥ 8× the worst seen).
    expect(cpu.shareOfRun).toBeLessThan(0.5);
    expect(mainThread.heartbeatGapsMs.count).toBeGreaterThan(0);
    const halfRunMs = (totalSeconds * 1000) / 2;
    expect(mainThread.longTasks.longestMs ?? 0).toBeLessThan(halfRunMs);
    expect(mainThread.heartbeatGapsMs.max!).toBeLessThan(halfRunMs);
    // The probe does see a call made by the main thread.
    await page.evaluate(() => navigator.gpu.requestAdapter());
    expect((await readProbe(page)).gpuCalls.requestAdapter).toBe(1);

    // The charts received points (their hidden text summaries), the frontier too.
    const chart = (title: string) => page.locator('figure.run-chart', { has: page.locator('figcaption', { hasText: title }) }).locator('.visually-hidden');
    expect(finiteLatestPoints(await chart('SFT loss').textContent()).map((p) => p.step)).toEqual([1]);
    finiteLatestPoints(await chart('Reward model loss and accuracy').textContent());
    for (const p of finiteLatestPoints(await chart('PPO reward: proxy and gold').textContent())) expect(p.step, p.line).toBe(1);
    finiteLatestPoints(await chart('DPO reward: proxy and gold').textContent());
    finiteLatestPoints(await chart('DPO loss and implicit-reward accuracy').textContent());
    // Both methods on the frontier, with best-of-N.
    expect(await chart('Reward vs √KL').textContent()).toMatch(/PPO \(step \d+\) at √KL .*DPO \(step \d+\) at √KL .*Best-of-N \(N = 2\) at √KL/);
    const metricTable = page.getByRole('table', { name: 'Latest metrics' });
    for (const name of ['rewards/accuracies', 'eval_rewards/accuracies', 'eval/win_rate_ppo', 'eval/win_rate_dpo']) expect(await metricTable.locator(`tr[data-metric="${name}"]`).count(), name).toBe(1);
    // The verdict in one table: SFT, both methods and best-of-N, each with its win rate against SFT.
    const policyTable = page.getByRole('table', { name: 'Policies against SFT' });
    expect(await policyTable.locator('tbody th').allTextContents()).toEqual(['SFT', 'PPO', 'DPO', 'Best-of-2']);
    expect(await policyTable.locator('tbody tr').nth(1).locator('td').first().textContent()).toMatch(/^\d+% \[\d+%, \d+%\]$/);
    const metricRows = page.getByRole('table', { name: 'Latest metrics' }).locator('tr[data-metric]');
    expect(await metricRows.count()).toBeGreaterThan(10);
    const samples = page.getByRole('region', { name: 'Samples' });
    expect(await samples.locator('article.episode').count()).toBe(4); // ppo.batchSize rollouts of the last iteration
    expect(await samples.locator('table.eval-samples tbody tr').count()).toBeGreaterThan(0);
    // Held-out answers to the same prompt side by side: SFT, PPO, DPO, best-of-N.
    expect(await samples.locator('table.eval-samples thead th').allTextContents()).toEqual(expect.arrayContaining(['SFT', 'PPO', 'DPO']));

    const [csvFile] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download metrics (CSV)' }).click()]);
    expect(csvFile.suggestedFilename()).toBe('rlhf-lab-metrics.csv');
    const csv = readFileSync((await csvFile.path())!, 'utf8').trim().split('\n');
    expect(csv[0]).toMatch(/^stage,step,/);
    expect(new Set(csv.slice(1).map((l) => l.split(',')[0]))).toEqual(new Set(['pretrain', 'sft', 'rm', 'ppo', 'dpo', 'bon', 'eval']));
    for (const name of ['Download SFT (safetensors)', 'Download reward model (safetensors)', 'Download PPO policy (safetensors)', 'Download PPO policy (ONNX)', 'Download DPO policy (safetensors)', 'Download DPO policy (ONNX)', 'Download preferences (JSONL)', 'Download samples (JSONL)']) {
      expect(await page.getByRole('button', { name, exact: true }).isEnabled(), name).toBe(true);
    }
    // Hugging Face folders and "Continue in TRL", zipped.
    const zipOf = async (name: string) => {
      const [file] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name, exact: true }).click()]);
      return { name: file.suggestedFilename(), files: unzipSync(readFileSync((await file.path())!)) };
    };
    const configOf = (files: Record<string, Uint8Array>, path = 'config.json') => JSON.parse(new TextDecoder().decode(files[path])) as Record<string, unknown>;
    const policyZip = await zipOf('Download PPO policy (Hugging Face)');
    expect(policyZip.name).toBe('rlhf-lab-ppo-hf.zip');
    expect(Object.keys(policyZip.files).sort()).toEqual(['README.md', 'config.json', 'generation_config.json', 'model.safetensors', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json']);
    expect(configOf(policyZip.files)).toMatchObject({ architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', n_layer: 2 });
    const rmZip = await zipOf('Download reward model (Hugging Face)');
    expect(configOf(rmZip.files)).toMatchObject({ architectures: ['GPT2ForSequenceClassification'], num_labels: 1 });
    const trlZip = await zipOf('Continue in TRL');
    expect(trlZip.name).toBe('rlhf-lab-trl.zip');
    expect(Object.keys(trlZip.files)).toEqual(expect.arrayContaining(['train_trl.py', 'requirements.txt', 'data/prompts.jsonl', 'data/sft.jsonl', 'data/preferences.jsonl', 'models/base/config.json']));
    expect(new TextDecoder().decode(trlZip.files['train_trl.py'])).toMatch(/SFTTrainer → RewardTrainer → PPOTrainer/);
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
    expect(await page.getByRole('button', { name: 'Download PPO policy (safetensors)', exact: true }).isEnabled()).toBe(true);
    expect(errors).toEqual([]);
    // The whole run (worker, charts, downloads, import) under the built page's Content-Security-Policy, refused nothing.
    expect(await pagePolicy(page)).toBe(CONTENT_SECURITY_POLICY);
    expect(await cspViolations(page)).toEqual([]);
    runPage = page;
  });

  test('on the run: label pairs, train the reward model on them, reload restores the run, a corrupt checkpoint changes nothing, Clear saved data empties it', { timeout: 240_000 }, async () => {
    expect(runPage, 'the pipeline test left its page').toBeDefined();
    const page = runPage!;
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const stageState = (stage: string) => page.locator(`li[data-stage="${stage}"] .stage-state`).textContent();
    const metricRows = page.getByRole('table', { name: 'Latest metrics' }).locator('tr[data-metric]');
    const chart = (title: string) => page.locator('figure.run-chart', { has: page.locator('figcaption', { hasText: title }) }).locator('.visually-hidden');
    const feedback = page.getByRole('region', { name: 'Human feedback' });
    const stat = (name: string) => feedback.locator(`[data-stat="${name}"]`).textContent();
    const saved = page.getByRole('region', { name: 'Saved session' });

    // Pairs sampled from the run's PPO policy; three labelled (two clicks, one key) and one skipped. Each labelled
    // pair is noted as shown (prompt, preferred, other) to check the agreement with the gold labeler below.
    const choices: [prompt: string, preferred: string, other: string][] = [];
    const noteChoice = async (preferred: 'A' | 'B') => {
      const text = async (selector: string) => (await feedback.locator(selector).textContent()) ?? '';
      const [prompt, a, b] = [await text('.feedback-prompt'), await text('[data-completion="A"] .feedback-text'), await text('[data-completion="B"] .feedback-text')];
      choices.push(preferred === 'A' ? [prompt, a, b] : [prompt, b, a]);
    };
    await feedback.getByRole('button', { name: 'Get pairs to label' }).click();
    const preferA = feedback.getByRole('button', { name: 'Prefer A' });
    await expect.poll(() => preferA.isVisible(), { timeout: 60_000 }).toBe(true);
    expect(await feedback.textContent()).toMatch(/sampled from the PPO policy/);
    await noteChoice('A');
    await preferA.click();
    await expect.poll(() => stat('count'), { timeout: 10_000 }).toBe('Your rankings: 1');
    await noteChoice('B');
    await feedback.getByRole('button', { name: 'Prefer B' }).click();
    await expect.poll(() => stat('count'), { timeout: 10_000 }).toBe('Your rankings: 2');
    await feedback.getByRole('button', { name: 'Skip' }).click();
    await feedback.focus();
    await noteChoice('A');
    await page.keyboard.press('1');
    await expect.poll(() => stat('count'), { timeout: 10_000 }).toBe('Your rankings: 3');
    expect(await stat('labelled')).toBe('Labelled: 3 (skipped 1)');
    // The agreement by the task's gold reward, computed here from the pairs as shown (the page's comes from the worker):
    // near-random nano text often ties on gold (both clamped at −1) and a tie is not counted, but these pairs (seed 5)
    // have one that does not tie, so the page must show a percentage.
    const config = makePipelineConfig('nano', { seed: 5 });
    const gold = createTask('sentiment', { seed: config.seed, maxResponseTokens: config.ppo.maxResponseTokens }).gold!;
    const decided = choices.map(([prompt, preferred, other]) => [gold(prompt, preferred), gold(prompt, other)]).filter(([p, o]) => p !== o);
    expect(decided.length, 'labelled pairs whose gold scores differ').toBeGreaterThan(0);
    const agreement = decided.filter(([p, o]) => p > o).length / decided.length;
    expect(await stat('agreement')).toBe(`Agreement with the gold labeler: ${(100 * agreement).toFixed(0)}% of 3 pairs`);

    // The reward model runs again on the three labels alone; then PPO can run again on it.
    const train = feedback.getByRole('button', { name: 'Train reward model on my labels' });
    expect(await train.isEnabled()).toBe(true);
    // The reward model's state is 'done' before and after: a MutationObserver records that it ran in between.
    await page.evaluate(() => {
      const read = () => document.querySelector('li[data-stage="rm"] .stage-state')?.textContent;
      const seen = [read()];
      (window as unknown as { rmStates: typeof seen }).rmStates = seen;
      new MutationObserver(() => read() !== seen.at(-1) && seen.push(read())).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    await train.click();
    await expect.poll(() => page.evaluate(() => (window as unknown as { rmStates: string[] }).rmStates.join(' → ')), { timeout: 120_000, interval: 500 }).toBe('done → running → done');
    await expect.poll(() => page.locator('.run-state').textContent()).toBe('Done');
    // (The bad import's refusal above is still shown; nothing else is.)
    expect(await page.getByRole('region', { name: 'Pipeline error' }).count()).toBe(0);
    expect(await feedback.getByRole('alert').count()).toBe(0);
    expect(await feedback.textContent()).toMatch(/Run PPO again/);
    expect(await page.locator('li[data-stage="ppo"] button').isEnabled()).toBe(true);
    await page.screenshot({ path: 'test-results/lab-feedback.png', fullPage: true });

    // Everything is saved (base, sft, reward-model, ppo and dpo checkpoints; the three labels), then the page reloads.
    await expect.poll(() => saved.textContent(), { timeout: 30_000 }).toMatch(/Saved in this browser: [1-9]\d* metric records, [1-9]\d* samples, 3 labels, 5 checkpoints\./);
    const rows = await metricRows.count();
    const sftLoss = await chart('SFT loss').textContent();
    await page.reload();
    await expect.poll(() => page.getByTestId('restore-status').textContent(), { timeout: 120_000 }).toMatch(/^Restored your saved run: [1-9]\d* metric records, [1-9]\d* samples, 3 labels; checkpoints loaded: base, sft, reward-model, ppo, dpo\.$/);
    expect(await metricRows.count()).toBe(rows);
    expect(await chart('SFT loss').textContent()).toBe(sftLoss);
    for (const p of finiteLatestPoints(await chart('PPO reward: proxy and gold').textContent())) expect(p.step, p.line).toBe(1);
    finiteLatestPoints(await chart('DPO reward: proxy and gold').textContent());
    finiteLatestPoints(await chart('DPO loss and implicit-reward accuracy').textContent());
    // Both methods on the frontier, with best-of-N.
    expect(await chart('Reward vs √KL').textContent()).toMatch(/PPO \(step \d+\) at √KL .*DPO \(step \d+\) at √KL .*Best-of-N \(N = 2\) at √KL/);
    const metricTable = page.getByRole('table', { name: 'Latest metrics' });
    for (const name of ['rewards/accuracies', 'eval_rewards/accuracies', 'eval/win_rate_ppo', 'eval/win_rate_dpo']) expect(await metricTable.locator(`tr[data-metric="${name}"]`).count(), name).toBe(1);
    for (const stage of ['pretrain', 'sft', 'rm', 'ppo', 'dpo', 'bon', 'eval']) expect(await stageState(stage), stage).toBe('done');
    expect(await page.getByRole('region', { name: 'Samples' }).locator('table.eval-samples tbody tr').count()).toBeGreaterThan(0);
    await expect.poll(() => stat('count'), { timeout: 10_000 }).toBe('Your rankings: 3');
    expect(await page.getByRole('button', { name: 'Download PPO policy (safetensors)', exact: true }).isEnabled()).toBe(true);
    await page.screenshot({ path: 'test-results/lab-restored.png', fullPage: true });

    // A corrupt checkpoint: the worker's message, and nothing changes.
    const upload = page.getByLabel('Upload checkpoint');
    await expect.poll(() => upload.isEnabled(), { timeout: 30_000 }).toBe(true);
    await upload.setInputFiles({ name: 'broken.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from('not a safetensors file') });
    const uploadStatus = page.getByTestId('upload-status');
    await expect.poll(() => uploadStatus.textContent(), { timeout: 30_000 }).toMatch(/^The checkpoint was not loaded; nothing changed\. restore: nothing restored — sft: \S/);
    expect(await uploadStatus.getAttribute('role')).toBe('alert');
    expect(await page.getByRole('region', { name: 'Pipeline error' }).count()).toBe(0);
    expect(await metricRows.count()).toBe(rows);
    expect(await stat('count')).toBe('Your rankings: 3');
    expect(await stageState('ppo')).toBe('done');
    expect(await page.getByRole('button', { name: 'Download SFT (safetensors)', exact: true }).isEnabled()).toBe(true);

    // Clear saved data, reload: an empty lab.
    await saved.getByRole('button', { name: 'Clear saved data' }).click();
    await expect.poll(() => saved.textContent(), { timeout: 10_000 }).toMatch(/Saved data cleared\./);
    await page.reload();
    await expect.poll(() => saved.textContent(), { timeout: 30_000 }).toMatch(/Saved in this browser: 0 metric records, 0 samples, 0 labels, 0 checkpoints\./);
    expect(await page.getByTestId('restore-status').count()).toBe(0);
    expect(await metricRows.count()).toBe(0);
    expect(await stageState('sft')).toBe('pending');
    expect(await stat('count')).toBe('Your rankings: 0');
    expect(errors).toEqual([]);
    await page.close();
    runPage = undefined;
  });

  test('lessons: ?lesson= selects one, its runs and what to look for are listed; each stage is explained beside the stepper', async () => {
    const page = await browser.newPage();
    await page.goto(`${url}?lesson=kl-sweep`);
    const lessons = page.getByRole('region', { name: 'Lessons' });
    const sweep = lessons.locator('li[data-lesson="kl-sweep"]');
    await expect.poll(() => sweep.getAttribute('aria-current')).toBe('true');
    expect(await sweep.textContent()).toMatch(/3 runs: β = 0\.2, β = 0\.05, β = 0 ·/);
    expect(await sweep.locator('details').getAttribute('open')).not.toBeNull();
    expect(await lessons.getByRole('button', { name: 'Start lesson' }).count()).toBe(LESSONS.length);
    expect(new URL(page.url()).searchParams.get('lesson')).toBe('kl-sweep');

    const explain = page.getByRole('region', { name: 'Stage explanation' });
    await explain.getByRole('button', { name: 'Explain Reward model' }).click();
    expect(await explain.locator('figure.formula figcaption').allTextContents()).toEqual(['Reward-model loss']);
    await explain.getByRole('button', { name: 'Explain PPO' }).press('Enter');
    expect(await explain.getByRole('button', { name: 'Explain PPO' }).getAttribute('aria-pressed')).toBe('true');
    expect(await explain.locator('figure.formula figcaption').allTextContents()).toContain('PPO-ptx objective (maximised)');
    // Metric meanings on the table's hover come from the same table (checked with a run above); here the stage's list.
    expect(await explain.locator('[data-metric="objective/kl"]').count()).toBe(1);
    // DPO is explained too, with both of its losses.
    await explain.getByRole('button', { name: 'Explain DPO' }).click();
    expect(await explain.locator('figure.formula figcaption').allTextContents()).toEqual(['DPO loss', 'IPO loss']);
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
