// The config bar in headless Chromium: the form's URL form (parse, write back, round trip), a field for every
// hyperparameter of the preset, the Task and Preset selects read from and written to the URL, an invalid field's
// message next to it (aria-describedby) with Run disabled until it is fixed, and keyboard use.
import { act, type ReactNode } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { userEvent } from 'vitest/browser';
import { PIPELINE_PRESETS, STAGE_SETTING_DOCS } from '../../src/rlhf/config';
import { createLabStore, type LabStore } from '../../src/store';
import { checkForm, configFields, DEFAULT_FORM, formOverrides, formSearch, formStages, METHOD_CHOICES, parseSearch } from '../../src/store/config-form';
import { createRunStore } from '../../src/store/run';
import { ConfigPanel } from '../../src/ui/ConfigPanel';
import { RunPanel } from '../../src/ui/RunPanel';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const mounted: { root: Root; div: HTMLDivElement }[] = [];
let originalUrl = '';

/** Renders, then lets the task description (a dynamic import, loaded in beforeAll) arrive inside act. */
async function mount(node: ReactNode): Promise<HTMLDivElement> {
  const div = document.createElement('div');
  document.body.appendChild(div);
  const root = createRoot(div);
  await act(async () => {
    root.render(node);
    await new Promise((r) => setTimeout(r, 10));
  });
  mounted.push({ root, div });
  return div;
}

/** Lets async updates (the task description) land inside act until `check` holds (or 5 s pass). */
async function settle(check: () => boolean): Promise<void> {
  for (let end = performance.now() + 5000; !check() && performance.now() < end; ) await act(() => new Promise((r) => setTimeout(r, 20)));
}

beforeAll(async () => {
  await Promise.all([import('../../src/rlhf/tasks/sentiment'), import('../../src/rlhf/tasks/instructions')]);
});

beforeEach(() => {
  originalUrl = window.location.href;
});

afterEach(() => {
  for (const { root, div } of mounted.splice(0)) {
    act(() => root.unmount());
    div.remove();
  }
  window.history.replaceState(window.history.state, '', originalUrl);
});

/** Every leaf of a preset by dotted path (what the advanced panel must offer), task and preset aside. */
function leafPaths(node: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(node).flatMap(([k, v]) => {
    const path = prefix ? `${prefix}.${k}` : k;
    if (path === 'task' || path === 'preset') return [];
    return v !== null && typeof v === 'object' ? leafPaths(v as Record<string, unknown>, path) : [path];
  });
}

function readyLab(): LabStore {
  const lab = createLabStore({ download: () => {} });
  lab.setState({ engine: { state: 'ready', adapter: { software: true } as never }, send: () => {} });
  return lab;
}

/** Sets a form control's value the way typing/choosing does, so React sees the change. */
function setValue(el: HTMLInputElement | HTMLSelectElement, value: string) {
  const proto = el instanceof HTMLSelectElement ? HTMLSelectElement.prototype : HTMLInputElement.prototype;
  act(() => {
    Object.getOwnPropertyDescriptor(proto, 'value')!.set!.call(el, value);
    el.dispatchEvent(new Event(el instanceof HTMLSelectElement ? 'change' : 'input', { bubbles: true }));
  });
}

/** The control labelled `name` (its <label> text). */
function control(div: HTMLElement, name: string): HTMLInputElement & HTMLSelectElement {
  const label = [...div.querySelectorAll('label')].find((l) => (l.htmlFor ? l.textContent === name : l.firstChild?.textContent === name));
  if (!label) throw new Error(`no control labelled ${name}`);
  return (label.control ?? label.querySelector('select, input')) as HTMLInputElement & HTMLSelectElement;
}

describe('config form (pure)', () => {
  test('parses the URL, ignoring what is not a task, preset or setting, and writes it back', () => {
    const form = parseSearch('?task=instructions&preset=nano&ppo.klCoef=0.1&seed=3&lesson=kl-intro&bogus=1&ppo.nothing=2');
    expect(form).toEqual({ task: 'instructions', preset: 'nano', values: { 'ppo.klCoef': '0.1', seed: '3' }, lesson: 'kl-intro', methods: [] });
    expect(formSearch(form)).toBe('?task=instructions&preset=nano&lesson=kl-intro&seed=3&ppo.klCoef=0.1');
    expect(parseSearch(formSearch(form))).toEqual(form);
    expect(parseSearch('')).toEqual(DEFAULT_FORM);
    expect(parseSearch('?task=custom&preset=huge')).toMatchObject({ task: 'sentiment', preset: 'tiny' });
    // A value equal to the preset's is no override and stays out of the URL.
    expect(formSearch({ ...DEFAULT_FORM, values: { 'sft.steps': String(PIPELINE_PRESETS.tiny.sft.steps) } })).toBe('?task=sentiment&preset=tiny');
  });

  test('a field for every hyperparameter of each preset; adaptive KL adds its two numbers when on', () => {
    for (const preset of ['nano', 'tiny', 'small'] as const) {
      const paths = configFields(preset).map((f) => f.path);
      expect(paths).toEqual(leafPaths(PIPELINE_PRESETS[preset] as never));
      expect(configFields(preset).find((f) => f.path === 'ppo.klEstimator')?.kind).toEqual({ type: 'select', options: ['k1', 'k3'] });
      expect(configFields(preset).find((f) => f.path === 'pretrain.force')?.kind).toEqual({ type: 'select', options: ['false', 'true'] });
    }
    const on = { ...DEFAULT_FORM, values: { 'ppo.adaptiveKL': 'on' } };
    expect(configFields('tiny', on.values).map((f) => f.path)).toContain('ppo.adaptiveKL.horizon');
    expect(formOverrides(on)).toEqual({ 'ppo.adaptiveKL.target': '6', 'ppo.adaptiveKL.horizon': '10000' });
    expect(checkForm(on).config?.ppo.adaptiveKL).toEqual({ target: 6, horizon: 10000 });
    expect(checkForm({ ...on, values: { ...on.values, 'ppo.adaptiveKL.target': '-1' } }).problems).toEqual({ 'ppo.adaptiveKL.target': 'must be in (0, 1000], got -1' });
    // A field with two problems shows both.
    expect(checkForm({ ...DEFAULT_FORM, values: { 'ppo.miniBatches': '0' } }).problems).toEqual({ 'ppo.miniBatches': expect.stringMatching(/^must be an integer in \[1, \d+\], got 0; must divide ppo\.batchSize \(\d+\), got 0$/) });
  });
});

describe('alignment methods', () => {
  test('the registry offers DPO, GRPO and RLOO; chosen methods live in the URL and join the recipe in run order', () => {
    // Every policy stage the recipe leaves out, from the registry: a new method needs no code here.
    expect(METHOD_CHOICES.map((m) => [m.id, m.name])).toEqual([
      ['dpo', 'DPO'],
      ['grpo', 'GRPO'],
      ['rloo', 'RLOO'],
    ]);
    const form = parseSearch('?task=sentiment&preset=nano&methods=dpo,magic');
    expect(form.methods).toEqual(['dpo']);
    expect(formSearch(form)).toBe('?task=sentiment&preset=nano&methods=dpo');
    expect(formStages(form)).toEqual(['pretrain', 'sft', 'rm', 'ppo', 'dpo', 'bon', 'eval']);
    // Named in any order, they run in the registry's.
    const group = parseSearch('?task=sentiment&preset=nano&methods=rloo,grpo');
    expect(group.methods).toEqual(['grpo', 'rloo']);
    expect(formStages(group)).toEqual(['pretrain', 'sft', 'rm', 'ppo', 'grpo', 'rloo', 'bon', 'eval']);
    expect(configFields('nano').find((f) => f.path === 'grpo.lossType')?.kind).toEqual({ type: 'select', options: ['grpo', 'dapo', 'dr_grpo'] });
    expect(checkForm({ ...group, values: { 'rloo.k': '1' } }).problems).toEqual({ 'rloo.k': 'must be an integer in [2, 64], got 1' });
    expect(formStages(DEFAULT_FORM)).toBeUndefined(); // the engine's default recipe
    // Any stage's reward source may be the ensemble, not only PPO's: its stage then runs too, before the policies.
    expect(formStages({ ...group, values: { 'grpo.rewardSource': 'ensemble' } })).toEqual(['pretrain', 'sft', 'rm', 'ensemble', 'ppo', 'grpo', 'rloo', 'bon', 'eval']);
    // DPO's section is in Advanced settings, its loss a select of the documented choices, and validated.
    expect(configFields('nano').find((f) => f.path === 'dpo.loss')?.kind).toEqual({ type: 'select', options: ['sigmoid', 'ipo'] });
    expect(checkForm({ ...form, values: { 'dpo.beta': '-1' } }).problems).toEqual({ 'dpo.beta': 'must be in (0, 100], got -1' });
  });

  test('the DPO checkbox adds DPO to the form (and the URL); Run then starts the recipe with DPO', async () => {
    window.history.replaceState(null, '', '?task=sentiment&preset=nano');
    const lab = readyLab();
    const div = await mount(<ConfigPanel store={lab} />);
    const box = [...div.querySelectorAll<HTMLInputElement>('.config-methods input[type="checkbox"]')];
    expect(box.map((b) => b.parentElement!.textContent!.trim())).toEqual(['DPO', 'GRPO', 'RLOO']);
    await act(async () => box[0].click());
    expect(lab.getState().form.methods).toEqual(['dpo']);
    expect(new URLSearchParams(window.location.search).get('methods')).toBe('dpo');
    await act(async () => box[0].click());
    expect(lab.getState().form.methods).toEqual([]);
    await act(async () => box[1].click());
    expect(lab.getState().form.methods).toEqual(['grpo']);
    expect(new URLSearchParams(window.location.search).get('methods')).toBe('grpo');
  });
});

describe('ConfigPanel', () => {
  test('reads task, preset, settings and the lesson from the URL and writes every change back', async () => {
    window.history.replaceState(null, '', '?task=instructions&preset=nano&ppo.klCoef=0.1&lesson=kl-intro');
    const lab = readyLab();
    const div = await mount(<ConfigPanel store={lab} />);
    expect(control(div, 'Task').value).toBe('instructions');
    expect(control(div, 'Preset').value).toBe('nano');
    expect(control(div, 'ppo.klCoef').value).toBe('0.1');
    expect(div.querySelector('[data-field="ppo.klCoef"]')!.classList.contains('modified')).toBe(true);
    expect(control(div, 'sft.steps').value).toBe(String(PIPELINE_PRESETS.nano.sft.steps));
    expect(lab.getState().form.lesson).toBe('kl-intro');
    expect(div.querySelector('summary')!.textContent).toBe('Advanced settings (1 changed)');

    setValue(control(div, 'ppo.episodes'), '8');
    expect(new URLSearchParams(window.location.search).get('ppo.episodes')).toBe('8');
    setValue(control(div, 'Task'), 'sentiment');
    expect(window.location.search).toBe('?task=sentiment&preset=nano&lesson=kl-intro&ppo.klCoef=0.1&ppo.episodes=8');
    // A new preset starts from its own values.
    setValue(control(div, 'Preset'), 'tiny');
    expect(window.location.search).toBe('?task=sentiment&preset=tiny&lesson=kl-intro');
    expect(control(div, 'ppo.episodes').value).toBe(String(PIPELINE_PRESETS.tiny.ppo.episodes));
  });

  test("every stage setting's label carries its documented meaning as its title", async () => {
    window.history.replaceState(null, '', '?preset=tiny&ppo.adaptiveKL=on');
    const div = await mount(<ConfigPanel store={readyLab()} />);
    const fields = [...div.querySelectorAll('[data-field]')].filter((f) => f.getAttribute('data-field') !== 'seed');
    const stageFields = Object.fromEntries(fields.map((f) => [f.getAttribute('data-field')!, f.querySelector('label')!.title]));
    expect(Object.keys(stageFields)).toContain('ppo.adaptiveKL.horizon');
    expect(stageFields).toEqual(Object.fromEntries(Object.keys(stageFields).map((path) => [path, STAGE_SETTING_DOCS[path].meaning])));
    expect(Object.keys(stageFields).sort()).toEqual(Object.keys(STAGE_SETTING_DOCS).sort());
  });

  test('shows the selected task description', async () => {
    window.history.replaceState(null, '', '?task=instructions');
    const div = await mount(<ConfigPanel store={readyLab()} />);
    const description = div.querySelector('[data-testid="task-description"]')!;
    await settle(() => !description.textContent!.startsWith('Loading'));
    expect(description.textContent).toMatch(/^Follow a small instruction exactly/);
    setValue(control(div, 'Task'), 'sentiment');
    await settle(() => !description.textContent!.startsWith('Loading'));
    expect(description.textContent).toMatch(/^Continue a product review so that it is positive/);
  });

  test('an invalid field shows its message next to it and disables Run until fixed', async () => {
    window.history.replaceState(null, '', '?preset=nano');
    const lab = readyLab();
    const run = createRunStore({ schedule: () => () => {} });
    const div = await mount(
      <>
        <ConfigPanel store={lab} />
        <RunPanel lab={lab} run={run} />
      </>,
    );
    const runButton = [...div.querySelectorAll('button')].find((b) => b.textContent === 'Run pipeline')!;
    expect(runButton.disabled).toBe(false);
    const details = div.querySelector('details')!;
    expect(details.open).toBe(false);

    const clip = control(div, 'ppo.clip');
    setValue(clip, '7');
    expect(clip.getAttribute('aria-invalid')).toBe('true');
    const message = document.getElementById(clip.getAttribute('aria-describedby')!)!;
    expect(message.textContent).toBe('must be in (0, 1], got 7');
    expect(message.closest('[data-field]')!.getAttribute('data-field')).toBe('ppo.clip');
    expect(runButton.disabled).toBe(true);
    expect(details.open).toBe(true); // a problem opens the settings
    expect(div.textContent).toMatch(/1 setting needs fixing before a run: ppo\.clip/);

    // A cross-field rule: episodes must be a multiple of the batch size; the message sits on ppo.episodes.
    const batch = PIPELINE_PRESETS.nano.ppo.batchSize;
    setValue(clip, '0.2');
    setValue(control(div, 'ppo.episodes'), '9');
    const episodes = control(div, 'ppo.episodes');
    expect(document.getElementById(episodes.getAttribute('aria-describedby')!)!.textContent).toBe(`must be a multiple of ppo.batchSize (${batch}), got 9`);
    expect(clip.hasAttribute('aria-invalid')).toBe(false);
    expect(runButton.disabled).toBe(true);
    setValue(episodes, '');
    expect(document.getElementById(episodes.getAttribute('aria-describedby')!)!.textContent).toBe('needs a number, got ""');

    setValue(episodes, String(3 * batch));
    expect(episodes.hasAttribute('aria-describedby')).toBe(false);
    expect(runButton.disabled).toBe(false);
  });

  test('Run sends the form as a configure; keyboard reaches and changes the selects', async () => {
    window.history.replaceState(null, '', '?preset=nano&ppo.episodes=8&ppo.batchSize=4');
    const lab = readyLab();
    const sent: unknown[] = [];
    lab.setState({ send: (c) => sent.push(c) });
    const div = await mount(
      <>
        <ConfigPanel store={lab} />
        <RunPanel lab={lab} run={createRunStore({ schedule: () => () => {} })} />
      </>,
    );
    const runButton = [...div.querySelectorAll('button')].find((b) => b.textContent === 'Run pipeline')!;
    act(() => runButton.click());
    expect(sent).toEqual([{ type: 'configure', task: 'sentiment', preset: 'nano', overrides: { 'ppo.batchSize': '4', 'ppo.episodes': '8' } }]);
    expect(runButton.disabled).toBe(true); // configuring: a second click cannot send again

    const task = control(div, 'Task');
    task.focus();
    expect(document.activeElement).toBe(task);
    await act(() => userEvent.keyboard('{ArrowDown}'));
    expect(lab.getState().form.task).toBe('instructions');
    await act(() => userEvent.keyboard('{Tab}'));
    expect(document.activeElement).toBe(control(div, 'Preset'));
  });
});
