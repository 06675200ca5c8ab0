// The lab's first screen, on the built page in headless Chromium (SwiftShader). At 1440×900 (a laptop): before Run,
// the expected time of the chosen preset on this adapter; once Run is pressed, the run controls, the stage stepper
// and every chart of the running stage inside the window without the reader scrolling — while SFT runs and while PPO
// runs — the pipeline diagram's live numbers moving during PPO, and a box of it opening its stage's explanation. At
// 390 px (a phone), after the run (its tables full): nothing scrolls sideways. Screenshots in test-results/:
// lab-first-screen.png (before Run), lab-first-screen-ppo.png (while PPO runs) and lab-phone.png.
import type { Page } from 'playwright-core';
import { expect, test } from 'vitest';
import { stageById } from '../../src/rlhf/stages';
import { nanoRunSettings, useBuiltPage } from '../helpers/built-page';

const lab = useBuiltPage();

const WINDOW = { width: 1440, height: 900 };
const PHONE = { width: 390, height: 844 };

const stageState = (page: Page, stage: string) => page.locator(`li[data-stage="${stage}"] .stage-state`).textContent();

/**
 * What the reader must see while `stage` runs: the run controls, the stepper and each of the stage's charts (the
 * frontier too for a stage that puts points on it), each as "name: top..bottom" when it is not inside the window.
 */
async function outOfView(page: Page, stage: 'sft' | 'ppo'): Promise<string[]> {
  const titles = (stageById(stage).charts ?? []).map((c) => c.title);
  const frontier = stageById(stage).policy !== undefined;
  return page.evaluate(
    ({ titles, frontier, width, height }) => {
      const figures = [...document.querySelectorAll('figure.run-chart')].filter((f) =>
        f.classList.contains('run-chart-frontier') ? frontier : titles.includes(f.querySelector('figcaption')?.textContent ?? ''),
      );
      if (figures.length !== titles.length + (frontier ? 1 : 0)) return [`${figures.length} charts found of ${titles.join(', ')}`];
      const wanted = [document.querySelector('.run-controls')!, document.querySelector('.stage-stepper')!, ...figures];
      return wanted.flatMap((e) => {
        const r = e.getBoundingClientRect();
        const name = e.querySelector('figcaption')?.textContent ?? e.className;
        return r.left >= 0 && r.top >= 0 && r.right <= width && r.bottom <= height ? [] : [`${name}: ${Math.round(r.top)}..${Math.round(r.bottom)}`];
      });
    },
    { titles, frontier, ...WINDOW },
  );
}

/** The pipeline diagram's live numbers, in order. */
const diagramNumbers = (page: Page) => page.locator('[data-testid^="diagram-number-"]').allTextContents();

test('first screen: the expected time before Run; the controls, stepper and running stage’s charts in view during SFT and PPO; no sideways scrolling on a phone', { timeout: 300_000 }, async () => {
  const page = await lab.browser.newPage({ viewport: WINDOW });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // nano cut down (PPO 24 iterations, long enough to watch), SFT at its preset's 8 steps so a Pause lands inside it.
  await page.goto(`${lab.url}?${new URLSearchParams({ ...nanoRunSettings(96), 'sft.steps': '8' })}`);

  // Before Run: how long the run takes here (SwiftShader: a software adapter; a hardware GPU is said to be unmeasured).
  const expected = page.getByTestId('expected-time');
  await expect.poll(() => expected.textContent(), { timeout: 60_000 }).toMatch(/^On a software adapter the nano run takes about \d+(?:\.\d)? (?:s|min|h) \(scaled to your steps, episodes and prompts\)\.|^Not measured on a hardware GPU/);
  const run = page.getByRole('button', { name: 'Run pipeline' });
  await expect.poll(() => run.isEnabled(), { timeout: 60_000 }).toBe(true);
  await page.screenshot({ path: 'test-results/lab-first-screen.png' });
  await run.click();

  // SFT: paused inside it (a Pause acts at the next step), so the check cannot miss it. The page scrolled the run row
  // to the top by itself, at once (polled: the page may still be rendering).
  await expect.poll(() => stageState(page, 'sft'), { timeout: 120_000, interval: 100 }).toBe('running');
  await page.getByRole('button', { name: 'Pause' }).click();
  await expect.poll(() => page.locator('.run-state').textContent(), { timeout: 60_000 }).toBe('Paused');
  expect(await stageState(page, 'sft')).toBe('running');
  await expect.poll(() => outOfView(page, 'sft'), { timeout: 5_000 }).toEqual([]);
  // The lessons and the config bar are folded to one line meanwhile.
  expect(await page.locator('.setup-summary').textContent()).toMatch(/^Running sentiment on the nano preset/);
  expect(await page.getByLabel('Task', { exact: true }).isVisible()).toBe(false);
  await page.getByRole('button', { name: 'Resume' }).click();

  // PPO, running: its charts (and the frontier) right under the run row, and the diagram's numbers moving. The
  // screenshot once a third of PPO has drawn its curves.
  await expect.poll(() => stageState(page, 'ppo'), { timeout: 120_000, interval: 100 }).toBe('running');
  const first = await diagramNumbers(page);
  await expect.poll(() => diagramNumbers(page), { timeout: 60_000, interval: 250 }).not.toEqual(first);
  await expect.poll(() => outOfView(page, 'ppo'), { timeout: 5_000 }).toEqual([]);
  const ppoProgress = page.getByRole('progressbar', { name: 'PPO progress' });
  const ppoShare = async () => Number(await ppoProgress.getAttribute('aria-valuenow')) / Number(await ppoProgress.getAttribute('aria-valuemax'));
  await expect.poll(ppoShare, { timeout: 60_000, interval: 250 }).toBeGreaterThan(1 / 3);
  await page.screenshot({ path: 'test-results/lab-first-screen-ppo.png' });
  expect(await stageState(page, 'ppo')).toBe('running');
  expect(await outOfView(page, 'ppo')).toEqual([]);

  await expect.poll(() => stageState(page, 'eval'), { timeout: 200_000, interval: 500 }).toBe('done');
  await expect.poll(() => page.locator('.run-state').textContent()).toBe('Done');

  // A box of the diagram opens its stage's explanation, brought into view.
  await page.locator('[data-box="reward-model"]').click();
  const explanation = page.getByRole('region', { name: 'Stage explanation' });
  await expect.poll(() => explanation.locator('.explain h3').textContent()).toMatch(/^Reward model/);
  await expect.poll(() => explanation.evaluate((e) => Math.abs(e.getBoundingClientRect().top) < 1), { timeout: 5_000 }).toBe(true);

  // A phone, with the finished run's metrics and samples on the page: no sideways scrolling (wide tables scroll in
  // their own box), charts one per row.
  await page.setViewportSize(PHONE);
  await page.evaluate(() => window.scrollTo(0, 0));
  await expect.poll(() => page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
  const chartLefts = await page.locator('figure.run-chart').evaluateAll((figures) => new Set(figures.map((f) => Math.round(f.getBoundingClientRect().left))).size);
  expect(chartLefts).toBe(1);
  // The export panel's models: a model a line, every download in view without scrolling the table sideways.
  const models = page.getByRole('group', { name: 'Models' });
  expect(await models.evaluate((g) => g.scrollWidth - g.clientWidth)).toBeLessThanOrEqual(0);
  await page.screenshot({ path: 'test-results/lab-phone.png' });
  expect(errors).toEqual([]);
  await page.close();
});
