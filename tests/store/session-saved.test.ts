// The page session's saved-data troubles (src/store/bridge.ts createLabSession), in Node with a fake worker and
// storages that misbehave on purpose: saved data the page cannot take fails the restore with a message and leaves a
// usable page (the session's start() used to reject with nobody to hear it); a full storage stops saving (training goes
// on, the saved session stays as it was) until the next configuration; the browser is asked once to keep the saved
// data after the first finished stage, its answer shown; a lost connection asks for a reload; and handOver (another
// tab takes the lab) stops the run as Stop does, waits for it to end and its checkpoint to be saved, then closes.
import { describe, expect, test, vi } from 'vitest';
import { makePipelineConfig } from '../../src/rlhf/config';
import { createLabStore } from '../../src/store';
import { createLabSession, STORAGE_FULL_NOTE } from '../../src/store/bridge';
import { createMemoryStorage, type LabStorage, type SavedLab, type StorageEvents } from '../../src/store/persist';
import { createRunStore } from '../../src/store/run';
import type { Command, EngineEvent, TaskInfo } from '../../src/worker/protocol';

const TASK: TaskInfo = { id: 'sentiment', title: 'Positive product reviews', description: '…', trainPrompts: 600, heldoutPrompts: 160, demonstrations: 512, preferences: 0, hasGold: true };
const accepted: EngineEvent = { type: 'pipeline-config', config: makePipelineConfig('nano', {}), task: TASK, kept: [] };

/** One page load on `storage`: fresh stores, a worker that collects commands. */
function page(storage: LabStorage, options: { storageManager?: Pick<StorageManager, 'persist' | 'persisted'>; events?: (events: StorageEvents) => void } = {}) {
  const worker: Command[] = [];
  const lab = createLabStore({ download: () => {} });
  const run = createRunStore({ schedule: () => () => {} });
  const openStorage = async (events: StorageEvents) => {
    options.events?.(events);
    return storage;
  };
  const session = createLabSession({ lab, run, worker: (c) => worker.push(c), openStorage, storageManager: options.storageManager });
  lab.setState({ send: session.send });
  const emit = (...events: EngineEvent[]) => events.forEach((e) => session.onEvent(e));
  return { lab, run, session, worker, emit };
}

/** A storage whose load gives `saved` as it is (as if read back from a database, unchecked). */
const loading = (saved: SavedLab): LabStorage => ({ ...createMemoryStorage(), load: async () => saved });

/** A saved sweep the run store cannot take: a series with two steps and one value. */
const brokenSweep = { runLabel: 'β = 0', runs: [{ label: 'β = 0.2', series: [{ name: 'loss', stage: 'sft' as const, x: new Float64Array([0, 1]), y: new Float64Array([2]) }], frontier: {} }] };
const EMPTY: SavedLab = { config: undefined, metrics: [], samples: [], labels: [], checkpoints: [] };

describe('saved data the page cannot take', () => {
  test('restored without a configuration: start() resolves, the restore failed with a message, the page runs', async () => {
    const p = page(loading({ ...EMPTY, metrics: [{ stage: 'sft', step: 0, loss: 2 }], sweep: brokenSweep }));
    await expect(p.session.start()).resolves.toBeUndefined();
    expect(p.lab.getState().saved.restore).toEqual({ state: 'failed', message: expect.stringMatching(/^Your saved run could not be restored \(series loss \(sft\): 2 steps but 1 values\): the lab starts afresh/) });
    p.lab.getState().runPipeline();
    expect(p.worker.at(-1)).toMatchObject({ type: 'configure' });
  });

  test('restored with a configuration: its echo does not throw; the restore failed, nothing is pending, Run works', async () => {
    const p = page(loading({ ...EMPTY, config: { task: 'sentiment', preset: 'nano', overrides: {} }, sweep: brokenSweep }));
    await p.session.start();
    expect(p.worker.map((c) => c.type)).toEqual(['configure']);
    expect(() => p.emit(accepted)).not.toThrow();
    expect(p.lab.getState().saved.restore?.state).toBe('failed');
    expect(p.lab.getState().pending).toBeUndefined();
    p.lab.getState().runPipeline();
    expect(p.worker.at(-1)).toMatchObject({ type: 'configure', task: 'sentiment' });
  });
});

describe('a full storage', () => {
  test('stops saving (the saved session stays as it was), training goes on, and the next configuration saves again', async () => {
    const memory = createMemoryStorage();
    let full = false;
    const quota = () => Promise.reject(new DOMException('The quota has been exceeded.', 'QuotaExceededError'));
    const storage: LabStorage = { ...memory, appendMetrics: (r) => (full ? quota() : memory.appendMetrics(r)), saveCheckpoint: (n, b) => (full ? quota() : memory.saveCheckpoint(n, b)) };
    const p = page(storage);
    await p.session.start();
    p.lab.getState().runPipeline();
    p.emit(accepted, { type: 'pipeline-state', state: 'running' }, { type: 'stage', stage: 'sft', state: 'started' }, { type: 'metrics', records: [{ stage: 'sft', step: 0, loss: 3 }] });
    p.emit({ type: 'checkpoint', name: 'sft', size: 1 }, { type: 'checkpoint-data', name: 'sft', bytes: new Uint8Array([1]) });
    await p.session.flushed();
    const before = await memory.load();

    full = true;
    p.emit({ type: 'stage', stage: 'rm', state: 'started' }, { type: 'metrics', records: [{ stage: 'rm', step: 0, 'rm/loss': 0.7 }] });
    // Deletions would still succeed: the SFT stage run again must not empty what is saved.
    p.emit({ type: 'stage', stage: 'sft', state: 'started' }, { type: 'metrics', records: [{ stage: 'sft', step: 0, loss: 2 }] });
    await p.session.flushed();
    expect(p.lab.getState().saved.note).toBe(STORAGE_FULL_NOTE);
    expect(await memory.load()).toEqual(before);
    expect(p.run.getState().records.map((r) => r.stage)).toEqual(['rm', 'sft']); // the run store took every record

    // Space again: the next configuration starts the saved run afresh.
    full = false;
    p.lab.getState().runPipeline();
    p.emit(accepted, { type: 'metrics', records: [{ stage: 'sft', step: 0, loss: 1 }] });
    await p.session.flushed();
    expect((await memory.load()).metrics).toEqual([{ stage: 'sft', step: 0, loss: 1 }]);
  });
});

describe('persistent storage', () => {
  test('asked once, after the first finished stage, and the answer shown', async () => {
    const persist = vi.fn(async () => false);
    const p = page(createMemoryStorage(), { storageManager: { persist, persisted: async () => false } });
    await p.session.start();
    p.emit({ type: 'stage', stage: 'sft', state: 'started' });
    expect(persist).not.toHaveBeenCalled();
    p.emit({ type: 'stage', stage: 'sft', state: 'done' }, { type: 'stage', stage: 'rm', state: 'done' });
    await vi.waitFor(() => expect(p.lab.getState().saved.persistent).toBe(false));
    expect(persist).toHaveBeenCalledTimes(1);
  });

  test('a browser that keeps the saved data already says so at start and is not asked', async () => {
    const persist = vi.fn(async () => true);
    const p = page(createMemoryStorage(), { storageManager: { persist, persisted: async () => true } });
    await p.session.start();
    await vi.waitFor(() => expect(p.lab.getState().saved.persistent).toBe(true));
    p.emit({ type: 'stage', stage: 'sft', state: 'done' });
    expect(persist).not.toHaveBeenCalled();
  });
});

describe('the connection to the saved data', () => {
  test('older tabs holding the upgrade up are named; a connection taken away asks for a reload, later failures add nothing', async () => {
    let events: StorageEvents = {};
    const closed = { ...createMemoryStorage(), appendMetrics: () => Promise.reject(new Error('The database connection is closing.')) };
    const p = page(closed, { events: (e) => (events = e) });
    const started = p.session.start();
    events.blocked?.();
    expect(p.lab.getState().saved.note).toMatch(/open in another tab of an older version.*close or reload that tab/);
    await started;
    expect(p.lab.getState().saved.note).toBeUndefined(); // it opened once they closed
    events.closed?.('versionchange');
    p.emit({ type: 'metrics', records: [{ stage: 'sft', step: 0, loss: 1 }] });
    await p.session.flushed();
    expect(p.lab.getState().saved).toMatchObject({ reloadNeeded: true, note: expect.stringMatching(/newer version of RLHF Lab opened in another tab.*Reload it to go on/) });
  });
});

describe('handing the lab over to another tab', () => {
  test('stops the run as Stop does, waits for its end and its checkpoint to be saved, then closes the storage', async () => {
    const memory = createMemoryStorage();
    const close = vi.fn();
    const p = page({ ...memory, close });
    await p.session.start();
    p.lab.getState().runPipeline();
    p.emit(accepted, { type: 'pipeline-state', state: 'running' }, { type: 'stage', stage: 'sft', state: 'started' });
    let handedOver = false;
    const handOver = p.session.handOver().then(() => (handedOver = true));
    expect(p.worker.at(-1)).toEqual({ type: 'stop' });
    // The unit going on ends and writes its checkpoint; the run stops.
    p.emit({ type: 'pipeline-state', state: 'stopping' }, { type: 'stage', stage: 'sft', state: 'done' }, { type: 'checkpoint', name: 'sft', size: 2 });
    p.emit({ type: 'pipeline-state', state: 'stopped', stage: 'sft' });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(handedOver).toBe(false); // the checkpoint's bytes have not come
    expect(close).not.toHaveBeenCalled();
    p.emit({ type: 'checkpoint-data', name: 'sft', bytes: new Uint8Array([4, 2]) });
    await handOver;
    expect((await memory.load()).checkpoints).toEqual([{ name: 'sft', bytes: new Uint8Array([4, 2]) }]);
    expect(close).toHaveBeenCalled();
    expect(p.worker.filter((c) => c.type === 'stop')).toHaveLength(1);
  });

  test('with no run going it only waits for the saves', async () => {
    const close = vi.fn();
    const p = page({ ...createMemoryStorage(), close });
    await p.session.start();
    await p.session.handOver();
    expect(close).toHaveBeenCalled();
    expect(p.worker.some((c) => c.type === 'stop')).toBe(false);
  });
});
