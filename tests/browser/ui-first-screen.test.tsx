// The first screen's pieces in headless Chromium: long text folded to a line with a More/Less button (aria-expanded),
// the expected time of a run before it starts (measured software figures scaled to the settings, the hardware case
// said honestly, and what the last runs here took, remembered per preset and adapter kind), the running stage's
// charts first in the grid (the same uPlot instances, moved), the lessons and config bar folded to one line during a
// run, and the stage explanation opened from the lab store (as the pipeline diagram's boxes do).
import { act } from 'react';
import { describe, expect, test } from 'vitest';
import { userEvent } from 'vitest/browser';
import { makePipelineConfig, PIPELINE_PRESETS } from '../../src/rlhf/config';
import { DEFAULT_STAGES, inRunOrder } from '../../src/rlhf/stages';
import { createRunStore } from '../../src/store/run';
import { ChartGrid, FRONTIER_TITLE } from '../../src/ui/charts';
import { ExplainPanel } from '../../src/ui/ExplainPanel';
import { aboutDuration, estimateRun, expectedTimeText, rememberedSeconds, rememberStageTimes, SOFTWARE_SECONDS } from '../../src/ui/expected-time';
import { Fold } from '../../src/ui/Fold';
import { RunPanel } from '../../src/ui/RunPanel';
import { SetupPanels } from '../../src/ui/SetupPanels';
import { labStores, softwareAdapter } from '../helpers/lab-stores';
import { mount } from '../helpers/mount';

const LONG = 'A paragraph long enough to need several lines in a narrow box, so that it folds to its first line and offers More. '.repeat(3);

/** A Storage in memory (the page's is localStorage). */
function memoryStorage(): Storage {
  const items = new Map<string, string>();
  return {
    get length() {
      return items.size;
    },
    clear: () => items.clear(),
    getItem: (k) => items.get(k) ?? null,
    key: (i) => [...items.keys()][i] ?? null,
    removeItem: (k) => void items.delete(k),
    setItem: (k, v) => void items.set(k, v),
  };
}

describe('Fold', () => {
  test('long text shows one line and a More button; More unfolds it (Less folds it back), by click and keyboard', async () => {
    const { div } = mount(<Fold textId="t">{LONG}</Fold>, { width: 300 });
    const text = div.querySelector<HTMLElement>('#t')!;
    const button = () => div.querySelector('button')!;
    const lineHeight = mount(<Fold>One line.</Fold>, { width: 300 }).div.querySelector('.fold-text')!.clientHeight;
    expect(text.textContent).toBe(LONG); // all of it in the page, for screen readers
    expect(text.clientHeight).toBeLessThan(1.5 * lineHeight);
    expect(button().textContent).toBe('More');
    expect(button().getAttribute('aria-expanded')).toBe('false');
    expect(button().getAttribute('aria-controls')).toBe('t');

    await act(() => userEvent.click(button()));
    expect(button().textContent).toBe('Less');
    expect(button().getAttribute('aria-expanded')).toBe('true');
    expect(text.clientHeight).toBeGreaterThan(2.5 * lineHeight);

    button().focus();
    await act(() => userEvent.keyboard('{Enter}'));
    expect(button().textContent).toBe('More');
    expect(text.clientHeight).toBeLessThan(1.5 * lineHeight);
  });

  test('text that fits on its line has no button', () => {
    const { div } = mount(<Fold>Short.</Fold>, { width: 300 });
    expect(div.textContent).toBe('Short.');
    expect(div.querySelector('button')).toBeNull();
  });
});

describe('expected time', () => {
  const tiny = PIPELINE_PRESETS.tiny;
  const stages = DEFAULT_STAGES;

  test("a preset's default run is the sum of its measured stages; lengths scale it; unmeasured stages are named", () => {
    const figures = SOFTWARE_SECONDS.tiny!;
    const total = stages.reduce((sum, stage) => sum + figures[stage]!, 0);
    expect(estimateRun(figures, tiny, stages)).toEqual({ seconds: total, unmeasured: [], scaled: false });
    // Twice the PPO episodes: PPO's figure twice.
    const longer = makePipelineConfig('tiny', { 'ppo.episodes': 2 * tiny.ppo.episodes });
    expect(estimateRun(figures, longer, stages)).toEqual({ seconds: total + figures.ppo!, unmeasured: [], scaled: true });
    expect(estimateRun(figures, tiny, inRunOrder([...stages, 'dpo'])).unmeasured).toEqual(['dpo']);
    // pass@k's samples lengthen the evaluation by its length factor: 1 + 0.7 k.
    const passK = makePipelineConfig('tiny', { 'eval.passK': 16 });
    expect(estimateRun(figures, passK, stages).seconds).toBeCloseTo(total + figures.eval! * 0.7 * 16, 9);
    expect([aboutDuration(42), aboutDuration(612), aboutDuration(5 * 3600)]).toEqual(['about 40 s', 'about 10 min', 'about 5 h']);
    // Hours to the half hour.
    expect([aboutDuration(2.5 * 3600), aboutDuration(3.2 * 3600)]).toEqual(['about 2.5 h', 'about 3 h']);
  });

  test('on a software adapter: the measured time and the faster nano; on a hardware GPU: not measured, said so', () => {
    const nano = aboutDuration(estimateRun(SOFTWARE_SECONDS.nano!, PIPELINE_PRESETS.nano, stages).seconds);
    const tinyTime = aboutDuration(estimateRun(SOFTWARE_SECONDS.tiny!, tiny, stages).seconds);
    expect(expectedTimeText(tiny, stages, true, {})).toBe(`On a software adapter the tiny run takes ${tinyTime}; nano takes ${nano}.`);
    expect(expectedTimeText(PIPELINE_PRESETS.nano, stages, true, {})).toBe(`On a software adapter the nano run takes ${nano}.`);
    const longerSft = makePipelineConfig('tiny', { 'sft.steps': 300 });
    const longerTime = aboutDuration(estimateRun(SOFTWARE_SECONDS.tiny!, longerSft, stages).seconds);
    expect(longerTime).not.toBe(tinyTime);
    expect(expectedTimeText(longerSft, inRunOrder([...stages, 'dpo']), true, {})).toContain(
      `On a software adapter the tiny run takes ${longerTime} (scaled to your steps, episodes and prompts), without DPO (not measured); nano takes`,
    );
    expect(expectedTimeText(PIPELINE_PRESETS.small, stages, true, {})).toBe(`The small preset is not measured on a software adapter (it is meant for a hardware GPU); nano takes ${nano}.`);
    expect(expectedTimeText(tiny, stages, false, {})).toBe(`Not measured on a hardware GPU; expect it to be much faster than on a software adapter, where this run takes ${tinyTime}.`);
  });

  test('what the stages took here is remembered per preset and adapter kind, at the default lengths, and shown as the last run', () => {
    const storage = memoryStorage();
    const { lab, run, emit } = labStores();
    const config = makePipelineConfig('tiny', { 'sft.steps': 75 }); // half of tiny's SFT
    lab.setState({ engine: { state: 'ready', adapter: softwareAdapter() } });
    lab.getState().onPipelineConfig(config, { id: 'sentiment' } as never, []);
    const stop = rememberStageTimes(run, lab, storage);
    emit({ type: 'stage', stage: 'pretrain', state: 'skipped' });
    for (const [stage, seconds] of [['sft', 30], ['rm', 100], ['ppo', 180], ['bon', 20], ['eval', 10]] as const) {
      emit({ type: 'stage', stage, state: 'started' }, { type: 'stage', stage, state: 'done', seconds });
    }
    // A restored run's stages come back done without seconds: nothing changes.
    run.getState().onStage('sft', 'done');
    stop();
    expect(rememberedSeconds('tiny', true, storage)).toEqual({ pretrain: 0, sft: 60, rm: 100, ppo: 180, bon: 20, eval: 10 });
    expect(rememberedSeconds('tiny', false, storage)).toEqual({});
    expect(expectedTimeText(tiny, stages, true, rememberedSeconds('tiny', true, storage))).toMatch(/ Last run here: about 6 min\.$/);
    // Scaled to the settings like the software figure: twice PPO's episodes are 180 s more (370 s → 550 s).
    const longerPpo = makePipelineConfig('tiny', { 'ppo.episodes': 2 * tiny.ppo.episodes });
    expect(expectedTimeText(longerPpo, stages, true, rememberedSeconds('tiny', true, storage))).toMatch(/ Last run here: about 9 min\.$/);
    // A stage never timed here: no "last run" figure.
    expect(expectedTimeText(tiny, inRunOrder([...stages, 'dpo']), true, rememberedSeconds('tiny', true, storage))).not.toMatch(/Last run here/);
  });

  test('the run bar says it before a run, once the engine named its adapter, and not while the run goes', () => {
    const { lab, run } = labStores();
    const { div } = mount(<RunPanel lab={lab} run={run} />);
    const shown = () => div.querySelector('[data-testid="expected-time"]')?.textContent;
    expect(shown()).toBeUndefined();
    act(() => lab.setState({ engine: { state: 'ready', adapter: softwareAdapter() } }));
    expect(shown()).toMatch(new RegExp(`^On a software adapter the tiny run takes ${aboutDuration(estimateRun(SOFTWARE_SECONDS.tiny!, tiny, stages).seconds)}; nano takes about`));
    act(() => run.getState().setRunState('running', 'sft'));
    expect(shown()).toBeUndefined();
  });
});

describe('the live charts', () => {
  test("while a stage runs its charts come first, under a heading, then the others; the same chart instances move", () => {
    const store = createRunStore({ schedule: () => () => {} });
    const made: string[] = [];
    const { div } = mount(<ChartGrid store={store} onCreate={(title) => made.push(title)} />, { width: 1200 });
    const order = () => [...div.querySelectorAll('[role="img"], .run-charts-heading')].map((e) => e.getAttribute('aria-label') ?? e.textContent);
    const before = order();
    expect(before[0]).toBe('SFT loss');
    expect(made).toHaveLength(before.length);

    act(() => store.getState().onStage('ppo', 'started'));
    const during = order();
    expect(during.slice(0, 10)).toEqual([
      'Live: PPO',
      'PPO reward: proxy and gold',
      FRONTIER_TITLE,
      'KL to the SFT policy',
      'Policy entropy',
      'Clip fraction and approx. KL',
      'Value loss',
      'Policy ratio',
      'Response length',
      'The other stages',
    ]);
    expect(during.slice(10)).toEqual(['SFT loss', 'Reward model loss and accuracy']);
    expect(made).toHaveLength(before.length); // moved, not made again

    act(() => store.getState().setRunState('done', 'eval'));
    expect(order()).toEqual(before);
  });
});

describe('during a run', () => {
  test('the lessons and config bar fold into one line that says what runs; its button shows them again', async () => {
    const { lab } = labStores();
    lab.getState().setForm({ ...lab.getState().form, preset: 'nano', values: { 'sft.steps': '2' }, methods: ['dpo'] });
    const { div, render } = mount(
      <SetupPanels folded={false} lab={lab}>
        <p>the panels</p>
      </SetupPanels>,
    );
    const panels = () => div.querySelector('p:not(.setup-summary)')!.parentElement!;
    expect(panels().hidden).toBe(false);
    expect(div.querySelector('.setup-summary')).toBeNull();

    render(
      <SetupPanels folded lab={lab}>
        <p>the panels</p>
      </SetupPanels>,
    );
    const summary = div.querySelector('.setup-summary')!;
    expect(summary.textContent).toMatch(/^Running sentiment on the nano preset, 1 setting changed, with DPO\. Show the lessons and settings$/);
    expect(panels().hidden).toBe(true);
    const button = summary.querySelector('button')!;
    expect(button.getAttribute('aria-expanded')).toBe('false');
    expect(button.getAttribute('aria-controls')).toBe(panels().id);
    await act(() => userEvent.click(button));
    expect(button.getAttribute('aria-expanded')).toBe('true');
    expect(panels().hidden).toBe(false);
  });

  test('the stage explanation follows the stage the lab store names (a diagram box), and the running stage after', () => {
    const { lab, run } = labStores();
    const { div } = mount(<ExplainPanel lab={lab} run={run} />);
    const title = () => div.querySelector('.explain h3')!.textContent;
    expect(title()).toBe('Supervised fine-tuning (SFT)');
    act(() => lab.getState().explainStage('rm'));
    expect(title()).toMatch(/^Reward model/);
    expect(div.querySelector('[aria-pressed="true"]')!.textContent).toBe('Reward model');
    act(() => run.getState().onStage('ppo', 'started'));
    expect(lab.getState().explained).toBeUndefined();
    expect(title()).toBe('PPO against the reward model');
  });
});
