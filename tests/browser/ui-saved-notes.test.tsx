// What "Saved session" says about the saved data's own troubles, in headless Chromium: the records the restore skipped,
// the browser's answer to the request to keep the saved data (either way), and — when this tab lost its connection to
// the saved data — an alert that asks for a reload, with the button to do it.
import { act } from 'react';
import { describe, expect, test } from 'vitest';
import { SavedDataPanel } from '../../src/ui/SavedDataPanel';
import { labStores } from '../helpers/lab-stores';
import { mount } from '../helpers/mount';

function panel() {
  const stores = labStores({ wrap: (apply) => act(apply) });
  act(() => stores.lab.getState().setSaved({ storage: 'indexeddb', summary: { metrics: 2, samples: 0, labels: 0, checkpoints: 1, sweepRuns: 0 } }));
  const { div } = mount(<SavedDataPanel onClear={async () => {}} lab={stores.lab} run={stores.run} />);
  const text = (id: string) => div.querySelector(`[data-testid="${id}"]`)?.textContent;
  return { div, lab: stores.lab, text };
}

describe('Saved session notes', () => {
  test('skipped records and the answer about persistent storage', () => {
    const { lab, text } = panel();
    expect(text('saved-skipped')).toBeUndefined();
    expect(text('saved-persistence')).toBeUndefined(); // not asked yet
    act(() => lab.getState().setSaved({ skipped: '3 metric records were damaged and skipped.', persistent: false }));
    expect(text('saved-skipped')).toBe('3 metric records were damaged and skipped.');
    expect(text('saved-persistence')).toMatch(/may clear the saved data when it runs short of space: it did not grant persistent storage/);
    act(() => lab.getState().setSaved({ persistent: true }));
    expect(text('saved-persistence')).toMatch(/keeps the saved data until you clear it \(persistent storage granted\)/);
  });

  test('a lost connection is an alert with a Reload button; other notes are quiet', () => {
    const { div, lab } = panel();
    act(() => lab.getState().setSaved({ note: 'Saving failed: disk error' }));
    const note = () => div.querySelector('[data-testid="saved-note"]')!;
    expect(note().getAttribute('role')).toBeNull();
    expect(note().querySelector('button')).toBeNull();
    act(() => lab.getState().setSaved({ note: 'The browser closed the saved data: this tab stopped saving. Reload it to go on.', reloadNeeded: true }));
    expect(note().getAttribute('role')).toBe('alert');
    expect(note().querySelector('button')!.textContent).toBe('Reload');
  });
});
