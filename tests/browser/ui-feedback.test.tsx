// The human-feedback, teaching, lesson and saved-data components in headless Chromium: FeedbackView's buttons
// (Prefer A / Prefer B / Skip) and keys (1 / 2 / space while it has focus), counter, gold agreement and the train
// button's enabled state; FeedbackPanel on a feedback store with a fake worker; every stage's explanation with its
// formulas; metric explanations from the METRICS table; the lessons (valid configurations, ?lesson=<id>, Start
// lesson); and SavedData's Clear saved data.
import { act } from 'react';
import { describe, expect, test } from 'vitest';
import { userEvent } from 'vitest/browser';
import { makePipelineConfig, stagesStillValid } from '../../src/rlhf/config';
import { METRICS } from '../../src/rlhf/metrics';
import { createFeedbackStore } from '../../src/store/feedback';
import { DEFAULT_STAGES, RUN_STAGES } from '../../src/store/run';
import { Explain, MetricExplain } from '../../src/ui/Explain';
import { FeedbackPanel, FeedbackView, type FeedbackViewProps } from '../../src/ui/FeedbackView';
import { findLesson, type Lesson, lessonFromSearch, LESSONS, lessonSteps } from '../../src/ui/lessons';
import { Lessons } from '../../src/ui/Lessons';
import { SavedData } from '../../src/ui/SavedData';
import { STAGE_TEACHING } from '../../src/ui/teaching';
import type { Command, LabelItem } from '../../src/worker/protocol';
import { mount } from '../helpers/mount';


const button = (div: HTMLElement, name: string) => {
  const b = [...div.querySelectorAll('button')].find((x) => x.textContent === name);
  if (!b) throw new Error(`no button "${name}" in: ${[...div.querySelectorAll('button')].map((x) => x.textContent).join(', ')}`);
  return b;
};
const item = (id: string): LabelItem => ({ id, prompt: `Review ${id}:`, completions: [` great ${id}`, ` awful ${id}`] });

describe('FeedbackView', () => {
  test('shows the prompt and two completions; buttons and keys 1 / 2 / space call back; counter and agreement', async () => {
    const calls: string[] = [];
    const props: FeedbackViewProps = {
      item: item('x'),
      k: 2,
      labelled: 3,
      skipped: 1,
      stats: { count: 5, pairs: 5, goldAgreement: 0.8 },
      policy: 'sft',
      onPrefer: (w) => calls.push(`prefer ${w}`),
      onRank: (order) => calls.push(`rank ${order}`),
      onSkip: () => calls.push('skip'),
      onK: (k) => calls.push(`k ${k}`),
      onRequest: () => calls.push('request'),
      onTrain: () => calls.push('train'),
    };
    const { div, render } = mount(<FeedbackView {...props} />);
    expect(div.querySelector('[aria-label="Prompt"]')!.textContent).toBe('Review x:');
    expect([...div.querySelectorAll('.feedback-completion')].map((e) => e.textContent)).toEqual(['Completion A great x', 'Completion B awful x']);
    expect(div.querySelector('[data-stat="labelled"]')!.textContent).toBe('Labelled: 3 (skipped 1)');
    expect(div.querySelector('[data-stat="agreement"]')!.textContent).toBe('Agreement with the gold labeler: 80% of 5 pairs');

    act(() => button(div, 'Prefer A').click());
    act(() => button(div, 'Prefer B').click());
    act(() => button(div, 'Skip').click());
    act(() => button(div, 'Train reward model on my labels').click());
    expect(calls.splice(0)).toEqual(['prefer 0', 'prefer 1', 'skip', 'train']);

    // Keys while the view has focus (and not while it does not).
    const section = div.querySelector('section')!;
    await userEvent.keyboard('1');
    expect(calls).toEqual([]);
    section.focus();
    await userEvent.keyboard('1');
    await userEvent.keyboard('2');
    await userEvent.keyboard(' ');
    expect(calls.splice(0)).toEqual(['prefer 0', 'prefer 1', 'skip']);
    // Space on a focused button presses only that button.
    button(div, 'Prefer B').focus();
    await userEvent.keyboard(' ');
    expect(calls.splice(0)).toEqual(['prefer 1']);

    // No item: a request button instead (disabled while sampling or while a run is going); the train button needs
    // two labels and no run going; no gold: a dash.
    render(<FeedbackView {...props} item={undefined} stats={{ count: 1, pairs: 1, goldAgreement: null }} />);
    expect(div.querySelector('.feedback-completion')).toBeNull();
    section.focus();
    await userEvent.keyboard('1');
    expect(calls).toEqual([]);
    act(() => button(div, 'Get pairs to label').click());
    expect(calls.splice(0)).toEqual(['request']);
    expect(button(div, 'Train reward model on my labels').disabled).toBe(true);
    expect(div.querySelector('[data-stat="agreement"]')!.textContent).toBe('Agreement with the gold labeler: —');
    render(<FeedbackView {...props} item={undefined} requesting />);
    expect(button(div, 'Get pairs to label').disabled).toBe(true);
    expect(div.querySelector('[role="status"]')!.textContent).toMatch(/Sampling completions/);
    render(<FeedbackView {...props} busy />);
    expect(button(div, 'Train reward model on my labels').disabled).toBe(true);
    render(<FeedbackView {...props} error="labels: nothing added" />);
    expect(div.querySelector('[role="alert"]')!.textContent).toBe('labels: nothing added');
  });

  test('FeedbackPanel on a feedback store: items arrive, judgements go to the worker, stats come back, train starts rm', () => {
    const sent: Command[] = [];
    const store = createFeedbackStore((c) => sent.push(c), { batchSize: 2 });
    const { div } = mount(<FeedbackPanel store={store} />);
    act(() => button(div, 'Get pairs to label').click());
    expect(sent).toEqual([{ type: 'label-request', count: 2, k: 2 }]);
    act(() => store.getState().applyEvent({ type: 'label-items', items: [item('a'), item('b')], policy: 'ppo' }));
    expect(div.querySelector('[aria-label="Prompt"]')!.textContent).toBe('Review a:');
    expect(div.textContent).toContain('sampled from the PPO policy');
    act(() => button(div, 'Prefer B').click());
    expect(div.querySelector('[aria-label="Prompt"]')!.textContent).toBe('Review b:');
    act(() => button(div, 'Prefer A').click());
    act(() => store.getState().applyEvent({ type: 'labels-stats', count: 2, pairs: 2, goldAgreement: 0.5 }));
    expect(div.querySelector('[data-stat="labelled"]')!.textContent).toBe('Labelled: 2');
    expect(div.querySelector('[data-stat="agreement"]')!.textContent).toBe('Agreement with the gold labeler: 50% of 2 pairs');
    act(() => button(div, 'Train reward model on my labels').click());
    expect(sent.slice(1)).toEqual([
      { type: 'labels', labels: [{ id: 'a', order: [1, 0] }] },
      { type: 'labels', labels: [{ id: 'b', order: [0, 1] }] },
      { type: 'label-request', count: 2, k: 2 },
      { type: 'start', stages: ['rm'], humanLabels: 'replace' },
    ]);
  });
});

describe('teaching', () => {
  test('every stage explains what, why and healthy, with its formulas; the RM loss and PPO-ptx are written out', () => {
    for (const stage of RUN_STAGES) {
      const { div } = mount(<Explain stage={stage} />);
      const t = STAGE_TEACHING[stage];
      expect(div.querySelector('h3')!.textContent).toBe(t.title);
      expect([...div.querySelectorAll('.explain-points dd .fold-text')].map((d) => d.textContent)).toEqual([t.what, t.why, t.healthy]);
      for (const text of [t.what, t.why, t.healthy]) expect(text.length).toBeGreaterThan(40);
      expect([...div.querySelectorAll('[data-formula]')].map((f) => f.getAttribute('data-formula'))).toEqual(t.formulas.map((f) => f.title));
      expect([...div.querySelectorAll('[data-metric]')].map((m) => m.getAttribute('data-metric'))).toEqual(t.metrics);
    }
    const formula = (stage: keyof typeof STAGE_TEACHING, title: string) => STAGE_TEACHING[stage].formulas.find((f) => f.title === title)!;
    expect(formula('rm', 'Reward-model loss').text).toBe('loss(θ) = −1/C(K,2) · E₍x, y_w, y_l₎ [ log σ( r_θ(x, y_w) − r_θ(x, y_l) ) ]');
    const ptx = formula('ppo', 'PPO-ptx objective (maximised)');
    expect(ptx.text).toContain('− β · log( π_RL(y | x) / π_SFT(y | x) ) ] + γ · E₍x ~ D_pretrain₎ [ log π_RL(x) ]');
    expect(formula('dpo', 'DPO loss').text).toContain('−E₍x, y_w, y_l₎ [ log σ( β · h ) ]');
    expect(formula('dpo', 'IPO loss').text).toContain('( h − 1/(2β) )²');
    const { div } = mount(<Explain stage="ppo" />);
    expect(div.querySelector(`[data-formula="${ptx.title}"] code`)!.textContent).toBe(ptx.text);
  });

  test('a metric shows its METRICS label, meaning and healthy text; an unknown name says so', () => {
    const { div } = mount(
      <>
        <MetricExplain metric="objective/kl" />
        <MetricExplain metric="made/up" />
      </>,
    );
    const [kl, unknown] = [...div.querySelectorAll('.metric-explain')];
    expect(kl.querySelector('strong')!.textContent).toBe(METRICS['objective/kl'].label);
    expect(kl.querySelector('.metric-meaning')!.textContent).toBe(METRICS['objective/kl'].meaning);
    expect(kl.querySelector('.metric-healthy')!.textContent).toBe(`Healthy: ${METRICS['objective/kl'].healthy}`);
    expect(unknown.textContent).toMatch(/made\/up — not a metric of the lab/);
  });
});

describe('lessons', () => {
  test('the built-in lessons have unique ids, valid configurations and the runs the brief names', () => {
    expect(LESSONS.map((l) => l.id)).toEqual(['instructgpt', 'kl-sweep', 'best-of-n', 'ppo-or-dpo', 'grpo-group', 'verifiable-rewards', 'ensembles']);
    for (const lesson of LESSONS) {
      expect(lesson.title).toMatch(/\S/);
      expect(lesson.text.join(' ').length).toBeGreaterThan(200);
      expect(lesson.lookFor.length).toBeGreaterThan(0);
      for (const step of lessonSteps(lesson)) {
        const config = makePipelineConfig(step.preset as 'tiny', { ...step.overrides, task: step.task }); // throws when invalid
        expect(config.task).toBe(lesson.task);
        expect(step.stages.length).toBeGreaterThan(0);
      }
    }
    // The sweep ends with its climax: β = 0, longer and faster-learning so the reward hacking goes all the way.
    const sweep = lessonSteps(findLesson('kl-sweep')!).map((s) => {
      const { klCoef, episodes, lr } = makePipelineConfig('tiny', s.overrides).ppo;
      return [s.label, klCoef, episodes, lr];
    });
    expect(sweep).toEqual([
      ['β = 0.2', 0.2, 640, 3e-4],
      ['β = 0.05', 0.05, 640, 3e-4],
      ['β = 0', 0, 1280, 6e-4],
    ]);
    expect(findLesson('instructgpt')!.stages).toEqual([...DEFAULT_STAGES]);
    // PPO or DPO: one SFT and one set of labels; the IPO run changes only the DPO stage's loss, so it keeps SFT, the
    // reward model and PPO and trains only IPO (stagesStillValid).
    const compare = lessonSteps(findLesson('ppo-or-dpo')!);
    expect(compare.map((s) => [s.label, makePipelineConfig('tiny', s.overrides).dpo.loss])).toEqual([
      ['PPO and DPO', 'sigmoid'],
      ['IPO', 'ipo'],
    ]);
    expect(compare[0].stages).toEqual(['pretrain', 'sft', 'rm', 'ppo', 'dpo', 'bon', 'eval']);
    const kept = stagesStillValid(makePipelineConfig('tiny', compare[0].overrides), makePipelineConfig('tiny', compare[1].overrides));
    expect(kept.filter((s) => compare[0].stages.includes(s))).toEqual(['pretrain', 'sft', 'rm', 'ppo']);
    expect(findLesson('best-of-n')!.stages).toEqual(expect.arrayContaining(['bon', 'ppo']));
    // GRPO's group size: the same completions (1280, 32 an iteration) in groups of 8, then 2; the second run trains only GRPO.
    const groups = lessonSteps(findLesson('grpo-group')!);
    expect(groups.map((s) => {
      const { groupSize, promptsPerIteration, episodes } = makePipelineConfig('tiny', s.overrides).grpo;
      return [s.label, groupSize, groupSize * promptsPerIteration, episodes];
    })).toEqual([
      ['G = 8', 8, 32, 1280],
      ['G = 2', 2, 32, 1280],
    ]);
    expect(stagesStillValid(makePipelineConfig('tiny', groups[0].overrides), makePipelineConfig('tiny', groups[1].overrides))).toEqual(expect.arrayContaining(['sft', 'rm']));
    // Verifiable rewards: one SFT model, GRPO rewarded by the verifier (without, then with dynamic sampling), then by a
    // reward model (trained only there).
    const verifiable = lessonSteps(findLesson('verifiable-rewards')!);
    expect(verifiable.map((s) => {
      const c = makePipelineConfig('tiny', s.overrides);
      return [s.label, s.task, c.grpo.rewardSource, c.grpo.dynamicSampling, c.sft.lr, s.stages.includes('rm')];
    })).toEqual([
      ['Verifier', 'instructions', 'verifier', 0, 2e-3, false],
      ['Verifier, dynamic sampling', 'instructions', 'verifier', 4, 2e-3, false],
      ['Reward model', 'instructions', 'rm', 0, 2e-3, true],
    ]);
    const instructions = (i: number) => makePipelineConfig('tiny', { ...verifiable[i].overrides, task: 'instructions' });
    for (const i of [1, 2]) expect(stagesStillValid(instructions(0), instructions(i))).toEqual(expect.arrayContaining(['pretrain', 'sft']));
    // Ensembles: GRPO at β = 0 against one reward model, then the minimum and UWO of one ensemble — trained only where
    // it is used, once: the UWO run keeps the WCO run's members.
    const ensembles = lessonSteps(findLesson('ensembles')!);
    expect(ensembles.map((s) => [s.label, makePipelineConfig('tiny', s.overrides).grpo.beta, makePipelineConfig('tiny', s.overrides).grpo.rewardSource, makePipelineConfig('tiny', s.overrides).ensemble.combine, s.stages.includes('ensemble')])).toEqual([
      ['One reward model', 0, 'rm', 'mean', false],
      ['WCO: the minimum of 4', 0, 'ensemble', 'min', true],
      ['UWO: mean − 0.5·variance', 0, 'ensemble', 'uwo', true],
    ]);
    expect(stagesStillValid(makePipelineConfig('tiny', ensembles[1].overrides), makePipelineConfig('tiny', ensembles[2].overrides))).toEqual(expect.arrayContaining(['sft', 'rm', 'ensemble']));
    expect(lessonFromSearch('?lesson=kl-sweep')?.id).toBe('kl-sweep');
    expect(lessonFromSearch('?x=1&lesson=best-of-n')?.id).toBe('best-of-n');
    expect(lessonFromSearch('?lesson=nope')).toBeUndefined();
    expect(lessonFromSearch('')).toBeUndefined();
  });

  test('Lessons lists each with a Start lesson button; the active one is marked and open', () => {
    const started: Lesson[] = [];
    const { div, render } = mount(<Lessons onStart={(l) => started.push(l)} activeId="kl-sweep" />);
    const items = [...div.querySelectorAll('li.lesson')];
    expect(items.map((li) => li.querySelector('h3')!.textContent)).toEqual(LESSONS.map((l) => l.title));
    expect(items.map((li) => li.getAttribute('aria-current'))).toEqual(LESSONS.map((l) => (l.id === 'kl-sweep' ? 'true' : null)));
    expect(items.map((li) => li.querySelector('details')!.open)).toEqual(LESSONS.map((l) => l.id === 'kl-sweep'));
    expect(items[1].querySelector('.lesson-runs')!.textContent).toMatch(/^3 runs: β = 0\.2, β = 0\.05, β = 0 ·/);
    act(() => (items[2].querySelector('button') as HTMLButtonElement).click());
    act(() => (items[1].querySelector('button') as HTMLButtonElement).click());
    expect(started.map((l) => l.id)).toEqual(['best-of-n', 'kl-sweep']);
    render(<Lessons onStart={(l) => started.push(l)} disabled />);
    expect([...div.querySelectorAll('button')].every((b) => b.textContent === 'Start lesson' && b.disabled)).toBe(true);
  });
});

describe('SavedData', () => {
  test('shows the counts; Clear saved data calls onClear and reports done or the failure', async () => {
    let clears = 0;
    let cleared = 0;
    let fail = false;
    const onClear = async () => {
      clears++;
      if (fail) throw new Error('blocked');
    };
    const summary = { metrics: 120, samples: 8, labels: 5, checkpoints: 2, sweepRuns: 0 };
    const { div, render } = mount(<SavedData summary={summary} onClear={onClear} onCleared={() => cleared++} />);
    expect(div.textContent).toContain('Saved in this browser: 120 metric records, 8 samples, 5 labels, 2 checkpoints.');
    // A sweep's earlier runs are counted when there are some.
    render(<SavedData summary={{ ...summary, sweepRuns: 2 }} onClear={onClear} onCleared={() => cleared++} />);
    expect(div.textContent).toContain('Saved in this browser: 120 metric records, 8 samples, 5 labels, 2 checkpoints, and 2 earlier runs of a sweep.');
    await act(async () => button(div, 'Clear saved data').click());
    expect([clears, cleared]).toEqual([1, 1]);
    expect(div.querySelector('[role="status"]')!.textContent).toBe('Saved data cleared.');
    fail = true;
    await act(async () => button(div, 'Clear saved data').click());
    expect([clears, cleared]).toEqual([2, 1]);
    expect(div.querySelector('[role="alert"]')!.textContent).toBe('Could not clear the saved data: blocked');
  });
});
