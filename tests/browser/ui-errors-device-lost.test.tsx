// The lost-device alert in headless Chromium, fed through the bridge with synthetic worker events: it explains the
// loss and offers "Resume from autosave" (reachable by keyboard), which sends `recover` and shows that it is going
// (the button disabled meanwhile); the worker's `recovered` replaces the alert with a status naming the checkpoints
// loaded back (dismissable); a failed recover says to reload the page and leaves the button to try again.
import { act } from 'react';
import { describe, expect, test } from 'vitest';
import { userEvent } from 'vitest/browser';
import { ErrorPanel } from '../../src/ui/ErrorPanel';
import type { EngineEvent } from '../../src/worker/protocol';
import { labStores } from '../helpers/lab-stores';
import { mount } from '../helpers/mount';

function stores() {
  return labStores({ wrap: (apply) => act(apply) });
}

const ADAPTER = { vendor: 'google', architecture: 'swiftshader', device: '', description: '', software: true, features: {}, limits: {} } as never;
const LOST: EngineEvent = { type: 'error', kind: 'device-lost', message: 'The GPU device was lost (unknown): reset.' };

const named = (el: Element) => el.getAttribute('aria-label') ?? el.textContent ?? '';
const matches = (el: Element, name: string | RegExp) => (typeof name === 'string' ? named(el) === name : name.test(named(el)));

/** The region with ARIA role `role` and accessible name `name` (its aria-label, else its text). */
const byRole = (div: Element, role: 'alert' | 'status', name: string | RegExp) => [...div.querySelectorAll(`[role="${role}"]`)].find((el) => matches(el, name));

/** The button named `name`. */
const button = (div: Element, name: string) => [...div.querySelectorAll('button')].find((el) => matches(el, name));

describe('ErrorPanel: a lost device', () => {
  test('Resume from autosave sends recover, shows it going, then a status naming the checkpoints loaded back', async () => {
    const { lab, sent, emit } = stores();
    const { div: panel } = mount(<ErrorPanel store={lab} />);
    emit({ type: 'ready', adapter: ADAPTER });
    expect(byRole(panel, 'alert', 'Engine error')).toBeUndefined();
    emit(LOST);
    const alert = byRole(panel, 'alert', 'Engine error')!;
    expect(alert.textContent).toMatch(/^The GPU device was lost.*reset\..*Resume on a new device.*Reload the page if resuming does not work/);
    const resume = button(alert, 'Resume from autosave')!;

    // Keyboard: Enter on the focused button.
    resume.focus();
    await act(() => userEvent.keyboard('{Enter}'));
    expect(sent).toEqual([{ type: 'recover' }]);
    expect(resume.disabled).toBe(true);
    expect(byRole(alert, 'status', /Getting a new GPU device/)).toBeDefined();

    emit({ type: 'pipeline-state', state: 'idle' }, { type: 'recovered', adapter: ADAPTER, checkpoints: ['base', 'sft'] });
    expect(byRole(panel, 'alert', 'Engine error')).toBeUndefined();
    const status = byRole(panel, 'status', 'GPU device recovered')!;
    expect(status.textContent).toMatch(/Resumed on a new GPU device: the checkpoints of Pretrain, SFT are loaded back, so later stages run from them/);
    act(() => button(status, 'Dismiss')!.click());
    expect(byRole(panel, 'status', 'GPU device recovered')).toBeUndefined();
  });

  test('a failed recover says to reload the page and the button tries again', () => {
    const { lab, sent, emit } = stores();
    const { div } = mount(<ErrorPanel store={lab} />);
    emit({ type: 'ready', adapter: ADAPTER }, LOST);
    act(() => button(div, 'Resume from autosave')!.click());
    emit({ type: 'error', kind: 'device-lost', message: 'recover: the engine could not be rebuilt on a new GPU device — No WebGPU adapter in worker.' });
    const alert = byRole(div, 'alert', 'Engine error')!;
    expect(alert.textContent).toMatch(/^The GPU device was lostrecover: the engine could not be rebuilt.*Resuming did not work\. Reload the page to start a new engine/);
    const resume = button(alert, 'Resume from autosave')!;
    expect(resume.disabled).toBe(false);
    act(() => resume.click());
    expect(sent).toEqual([{ type: 'recover' }, { type: 'recover' }]);
  });
});
