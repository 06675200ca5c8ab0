// Where a pipeline stage's wall-clock time goes, for the page benchmark (`npm run bench -- page`, which asks the engine
// worker for it: src/worker/protocol.ts `time-split`). The categories, and the code that charges them:
//   generation       sampling: generate() (src/model/generate.ts) for rollouts, answers, completions to rank or
//                    label, with its own readbacks
//   forwardBackward  forward passes that score or evaluate (GPT.forward/scalars/hiddenStates/evaluate,
//                    src/rlhf/forward.ts) and a training step's forward and backward (Trainer.objectiveStep)
//   optimizer        a training step's gradient norm, clipping and AdamW (Trainer.objectiveStep)
//   readback         GpuRuntime.read outside those: weights read back for checkpoints, PPO's EMA and last good weights
//   cpu              the rest of the stage's wall time: the worker's own JavaScript outside the regions above
//                    (tokenizing, batching, rewards and advantages, metrics, posting events)
//
// WebGPU is asynchronous: the GPU's time shows up wherever the CPU next waits for it. So while splitting, every timed
// region ends by awaiting device.queue.onSubmittedWorkDone(): the GPU work a region submitted is charged to that
// region, not to whatever waits next. That only adds waits — the same work in the same order, so the same results —
// and a training step then goes to the GPU in two submits, so that its forward/backward and its optimizer each get
// their own time (src/model/train.ts). Regions may nest; the outermost one gets the time (a readback inside
// generate() is generation's).
//
// Off — the default, and always so in the page unless the benchmark asks — timed() calls its function directly:
// no clock read, no waits, the same promise back.

/** The timed categories (cpu is the rest). */
export const TIMED_CATEGORIES = ['generation', 'forwardBackward', 'optimizer', 'readback'] as const;
export type TimedCategory = (typeof TIMED_CATEGORIES)[number];

/** Seconds of a stage by category; they add up to the stage's wall time. */
export type TimeSplit = Record<TimedCategory | 'cpu', number>;

/** How the split is measured, for the benchmark's JSON. */
export const TIME_SPLIT_METHOD =
  'wall clock in the engine worker; every timed region ends by awaiting device.queue.onSubmittedWorkDone(), so the GPU time of ' +
  'the work it submitted is charged to it (a training step in two submits: forward/backward, then the optimizer); nested ' +
  'regions count for the outermost; cpu = the stage wall time minus the timed regions';

/** Accumulates the time of timed regions by category, from its creation on. */
export class TimeSplitter {
  private readonly ms: Record<TimedCategory, number> = { generation: 0, forwardBackward: 0, optimizer: 0, readback: 0 };
  private depth = 0;
  private readonly started: number;

  constructor(
    /** Resolves when the GPU has done the work submitted so far (device.queue.onSubmittedWorkDone). */
    private readonly settle: () => Promise<unknown>,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.started = now();
  }

  /** Runs `fn` as a region of `category`, ending when the GPU work it submitted is done; inside another region, as part of that one. */
  async time<T>(category: TimedCategory, fn: () => Promise<T>): Promise<T> {
    if (this.depth > 0) return fn();
    this.depth++;
    const t0 = this.now();
    try {
      const result = await fn();
      await this.settle();
      return result;
    } finally {
      this.depth--;
      this.ms[category] += this.now() - t0;
    }
  }

  /** The split from the start to now, in seconds; cpu is the wall time the regions did not take. */
  seconds(): TimeSplit {
    const wall = this.now() - this.started;
    const timed = TIMED_CATEGORIES.reduce((sum, c) => sum + this.ms[c], 0);
    const s = (ms: number) => ms / 1000;
    return { generation: s(this.ms.generation), forwardBackward: s(this.ms.forwardBackward), optimizer: s(this.ms.optimizer), readback: s(this.ms.readback), cpu: s(Math.max(0, wall - timed)) };
  }
}

/** The splitter of the work going on; undefined (the default) makes timed() a plain call. */
let active: TimeSplitter | undefined;

/** `fn()` as a region of `category` while a split is being taken (splitTime), else just `fn()`. */
export function timed<T>(category: TimedCategory, fn: () => Promise<T>): Promise<T> {
  return active === undefined ? fn() : active.time(category, fn);
}

/** Whether a split is being taken (code that would arrange its GPU work differently for it asks). */
export function splittingTime(): boolean {
  return active !== undefined;
}

/**
 * Runs `fn` (e.g. one pipeline stage) with its time split by category; `settle` waits for the GPU's work. The GPU
 * work still pending at the end is waited for and counted as cpu. One split at a time.
 */
export async function splitTime<T>(settle: () => Promise<unknown>, fn: () => Promise<T>, now?: () => number): Promise<{ result: T; split: TimeSplit }> {
  if (active) throw new Error('splitTime: a split is already being taken');
  const splitter = new TimeSplitter(settle, now);
  active = splitter;
  try {
    const result = await fn();
    await settle();
    return { result, split: splitter.seconds() };
  } finally {
    active = undefined;
  }
}
