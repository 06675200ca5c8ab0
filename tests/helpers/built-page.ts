// The built lab page for the e2e tests: served once per test file, with one headless Chromium (SwiftShader) to open
// it, both closed after the file's tests; and the nano run those tests start, cut down to a step or two per stage.
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';
import { servePage, type ServedPage } from '../../src/bench/page';
import { CHROMIUM_ARGS } from '../../vite.config';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Registers the file's beforeAll/afterAll; the getters read the served page and the browser once they are up. */
export function useBuiltPage(): { readonly url: string; readonly browser: Browser } {
  let served: ServedPage | undefined;
  let browser: Browser | undefined;
  beforeAll(async () => {
    served = await servePage();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await served?.close();
  });
  return {
    get url() {
      return served!.url;
    },
    get browser() {
      return browser!;
    },
  };
}

/**
 * The page's URL parameters for a nano run cut down to a step or two per stage, PPO `episodes` long (96: 24
 * iterations, long enough to be interrupted in the middle). The k3 KL estimator (never negative): with 4 rollouts of
 * a 2-step SFT model, k1's batch mean wanders below the negative-KL alarm's −0.1 by chance.
 */
export const nanoRunSettings = (episodes: number): Record<string, string> => ({
  task: 'sentiment',
  preset: 'nano',
  seed: '7',
  'pretrain.steps': '4',
  'sft.steps': '2',
  'labels.prompts': '4',
  'ppo.batchSize': '4',
  'ppo.episodes': String(episodes),
  'ppo.klEstimator': 'k3',
  'bon.maxN': '2',
  'bon.prompts': '2',
  'eval.prompts': '2',
});

/**
 * After a recovery (a new device, a restarted engine) from a run's checkpoints: PPO run again alone finishes with no
 * alert while SFT and the reward model stay done (not run again), and then Evaluate runs.
 */
export async function rerunPpoThenEvaluate(page: Page): Promise<void> {
  const stageState = (stage: string) => page.locator(`li[data-stage="${stage}"] .stage-state`).textContent();
  await page.locator('li[data-stage="ppo"]').getByRole('button', { name: 'PPO' }).click();
  const alerts = () => page.getByRole('alert').allTextContents();
  await expect.poll(async () => [await stageState('ppo'), ...(await alerts())], { timeout: 200_000, interval: 250 }).toEqual(['done']);
  await expect.poll(() => page.locator('.run-state').textContent()).toBe('Done');
  for (const stage of ['sft', 'rm']) expect(await stageState(stage), stage).toBe('done');
  await page.locator('li[data-stage="eval"]').getByRole('button', { name: 'Evaluate' }).click();
  await expect.poll(() => stageState('eval'), { timeout: 120_000, interval: 250 }).toBe('done');
  expect(await page.getByRole('alert').count()).toBe(0);
}
