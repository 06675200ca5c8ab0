// The ONNX panel (src/ui/OnnxPanel.tsx) in headless Chromium on stores with a fake worker and a fake ONNX Runtime: the
// button waits for the engine and for a run to end, sends the prompt typed, says what it is waiting for, then shows
// which policy was checked, both continuations, where they differ and the largest logit difference; a failure is the
// panel's alert. The policies' names as the panel writes them.
import { act } from 'react';
import { describe, expect, test } from 'vitest';
import { userEvent } from 'vitest/browser';
import type { GreedyContinuation } from '../../src/onnx/ort-greedy';
import { createOnnxCheckStore } from '../../src/store/onnx-check';
import { OnnxPanel, policyName } from '../../src/ui/OnnxPanel';
import { labStores, softwareAdapter } from '../helpers/lab-stores';
import { mount } from '../helpers/mount';

function setup() {
  const stores = labStores({ wrap: act });
  let answer!: { resolve: (c: GreedyContinuation) => void; reject: (e: Error) => void };
  const onnx = createOnnxCheckStore(
    (c) => stores.sent.push(c),
    () => new Promise((resolve, reject) => (answer = { resolve, reject })),
  );
  const { div } = mount(<OnnxPanel lab={stores.lab} run={stores.run} onnx={onnx} />);
  const button = () => div.querySelector('button[type="submit"]') as HTMLButtonElement;
  const apply = (e: Parameters<typeof stores.emit>[0]) => act(() => onnx.getState().applyEvent(e));
  return { ...stores, div, button, apply, answer: () => answer };
}

describe('OnnxPanel', () => {
  test('waits for the engine and a run; checks the typed prompt; shows the policy, both continuations and the difference', async () => {
    const { div, button, emit, run, sent, apply, answer } = setup();
    expect(button().disabled).toBe(true);
    emit({ type: 'ready', adapter: softwareAdapter() });
    expect(button().disabled).toBe(false);
    act(() => run.getState().setRunState('running'));
    expect(button().disabled).toBe(true);
    act(() => run.getState().setRunState('done'));

    await act(() => userEvent.fill(div.querySelector('input')!, 'Hi'));
    act(() => button().click());
    expect(sent.at(-1)).toMatchObject({ type: 'policy-onnx', prompt: 'Hi' });
    expect(div.querySelector('[role="status"]')!.textContent).toBe('Exporting the policy as ONNX…');
    expect(button().textContent).toBe('Running…');

    apply({ type: 'policy-onnx', model: 'sft', onnx: new Uint8Array(4), tokens: [0, 9], maxNewTokens: 3, eos: 1 });
    expect(div.querySelector('[role="status"]')!.textContent).toMatch(/^Generating in ONNX Runtime Web/);
    await act(async () => answer().resolve({ ids: [5, 6, 7], logits: Float32Array.of(0, 1, 2, 3, 4, 5) }));
    expect(sent.at(-1)).toEqual({ type: 'policy-greedy', continuation: [5, 6, 7] });
    apply({ type: 'policy-greedy', model: 'sft', ids: [5, 8, 7], text: ' and a dog', continuationText: ' and a cat', logits: Float32Array.of(0, 1, 2, 3.5, 4, 5) });

    const testId = (id: string) => div.querySelector(`[data-testid="${id}"]`)!.textContent;
    expect(testId('onnx-policy')).toBe('the SFT policy');
    expect(testId('onnx-continuation')).toBe('Hi and a cat');
    expect(testId('engine-continuation')).toBe('Hi and a dog');
    expect(testId('onnx-agreement')).toBe('The continuations differ from token 2 on. Largest logit difference: 5.0e-1 (at generated token 2)');
    expect(div.querySelector('[role="status"]')).toBeNull();
    expect(button().disabled).toBe(false);
  });

  test("ONNX Runtime's failure is the panel's alert", async () => {
    const { div, button, emit, apply, answer } = setup();
    emit({ type: 'ready', adapter: softwareAdapter() });
    act(() => button().click());
    apply({ type: 'policy-onnx', onnx: new Uint8Array(4), tokens: [0], maxNewTokens: 3, eos: 1 });
    await act(async () => answer().reject(new Error('ONNX Runtime Web could not be loaded: Failed to fetch')));
    expect(div.querySelector('[role="alert"]')!.textContent).toBe('ONNX Runtime Web could not be loaded: Failed to fetch');
    expect(div.querySelector('[data-testid="onnx-check"]')).toBeNull();
  });

  test('policy names', () => {
    expect([undefined, 'base', 'sft', 'ppo', 'dpo', 'grpo', 'rloo'].map(policyName)).toEqual([
      'the loaded base model (no policy trained yet)',
      'the base model this run pretrained',
      'the SFT policy',
      'the PPO policy',
      'the DPO policy',
      'the GRPO policy',
      'the RLOO policy',
    ]);
  });
});
