// The page's handle on the engine worker (src/worker/client.ts), in Node with a fake worker and fake timers: events
// reach the page and heartbeats do not; an uncaught exception in the worker, a message that cannot be read
// (messageerror) and a silent worker (no heartbeat for the watchdog's time) each end the worker and report one
// 'internal' error saying which; a steady heartbeat never trips the watchdog, nor does a page that was itself held up;
// and nothing is reported after terminate().
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { type EngineWorker, startEngine, WATCHDOG_MS } from '../../src/worker/client';
import { type Command, type EngineEvent, HEARTBEAT_INTERVAL_MS, type WorkerMessage } from '../../src/worker/protocol';

/** A worker whose messages, error and messageerror events a test fires; it records commands and whether it ended. */
class FakeWorker implements EngineWorker {
  onmessage: EngineWorker['onmessage'] = null;
  onerror: EngineWorker['onerror'] = null;
  onmessageerror: EngineWorker['onmessageerror'] = null;
  readonly commands: Command[] = [];
  terminated = false;

  postMessage(command: Command): void {
    this.commands.push(command);
  }
  terminate(): void {
    this.terminated = true;
  }
  post(message: WorkerMessage): void {
    this.onmessage?.({ data: message } as MessageEvent<WorkerMessage>);
  }
  /** An uncaught exception in the worker; returns whether the page took it (preventDefault: not logged as unhandled). */
  throwUncaught(message: string): boolean {
    let prevented = false;
    this.onerror?.({ message, preventDefault: () => void (prevented = true) } as Partial<ErrorEvent> as ErrorEvent);
    return prevented;
  }
}

const WATCHDOG = 8_000;

function start(watchdogMs = WATCHDOG) {
  const worker = new FakeWorker();
  const events: EngineEvent[] = [];
  const client = startEngine((e) => events.push(e), { watchdogMs, createWorker: () => worker });
  return { worker, events, client };
}

/** Heartbeats for `ms`, as the worker's timer posts them. */
function beat(worker: FakeWorker, ms: number) {
  for (let t = 0; t < ms; t += HEARTBEAT_INTERVAL_MS) {
    vi.advanceTimersByTime(HEARTBEAT_INTERVAL_MS);
    worker.post({ type: 'heartbeat' });
  }
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe('engine client', () => {
  test('commands reach the worker; events reach the page, heartbeats do not; a steady heartbeat never trips the watchdog', () => {
    const { worker, events, client } = start();
    client.send({ type: 'init' });
    expect(worker.commands).toEqual([{ type: 'init' }]);
    worker.post({ type: 'log', line: 'hello' });
    beat(worker, 10 * WATCHDOG);
    expect(events).toEqual([{ type: 'log', line: 'hello' }]);
    expect(worker.terminated).toBe(false);
  });

  test('an uncaught exception in the worker ends it and is reported once as a crash', () => {
    const { worker, events } = start();
    expect(worker.throwUncaught('Uncaught Error: boom')).toBe(true);
    expect(events).toEqual([{ type: 'error', kind: 'internal', message: 'The engine worker crashed: Uncaught Error: boom.' }]);
    expect(worker.terminated).toBe(true);
    // Whatever was still on its way, and the watchdog, report nothing more.
    worker.post({ type: 'log', line: 'late' });
    vi.advanceTimersByTime(3 * WATCHDOG);
    expect(events).toHaveLength(1);
  });

  test('a message the page cannot read (messageerror) ends the worker: the page and the engine no longer agree', () => {
    const { worker, events } = start();
    worker.onmessageerror?.({} as MessageEvent);
    expect(events).toEqual([{ type: 'error', kind: 'internal', message: expect.stringMatching(/^A message from the engine worker could not be read \(messageerror\)/) }]);
    expect(worker.terminated).toBe(true);
    vi.advanceTimersByTime(3 * WATCHDOG);
    expect(events).toHaveLength(1);
  });

  test('a worker silent for the watchdog time is ended and reported as not responding: not before, within a check after', () => {
    const { worker, events } = start();
    beat(worker, 5 * HEARTBEAT_INTERVAL_MS);
    vi.advanceTimersByTime(WATCHDOG - 1);
    expect(events).toEqual([]);
    // The watchdog looks every quarter of its time.
    vi.advanceTimersByTime(WATCHDOG / 4);
    expect(events).toEqual([{ type: 'error', kind: 'internal', message: 'The engine worker stopped responding: no heartbeat for 8 s, so it was stopped.' }]);
    expect(worker.terminated).toBe(true);
    vi.advanceTimersByTime(3 * WATCHDOG);
    expect(events).toHaveLength(1);
  });

  test('a worker that never posts at all (it hung while starting) is caught too', () => {
    const { worker, events } = start();
    vi.advanceTimersByTime(WATCHDOG);
    expect(events.map((e) => e.type === 'error' && e.message)).toEqual([expect.stringMatching(/^The engine worker stopped responding/)]);
    expect(worker.terminated).toBe(true);
  });

  test('a page held up past the watchdog time (a long task, a background tab) does not blame the worker', () => {
    const { worker, events } = start();
    beat(worker, 3 * HEARTBEAT_INTERVAL_MS);
    // The clock jumps with no timer running meanwhile: the worker's heartbeats may be queued behind the stall.
    const clock = performance.now.bind(performance);
    vi.spyOn(performance, 'now').mockImplementation(() => clock() + 3 * WATCHDOG);
    vi.advanceTimersByTime(WATCHDOG / 4);
    expect(events).toEqual([]);
    beat(worker, 2 * WATCHDOG);
    expect(events).toEqual([]);
    // A worker that stays silent after the stall is still caught.
    vi.advanceTimersByTime(WATCHDOG + WATCHDOG / 4);
    expect(events.map((e) => e.type === 'error' && e.message)).toEqual([expect.stringMatching(/^The engine worker stopped responding/)]);
  });

  test('terminate() ends the worker and silences the watchdog; the default watchdog waits a minute', () => {
    const { worker, events, client } = start(WATCHDOG_MS);
    vi.advanceTimersByTime(WATCHDOG_MS - 1000);
    expect(events).toEqual([]);
    client.terminate();
    expect(worker.terminated).toBe(true);
    vi.advanceTimersByTime(3 * WATCHDOG_MS);
    expect(events).toEqual([]);
    expect(WATCHDOG_MS).toBe(60_000);
  });
});
