// The config bar: the Task and Preset selects, the task's description (folded to a line: ./Fold.tsx), the alignment
// methods to run beside the InstructGPT recipe (the registry's optional policy stages, e.g. DPO), and "Advanced
// settings" — a labelled input for every hyperparameter of the preset, by dotted path, generated from
// PIPELINE_PRESETS (the groups named by the stages). Each change is validated the way the worker will
// (makePipelineConfig → configProblems) and a problem shows next to its field (aria-describedby); the run bar
// disables Run while any remains. Task, preset and changed fields live in the URL
// (`?task=sentiment&preset=nano&ppo.klCoef=0.1`), read on load and rewritten (replaceState) on every change.
import { type ChangeEvent, useEffect, useId, useMemo, useState } from 'react';
import type { PresetName } from '../model/config';
import { useLabStore, displayName, type LabStore } from '../store';
import { STAGE_SETTING_DOCS } from '../rlhf/config';
import { STAGE_REGISTRY } from '../rlhf/stages';
import { TASK_DESCRIPTORS } from '../rlhf/tasks/descriptors';
import { checkForm, type ConfigField, configFields, FORM_PRESETS, FORM_TASKS, formSearch, METHOD_CHOICES, parseSearch } from '../store/config-form';
import { Fold } from './Fold';

const PRESET_TEXT: Readonly<Record<PresetName, string>> = {
  nano: 'nano — a smoke run in seconds (pretrains its own tiny base)',
  tiny: 'tiny — the lab run on a laptop (the bundled base model)',
  small: 'small — for a real GPU (pretrains a larger base)',
};

/** The settings' groups: the seed, the labelers, and each stage's section under the stage's title. */
const GROUP_TEXT: Readonly<Record<string, string>> = {
  seed: 'Seed',
  labels: 'Simulated labelers (the preference data of the reward model and DPO)',
  ...Object.fromEntries(STAGE_REGISTRY.map((s) => [s.id, s.teaching.title])),
  pretrain: 'Pretraining (only when no base model fits the preset)',
};

/** The built-in tasks' descriptions (light data: the task generators stay out of the page's first bundle). */
const DESCRIPTIONS: Readonly<Record<string, string>> = Object.fromEntries(TASK_DESCRIPTORS.map((t) => [t.id, t.description]));

/** Reads the form from the URL once, then keeps the URL's query in step with the form (no history entries). */
export function useUrlSync(store: LabStore = useLabStore, enabled = true): void {
  useEffect(() => {
    if (!enabled) return;
    store.getState().setForm(parseSearch(window.location.search));
    const write = () => {
      const search = formSearch(store.getState().form);
      if (search !== window.location.search) window.history.replaceState(window.history.state, '', `${window.location.pathname}${search}${window.location.hash}`);
    };
    write();
    return store.subscribe((s, prev) => {
      if (s.form !== prev.form) write();
    });
  }, [store, enabled]);
}

export interface ConfigPanelProps {
  store?: LabStore;
  /** Read and write the page's URL (default on; off for views that share a page). */
  syncUrl?: boolean;
}

export function ConfigPanel({ store = useLabStore, syncUrl = true }: ConfigPanelProps) {
  useUrlSync(store, syncUrl);
  const form = store((s) => s.form);
  const dataset = store((s) => s.dataset);
  const configured = store((s) => s.configured);
  const { setTask, setPreset, setField, setMethod } = store.getState();
  const check = useMemo(() => checkForm(form), [form]);
  const fields = useMemo(() => configFields(form.preset, form.values), [form.preset, form.values]);
  const description = DESCRIPTIONS[form.task];
  const id = useId();
  const invalid = Object.keys(check.problems);

  const [open, setOpen] = useState(false);
  // A problem (e.g. from the URL) opens the settings, so its message is seen.
  useEffect(() => {
    if (invalid.length > 0) setOpen(true);
  }, [invalid.length > 0]);

  const groups = [...new Set(fields.map((f) => f.group))];
  const info = configured?.task.id === form.task ? configured.task : undefined;
  const changed = Object.keys(check.overrides).length;

  return (
    <section className="config-bar" aria-label="Configuration">
      <div className="config-row">
        <div className="config-select">
          <label htmlFor={`${id}-task`}>Task</label>
          <select id={`${id}-task`} value={form.task} onChange={(e) => setTask(e.target.value)} aria-describedby={`${id}-description`}>
            {FORM_TASKS.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
            {dataset && <option value="custom">custom ({displayName(dataset.name)})</option>}
          </select>
        </div>
        <div className="config-select">
          <label htmlFor={`${id}-preset`}>Preset</label>
          <select id={`${id}-preset`} value={form.preset} onChange={(e) => setPreset(e.target.value as PresetName)}>
            {FORM_PRESETS.map((p) => (
              <option key={p} value={p}>
                {PRESET_TEXT[p]}
              </option>
            ))}
          </select>
        </div>
      </div>
      <Fold className="task-description" textId={`${id}-description`} testId="task-description">
        {form.task === 'custom'
          ? `Your imported dataset (${dataset ? displayName(dataset.name) : 'none yet'}, read as ${dataset?.file ?? '…'}). A custom task has no hidden gold reward: the reward model is the only judge, so win rates and gold curves are not measured.`
          : (description ?? 'Loading the task description…')}
      </Fold>
      {info && (
        <p className="muted">
          {info.trainPrompts} training and {info.heldoutPrompts} held-out prompts · {info.demonstrations} demonstrations
          {info.preferences > 0 ? ` · ${info.preferences} imported rankings` : ' · simulated labelers rank samples'}
        </p>
      )}
      {invalid.length > 0 && (
        <p className="config-invalid" id={`${id}-invalid`}>
          {invalid.length === 1 ? '1 setting needs' : `${invalid.length} settings need`} fixing before a run: {invalid.join(', ')}.
        </p>
      )}
      {METHOD_CHOICES.length > 0 && (
        <fieldset className="config-methods">
          <legend>Alignment methods (beside PPO, on the same labels)</legend>
          {METHOD_CHOICES.map((m) => (
            <label key={m.id} title={m.what}>
              <input type="checkbox" checked={form.methods.includes(m.id)} onChange={(e) => setMethod(m.id, e.target.checked)} /> {m.name}
            </label>
          ))}
        </fieldset>
      )}
      <details className="advanced" open={open} onToggle={(e) => setOpen(e.currentTarget.open)}>
        <summary>
          Advanced settings{changed > 0 ? ` (${changed} changed)` : ''}
        </summary>
        <p className="muted">
          Every hyperparameter of the {form.preset} preset. Changed values are marked and kept in the page's address, so a
          configuration can be shared as a link.{' '}
          <button type="button" className="link-button" onClick={() => store.getState().setForm({ ...form, values: {} })} disabled={Object.keys(form.values).length === 0}>
            Reset to the preset
          </button>
        </p>
        <div className="config-groups">
          {groups.map((group) => (
            <fieldset key={group} className="config-group">
              <legend>{GROUP_TEXT[group] ?? group}</legend>
              {fields
                .filter((f) => f.group === group)
                .map((f) => (
                  <Field key={f.path} field={f} raw={form.values[f.path]} problem={check.problems[f.path]} onChange={setField} />
                ))}
            </fieldset>
          ))}
        </div>
      </details>
    </section>
  );
}

function Field({ field, raw, problem, onChange }: { field: ConfigField; raw: string | undefined; problem: string | undefined; onChange(path: string, raw: string | undefined): void }) {
  const id = useId();
  const value = raw ?? field.preset;
  const modified = raw !== undefined && raw !== field.preset;
  const change = (e: ChangeEvent<HTMLInputElement | HTMLSelectElement>) => onChange(field.path, e.target.value === field.preset ? undefined : e.target.value);
  const common = {
    id,
    value,
    onChange: change,
    'aria-invalid': problem ? true : undefined,
    'aria-describedby': problem ? `${id}-problem` : undefined,
  } as const;
  return (
    <div className={`config-field${modified ? ' modified' : ''}${problem ? ' invalid' : ''}`} data-field={field.path}>
      <label htmlFor={id} title={STAGE_SETTING_DOCS[field.path]?.meaning}>
        <code>{field.path}</code>
      </label>
      {field.kind.type === 'number' ? (
        <input type="number" step="any" inputMode="decimal" {...common} title={`preset: ${field.preset}`} />
      ) : (
        <select {...common}>
          {field.kind.options.map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
        </select>
      )}
      {problem && (
        <span className="field-problem" id={`${id}-problem`}>
          {problem}
        </span>
      )}
    </div>
  );
}
