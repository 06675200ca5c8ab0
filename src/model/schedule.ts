// Learning-rate schedule: linear warm-up, then cosine decay to a floor (nanoGPT's get_lr). Evaluated on the CPU
// once per step; the value goes to AdamW in its uniform block.

export interface ScheduleOptions {
  /** Peak learning rate, reached at the end of warm-up. */
  maxLr: number;
  /** Floor after decay (default maxLr / 10, as nanoGPT and Chinchilla). */
  minLr?: number;
  /** Steps of linear warm-up from ~0 to maxLr. */
  warmupSteps: number;
  /** Step at which the cosine reaches minLr; the rate stays at minLr afterwards. */
  decaySteps: number;
}

export function validateSchedule(o: ScheduleOptions): void {
  const minLr = o.minLr ?? o.maxLr / 10;
  if (!(Number.isFinite(o.maxLr) && o.maxLr >= 0)) throw new Error(`schedule: maxLr must be finite and ≥ 0, got ${o.maxLr}`);
  if (!(Number.isFinite(minLr) && minLr >= 0 && minLr <= o.maxLr)) throw new Error(`schedule: minLr must be in [0, maxLr], got ${minLr}`);
  if (!Number.isInteger(o.warmupSteps) || o.warmupSteps < 0) throw new Error(`schedule: warmupSteps must be an integer ≥ 0, got ${o.warmupSteps}`);
  if (!Number.isInteger(o.decaySteps) || o.decaySteps < o.warmupSteps) {
    throw new Error(`schedule: decaySteps must be an integer ≥ warmupSteps (${o.warmupSteps}), got ${o.decaySteps}`);
  }
}

/**
 * The learning rate at `step` (0-based): maxLr·(step+1)/(warmupSteps+1) during warm-up (never exactly 0, so the
 * first step moves), then minLr + ½(1 + cos(π·r))·(maxLr − minLr) with r = (step − warmup)/(decay − warmup), and
 * minLr from decaySteps on.
 */
export function learningRate(step: number, o: ScheduleOptions): number {
  const minLr = o.minLr ?? o.maxLr / 10;
  if (step < o.warmupSteps) return (o.maxLr * (step + 1)) / (o.warmupSteps + 1);
  if (step >= o.decaySteps) return o.decaySteps === o.warmupSteps ? o.maxLr : minLr;
  const r = (step - o.warmupSteps) / (o.decaySteps - o.warmupSteps);
  return minLr + 0.5 * (1 + Math.cos(Math.PI * r)) * (o.maxLr - minLr);
}

/** A constant learning rate (tests, short fine-tunes). */
export function constantSchedule(lr: number): ScheduleOptions {
  return { maxLr: lr, minLr: lr, warmupSteps: 0, decaySteps: 0 };
}
