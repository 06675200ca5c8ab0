// One lab per browser profile (src/store/tab-lock.ts, src/ui/TabGate.tsx) with the real Web Locks API and
// BroadcastChannel in headless Chromium: two createLabTab in one page contend for one lock as two tabs do. The first
// has the lab, the second is told it is open elsewhere; "Use it here" runs the owner's handover (stop, save) before the
// lock moves, and only then does the second tab have it; a tab that handed the lab over reloads to take it back; two
// tabs asking at once: one gets it, the other is told so (and a request sent before the owner got the lab does not
// take it away). The gate renders the lab only in the tab that has it.
import { act } from 'react';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { createLabTab, type LabTab } from '../../src/store/tab-lock';
import { TabGate } from '../../src/ui/TabGate';
import { mount } from '../helpers/mount';

let lockCount = 0;
const tabs: LabTab[] = [];
/** Tabs of one test, on a lock of its own (tests do not share one). */
function tabsOfOneProfile() {
  const name = `rlhf-lab-test-lock-${lockCount++}`;
  const openTab = (reload: () => void = () => {}) => {
    const tab = createLabTab({ name, reload });
    tabs.push(tab);
    return tab;
  };
  return { name, openTab };
}
afterEach(() => {
  for (const tab of tabs.splice(0)) tab.getState().dispose();
});

const role = (tab: LabTab) => tab.getState().role;

describe('one lab per browser profile', () => {
  test('the first tab has the lab; another is told so, and "Use it here" moves it only after the owner stopped and saved', async () => {
    const { openTab } = tabsOfOneProfile();
    const a = openTab();
    await vi.waitFor(() => expect(role(a)).toBe('owner'));
    const b = openTab();
    await vi.waitFor(() => expect(role(b)).toBe('elsewhere'));

    let saved!: () => void;
    const handover = vi.fn(() => new Promise<void>((resolve) => (saved = resolve)));
    a.getState().setHandover(handover);
    b.getState().takeOver();
    expect(role(b)).toBe('taking-over');
    await vi.waitFor(() => expect(handover).toHaveBeenCalledTimes(1));
    expect(role(a)).toBe('handing-over');
    // While the owner stops and saves, the lock stays with it.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(role(b)).toBe('taking-over');
    saved();
    await vi.waitFor(() => expect(role(b)).toBe('owner'));
    expect(a.getState()).toMatchObject({ role: 'elsewhere', handedOver: true });
  });

  test('a handover that fails still lets go (the other tab asked); the tab that handed over reloads to take the lab back', async () => {
    const { openTab } = tabsOfOneProfile();
    const reload = vi.fn();
    const a = openTab(reload);
    await vi.waitFor(() => expect(role(a)).toBe('owner'));
    const b = openTab();
    await vi.waitFor(() => expect(role(b)).toBe('elsewhere'));
    a.getState().setHandover(() => Promise.reject(new Error('the database is gone')));
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    b.getState().takeOver();
    await vi.waitFor(() => expect(role(b)).toBe('owner'));
    expect(error).toHaveBeenCalled();
    error.mockRestore();

    a.getState().takeOver();
    await vi.waitFor(() => expect(reload).toHaveBeenCalledTimes(1));
    expect(b.getState()).toMatchObject({ role: 'elsewhere', handedOver: true });
  });

  test('two tabs asking at once: one gets the lab, the other is told it is elsewhere', async () => {
    const { name, openTab } = tabsOfOneProfile();
    const a = openTab();
    await vi.waitFor(() => expect(role(a)).toBe('owner'));
    const [b, c] = [openTab(), openTab()];
    await vi.waitFor(() => expect([role(b), role(c)]).toEqual(['elsewhere', 'elsewhere']));
    b.getState().takeOver();
    c.getState().takeOver();
    await vi.waitFor(() => expect([role(b), role(c)].sort()).toEqual(['elsewhere', 'owner']));
    // The one told so is not queued for the lock any more: the owner closing does not hand it the lab.
    const [owner, other] = role(b) === 'owner' ? [b, c] : [c, b];
    // The other's request, sent before the owner got the lab, was for the tab before: the owner keeps it.
    const late = new BroadcastChannel(name);
    late.postMessage({ type: 'take-over', at: Date.now() - 1000 });
    late.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(role(owner)).toBe('owner');
    owner.getState().dispose();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(role(other)).toBe('elsewhere');
  });

  test('the gate shows the lab only in the tab that has it; elsewhere, the message and "Use it here"', async () => {
    const { openTab } = tabsOfOneProfile();
    const a = openTab();
    await vi.waitFor(() => expect(role(a)).toBe('owner'));
    const b = openTab();
    await vi.waitFor(() => expect(role(b)).toBe('elsewhere'));
    const inA = mount(<TabGate tab={a}>
      <p data-testid="lab">the lab</p>
    </TabGate>);
    const inB = mount(<TabGate tab={b}>
      <p data-testid="lab">the lab</p>
    </TabGate>);
    expect(inA.div.querySelector('[data-testid="lab"]')).not.toBeNull();
    expect(inB.div.querySelector('[data-testid="lab"]')).toBeNull();
    expect(inB.div.querySelector('h1')!.textContent).toBe('RLHF Lab is open in another tab');

    let saved!: () => void;
    a.getState().setHandover(() => new Promise<void>((resolve) => (saved = resolve)));
    const button = [...inB.div.querySelectorAll('button')].find((x) => x.textContent === 'Use it here')!;
    act(() => button.click());
    expect(inB.div.textContent).toMatch(/Waiting for the other tab to stop and save/);
    // While it hands over, the lab stays in view but takes no input.
    await vi.waitFor(() => expect(inA.div.querySelector('[data-testid="handing-over"]')).not.toBeNull());
    expect(inA.div.querySelector('[data-testid="lab"]')!.closest('[inert]')).not.toBeNull();
    await act(async () => saved());
    await vi.waitFor(() => expect(inB.div.querySelector('[data-testid="lab"]')).not.toBeNull());
    expect(inA.div.querySelector('[data-testid="lab"]')).toBeNull();
    expect(inA.div.querySelector('h1')!.textContent).toBe('RLHF Lab moved to another tab');
  });
});
