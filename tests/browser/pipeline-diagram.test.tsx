// The pipeline diagram in headless Chromium, rendered from a run store fed with synthetic events: every box is there,
// the numbers read "—" before any metric and the latest values after PPO's records, the lit boxes follow the running
// stage (reward model vs PPO; the whole loop unlit before a run), and a click or Enter/Space on a box opens the
// explanation of the stage it belongs to.
import { act } from 'react';
import { describe, expect, test, vi } from 'vitest';
import { DIAGRAM_BOXES, DIAGRAM_NUMBERS } from '../../src/rlhf/stages/diagram';
import { createRunStore } from '../../src/store/run';
import { formatCompact, PipelineDiagram } from '../../src/ui/PipelineDiagram';
import { mount } from '../helpers/mount';

const manualStore = () => createRunStore({ schedule: () => () => {} });

const number = (div: HTMLElement, key: string) => div.querySelector(`[data-testid="diagram-number-${key}"]`)!.textContent;
const numbers = (div: HTMLElement) => Object.fromEntries(DIAGRAM_NUMBERS.map((k) => [k, number(div, k)]));
const box = (div: HTMLElement, name: string) => div.querySelector<SVGGElement>(`[data-box="${name}"]`)!;
const litBoxes = (div: HTMLElement) => [...div.querySelectorAll('[data-box]')].filter((g) => g.classList.contains('lit')).map((g) => g.getAttribute('data-box'));
const key = (el: Element, k: string) => act(() => void el.dispatchEvent(new KeyboardEvent('keydown', { key: k, bubbles: true, cancelable: true })));

const PPO_RECORD = {
  stage: 'ppo',
  step: 3,
  'objective/scores': 1.23456,
  'objective/kl': 2.5,
  'objective/kl_coef': 0.05,
  'policy/advantage_std': 0.83721,
  'policy/clipfrac': 0.0812,
} as const;

describe('PipelineDiagram', () => {
  test('every box and number; "—" before metrics; PPO’s latest values after its records', () => {
    const store = manualStore();
    const { div } = mount(<PipelineDiagram run={store} />);
    const svg = div.querySelector('svg')!;
    expect(svg.getAttribute('viewBox')).toBe('0 0 420 236');
    expect(svg.getAttribute('width')).toBe('100%');
    for (const b of DIAGRAM_BOXES) expect(box(div, b), b).not.toBeNull();
    expect(svg.textContent).toContain('reward − β·KL');
    expect(svg.textContent).toContain('SFT reference');

    // Before a run: the PPO loop, unlit, every number absent.
    expect(litBoxes(div)).toEqual([]);
    expect(numbers(div)).toEqual({ reward: '—', kl: '—', beta: '—', advantage: '—', clipfrac: '—' });
    expect(div.querySelector('figcaption')!.textContent).toContain('Before a run');

    act(() => {
      store.getState().onStage('ppo', 'started');
      store.getState().onMetrics([{ ...PPO_RECORD, step: 2, 'objective/kl': 9 }, PPO_RECORD]);
      store.getState().flush();
    });
    expect(numbers(div)).toEqual({ reward: '1.23', kl: '2.5', beta: '0.05', advantage: '0.837', clipfrac: '0.0812' });
    expect(litBoxes(div)).toEqual([...DIAGRAM_BOXES]);
    expect(div.querySelector('figcaption')!.textContent).toContain('PPO: running');
    // The summary for screen readers carries the live numbers.
    const desc = document.getElementById(div.querySelector('figure')!.getAttribute('aria-describedby')!)!;
    expect(desc.textContent).toContain('KL to the SFT reference 2.5');
    expect(desc.textContent).toContain('clip fraction 0.0812');
  });

  test('the lit boxes follow the running stage; a stage’s numbers are its own records’', () => {
    const store = manualStore();
    const { div } = mount(<PipelineDiagram run={store} />);
    act(() => {
      store.getState().onStage('rm', 'started');
      store.getState().onMetrics([{ stage: 'rm', step: 1, 'rm/loss': 0.6 }]);
      store.getState().flush();
    });
    expect(litBoxes(div)).toEqual(['responses', 'reward-model']);
    expect(box(div, 'reward-model').getAttribute('aria-current')).toBe('true');
    expect(box(div, 'policy').getAttribute('aria-current')).toBeNull();
    expect(div.querySelector('[data-arrow="responses-reward-model"]')!.classList.contains('lit')).toBe(true);
    expect(div.querySelector('[data-arrow="policy-responses"]')!.classList.contains('lit')).toBe(false);
    expect(numbers(div)).toEqual({ reward: '—', kl: '—', beta: '—', advantage: '—', clipfrac: '—' });

    act(() => {
      store.getState().onStage('rm', 'done', 3);
      store.getState().onStage('ppo', 'started');
      store.getState().onMetrics([PPO_RECORD]);
      store.getState().flush();
    });
    expect(litBoxes(div)).toEqual([...DIAGRAM_BOXES]);
    expect(number(div, 'kl')).toBe('2.5');

    // DPO after PPO: PPO's KL is still the latest objective/kl, but not DPO's own; its first held-out check replaces it.
    act(() => {
      store.getState().onStage('ppo', 'done', 5);
      store.getState().onStage('dpo', 'started');
    });
    expect(litBoxes(div)).toEqual(['policy', 'update', 'reference']);
    expect(numbers(div)).toEqual({ reward: '—', kl: '—', beta: '—', advantage: '—', clipfrac: '—' });
    act(() => {
      store.getState().onMetrics([{ stage: 'dpo', step: 0, 'objective/kl': 0.004321, 'objective/scores': -0.5 }]);
      store.getState().flush();
    });
    expect(numbers(div)).toEqual({ reward: '-0.5', kl: '0.00432', beta: '—', advantage: '—', clipfrac: '—' });

    // Idle after the run: the last stage stays shown, with its state.
    act(() => {
      store.getState().onStage('dpo', 'done', 2);
      store.getState().setRunState('done');
    });
    expect(litBoxes(div)).toEqual(['policy', 'update', 'reference']);
    expect(div.querySelector('figcaption')!.textContent).toContain('DPO: done');

    // A reset goes back to the unlit loop.
    act(() => store.getState().reset());
    expect(litBoxes(div)).toEqual([]);
  });

  test('boxes are buttons that open their stage’s explanation: click, Enter and Space', () => {
    const store = manualStore();
    const onOpenStage = vi.fn();
    const { div } = mount(<PipelineDiagram run={store} onOpenStage={onOpenStage} />);
    const rm = box(div, 'reward-model');
    expect(rm.getAttribute('role')).toBe('button');
    expect(rm.getAttribute('tabindex')).toBe('0');
    expect(rm.getAttribute('aria-label')).toContain('reward model');

    act(() => void rm.dispatchEvent(new MouseEvent('click', { bubbles: true })));
    expect(onOpenStage).toHaveBeenLastCalledWith('rm');
    rm.focus();
    expect(document.activeElement).toBe(rm);
    key(rm, 'Enter');
    expect(onOpenStage).toHaveBeenLastCalledWith('rm');
    expect(onOpenStage).toHaveBeenCalledTimes(2);
    key(box(div, 'reference'), ' ');
    expect(onOpenStage).toHaveBeenLastCalledWith('sft');
    key(box(div, 'policy'), 'a'); // other keys do nothing
    expect(onOpenStage).toHaveBeenCalledTimes(3);

    // Before a run the loop's boxes are PPO's; while DPO runs, the boxes it uses are DPO's, the reward model stays RM's.
    key(box(div, 'policy'), 'Enter');
    expect(onOpenStage).toHaveBeenLastCalledWith('ppo');
    act(() => store.getState().onStage('dpo', 'started'));
    key(box(div, 'update'), 'Enter');
    expect(onOpenStage).toHaveBeenLastCalledWith('dpo');
    key(box(div, 'advantages'), 'Enter');
    expect(onOpenStage).toHaveBeenLastCalledWith('ppo');
    key(box(div, 'reward-model'), 'Enter');
    expect(onOpenStage).toHaveBeenLastCalledWith('rm');
    key(box(div, 'reference'), 'Enter');
    expect(onOpenStage).toHaveBeenLastCalledWith('sft');
  });

  test('without onOpenStage the boxes are not buttons', () => {
    const { div } = mount(<PipelineDiagram run={manualStore()} />);
    expect(div.querySelector('[role="button"]')).toBeNull();
    expect(div.querySelector('[tabindex]')).toBeNull();
  });

  test('scales to its width: readable from 360 px to 600 px', () => {
    for (const width of [360, 600]) {
      const { div } = mount(<PipelineDiagram run={manualStore()} />, { width });
      const svg = div.querySelector('svg')!.getBoundingClientRect();
      expect(svg.width).toBeGreaterThan(width * 0.9);
      expect(svg.width).toBeLessThanOrEqual(width);
      expect(svg.height / svg.width).toBeCloseTo(236 / 420, 2);
      // Box labels at least ~11 px on screen.
      const label = div.querySelector('.diagram-box-label')!.getBoundingClientRect();
      expect(label.height).toBeGreaterThan(10);
    }
  });

  test('formatCompact: 3 significant digits, e-notation for tiny and huge', () => {
    expect(formatCompact(1.23456)).toBe('1.23');
    expect(formatCompact(0.0812)).toBe('0.0812');
    expect(formatCompact(12)).toBe('12');
    expect(formatCompact(1234.5)).toBe('1230');
    expect(formatCompact(0)).toBe('0');
    expect(formatCompact(-2.345)).toBe('-2.35');
    expect(formatCompact(0.00001234)).toBe('1.23e-5');
    expect(formatCompact(123456)).toBe('1.23e5');
    expect(formatCompact(NaN)).toBe('NaN');
    expect(formatCompact(-Infinity)).toBe('−∞');
  });
});
