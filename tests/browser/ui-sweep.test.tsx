// The KL-sweep lesson on the page, in headless Chromium, with stores fed by synthetic worker events: the lessons
// panel lists the sweep's runs with how each ended (a metric alarm is the β = 0 run's outcome, not the page's error)
// and which stages a run reused; the stage stepper says "kept" for the stages whose checkpoints the worker kept.
import { act } from 'react';
import { describe, expect, test } from 'vitest';
import { makePipelineConfig } from '../../src/rlhf/config';
import { findLesson, lessonSteps } from '../../src/ui/lessons';
import { LessonsPanel } from '../../src/ui/LessonsPanel';
import { StageStepper } from '../../src/ui/StageStepper';
import type { EngineEvent, PipelineCheckpointName, TaskInfo } from '../../src/worker/protocol';
import { labStores, softwareAdapter } from '../helpers/lab-stores';
import { mount } from '../helpers/mount';

const TASK: TaskInfo = { id: 'sentiment', title: 'Positive product reviews', description: '…', trainPrompts: 600, heldoutPrompts: 160, demonstrations: 512, preferences: 0, hasGold: true };

const accepted = (overrides: Record<string, string | number>, kept: PipelineCheckpointName[]): EngineEvent => ({ type: 'pipeline-config', config: makePipelineConfig('tiny', overrides), task: TASK, kept });

const ALARM: EngineEvent = { type: 'error', kind: 'alarm', message: 'ppo stopped at step 31: objective/kl is 63 > 50', metric: 'objective/kl', stage: 'ppo', step: 31 };

describe('the KL sweep on the page', () => {
  test('the lesson lists its runs with their outcomes; the stepper says which stages were kept', () => {
    const { lab, run, emit } = labStores({ wrap: (apply) => act(apply) });
    emit({ type: 'ready', adapter: softwareAdapter() });
    const { div } = mount(
      <>
        <LessonsPanel lab={lab} run={run} />
        <StageStepper lab={lab} store={run} onRunStage={() => {}} />
      </>,
    );
    const lesson = findLesson('kl-sweep')!;
    act(() => lab.getState().startLesson(lesson.id, lesson.title, lessonSteps(lesson)));
    const runs = () => [...div.querySelectorAll('ol[aria-label="Runs of the lesson"] li')].map((li) => li.textContent);
    const stageState = (stage: string) => div.querySelector(`li[data-stage="${stage}"] .stage-state`)!.textContent;

    emit(accepted({ 'ppo.klCoef': 0.2 }, []), { type: 'pipeline-state', state: 'running' }, { type: 'stage', stage: 'sft', state: 'started' }, { type: 'pipeline-state', state: 'running', stage: 'sft' });
    expect(runs()).toEqual(['β = 0.2: SFT running.', 'β = 0.05: to come.', 'β = 0: to come.']);
    expect(stageState('sft')).toBe('running');
    emit({ type: 'stage', stage: 'sft', state: 'done' }, { type: 'pipeline-state', state: 'done', stage: 'eval' });

    // Run 2 reuses the first run's SFT model and reward model: the stepper says so.
    emit(accepted({ 'ppo.klCoef': 0.05 }, ['sft', 'reward-model']));
    expect(runs()[1]).toBe('β = 0.05: running — reused SFT, Reward model from the run before.');
    expect([stageState('sft'), stageState('rm'), stageState('ppo')]).toEqual(['kept', 'kept', 'pending']);
    const bar = div.querySelector('li[data-stage="rm"] [role="progressbar"]')!;
    expect([bar.getAttribute('aria-valuenow'), bar.getAttribute('aria-valuetext')]).toEqual(['1', 'kept from the previous configuration']);
    emit({ type: 'pipeline-state', state: 'running' }, { type: 'pipeline-state', state: 'done', stage: 'eval' });

    // β = 0 ends by the KL alarm: that is the run's outcome; its evaluation still runs on the kept policy, then the
    // lesson is done.
    emit(accepted({ 'ppo.klCoef': 0, 'ppo.episodes': 1280, 'ppo.lr': 6e-4 }, ['sft', 'reward-model']));
    emit({ type: 'pipeline-state', state: 'running' }, { type: 'stage', stage: 'ppo', state: 'started' }, ALARM, { type: 'pipeline-state', state: 'failed', stage: 'ppo' });
    const status = div.querySelector('.lesson-status[role="status"]')!;
    expect(status.querySelector('p')!.textContent).toBe(
      'KL-coefficient sweep — run 3 of 3: β = 0 (sentiment, tiny), stopped by the objective/kl alarm (PPO, step 31): the policy kept its last good weights.',
    );
    expect(runs()).toEqual([
      'β = 0.2: finished.',
      'β = 0.05: finished — reused SFT, Reward model from the run before.',
      'β = 0: stopped by the objective/kl alarm (PPO, step 31): the policy kept its last good weights — reused SFT, Reward model from the run before.',
    ]);
    expect(status.textContent).toContain('objective/kl is 63 > 50');
    expect(lab.getState().pipelineError).toBeUndefined();
    const startButtons = () => [...div.querySelectorAll('button')].filter((b) => b.textContent === 'Start lesson');
    expect(startButtons().every((b) => b.disabled)).toBe(true); // the evaluation is still to run
    emit({ type: 'pipeline-state', state: 'running' }, { type: 'pipeline-state', state: 'done', stage: 'eval' });
    expect(lab.getState().lessonRun).toMatchObject({ state: 'done' });
    expect(runs()[2]).toBe('β = 0: stopped by the objective/kl alarm (PPO, step 31): the policy kept its last good weights — reused SFT, Reward model from the run before.');
    // The lesson is over: it can be started again.
    expect(startButtons().every((b) => !b.disabled)).toBe(true);
  });
});
