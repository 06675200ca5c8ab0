// Human feedback with K > 2 in headless Chromium: FeedbackView's choice of K and its rankable list (RankList) —
// role list named "Completions to rank", items named by their place ("2nd of 4: completion C"); reordering by
// drag events, by a real mouse drag, by Alt+ArrowUp / Alt+ArrowDown on a focused item and by its Move up / Move
// down buttons (focus follows the moved item, each move announced); Submit ranking hands over the order shown;
// K = 2 keeps the pair view. Then FeedbackPanel on a feedback store with a fake worker: the chosen K reaches the
// label-request, a submitted ranking reaches the worker as a `labels` command with that order, stats read out pairs.
import { act } from 'react';
import { describe, expect, test } from 'vitest';
import { page, userEvent } from 'vitest/browser';
import { createFeedbackStore } from '../../src/store/feedback';
import { FeedbackPanel, FeedbackView, type FeedbackViewProps } from '../../src/ui/FeedbackView';
import { moved, ordinal } from '../../src/ui/RankList';
import type { Command, LabelItem } from '../../src/worker/protocol';
import { mount } from '../helpers/mount';

const item = (id: string, k: number): LabelItem => ({ id, prompt: `Review ${id}:`, completions: Array.from({ length: k }, (_, i) => ` text ${id}${i}`) });

/** The list's items top to bottom, by letter. */
const letters = (div: HTMLElement) => [...div.querySelectorAll('.rank-item')].map((li) => li.getAttribute('data-completion'));
const listItem = (div: HTMLElement, letter: string) => div.querySelector<HTMLLIElement>(`.rank-item[data-completion="${letter}"]`)!;

/** Dispatches the HTML5 drag-and-drop events of dragging `source` onto `target`, as a browser does. */
function drag(source: HTMLElement, target: HTMLElement) {
  const dataTransfer = new DataTransfer();
  const fire = (el: HTMLElement, type: string) => act(() => void el.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer })));
  fire(source, 'dragstart');
  fire(target, 'dragenter');
  fire(target, 'dragover');
  expect(target.classList.contains('drop-target')).toBe(target !== source);
  expect(source.classList.contains('dragging')).toBe(true);
  fire(target, 'drop');
  fire(source, 'dragend');
}

function viewProps(calls: string[], overrides: Partial<FeedbackViewProps> = {}): FeedbackViewProps {
  return {
    item: item('x', 4),
    k: 4,
    labelled: 0,
    stats: undefined,
    policy: 'sft',
    onPrefer: (w) => calls.push(`prefer ${w}`),
    onRank: (order) => calls.push(`rank ${order.join(',')}`),
    onSkip: () => calls.push('skip'),
    onK: (k) => calls.push(`k ${k}`),
    onRequest: () => calls.push('request'),
    onTrain: () => calls.push('train'),
    ...overrides,
  };
}

describe('RankList helpers', () => {
  test('ordinals and moves', () => {
    expect([1, 2, 3, 4, 9, 11, 12, 13, 21, 22, 111].map(ordinal)).toEqual(['1st', '2nd', '3rd', '4th', '9th', '11th', '12th', '13th', '21st', '22nd', '111th']);
    expect(moved([0, 1, 2, 3], 0, 2)).toEqual([1, 2, 0, 3]);
    expect(moved([0, 1, 2, 3], 3, 0)).toEqual([3, 0, 1, 2]);
  });
});

describe('FeedbackView with K > 2', () => {
  test('a named list of the K completions, each naming its place; Submit ranking hands over the order shown', async () => {
    const calls: string[] = [];
    const { div } = mount(<FeedbackView {...viewProps(calls)} />);
    const list = page.getByRole('list', { name: 'Completions to rank' });
    expect(list.element().tagName).toBe('OL');
    expect(list.getByRole('listitem').elements().map((li) => li.getAttribute('aria-label'))).toEqual(['1st of 4: completion A', '2nd of 4: completion B', '3rd of 4: completion C', '4th of 4: completion D']);
    // Each item is described by its text; no pair buttons here.
    const c = listItem(div, 'C');
    expect(document.getElementById(c.getAttribute('aria-describedby')!)!.textContent).toBe(' text x2');
    expect(div.querySelector('[aria-label="Prompt"]')!.textContent).toBe('Review x:');
    expect([...div.querySelectorAll('button')].map((b) => b.textContent)).not.toContain('Prefer A');
    expect(page.getByRole('button', { name: 'Move completion A up' }).element()).toHaveProperty('disabled', true);
    expect(page.getByRole('button', { name: 'Move completion D down' }).element()).toHaveProperty('disabled', true);

    await act(() => userEvent.click(page.getByRole('button', { name: 'Submit ranking' })));
    await act(() => userEvent.click(page.getByRole('button', { name: 'Skip' })));
    expect(calls.splice(0)).toEqual(['rank 0,1,2,3', 'skip']);
    // The pair keys do nothing to a ranking.
    div.querySelector('section')!.focus();
    await act(() => userEvent.keyboard('12 '));
    expect(calls).toEqual([]);
  });

  test('keyboard: Alt+ArrowUp / Alt+ArrowDown move the focused item, ArrowUp / ArrowDown move the focus', async () => {
    const calls: string[] = [];
    const { div } = mount(<FeedbackView {...viewProps(calls)} />);
    listItem(div, 'A').focus();
    await act(() => userEvent.keyboard('{Alt>}{ArrowDown}{ArrowDown}{/Alt}'));
    expect(letters(div)).toEqual(['B', 'C', 'A', 'D']);
    // Focus stayed on the moved item, which now names its new place; the move was announced.
    expect(document.activeElement).toBe(listItem(div, 'A'));
    expect(listItem(div, 'A').getAttribute('aria-label')).toBe('3rd of 4: completion A');
    expect(div.querySelector('.rank-status')!.textContent).toBe('Completion A moved to 3rd of 4.');

    await act(() => userEvent.keyboard('{ArrowDown}')); // focus to D, no move
    expect(document.activeElement).toBe(listItem(div, 'D'));
    await act(() => userEvent.keyboard('{Alt>}{ArrowDown}{ArrowUp}{ArrowUp}{ArrowUp}{ArrowUp}{/Alt}')); // past the ends: nothing
    expect(letters(div)).toEqual(['D', 'B', 'C', 'A']);
    expect(document.activeElement).toBe(listItem(div, 'D'));
    await act(() => userEvent.keyboard('{ArrowUp}')); // at the top already
    expect(document.activeElement).toBe(listItem(div, 'D'));

    await act(() => userEvent.click(page.getByRole('button', { name: 'Submit ranking' })));
    expect(calls).toEqual(['rank 3,1,2,0']);
  });

  test('the arrow keys on a Move button are the button\'s: they neither move its item nor the focus', async () => {
    const calls: string[] = [];
    const { div } = mount(<FeedbackView {...viewProps(calls)} />);
    const downA = page.getByRole('button', { name: 'Move completion A down' });
    (downA.element() as HTMLElement).focus();
    await act(() => userEvent.keyboard('{Alt>}{ArrowDown}{/Alt}{ArrowDown}'));
    expect(letters(div)).toEqual(['A', 'B', 'C', 'D']);
    expect(document.activeElement).toBe(downA.element());
    expect(div.querySelector('.rank-status')!.textContent).toBe('');
  });

  test('Move up / Move down buttons: named after their item, focus stays on the button while it can go on', async () => {
    const calls: string[] = [];
    const { div } = mount(<FeedbackView {...viewProps(calls)} />);
    const downA = page.getByRole('button', { name: 'Move completion A down' });
    await act(() => userEvent.click(downA));
    expect(letters(div)).toEqual(['B', 'A', 'C', 'D']);
    expect(document.activeElement).toBe(downA.element());
    await act(() => userEvent.keyboard('{Enter}{Enter}')); // the focused button again, to the bottom
    expect(letters(div)).toEqual(['B', 'C', 'D', 'A']);
    // At the bottom its Move down is disabled: the focus falls back on the item.
    expect(document.activeElement).toBe(listItem(div, 'A'));
    await act(() => userEvent.click(page.getByRole('button', { name: 'Move completion C up' })));
    expect(letters(div)).toEqual(['C', 'B', 'D', 'A']);
    expect(div.querySelector('.rank-status')!.textContent).toBe('Completion C moved to 1st of 4.');
    await act(() => userEvent.click(page.getByRole('button', { name: 'Submit ranking' })));
    expect(calls).toEqual(['rank 2,1,3,0']);
  });

  test('drag and drop: an item dropped on another takes its place; a drop on itself or from elsewhere does nothing', async () => {
    const calls: string[] = [];
    const { div } = mount(<FeedbackView {...viewProps(calls)} />);
    drag(listItem(div, 'A'), listItem(div, 'C'));
    expect(letters(div)).toEqual(['B', 'C', 'A', 'D']);
    drag(listItem(div, 'D'), listItem(div, 'B'));
    expect(letters(div)).toEqual(['D', 'B', 'C', 'A']);
    expect(div.querySelector('.rank-status')!.textContent).toBe('Completion D moved to 1st of 4.');
    drag(listItem(div, 'B'), listItem(div, 'B'));
    expect(letters(div)).toEqual(['D', 'B', 'C', 'A']);
    expect(div.querySelector('.rank-status')!.textContent).toBe('Completion D moved to 1st of 4.'); // no move announced
    expect(div.querySelectorAll('.dragging, .drop-target')).toHaveLength(0);
    // A drop that did not start in the list (say, text from elsewhere) is not taken.
    const foreign = new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: new DataTransfer() });
    act(() => void listItem(div, 'A').dispatchEvent(foreign));
    expect(foreign.defaultPrevented).toBe(false);
    expect(letters(div)).toEqual(['D', 'B', 'C', 'A']);

    // A real mouse drag in the browser does the same.
    await act(() => userEvent.dragAndDrop(page.getByRole('listitem', { name: '4th of 4: completion A' }), page.getByRole('listitem', { name: '1st of 4: completion D' })));
    expect(letters(div)).toEqual(['A', 'D', 'B', 'C']);

    await act(() => userEvent.click(page.getByRole('button', { name: 'Submit ranking' })));
    expect(calls).toEqual(['rank 0,3,1,2']);
  });

  test('a new item starts in its sampled order; K is chosen from 2…9 (not while sampling); K = 2 keeps the pair view', async () => {
    const calls: string[] = [];
    const { div, render } = mount(<FeedbackView {...viewProps(calls)} />);
    drag(listItem(div, 'A'), listItem(div, 'D'));
    render(<FeedbackView {...viewProps(calls, { item: item('y', 3), k: 3 })} />);
    expect(letters(div)).toEqual(['A', 'B', 'C']);
    expect(listItem(div, 'A').getAttribute('aria-label')).toBe('1st of 3: completion A');

    const choice = page.getByRole('combobox', { name: 'Completions per prompt (K)' });
    expect([...(choice.element() as HTMLSelectElement).options].map((o) => o.value)).toEqual(['2', '3', '4', '5', '6', '7', '8', '9']);
    expect((choice.element() as HTMLSelectElement).value).toBe('3');
    await act(() => userEvent.selectOptions(choice, '7'));
    expect(calls.splice(0)).toEqual(['k 7']);

    // Nothing waiting: the request button says what comes.
    render(<FeedbackView {...viewProps(calls, { item: undefined, k: 5 })} />);
    await act(() => userEvent.click(page.getByRole('button', { name: 'Get completions to rank' })));
    expect(calls.splice(0)).toEqual(['request']);
    render(<FeedbackView {...viewProps(calls, { item: undefined, k: 5, requesting: true })} />);
    expect(choice.element()).toHaveProperty('disabled', true);

    // K = 2: the pair view with its buttons and keys, no list; digits typed into the K choice are not judgements.
    render(<FeedbackView {...viewProps(calls, { item: item('z', 2), k: 2 })} />);
    expect(div.querySelector('ol')).toBeNull();
    expect([...div.querySelectorAll('.feedback-actions button')].map((b) => b.textContent)).toEqual(['Prefer A', 'Prefer B', 'Skip']);
    (choice.element() as HTMLElement).focus();
    await act(() => userEvent.keyboard('2'));
    expect(calls.filter((c) => c.startsWith('prefer'))).toEqual([]);
    div.querySelector('section')!.focus();
    await act(() => userEvent.keyboard('2'));
    expect(calls.filter((c) => c.startsWith('prefer'))).toEqual(['prefer 1']);
    render(<FeedbackView {...viewProps(calls, { item: undefined, k: 2 })} />);
    expect(page.getByRole('button', { name: 'Get pairs to label' }).element()).toBeTruthy();
  });
});

describe('FeedbackPanel with K > 2 on a feedback store (fake worker)', () => {
  test('the chosen K reaches the worker; a ranking made by drag and keys is sent with that order; stats read out pairs', async () => {
    const sent: Command[] = [];
    const store = createFeedbackStore((c) => sent.push(c), { batchSize: 2 });
    const { div } = mount(<FeedbackPanel store={store} />);
    await act(() => userEvent.selectOptions(page.getByRole('combobox', { name: 'Completions per prompt (K)' }), '4'));
    expect(store.getState().k).toBe(4);
    await act(() => userEvent.click(page.getByRole('button', { name: 'Get completions to rank' })));
    expect(sent).toEqual([{ type: 'label-request', count: 2, k: 4 }]);
    act(() => store.getState().applyEvent({ type: 'label-items', items: [item('a', 4), item('b', 4)], policy: 'ppo' }));
    expect(div.textContent).toContain('sampled from the PPO policy');

    drag(listItem(div, 'C'), listItem(div, 'A')); // C A B D
    listItem(div, 'D').focus();
    await act(() => userEvent.keyboard('{Alt>}{ArrowUp}{/Alt}')); // C A D B
    await act(() => userEvent.click(page.getByRole('button', { name: 'Submit ranking' })));
    expect(sent.slice(1)).toEqual([{ type: 'labels', labels: [{ id: 'a', order: [2, 0, 3, 1] }] }]);
    // The next item, in its sampled order.
    expect(div.querySelector('[aria-label="Prompt"]')!.textContent).toBe('Review b:');
    expect(letters(div)).toEqual(['A', 'B', 'C', 'D']);
    await act(() => userEvent.click(page.getByRole('button', { name: 'Submit ranking' })));
    expect(sent.slice(2)).toEqual([
      { type: 'labels', labels: [{ id: 'b', order: [0, 1, 2, 3] }] },
      { type: 'label-request', count: 2, k: 4 },
    ]);
    act(() => store.getState().applyEvent({ type: 'labels-stats', count: 2, pairs: 12, goldAgreement: 0.75 }));
    expect(div.querySelector('[data-stat="labelled"]')!.textContent).toBe('Labelled: 2');
    expect(div.querySelector('[data-stat="agreement"]')!.textContent).toBe('Agreement with the gold labeler: 75% of 12 pairs');

    // Back to pairs: waiting items of 4 are dropped and pairs asked for; they show with their buttons.
    act(() => store.getState().applyEvent({ type: 'label-items', items: [item('c', 4)], policy: 'ppo' }));
    await act(() => userEvent.selectOptions(page.getByRole('combobox', { name: 'Completions per prompt (K)' }), '2'));
    expect(sent.slice(4)).toEqual([{ type: 'label-request', count: 2, k: 2, discard: ['c'] }]); // c's prompt may come back
    act(() => store.getState().applyEvent({ type: 'label-items', items: [item('d', 2)], policy: 'ppo' }));
    await act(() => userEvent.click(page.getByRole('button', { name: 'Prefer B' })));
    expect(sent.slice(5)).toEqual([
      { type: 'labels', labels: [{ id: 'd', order: [1, 0] }] },
      { type: 'label-request', count: 2, k: 2 },
    ]);
  });
});
