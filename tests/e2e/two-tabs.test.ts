// The saved session in the built page, in headless Chromium, when the profile gets in the way:
//  - two tabs of one browser profile (two pages of one context): the second is told the lab is open in the first, and
//    cannot configure anything; "Use it here" while the first trains PPO stops it at its next step (as Stop does),
//    saves and moves the lab: the second restores that run (the sentiment task, its SFT and reward model). A run of
//    the instructions task there, reloaded, is saved whole: its configuration with its own checkpoints, never the
//    first tab's reward model (before, both tabs saved into one session in turns);
//  - a full storage (the origin's quota cut to about two checkpoints' worth through the DevTools protocol, so a run
//    fills it): the page says saving stopped, training goes on to the end, and the session saved until then stays as
//    it was — nothing written or deleted after — and a reload restores it once there is space again.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { expect, test } from 'vitest';
import { STORAGE_FULL_NOTE } from '../../src/store/bridge';
import { CHROMIUM_ARGS } from '../../vite.config';
import { CHROMIUM, nanoRunSettings, useBuiltPage } from '../helpers/built-page';

const lab = useBuiltPage();

const stageState = (page: Page, stage: string) => page.locator(`li[data-stage="${stage}"] .stage-state`).textContent();

/** Every text the run state shows from now on, kept in the page (it outlives the lab's view). */
const watchRunStates = (page: Page) =>
  page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { runStates: string[] }).runStates = seen;
    const read = () => document.querySelector('.run-state')?.textContent;
    new MutationObserver(() => {
      const text = read();
      if (text && text !== seen.at(-1)) seen.push(text);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });

/** What the lab's database holds, read in the page: the configuration, the records, and each checkpoint's size. */
const snapshot = (page: Page) =>
  page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const open = indexedDB.open('rlhf-lab');
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    const all = (store: string) =>
      new Promise<unknown[]>((resolve, reject) => {
        const get = db.transaction(store).objectStore(store).getAll();
        get.onsuccess = () => resolve(get.result);
        get.onerror = () => reject(get.error);
      });
    const [config, metrics, samples, labels, checkpoints] = await Promise.all(['config', 'metrics', 'samples', 'labels', 'checkpoints'].map(all));
    db.close();
    const sizes = (checkpoints as { name: string; bytes: Uint8Array }[]).map((c) => `${c.name}:${c.bytes.byteLength}`);
    return { config: JSON.stringify(config), metrics: JSON.stringify(metrics), samples: samples.length, labels: labels.length, checkpoints: sizes };
  });

test('two tabs: the second is told the lab is open in the first; "Use it here" stops and saves the run there and continues it here', { timeout: 480_000 }, async () => {
  const context = await lab.browser.newContext({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  const a = await context.newPage();
  a.on('pageerror', (e) => errors.push(`A: ${e.message}`));
  await a.goto(`${lab.url}?${new URLSearchParams(nanoRunSettings(96))}`);
  const run = a.getByRole('button', { name: 'Run pipeline' });
  await expect.poll(() => run.isEnabled(), { timeout: 60_000 }).toBe(true);
  await run.click();

  // The second tab: no lab, no configuration to change, the way to move the lab here.
  const b = await context.newPage();
  b.on('pageerror', (e) => errors.push(`B: ${e.message}`));
  await b.goto(lab.url);
  const elsewhere = b.getByRole('region', { name: 'Open in another tab' });
  await expect.poll(() => elsewhere.getByRole('heading').textContent(), { timeout: 30_000 }).toBe('RLHF Lab is open in another tab');
  expect(await b.getByRole('button', { name: 'Run pipeline' }).count()).toBe(0);
  expect(await b.getByLabel('Task', { exact: true }).count()).toBe(0);

  // The first trains on; once PPO runs, the second asks for the lab.
  await expect.poll(() => stageState(a, 'ppo'), { timeout: 240_000, interval: 100 }).toBe('running');
  await watchRunStates(a);
  await elsewhere.getByRole('button', { name: 'Use it here' }).click();
  const moved = a.getByRole('region', { name: 'Open in another tab' }).getByRole('heading');
  await expect.poll(() => moved.textContent(), { timeout: 120_000, interval: 100 }).toBe('RLHF Lab moved to another tab');
  // It stopped as Stop stops a run, at the end of a PPO iteration.
  const states = await a.evaluate(() => (window as unknown as { runStates: string[] }).runStates);
  expect(states.filter((state) => state !== 'Running')).toEqual(['Stopping…', 'Stopped']);

  // The second tab has the lab, with the first's run restored: its task, its SFT policy and reward model.
  const restored = b.getByTestId('restore-status');
  await expect.poll(() => restored.textContent(), { timeout: 120_000 }).toMatch(/^Restored your saved run: [1-9]\d* metric records, \d+ samples, 0 labels; checkpoints loaded: base, sft, reward-model\.$/);
  expect(await b.getByLabel('Task', { exact: true }).inputValue()).toBe('sentiment');
  for (const stage of ['pretrain', 'sft', 'rm']) expect(await stageState(b, stage), stage).toBe('done');

  // The instructions task there, stopped after its SFT; the first tab saves nothing of its own meanwhile.
  await b.getByLabel('Task', { exact: true }).selectOption('instructions');
  const runB = b.getByRole('button', { name: 'Run pipeline' });
  await expect.poll(() => runB.isEnabled(), { timeout: 30_000 }).toBe(true);
  await runB.click();
  // (The restored run's SFT shows as done until the new configuration's echo starts the run store afresh.)
  await expect.poll(() => stageState(b, 'sft'), { timeout: 60_000, interval: 50 }).toBe('pending');
  await expect.poll(() => stageState(b, 'sft'), { timeout: 120_000, interval: 100 }).toBe('done');
  await b.getByRole('button', { name: 'Stop' }).click();
  await expect.poll(() => b.locator('.run-state').textContent(), { timeout: 120_000 }).toBe('Stopped');
  const saved = b.getByRole('region', { name: 'Saved session' });
  await expect.poll(() => saved.textContent(), { timeout: 30_000 }).toMatch(/Saved in this browser: [1-9]\d* metric records, \d+ samples, 0 labels, 2 checkpoints/);

  // Reloaded, the saved session is the instructions run, whole: its configuration and its own checkpoints.
  await b.reload();
  await expect.poll(() => b.getByTestId('restore-status').textContent(), { timeout: 120_000 }).toMatch(/^Restored your saved run: [1-9]\d* metric records, \d+ samples, 0 labels; checkpoints loaded: base, sft\.$/);
  expect(await b.getByLabel('Task', { exact: true }).inputValue()).toBe('instructions');
  expect(await stageState(b, 'sft')).toBe('done');
  expect(await a.getByRole('button', { name: 'Run pipeline' }).count()).toBe(0);
  expect(errors).toEqual([]);
  await context.close();
});

test('a full storage: the page says saving stopped, training goes on to the end, and the session saved before is intact', { timeout: 300_000 }, async () => {
  // A profile on disk: Chromium's IndexedDB enforces a quota set before its first write there (it keeps what it
  // learnt of the space left, so a quota lowered later bites only some time after).
  const profile = mkdtempSync(join(tmpdir(), 'rlhf-lab-profile-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, viewport: { width: 1280, height: 900 } });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // Room for the configuration, the first stages' records and two of nano's checkpoints (~250 kB each), not a third.
    const cdp = await context.newCDPSession(page);
    const origin = new URL(lab.url).origin;
    await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 650_000 });
    await page.goto(`${lab.url}?${new URLSearchParams(nanoRunSettings(8))}`);
    const run = page.getByRole('button', { name: 'Run pipeline' });
    await expect.poll(() => run.isEnabled(), { timeout: 60_000 }).toBe(true);
    await run.click();

    await expect.poll(() => page.getByTestId('saved-note').textContent(), { timeout: 200_000, interval: 100 }).toBe(STORAGE_FULL_NOTE);
    const lastGood = await snapshot(page);
    expect(lastGood.config).toMatch(/"task":"sentiment"/);
    expect(lastGood.checkpoints.length).toBeGreaterThan(0);
    // Training goes on to the end, and nothing more is written (nor deleted) meanwhile.
    const runState = page.locator('.run-state');
    await expect.poll(() => runState.textContent(), { timeout: 200_000, interval: 250 }).toBe('Done');
    for (const stage of ['pretrain', 'sft', 'rm', 'ppo', 'bon', 'eval']) expect(await stageState(page, stage), stage).toBe('done');
    expect(await page.getByRole('alert').count()).toBe(0);
    expect(await snapshot(page)).toEqual(lastGood);

    // Space again: a reload restores that session.
    await cdp.send('Storage.overrideQuotaForOrigin', { origin });
    await page.reload();
    const restored = page.getByTestId('restore-status');
    const counts = `${JSON.parse(lastGood.metrics).length} metric records, ${lastGood.samples} samples, 0 labels`;
    await expect.poll(() => restored.textContent(), { timeout: 120_000 }).toMatch(new RegExp(`^Restored your saved run: ${counts}; checkpoints loaded: [a-z, -]+\\.$`));
    const loaded = (await restored.textContent())!.replace(/.*checkpoints loaded: (.*)\.$/, '$1').split(', ');
    expect(loaded.sort()).toEqual(lastGood.checkpoints.map((c) => c.split(':')[0]).sort());
    expect(errors).toEqual([]);
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
});
