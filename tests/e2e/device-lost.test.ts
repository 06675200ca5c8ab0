// A lost GPU device in the built page, for real: Chromium's GPU process is crashed through the DevTools protocol
// (Browser.crashGpuProcess) while PPO trains in the worker, which loses its device as a driver reset would. The page
// must say so (an alert, the run failed, PPO failed), offer "Resume from autosave", get a new device in the worker
// with the finished stages' checkpoints loaded back, and then run PPO and the evaluation from them without running
// SFT or the reward model again. A browser of its own: the crash takes every page of its browser down.
import { expect, test } from 'vitest';
import { nanoRunSettings, rerunPpoThenEvaluate, useBuiltPage } from '../helpers/built-page';


const lab = useBuiltPage();

test('the GPU process crashes mid-PPO: the page says so, resumes on a new device from the checkpoints, and PPO and Evaluate then run', { timeout: 300_000 }, async () => {
  const page = await lab.browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${lab.url}?${new URLSearchParams(nanoRunSettings(96))}`);
  const stageState = (stage: string) => page.locator(`li[data-stage="${stage}"] .stage-state`).textContent();
  const runState = page.locator('.run-state');
  const run = page.getByRole('button', { name: 'Run pipeline' });
  await expect.poll(() => run.isEnabled(), { timeout: 60_000 }).toBe(true);
  await run.click();
  await expect.poll(() => stageState('ppo'), { timeout: 200_000, interval: 100 }).toBe('running');
  for (const stage of ['pretrain', 'sft', 'rm']) expect(await stageState(stage), stage).toBe('done');

  const cdp = await lab.browser.newBrowserCDPSession();
  await cdp.send('Browser.crashGpuProcess');

  // The page tells what happened and what was lost; the run ended, failed, at PPO.
  const engineAlert = page.getByRole('alert', { name: 'Engine error' });
  await expect.poll(() => engineAlert.textContent(), { timeout: 60_000 }).toMatch(/The GPU device was lost/);
  await expect.poll(() => runState.textContent(), { timeout: 60_000 }).toBe('Failed');
  expect(await stageState('ppo')).toBe('failed');
  for (const stage of ['pretrain', 'sft', 'rm']) expect(await stageState(stage), stage).toBe('done');

  await page.getByRole('button', { name: 'Resume from autosave' }).click();
  const recovered = page.getByRole('status', { name: 'GPU device recovered' });
  await expect.poll(() => recovered.textContent(), { timeout: 120_000 }).toMatch(/Resumed on a new GPU device: the checkpoints of Pretrain, SFT, Reward model are loaded back/);
  expect(await engineAlert.count()).toBe(0);
  expect(await page.getByTestId('adapter-name').textContent()).toMatch(/\S/);

  // PPO again, alone, from the SFT policy and reward model loaded back: SFT and the reward model do not run again.
  await rerunPpoThenEvaluate(page);
  const chart = page.locator('figure.run-chart', { has: page.locator('figcaption', { hasText: 'PPO reward: proxy and gold' }) }).locator('.visually-hidden');
  expect(await chart.textContent()).toMatch(/^Latest: .* at step 23/);
  await page.screenshot({ path: 'test-results/lab-device-lost.png', fullPage: true });
  expect(errors).toEqual([]);
  await page.close();
});
