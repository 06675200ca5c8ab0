// The configuration form behind the config bar: task, preset and every hyperparameter of the preset by dotted path
// (src/rlhf/config.ts), kept as the raw strings the user typed so a half-typed value is never lost. Pure functions:
// the fields of a preset, the overrides a form amounts to, its problems per field (makePipelineConfig, which runs
// configProblems), and the URL form of it all (`?task=sentiment&preset=nano&ppo.klCoef=0.1&lesson=…`), so a
// configuration can be shared as a link.
import type { PresetName } from '../model/config';
import { makePipelineConfig, PIPELINE_PRESETS, type PipelineConfig, PipelineConfigError, STAGE_SETTING_DOCS } from '../rlhf/config';
import { type RewardSourceKind, SOURCE_CHECKPOINTS } from '../rlhf/reward-source-kinds';
import { DEFAULT_STAGES, inRunOrder, STAGE_REGISTRY, type StageId } from '../rlhf/stages';
import { FORM_TASK_IDS } from '../rlhf/tasks/descriptors';

/** The built-in tasks the Task select offers ('custom' joins them once a dataset is imported). */
export const FORM_TASKS = FORM_TASK_IDS;
export const FORM_PRESETS = ['nano', 'tiny', 'small'] as const satisfies readonly PresetName[];
/** The first visit: the sentiment task on the preset the bundled base model fits (no pretraining). */
export const DEFAULT_TASK = 'sentiment';
export const DEFAULT_PRESET: PresetName = 'tiny';

export interface ConfigForm {
  /** 'sentiment' | 'instructions' | 'custom' */
  task: string;
  preset: PresetName;
  /** Raw input by dotted path, only for fields the user (or the URL) set; the rest show the preset's value. */
  values: Readonly<Record<string, string>>;
  /** `?lesson=…`, passed through for the lessons. */
  lesson: string | undefined;
  /** Alignment methods run beside the InstructGPT recipe (METHOD_CHOICES ids,). */
  methods: readonly StageId[];
}

export const DEFAULT_FORM: ConfigForm = Object.freeze({ task: DEFAULT_TASK, preset: DEFAULT_PRESET, values: Object.freeze({}), lesson: undefined, methods: Object.freeze([]) });

/** The policy-training stages a run may add to the default recipe (the registry's, e.g. DPO), with their names. */
export const METHOD_CHOICES: readonly { id: StageId; name: string; what: string }[] = STAGE_REGISTRY.filter((s) => s.produces === 'policy' && !s.byDefault).map((s) => ({ id: s.id, name: s.name, what: s.teaching.what }));

/**
 * The stages a run of this form runs: the default recipe plus its methods, and the stage that makes the checkpoint a
 * chosen reward source scores with (the ensemble's, for a `<stage>.rewardSource` of "ensemble"), in run order
 * (undefined: the default).
 */
export function formStages(form: ConfigForm): StageId[] | undefined {
  const sources = Object.entries(form.values).filter(([path]) => path.endsWith('.rewardSource')).map(([, v]) => SOURCE_CHECKPOINTS[v.trim() as RewardSourceKind]);
  const makers = STAGE_REGISTRY.filter((s) => 'writes' in s && !s.byDefault && sources.includes(s.writes)).map((s) => s.id);
  const added = [...form.methods, ...makers];
  return added.length === 0 ? undefined : inRunOrder([...DEFAULT_STAGES, ...added]);
}

/** Numbers are free-form (step any): configProblems says which must be integers, next to the field. */
export type FieldKind = { type: 'number' } | { type: 'select'; options: readonly string[] };

export interface ConfigField {
  /** Dotted path, e.g. 'ppo.klCoef' (also the input's label). */
  path: string;
  /** The top-level group ('seed' stands alone). */
  group: string;
  kind: FieldKind;
  /** The preset's value as the input shows it. */
  preset: string;
}

/** Every setting of a preset, in the preset's order (task and preset are chosen by their own selects). */
export function configFields(preset: PresetName, values: Readonly<Record<string, string>> = {}): ConfigField[] {
  const fields: ConfigField[] = [];
  const walk = (node: Record<string, unknown>, prefix: string) => {
    for (const [key, value] of Object.entries(node)) {
      const path = prefix ? `${prefix}.${key}` : key;
      if (path === 'task' || path === 'preset') continue;
      const group = path.split('.')[0];
      const doc = STAGE_SETTING_DOCS[path];
      if (doc?.kind === 'optional') {
        fields.push({ path, group, kind: { type: 'select', options: ['off', 'on'] }, preset: value === null ? 'off' : 'on' });
        // Its own fields only when switched on (in the preset or the form).
        const on = (values[path] ?? (value === null ? 'off' : 'on')) === 'on';
        if (on) walk((value ?? doc.whenOn) as Record<string, unknown>, path);
      } else if (value !== null && typeof value === 'object') walk(value as Record<string, unknown>, path);
      else if (typeof value === 'boolean') fields.push({ path, group, kind: { type: 'select', options: ['false', 'true'] }, preset: String(value) });
      else if (typeof value === 'string') fields.push({ path, group, kind: { type: 'select', options: doc?.kind === 'choice' ? doc.options : [value] }, preset: value });
      else if (typeof value === 'number') fields.push({ path, group, kind: { type: 'number' }, preset: String(value) });
    }
  };
  walk(PIPELINE_PRESETS[preset] as unknown as Record<string, unknown>, '');
  return fields;
}

/** Whether `path` names a setting (the URL may carry it): the seed or a documented setting of a stage. */
export function isSettingPath(path: string): boolean {
  return path === 'seed' || Object.hasOwn(STAGE_SETTING_DOCS, path);
}

/** The overrides a form amounts to: the fields set to something other than the preset's value. */
export function formOverrides(form: ConfigForm): Record<string, string> {
  const overrides: Record<string, string> = {};
  const fields = configFields(form.preset, form.values);
  for (const f of fields) {
    const raw = form.values[f.path];
    if (raw === undefined || raw === f.preset) continue;
    overrides[f.path] = raw;
  }
  // An optional group switched on (adaptive KL): its fields go along even at their defaults (they turn it on).
  for (const [path, doc] of Object.entries(STAGE_SETTING_DOCS)) {
    if (doc.kind !== 'optional' || overrides[path] !== 'on') continue;
    delete overrides[path];
    for (const f of fields) if (f.path.startsWith(`${path}.`)) overrides[f.path] = form.values[f.path] ?? f.preset;
  }
  return overrides;
}

export interface FormCheck {
  /** The validated configuration, when there are no problems. */
  config: PipelineConfig | undefined;
  overrides: Record<string, string>;
  /** Problems by dotted path (several for one field are joined). */
  problems: Record<string, string>;
}

/** Validates a form the way the worker will (makePipelineConfig → configProblems), problems per field. */
export function checkForm(form: ConfigForm): FormCheck {
  const overrides = formOverrides(form);
  try {
    return { config: makePipelineConfig(form.preset, { ...overrides, task: form.task }), overrides, problems: {} };
  } catch (e) {
    if (!(e instanceof PipelineConfigError)) throw e;
    const problems: Record<string, string> = {};
    for (const p of e.problems) {
      problems[p.field] = problems[p.field] ? `${problems[p.field]}; ${p.message}` : p.message;
    }
    return { config: undefined, overrides, problems };
  }
}

/** The form a URL's query describes; unknown tasks, presets and parameters fall back to the defaults. */
export function parseSearch(search: string): ConfigForm {
  const q = new URLSearchParams(search);
  const task = q.get('task');
  const preset = q.get('preset');
  const values: Record<string, string> = {};
  for (const [key, value] of q) if (key !== 'task' && key !== 'preset' && key !== 'lesson' && isSettingPath(key)) values[key] = value;
  const methods = (q.get('methods') ?? '').split(',').filter((m): m is StageId => METHOD_CHOICES.some((c) => c.id === m));
  return {
    // 'custom' needs a file, which a URL cannot carry: it opens the default task.
    task: task !== null && (FORM_TASKS as readonly string[]).includes(task) ? task : DEFAULT_TASK,
    preset: preset !== null && (FORM_PRESETS as readonly string[]).includes(preset) ? (preset as PresetName) : DEFAULT_PRESET,
    values,
    lesson: q.get('lesson') ?? undefined,
    methods: inRunOrder(methods),
  };
}

/** The URL query of a form: task and preset always, the lesson, then the fields that differ from the preset. */
export function formSearch(form: ConfigForm): string {
  const q = new URLSearchParams();
  q.set('task', (FORM_TASKS as readonly string[]).includes(form.task) ? form.task : DEFAULT_TASK);
  q.set('preset', form.preset);
  if (form.lesson !== undefined) q.set('lesson', form.lesson);
  if (form.methods.length > 0) q.set('methods', form.methods.join(','));
  const fields = configFields(form.preset, form.values);
  for (const f of fields) {
    const raw = form.values[f.path];
    if (raw !== undefined && raw !== f.preset) q.set(f.path, raw);
  }
  return `?${q.toString()}`;
}
