// Resuming after a lost device, page side, in Node with a fake worker: the lab store's recoverDevice sends `recover`
// once (a second click while it goes sends nothing), a refused command meanwhile does not end it, `recovered` (routed
// by the bridge) makes the engine ready on the new adapter with a note naming the checkpoints loaded back, and the
// worker's 'idle' puts the failed run back to idle; a "recover:" error fails it with the reload advice and keeps the
// device-lost status (and the adapter) so it can be tried again; a new loss drops an old note. Also the whole page
// session (createLabSession on memory storage): the command reaches the worker and its answer reaches the store.
import { describe, expect, test } from 'vitest';
import { createLabStore } from '../../src/store';
import { createLabSession } from '../../src/store/bridge';
import { createMemoryStorage } from '../../src/store/persist';
import { createRunStore } from '../../src/store/run';
import type { Command, EngineEvent } from '../../src/worker/protocol';
import { labStores, softwareAdapter } from '../helpers/lab-stores';

const OLD = softwareAdapter('first');
const NEW = softwareAdapter('second');
const LOST: EngineEvent = { type: 'error', kind: 'device-lost', message: 'The GPU device was lost (unknown): reset.' };

function setup() {
  const stores = labStores();
  stores.emit({ type: 'ready', adapter: OLD });
  return stores;
}

describe('resuming after a lost device', () => {
  test('recover is sent once; recovered makes the engine ready with a note naming the checkpoints; the run goes idle', () => {
    const { lab, run, sent, emit } = setup();
    emit({ type: 'pipeline-state', state: 'running' }, { type: 'stage', stage: 'sft', state: 'started' }, LOST);
    expect(run.getState().state).toBe('failed');
    expect(lab.getState().engine).toMatchObject({ state: 'error', kind: 'device-lost', adapter: OLD });
    expect(lab.getState().recovery).toBeUndefined();

    lab.getState().recoverDevice();
    lab.getState().recoverDevice(); // a second click while it goes
    expect(sent).toEqual([{ type: 'recover' }]);
    expect(lab.getState().recovery).toMatchObject({ state: 'recovering' });
    // A command refused meanwhile (the same loss again) leaves the recovery going.
    emit(LOST);
    expect(lab.getState().recovery).toMatchObject({ state: 'recovering' });

    emit({ type: 'pipeline-state', state: 'idle', stage: 'sft' }, { type: 'recovered', adapter: NEW, checkpoints: ['base', 'sft'] });
    expect(lab.getState().engine).toEqual({ state: 'ready', adapter: NEW });
    expect(lab.getState().recovery).toEqual({ state: 'recovered', message: expect.stringMatching(/^Resumed on a new GPU device: the checkpoints of Pretrain, SFT are loaded back/) });
    expect(run.getState().state).toBe('idle');
    expect(run.getState().stages.sft.state).toBe('failed'); // the stage the loss cut short still says so

    lab.getState().dismissRecovery();
    expect(lab.getState().recovery).toBeUndefined();
    emit({ type: 'recovered', adapter: NEW, checkpoints: [] });
    expect(lab.getState().recovery?.message).toMatch(/no checkpoints to load back/);
    emit(LOST); // a new loss: the old note goes
    expect(lab.getState().recovery).toBeUndefined();
  });

  test('a failed recover says to reload, keeps the device-lost status and the adapter, and can be tried again', () => {
    const { lab, sent, emit } = setup();
    emit(LOST);
    lab.getState().recoverDevice();
    emit({ type: 'error', kind: 'device-lost', message: 'recover: the engine could not be rebuilt on a new GPU device — No WebGPU adapter in worker.' });
    expect(lab.getState().recovery).toEqual({ state: 'failed', message: expect.stringMatching(/Reload the page .*autosaved session .* is restored then/) });
    expect(lab.getState().engine).toMatchObject({ state: 'error', kind: 'device-lost', message: expect.stringMatching(/^recover: /), adapter: OLD });
    lab.getState().recoverDevice();
    expect(sent).toEqual([{ type: 'recover' }, { type: 'recover' }]);
    expect(lab.getState().recovery?.state).toBe('recovering');
  });

  test('through the page session: recover reaches the worker and its answer reaches the store', async () => {
    const lab = createLabStore({ download: () => {} });
    const run = createRunStore({ schedule: () => () => {} });
    const toWorker: Command[] = [];
    const session = createLabSession({ lab, run, worker: (c) => toWorker.push(c), openStorage: async () => createMemoryStorage() });
    lab.setState({ send: session.send });
    await session.start();
    session.onEvent({ type: 'ready', adapter: OLD });
    session.onEvent(LOST);
    lab.getState().recoverDevice();
    expect(toWorker).toEqual([{ type: 'recover' }]);
    session.onEvent({ type: 'recovered', adapter: NEW, checkpoints: ['sft'] });
    expect(lab.getState().engine).toEqual({ state: 'ready', adapter: NEW });
    expect(lab.getState().recovery?.state).toBe('recovered');
    session.dispose();
  });
});
