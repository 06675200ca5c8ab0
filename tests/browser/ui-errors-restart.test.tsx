// The crashed-engine alert in headless Chromium: each way the engine client (src/worker/client.ts, on a fake worker)
// ends a worker — an uncaught exception, a message it cannot read (messageerror), silence past the watchdog — shows an
// alert that names it and offers "Restart engine" (reachable by keyboard); the button asks the page for a fresh
// engine, and once the stores are reset for it the alert is gone. Other engine errors do not offer it.
import { act } from 'react';
import { describe, expect, test, vi } from 'vitest';
import { userEvent } from 'vitest/browser';
import { ErrorPanel } from '../../src/ui/ErrorPanel';
import { type EngineWorker, startEngine } from '../../src/worker/client';
import { labStores, softwareAdapter } from '../helpers/lab-stores';
import { mount } from '../helpers/mount';

/** A worker that never posts; the test fires its error events. */
function silentWorker(): EngineWorker {
  return { onmessage: null, onerror: null, onmessageerror: null, postMessage: () => {}, terminate: () => {} };
}

const alertOf = (div: Element) => [...div.querySelectorAll('[role="alert"]')].find((el) => el.getAttribute('aria-label') === 'Engine error');
const restartButton = (div: Element) => [...div.querySelectorAll('button')].find((b) => b.textContent === 'Restart engine');

/** The error panel on stores fed by an engine client over `worker`; restartEngine resets the stores as the page's does. */
function page(worker: EngineWorker, watchdogMs = 60_000) {
  const stores = labStores({ wrap: (apply) => act(apply) });
  const restarts = vi.fn(() => stores.lab.getState().onEngineRestart());
  stores.lab.setState({ restartEngine: restarts });
  stores.emit({ type: 'ready', adapter: softwareAdapter() });
  const client = startEngine((e) => stores.emit(e), { watchdogMs, createWorker: () => worker });
  const { div } = mount(<ErrorPanel store={stores.lab} />);
  return { div, restarts, client, emit: stores.emit };
}

describe('ErrorPanel: a crashed or hung engine', () => {
  test('an uncaught exception in the worker: the alert says it crashed; Restart engine (by keyboard) restarts it', async () => {
    const worker = silentWorker();
    const { div, restarts } = page(worker);
    expect(alertOf(div)).toBeUndefined();
    act(() => worker.onerror!(new ErrorEvent('error', { message: 'Uncaught Error: boom', cancelable: true })));
    expect(alertOf(div)!.textContent).toMatch(/^The GPU engine stoppedThe engine worker crashed: Uncaught Error: boom\.Restart the engine: a new worker starts and your autosaved session/);
    restartButton(div)!.focus();
    await act(() => userEvent.keyboard('{Enter}'));
    expect(restarts).toHaveBeenCalledTimes(1);
    expect(alertOf(div)).toBeUndefined();
  });

  test('a message the page cannot read (messageerror): the alert says so and offers Restart engine', () => {
    const worker = silentWorker();
    const { div, restarts } = page(worker);
    act(() => worker.onmessageerror!(new MessageEvent('messageerror')));
    expect(alertOf(div)!.textContent).toMatch(/A message from the engine worker could not be read \(messageerror\)/);
    act(() => restartButton(div)!.click());
    expect(restarts).toHaveBeenCalledTimes(1);
  });

  test('a silent worker: the watchdog ends it, the alert says it stopped responding and offers Restart engine', async () => {
    const { div, client } = page(silentWorker(), 100);
    await expect.poll(() => alertOf(div)?.textContent, { timeout: 5_000 }).toMatch(/The engine worker stopped responding: no heartbeat for 0\.1 s/);
    expect(restartButton(div)).toBeDefined();
    client.terminate();
  });

  test('a lost device and a missing adapter offer their own ways back, not Restart engine', () => {
    const { div, client, emit } = page(silentWorker());
    emit({ type: 'error', kind: 'device-lost', message: 'The GPU device was lost (unknown): reset.' });
    expect(alertOf(div)!.textContent).toMatch(/Resume from autosave/);
    expect(restartButton(div)).toBeUndefined();
    emit({ type: 'error', kind: 'no-adapter', message: 'No WebGPU adapter.' });
    expect(alertOf(div)!.textContent).toMatch(/WebGPU is not available/);
    expect(restartButton(div)).toBeUndefined();
    client.terminate();
  });
});
