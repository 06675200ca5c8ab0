// How long a run will take, said before it starts. The figures are seconds per stage of each preset's default run as
// measured on a software adapter (SwiftShader); a run's estimate scales each stage by the settings that set its length
// (steps, episodes, prompts) against the preset's own. No hardware GPU has been measured, so on one the page says so
// rather than guess. What the stages took on this browser's kind of adapter is remembered (localStorage) and shown
// as "last run here" next time.
import type { PresetName } from '../model/config';
import { PIPELINE_PRESETS, type PipelineConfig } from '../rlhf/config';
import { STAGE_IDS, STAGE_NAMES, STAGE_REGISTRY, type StageId } from '../rlhf/stages';
import type { LabStore } from '../store';
import type { RunStore } from '../store/run';

export type StageSeconds = Partial<Record<StageId, number>>;

/**
 * Seconds per stage of each preset's default run on a software adapter: `npm run bench -- page --preset <p>` on a
 * 2-core machine, SwiftShader. A stage at 0 is skipped by that preset (tiny pretrains nothing: it has a bundled base
 * model); a stage missing was not measured.
 */
export const SOFTWARE_SECONDS: Readonly<Partial<Record<PresetName, StageSeconds>>> = {
  // At commit d3c205f (2026-12-07), the machine otherwise quiet, time split on: 374 s in all (047b926 took
  // 865 s right after it). GRPO and RLOO: their stages in `npm run pipeline -- --preset tiny --stages
  // sft,rm,ppo,grpo,rloo,eval` the same day, with other work running (GRPO at its preset's 768 episodes).
  tiny: { pretrain: 0, sft: 81, rm: 147, ppo: 119, grpo: 133, rloo: 203, bon: 20, eval: 7 },
  // On the working tree that became commit 0c77f4e, just before it was committed (2026-12-07), at load average 5
  // (other tests running): 18.7 s in all.
  nano: { pretrain: 8.6, sft: 3.0, rm: 4.5, ppo: 1.5, bon: 0.2, eval: 0.3 },
};

/** The settings that set each stage's length (its descriptor's lengthSettings): its time scales with their product over the preset's. */
const LENGTH_SETTINGS: Readonly<Record<string, readonly string[]>> = Object.fromEntries(STAGE_REGISTRY.map((s) => [s.id, 'lengthSettings' in s ? s.lengthSettings : []]));

const setting = (config: PipelineConfig, path: string) => path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], config) as number;

/** Each stage's further length factor (its descriptor's lengthFactor), where it has one. */
const LENGTH_FACTORS: Readonly<Record<string, ((c: PipelineConfig) => number) | undefined>> = Object.fromEntries(STAGE_REGISTRY.map((s) => [s.id, 'lengthFactor' in s ? s.lengthFactor : undefined]));

/** How much longer (or shorter) a stage runs with `config` than with its preset's defaults. */
export function lengthScale(stage: StageId, config: PipelineConfig): number {
  const preset = PIPELINE_PRESETS[config.preset];
  const factor = LENGTH_FACTORS[stage];
  const scale = LENGTH_SETTINGS[stage].reduce((scale, path) => scale * (setting(config, path) / setting(preset, path)), 1);
  return factor ? (scale * factor(config)) / factor(preset) : scale;
}

export interface RunEstimate {
  seconds: number;
  /** The stages to run that have no figure (left out of `seconds`). */
  unmeasured: StageId[];
  /** Some stage is longer or shorter than the preset's default. */
  scaled: boolean;
}

/** The time of `stages` with `config`, from seconds per stage at the preset's default lengths. */
export function estimateRun(perStage: StageSeconds, config: PipelineConfig, stages: readonly StageId[]): RunEstimate {
  let seconds = 0;
  const unmeasured: StageId[] = [];
  let scaled = false;
  for (const stage of stages) {
    const figure = perStage[stage];
    const scale = lengthScale(stage, config);
    if (figure === undefined) unmeasured.push(stage);
    else seconds += figure * scale;
    scaled ||= scale !== 1;
  }
  return { seconds, unmeasured, scaled };
}

/** "about 45 s", "about 10 min", "about 2.5 h": an estimate is no more precise than that. */
export function aboutDuration(seconds: number): string {
  if (seconds < 90) return `about ${Math.max(5, Math.round(seconds / 5) * 5)} s`;
  if (seconds < 2 * 3600) return `about ${Math.round(seconds / 60)} min`;
  return `about ${Math.round(seconds / 1800) / 2} h`;
}

// ---- what this browser measured ------------------------------------------------------------------------------------

const MEMORY_KEY = 'rlhf-lab/stage-seconds';

type Memory = Record<string, StageSeconds>;

const memoryKey = (preset: PresetName, software: boolean) => `${preset}/${software ? 'software' : 'hardware'}`;

function readMemory(storage: Storage | undefined): Memory {
  try {
    return JSON.parse(storage?.getItem(MEMORY_KEY) ?? '{}') as Memory;
  } catch {
    return {}; // unreadable (or storage refused): nothing remembered
  }
}

/** The seconds per stage (at the preset's default lengths) the last runs took here on this kind of adapter. */
export function rememberedSeconds(preset: PresetName, software: boolean, storage = browserStorage()): StageSeconds {
  return readMemory(storage)[memoryKey(preset, software)] ?? {};
}

/**
 * Keeps what each stage of the page's runs takes: when a stage ends, its seconds, brought back to the preset's
 * default length, under the preset and the adapter's kind (a skipped stage took 0). Returns the unsubscribe.
 */
export function rememberStageTimes(run: RunStore, lab: LabStore, storage = browserStorage()): () => void {
  return run.subscribe((s, prev) => {
    if (s.stages === prev.stages) return;
    const { configured, engine } = lab.getState();
    if (!configured || engine.state !== 'ready') return;
    const timed: StageSeconds = {};
    for (const stage of STAGE_IDS) {
      const { state, seconds } = s.stages[stage];
      if (s.stages[stage] === prev.stages[stage]) continue;
      const scale = lengthScale(stage, configured.config);
      // A restored run's stages come back done without seconds; a stage of no length says nothing of its speed.
      if (state === 'skipped') timed[stage] = 0;
      else if (state === 'done' && seconds !== undefined && scale > 0) timed[stage] = seconds / scale;
    }
    if (Object.keys(timed).length === 0) return;
    const memory = readMemory(storage);
    const key = memoryKey(configured.config.preset, engine.adapter.software);
    memory[key] = { ...memory[key], ...timed };
    try {
      storage?.setItem(MEMORY_KEY, JSON.stringify(memory));
    } catch {
      // storage full or refused: the estimate goes on from the measured figures
    }
  });
}

function browserStorage(): Storage | undefined {
  try {
    return globalThis.localStorage;
  } catch {
    return undefined; // access refused (storage disabled for the site)
  }
}

// ---- the text ------------------------------------------------------------------------------------------------------

const stageList = (stages: readonly StageId[]) => stages.map((s) => STAGE_NAMES[s]).join(', ');

/**
 * What the page says before a run of `stages` with `config` on an adapter (software or not): the measured time on a
 * software adapter, with the faster nano preset suggested, or that a hardware GPU was not measured; and what the last
 * runs here took, when every stage to run has been timed here.
 */
export function expectedTimeText(config: PipelineConfig, stages: readonly StageId[], software: boolean, remembered: StageSeconds): string {
  const parts: string[] = [];
  const measured = SOFTWARE_SECONDS[config.preset];
  const softwareRun = measured && estimateRun(measured, config, stages);
  const nano = `nano takes ${aboutDuration(estimateRun(SOFTWARE_SECONDS.nano!, PIPELINE_PRESETS.nano, stages).seconds)}`;
  if (!software) {
    parts.push('Not measured on a hardware GPU; expect it to be much faster than on a software adapter' + (softwareRun ? `, where this run takes ${aboutDuration(softwareRun.seconds)}.` : '.'));
  } else if (softwareRun) {
    parts.push(`On a software adapter the ${config.preset} run takes ${aboutDuration(softwareRun.seconds)}${softwareRun.scaled ? ' (scaled to your steps, episodes and prompts)' : ''}`);
    if (softwareRun.unmeasured.length > 0) parts.push(`, without ${stageList(softwareRun.unmeasured)} (not measured)`);
    parts.push(config.preset === 'nano' ? '.' : `; ${nano}.`);
  } else {
    parts.push(`The ${config.preset} preset is not measured on a software adapter (it is meant for a hardware GPU); ${nano}.`);
  }
  const here = estimateRun(remembered, config, stages);
  if (here.unmeasured.length === 0) parts.push(` Last run here: ${aboutDuration(here.seconds)}.`);
  return parts.join('');
}
