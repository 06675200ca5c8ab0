// Restart engine in the built page, for real, in headless Chromium. The engine worker is broken from outside its
// command handlers through Playwright's handle on it (code evaluated in the worker's own global scope, which the page
// cannot reach): first its thread hangs (a loop that never ends) while PPO trains, and the watchdog — shortened to
// WATCHDOG_MS by the page's rlhfLabWatchdogMs, set before the page loads — ends it; then an uncaught exception
// crashes the fresh worker. Each time the page says what happened in an alert with "Restart engine", and restarting
// starts a new worker into which the autosave (IndexedDB) is restored: the checkpoints of the stages that finished are
// loaded back, so PPO then runs alone from them, and Evaluate after it.
import type { Worker } from 'playwright-core';
import { expect, test } from 'vitest';
import { nanoRunSettings, rerunPpoThenEvaluate, useBuiltPage } from '../helpers/built-page';

/** Long enough that the nano run never trips it by accident (its worker's timers are held up well under a second). */
const WATCHDOG_MS = 10_000;

const lab = useBuiltPage();

test('a hung worker (watchdog) and a crashed one (uncaught exception) each get an alert and Restart engine, which restores the autosave into a new worker', { timeout: 400_000 }, async () => {
  const page = await lab.browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.addInitScript((ms) => ((window as unknown as { rlhfLabWatchdogMs: number }).rlhfLabWatchdogMs = ms), WATCHDOG_MS);
  const firstWorker = page.waitForEvent('worker');
  await page.goto(`${lab.url}?${new URLSearchParams(nanoRunSettings(96))}`);
  let worker: Worker = await firstWorker;
  const stageState = (stage: string) => page.locator(`li[data-stage="${stage}"] .stage-state`).textContent();
  const runState = page.locator('.run-state');
  const engineAlert = page.getByRole('alert', { name: 'Engine error' });
  const restoreStatus = page.getByTestId('restore-status');
  const saved = page.getByRole('region', { name: 'Saved session' });

  /** Clicks Restart engine; resolves with the new worker once the autosave is restored into it. */
  const restart = async () => {
    const next = page.waitForEvent('worker');
    await engineAlert.getByRole('button', { name: 'Restart engine' }).click();
    worker = await next;
    await expect.poll(() => restoreStatus.textContent(), { timeout: 120_000 }).toMatch(/^Restored your saved run: [1-9]\d* metric records, 0 samples, 0 labels; checkpoints loaded: base, sft, reward-model\.$/);
    expect(await engineAlert.count()).toBe(0);
    await expect.poll(() => page.getByTestId('adapter-name').textContent(), { timeout: 60_000 }).toMatch(/\S/);
  };

  const run = page.getByRole('button', { name: 'Run pipeline' });
  await expect.poll(() => run.isEnabled(), { timeout: 60_000 }).toBe(true);
  await run.click();
  await expect.poll(() => stageState('ppo'), { timeout: 200_000, interval: 100 }).toBe('running');
  await expect.poll(() => saved.textContent(), { timeout: 30_000 }).toMatch(/ 3 checkpoints\./);
  // The run so far, longer than the watchdog's time, never tripped it: the worker's heartbeat is there.
  expect(await engineAlert.count()).toBe(0);

  // The worker's thread hangs: no heartbeat, no error event, nothing but the watchdog notices.
  await worker.evaluate(() => void setTimeout(() => {
    for (;;);
  }));
  await expect.poll(() => engineAlert.textContent(), { timeout: 4 * WATCHDOG_MS }).toMatch(
    /^The GPU engine stopped.*The engine worker stopped responding: no heartbeat for 10 s, so it was stopped\..*Restart the engine/,
  );
  await expect.poll(() => runState.textContent()).toBe('Failed');
  expect(await stageState('ppo')).toBe('failed');
  await restart();
  for (const stage of ['pretrain', 'sft', 'rm']) expect(await stageState(stage), stage).toBe('done');

  // The new worker crashes: an exception thrown outside its handlers.
  await worker.evaluate(() => void setTimeout(() => {
    throw new Error('injected crash');
  }));
  await expect.poll(() => engineAlert.textContent(), { timeout: 30_000 }).toMatch(/^The GPU engine stopped.*The engine worker crashed: Uncaught Error: injected crash\..*Restart the engine/);
  await restart();

  // Usable, from the saved state: PPO alone on the SFT policy and reward model loaded back, then Evaluate.
  await rerunPpoThenEvaluate(page);
  await page.screenshot({ path: 'test-results/lab-engine-restarted.png', fullPage: true });
  expect(errors).toEqual([]);
  await page.close();
});
