// The stage stepper and the run controls in headless Chromium: stage names, states, progress bars (ARIA values)
// and ETAs from a run store fed with synthetic events; the stage buttons call onRunStage and are disabled while a
// run is going; the run controls' accessible names, their enabled states per run state, and keyboard operation.
import { act } from 'react';
import { describe, expect, test } from 'vitest';
import { userEvent } from 'vitest/browser';
import type { PipelineStage } from '../../src/rlhf/pipeline';
import { makePipelineConfig } from '../../src/rlhf/config';
import { createRunStore, type RunState } from '../../src/store/run';
import { RunControls } from '../../src/ui/RunControls';
import { StageStepper } from '../../src/ui/StageStepper';
import { labStores } from '../helpers/lab-stores';
import { mount } from '../helpers/mount';


describe('StageStepper', () => {
  test('stages by name with state, progress bar and ETA; buttons run a stage alone, not while a run is going', () => {
    const store = createRunStore({ schedule: () => () => {} });
    const calls: PipelineStage[] = [];
    const { div } = mount(<StageStepper store={store} onRunStage={(s) => calls.push(s)} />);
    const buttons = () => [...div.querySelectorAll('button')];
    expect(buttons().map((b) => b.textContent)).toEqual(['Pretrain', 'SFT', 'Reward model', 'PPO', 'Best-of-N', 'Evaluate']);
    expect(div.querySelector('ol')!.getAttribute('aria-label')).toBe('Pipeline stages');
    const item = (stage: string) => div.querySelector(`li[data-stage="${stage}"]`)!;
    const bar = (stage: string) => item(stage).querySelector('[role="progressbar"]')!;
    const aria = (stage: string) => ['aria-label', 'aria-valuemin', 'aria-valuemax', 'aria-valuenow', 'aria-valuetext'].map((a) => bar(stage).getAttribute(a));
    expect(aria('sft')).toEqual(['SFT progress', '0', '1', '0', 'not started']);
    expect(item('sft').querySelector('.stage-state')!.textContent).toBe('pending');

    act(() => {
      store.getState().onStage('pretrain', 'skipped');
      store.getState().onStage('sft', 'started');
      store.getState().onProgress({ stage: 'sft', done: 30, total: 120, etaSeconds: 95 });
    });
    expect(item('pretrain').querySelector('.stage-state')!.textContent).toBe('skipped');
    expect(item('sft').querySelector('.stage-state')!.textContent).toBe('running');
    expect(item('sft').getAttribute('aria-current')).toBe('step');
    expect(aria('sft')).toEqual(['SFT progress', '0', '120', '30', '30 of 120']);
    expect((bar('sft').firstElementChild as HTMLElement).style.width).toBe('25%');
    expect(item('sft').querySelector('.stage-eta')!.textContent).toBe('ETA 1:35');
    // A run is going: no stage can be started.
    expect(buttons().every((b) => b.disabled)).toBe(true);

    act(() => {
      store.getState().onStage('sft', 'done', 130);
      store.getState().onStage('rm', 'started');
      store.getState().setRunState('failed', 'rm', 'rm/loss is NaN');
    });
    expect(aria('sft')).toEqual(['SFT progress', '0', '1', '1', 'done']);
    expect(item('sft').querySelector('.stage-eta')!.textContent).toBe('took 2:10');
    expect(item('rm').querySelector('.stage-state')!.textContent).toBe('failed');
    expect(item('rm').className).toBe('stage stage-failed');
    expect(buttons().every((b) => !b.disabled)).toBe(true);
    act(() => {
      store.getState().onStage('rm', 'started');
      store.getState().setRunState('failed', 'rm', 'rm/loss is NaN', true);
    });
    expect(item('rm').querySelector('.stage-state')!.textContent).toBe('stopped by an alarm');
    expect(item('rm').className).toBe('stage stage-alarm');

    act(() => buttons()[3].click());
    act(() => buttons()[2].click());
    expect(calls).toEqual(['ppo', 'rm']);
  });
});

describe('StageStepper: a run that waits, and kept checkpoints', () => {
  test('paused or stopping, a run is still going: no stage can be started', () => {
    const store = createRunStore({ schedule: () => () => {} });
    const { div } = mount(<StageStepper store={store} onRunStage={() => {}} />);
    const disabled = () => [...div.querySelectorAll('button')].map((b) => b.disabled);
    act(() => store.getState().onStage('ppo', 'started'));
    for (const state of ['paused', 'stopping'] as const) {
      act(() => store.getState().setRunState(state));
      expect(disabled().every(Boolean), state).toBe(true);
    }
    act(() => store.getState().setRunState('stopped'));
    expect(disabled().some(Boolean)).toBe(false);
  });

  test('a stage whose checkpoint the worker kept reads "kept" until it runs in this configuration, then its own state', () => {
    const { lab, run } = labStores({ wrap: act });
    lab.setState({ configured: { key: 'k', config: makePipelineConfig('tiny'), task: {} as never, kept: ['sft', 'reward-model'] } });
    const { div } = mount(<StageStepper store={run} lab={lab} onRunStage={() => {}} />);
    const state = (stage: string) => div.querySelector(`li[data-stage="${stage}"] .stage-state`)!.textContent;
    expect([state('sft'), state('rm'), state('ppo')]).toEqual(['kept', 'kept', 'pending']);
    act(() => run.getState().onStage('sft', 'started'));
    expect(state('sft')).toBe('running');
    act(() => run.getState().onStage('sft', 'done', 12));
    expect([state('sft'), state('rm')]).toEqual(['done', 'kept']);
    expect(div.querySelector('li[data-stage="sft"] .stage-eta')!.textContent).toBe('took 12 s');
  });
});

describe('RunControls', () => {
  const NAMES = ['Run pipeline', 'Pause', 'Resume', 'Stop', 'Step'];
  // Which buttons are enabled in each run state, in NAMES order.
  const ENABLED: Record<RunState, boolean[]> = {
    idle: [true, false, false, false, false],
    running: [false, true, false, true, false],
    paused: [false, false, true, true, true],
    stopping: [false, false, false, false, false],
    done: [true, false, false, false, false],
    stopped: [true, false, false, false, false],
    failed: [true, false, false, false, false],
  };

  test('accessible names exactly, enabled only where the command makes sense', () => {
    const noop = () => {};
    const props = { onRun: noop, onPause: noop, onResume: noop, onStop: noop, onStep: noop };
    const { div, render } = mount(<RunControls state="idle" {...props} />);
    const buttons = () => [...div.querySelectorAll('button')];
    expect(buttons().map((b) => b.textContent)).toEqual(NAMES);
    expect(div.querySelector('[role="group"]')!.getAttribute('aria-label')).toBe('Run controls');
    for (const [state, enabled] of Object.entries(ENABLED) as [RunState, boolean[]][]) {
      render(<RunControls state={state} {...props} />);
      expect(buttons().map((b) => !b.disabled), state).toEqual(enabled);
    }
    render(<RunControls state="paused" {...props} disabled />);
    expect(buttons().every((b) => b.disabled)).toBe(true);
  });

  test('each button calls its callback, by click and from the keyboard', async () => {
    const calls: string[] = [];
    const props = {
      onRun: () => calls.push('run'),
      onPause: () => calls.push('pause'),
      onResume: () => calls.push('resume'),
      onStop: () => calls.push('stop'),
      onStep: () => calls.push('step'),
    };
    const { div, render } = mount(<RunControls state="idle" {...props} />);
    const button = (name: string) => [...div.querySelectorAll('button')].find((b) => b.textContent === name)!;
    act(() => button('Run pipeline').click());
    render(<RunControls state="running" {...props} />);
    act(() => button('Pause').click());
    render(<RunControls state="paused" {...props} />);
    act(() => button('Step').click());
    act(() => button('Resume').click());
    act(() => button('Stop').click());
    expect(calls).toEqual(['run', 'pause', 'step', 'resume', 'stop']);

    // Keyboard: real key presses (through the browser) on the focused buttons.
    calls.length = 0;
    button('Step').focus();
    expect(document.activeElement).toBe(button('Step'));
    await userEvent.keyboard('{Enter}');
    await userEvent.keyboard(' ');
    expect(calls).toEqual(['step', 'step']);
  });
});
