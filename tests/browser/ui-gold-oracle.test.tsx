// A policy trained on the gold reward itself (rewardSource "gold", issue 15) is the unattainable upper bound, not a
// method: the page marks it "(gold oracle: upper bound)" wherever it names the policy — the stage stepper and the
// evaluation samples' column — and names every other policy as before.
import { act } from 'react';
import { describe, expect, test } from 'vitest';
import { makePipelineConfig } from '../../src/rlhf/config';
import type { TaskInfo } from '../../src/worker/protocol';
import { SamplesView } from '../../src/ui/SamplesView';
import { StageStepper } from '../../src/ui/StageStepper';
import { labStores } from '../helpers/lab-stores';
import { mount } from '../helpers/mount';

const TASK: TaskInfo = { id: 'sentiment', title: 'Positive product reviews', description: '…', trainPrompts: 600, heldoutPrompts: 160, demonstrations: 512, preferences: 0, hasGold: true };

/** The stores with a configuration accepted: PPO's reward from `rewardSource`. */
function configured(rewardSource: string) {
  const stores = labStores({ wrap: act });
  stores.lab.setState({ configured: { key: rewardSource, config: makePipelineConfig('nano', { 'ppo.rewardSource': rewardSource }), task: TASK, kept: [] } });
  return stores;
}

const SAMPLES = [
  { prompt: 'Review: ', response: 'It was ok.', policy: 'sft', proxy: -0.2, gold: 0.1 },
  { prompt: 'Review: ', response: 'Great film', policy: 'ppo', proxy: 0.9, gold: 0.7 },
];

describe('the gold oracle as a reward source', () => {
  test('the stepper and the samples table mark PPO trained on gold as the upper bound', () => {
    const { lab, run } = configured('gold');
    const stepper = mount(<StageStepper store={run} lab={lab} onRunStage={() => {}} />).div;
    const ppo = stepper.querySelector('li[data-stage="ppo"] button')!;
    expect(ppo.textContent).toBe('PPO (gold oracle: upper bound)');
    expect(ppo.querySelector('.stage-oracle')!.textContent).toBe(' (gold oracle: upper bound)');
    // The other stages keep their names.
    expect(stepper.querySelector('li[data-stage="sft"] button')!.textContent).toBe('SFT');
    expect(stepper.querySelectorAll('.stage-oracle')).toHaveLength(1);

    const samples = mount(<SamplesView store={run} lab={lab} />).div;
    act(() => run.getState().onSamples(SAMPLES));
    const headers = [...samples.querySelectorAll('table.eval-samples thead th')].map((th) => th.textContent);
    expect(headers).toEqual(['Prompt', 'SFT', 'PPO (gold oracle: upper bound)']);
  });

  test('PPO on the reward model (the default) or the verifier is not marked', () => {
    for (const source of ['rm', 'verifier']) {
      const { lab, run } = configured(source);
      const stepper = mount(<StageStepper store={run} lab={lab} onRunStage={() => {}} />).div;
      expect(stepper.querySelector('li[data-stage="ppo"] button')!.textContent, source).toBe('PPO');
      const samples = mount(<SamplesView store={run} lab={lab} />).div;
      act(() => run.getState().onSamples(SAMPLES));
      expect([...samples.querySelectorAll('table.eval-samples thead th')].map((th) => th.textContent), source).toEqual(['Prompt', 'SFT', 'PPO']);
    }
  });
});
