// The pipeline's configuration: every hyperparameter of every stage in one typed, frozen record, with named presets
// per model size (nano: the CI smoke run; tiny: the default lab run on a laptop; small: for a real GPU), overrides by
// dotted path (`ppo.klCoef`), validation that names the field, and which stages' outputs a change of settings leaves
// valid (stagesStillValid: a KL sweep reuses one SFT model and reward model). Each stage declares its config sections
// in its module (src/rlhf/stages/): their defaults per preset, every field documented (kind, range, meaning) and the
// checks across fields; this file merges them into the presets and checks any configuration against them.
import { type PresetName, PRESETS } from '../model/config';
import { type RewardSourceKind, SOURCE_CHECKPOINTS, supportedRewardSources } from './reward-source-kinds';
import { inRunOrder, STAGE_REGISTRY, type StageId } from './stages';
import type { Bound, PresetModel, SettingDoc, StageConfig, StageDescriptor } from './stages/types';

type Registry = (typeof STAGE_REGISTRY)[number];
type SectionOf<D> = D extends { config: readonly (infer C)[] } ? C : never;
/** The sections the registry's stages declare, each typed by its defaults. */
type StageSections = {
  readonly [C in SectionOf<Registry> as C extends { section: infer S extends string } ? S : never]: C extends { defaults: (preset: PresetName) => infer V } ? Readonly<V> : never;
};

export interface PipelineConfig extends StageSections {
  readonly task: string;
  readonly preset: PresetName;
  readonly seed: number;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends object ? Mutable<T[K]> : T[K] };
type Problem = { field: string; message: string };

/** Every stage's config sections, in run order (the order of the page's Advanced settings and of --help). */
const SECTIONS: readonly StageConfig[] = (STAGE_REGISTRY as readonly StageDescriptor[]).flatMap((s) => s.config ?? []);

const SEED: SettingDoc = { kind: 'int', min: 0, max: 0xffffffff, meaning: 'seed of everything: the same seed gives the same numbers' };

/** The preset's configuration: the sentiment task, seed 1, and every stage's sections with their defaults. */
function presetConfig(name: PresetName): PipelineConfig {
  const sections = Object.fromEntries(SECTIONS.map((c) => [c.section, structuredClone(c.defaults(name))]));
  return { task: 'sentiment', preset: name, seed: 1, ...sections } as PipelineConfig;
}

export const PIPELINE_PRESETS: Readonly<Record<PresetName, PipelineConfig>> = Object.freeze({
  nano: deepFreeze(presetConfig('nano')),
  tiny: deepFreeze(presetConfig('tiny')),
  small: deepFreeze(presetConfig('small')),
});

type Fields = Readonly<Record<string, SettingDoc>>;

/** The documented settings under `prefix`, by dotted path, an optional group's own fields after it. */
function documented(prefix: string, fields: Fields): [string, SettingDoc][] {
  return Object.entries(fields).flatMap(([key, doc]) => {
    const path = `${prefix}.${key}`;
    return [[path, doc], ...(doc.kind === 'optional' ? documented(path, doc.fields) : [])];
  });
}

/** Every documented setting of the stages' sections by dotted path (e.g. 'dpo.beta', 'ppo.adaptiveKL.target'). */
export const STAGE_SETTING_DOCS: Readonly<Record<string, SettingDoc>> = Object.freeze(Object.fromEntries(SECTIONS.flatMap((c) => documented(c.section, c.fields as Fields))));

/** A value's problem against its documented setting, or undefined; `bound` is the value of a maximum that follows the section or the preset. */
function settingProblem(doc: SettingDoc, v: unknown, bound?: number): string | undefined {
  switch (doc.kind) {
    case 'choice':
      return doc.options.includes(String(v)) ? undefined : `must be one of ${doc.options.join(', ')}, got "${String(v)}"`;
    case 'boolean':
      return typeof v === 'boolean' ? undefined : `must be true or false, got ${String(v)}`;
    case 'optional':
      return undefined; // its fields are checked when it is on
    case 'int': {
      const n = v as number;
      const max = typeof doc.max === 'object' ? bound : doc.max;
      return Number.isInteger(n) && n >= doc.min && n <= (max ?? Number.MAX_SAFE_INTEGER) ? undefined : `must be an integer in [${doc.min}, ${max ?? '∞'}], got ${n}`;
    }
    case 'number': {
      const n = v as number;
      return Number.isFinite(n) && (doc.minOpen ? n > doc.min : n >= doc.min) && n <= doc.max ? undefined : `must be in ${doc.minOpen ? '(' : '['}${doc.min}, ${doc.max}], got ${n}`;
    }
  }
}

/** The problems of `values` (a section, or an optional group of it that is on) against their documented fields. */
function fieldProblems(prefix: string, fields: Fields, values: Record<string, unknown> | undefined, bound: (b: Bound) => number): Problem[] {
  return Object.entries(fields).flatMap(([key, doc]): Problem[] => {
    const field = `${prefix}.${key}`;
    const v = values?.[key];
    if (doc.kind === 'optional') return v ? fieldProblems(field, doc.fields, v as Record<string, unknown>, bound) : [];
    const message = settingProblem(doc, v, doc.kind === 'int' && typeof doc.max === 'object' ? bound(doc.max) : undefined);
    return message ? [{ field, message }] : [];
  });
}

function deepFreeze<T>(x: T): T {
  if (x && typeof x === 'object') {
    for (const v of Object.values(x)) deepFreeze(v);
    Object.freeze(x);
  }
  return x;
}

export class PipelineConfigError extends Error {
  constructor(readonly problems: readonly Problem[]) {
    super(`invalid pipeline configuration: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`);
    this.name = 'PipelineConfigError';
  }
}

/**
 * Every problem of a configuration, each naming its field (empty: the configuration can run): settings bounded by the
 * context length are checked against the preset's, or `contextLength` (a chosen base model's).
 */
export function configProblems(c: PipelineConfig, contextLength = PRESETS[c.preset]?.contextLength ?? Infinity): Problem[] {
  const problems: Problem[] = [];
  if (!Object.hasOwn(PRESETS, c.preset)) problems.push({ field: 'preset', message: `must be one of ${Object.keys(PRESETS).join(', ')}, got "${c.preset}"` });
  const seed = settingProblem(SEED, c.seed);
  if (seed) problems.push({ field: 'seed', message: seed });
  const model: PresetModel = { contextLength };
  const sections = c as unknown as Record<string, Record<string, unknown>>;
  for (const s of SECTIONS) problems.push(...fieldProblems(s.section, s.fields as Fields, sections[s.section], (b) => b.of(sections[s.section], model)));
  for (const s of SECTIONS) if (s.check) problems.push(...s.check(sections[s.section]));
  return problems;
}

/**
 * A configuration saved before some settings existed (an older run.json), completed with its preset's defaults for
 * them: a new setting's default keeps the behaviour the lab had before it (grpo.dynamicSampling 0: off). Returns the
 * completed copy and the settings it added; an unknown preset is left for configProblems to name.
 */
export function withNewSettings(saved: PipelineConfig): { config: PipelineConfig; added: string[] } {
  if (!Object.hasOwn(PIPELINE_PRESETS, saved.preset)) return { config: saved, added: [] };
  const added: string[] = [];
  const fill = (into: Record<string, unknown>, defaults: Record<string, unknown>, path: string) => {
    for (const [key, value] of Object.entries(defaults)) {
      const here = path ? `${path}.${key}` : key;
      if (!Object.hasOwn(into, key)) {
        into[key] = structuredClone(value);
        added.push(here);
      } else if (value !== null && typeof value === 'object' && into[key] !== null && typeof into[key] === 'object') fill(into[key] as Record<string, unknown>, value as Record<string, unknown>, here);
    }
  };
  const config = structuredClone(saved);
  fill(config as unknown as Record<string, unknown>, PIPELINE_PRESETS[saved.preset] as unknown as Record<string, unknown>, '');
  return { config, added };
}

/** What a task lacks that a reward source needs. */
const LACKS: Readonly<Partial<Record<RewardSourceKind, string>>> = { verifier: 'no verifier (no checkable exact answer)', gold: 'no gold reward to use as an oracle' };

/**
 * The problems of a configuration with the task it runs on and, given `run`, the stages it runs and the checkpoints it
 * starts from, each naming its field. Every setting named `rewardSource`, in any stage's section, must name a source
 * the task can provide (sentiment has no verifier, a custom task no gold); a stage of the run whose source scores
 * with a checkpoint the stage does not read anyway (the ensemble's) needs that checkpoint from an earlier stage of the
 * run or from the start; a `promptSource` of "generated" needs the task's example generator; and pass@k (eval.passK)
 * counts exact answers, so it needs the task's verifier.
 */
export function taskProblems(c: PipelineConfig, task: { readonly id: string; readonly gold?: unknown; readonly verifier?: unknown; readonly exampleGenerator?: unknown }, run?: { stages: readonly string[]; checkpoints: readonly string[] }): Problem[] {
  const supported = supportedRewardSources(task);
  const problems: Problem[] = [];
  const sections = c as unknown as Record<string, Record<string, unknown> | undefined>;
  const order = run ? inRunOrder(run.stages) : [];
  for (const s of STAGE_REGISTRY as readonly StageDescriptor[]) {
    for (const { section, fields } of s.config ?? []) {
      if (Object.hasOwn(fields, 'promptSource') && sections[section]?.promptSource === 'generated' && !task.exampleGenerator) {
        problems.push({ field: `${section}.promptSource`, message: `the ${task.id} task has no example generator (its prompts are a fixed set): use train` });
      }
      if (!Object.hasOwn(fields, 'rewardSource')) continue;
      const field = `${section}.rewardSource`;
      const source = sections[section]?.rewardSource as RewardSourceKind;
      if (!supported.includes(source)) {
        problems.push({ field, message: `the ${task.id} task has ${LACKS[source] ?? `no "${source}" reward`}: choose one of ${supported.join(', ')}` });
        continue;
      }
      const checkpoint = SOURCE_CHECKPOINTS[source];
      if (!run || !order.includes(s.id as StageId) || checkpoint === undefined || s.reads.includes(checkpoint) || run.checkpoints.includes(checkpoint)) continue;
      const writer = STAGE_REGISTRY.find((w) => 'writes' in w && w.writes === checkpoint);
      if (writer && order.indexOf(writer.id) >= 0 && order.indexOf(writer.id) < order.indexOf(s.id as StageId)) continue;
      problems.push({ field, message: `"${source}" scores with the ${checkpoint} checkpoint, which this run neither has nor makes before ${s.name}: add the ${writer?.id ?? 'stage that writes it'} stage (e.g. --stages ${inRunOrder(['sft', 'rm', writer?.id ?? '', s.id]).join(',')},eval)` });
    }
  }
  if (c.eval.passK > 0 && !task.verifier) problems.push({ field: 'eval.passK', message: `the ${task.id} task has ${LACKS.verifier}: pass@k counts exact answers, so it needs one — set it to 0` });
  return problems;
}

/**
 * The preset's configuration with overrides applied: `{ 'ppo.klCoef': 0, seed: 3 }` (dotted paths; values as
 * numbers, booleans or strings, parsed like the field they replace) — the command line and the UI's advanced
 * panel both come through here. An optional group (ppo.adaptiveKL) is switched on by setting one of its fields and
 * off by "off". Throws PipelineConfigError naming every bad field.
 */
export function makePipelineConfig(presetName: PresetName, overrides: Record<string, unknown> = {}): PipelineConfig {
  if (!Object.hasOwn(PIPELINE_PRESETS, presetName)) throw new PipelineConfigError([{ field: 'preset', message: `must be one of ${Object.keys(PRESETS).join(', ')}, got "${presetName}"` }]);
  const config = structuredClone(PIPELINE_PRESETS[presetName]) as Mutable<PipelineConfig>;
  const problems: Problem[] = [];
  for (const [path, raw] of Object.entries(overrides)) {
    const keys = path.split('.');
    let node: Record<string, unknown> = config as unknown as Record<string, unknown>;
    for (const [i, k] of keys.slice(0, -1).entries()) {
      const group = STAGE_SETTING_DOCS[keys.slice(0, i + 1).join('.')];
      if (group?.kind === 'optional' && node[k] === null) node[k] = { ...group.whenOn };
      node = node?.[k] as Record<string, unknown>;
    }
    const last = keys[keys.length - 1];
    if (!node || typeof node !== 'object' || !Object.hasOwn(node, last) || path === 'preset') {
      problems.push({ field: path, message: 'is not a setting of the pipeline' });
      continue;
    }
    const current = node[last];
    const doc = STAGE_SETTING_DOCS[path];
    if (doc?.kind === 'optional' && (raw === 'off' || raw === null)) {
      node[last] = null;
      continue;
    }
    if (doc?.kind === 'optional' && current === null) {
      problems.push({ field: path, message: `set ${Object.keys(doc.fields).map((k) => `${path}.${k}`).join(' and ')}, or "off"` });
      continue;
    }
    if (typeof current === 'number') {
      const v = typeof raw === 'number' ? raw : Number(String(raw).trim() === '' ? NaN : raw);
      if (!Number.isFinite(v)) problems.push({ field: path, message: `needs a number, got "${String(raw)}"` });
      else node[last] = v;
    } else if (typeof current === 'boolean') {
      if (raw === true || raw === 'true') node[last] = true;
      else if (raw === false || raw === 'false') node[last] = false;
      else problems.push({ field: path, message: `needs true or false, got "${String(raw)}"` });
    } else if (typeof current === 'string') node[last] = String(raw);
    else problems.push({ field: path, message: 'is a group of settings, not one value' });
  }
  problems.push(...configProblems(config));
  if (problems.length) throw new PipelineConfigError(problems);
  return deepFreeze(config);
}

/** The settings a stage reads: its dependsOn and its own sections. */
function stageSettings(s: StageDescriptor): string[] {
  return [...(s.dependsOn ?? []), ...(s.config ?? []).map((c) => c.section)];
}

/**
 * The stages whose outputs later stages read (checkpoints), in run order, and what each output depends on: the
 * settings its stage reads (a section such as 'sft' covers all its fields: the stage's dependsOn and its own section)
 * and the stages that wrote the checkpoints it starts from, less the settings it exempts (notInOutput). Stages that only measure (best-of-N, evaluation) make
 * nothing later stages read, so their settings invalidate nothing.
 */
const OUTPUT_INPUTS: readonly { stage: StageId; settings: readonly string[]; exempt: readonly string[]; from: readonly StageId[] }[] = STAGE_REGISTRY.flatMap((s) => {
  if (!('writes' in s)) return [];
  const settings = stageSettings(s);
  const from = s.reads.map((checkpoint) => STAGE_REGISTRY.find((w) => 'writes' in w && w.writes === checkpoint)!.id);
  return [{ stage: s.id, settings, exempt: (s as StageDescriptor).notInOutput ?? [], from }];
});

/** Settings that only the measuring stages read. */
const MEASUREMENT_SETTINGS = STAGE_REGISTRY.flatMap((s) => ('writes' in s ? [] : stageSettings(s)));

const covers = (setting: string, path: string) => path === setting || path.startsWith(`${setting}.`);

/** The dotted paths of the single settings that differ between two configurations (e.g. ['ppo.klCoef']). */
export function changedSettings(a: PipelineConfig, b: PipelineConfig): string[] {
  const changed: string[] = [];
  const walk = (x: unknown, y: unknown, path: string) => {
    const isGroup = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
    if (isGroup(x) && isGroup(y)) {
      for (const key of new Set([...Object.keys(x), ...Object.keys(y)])) walk(x[key], y[key], path ? `${path}.${key}` : key);
    } else if (!Object.is(x, y)) changed.push(path);
  };
  walk(a, b, '');
  return changed;
}

/**
 * The stages whose outputs, made under `before`, are still what `after` would make: those none of whose settings
 * changed and whose inputs are still valid. A changed setting this rule does not know invalidates everything.
 * E.g. only ppo.klCoef changed → pretrain, sft, rm; sft.lr → pretrain; bon.maxN → all four.
 */
export function stagesStillValid(before: PipelineConfig, after: PipelineConfig): StageId[] {
  const changed = changedSettings(before, after);
  const known = [...OUTPUT_INPUTS.flatMap((o) => o.settings), ...MEASUREMENT_SETTINGS];
  if (!changed.every((path) => known.some((setting) => covers(setting, path)))) return [];
  const valid: StageId[] = [];
  for (const { stage, settings, exempt, from } of OUTPUT_INPUTS) {
    const untouched = !changed.some((path) => settings.some((setting) => covers(setting, path)) && !exempt.some((setting) => covers(setting, path)));
    if (untouched && from.every((s) => valid.includes(s))) valid.push(stage);
  }
  return valid;
}
