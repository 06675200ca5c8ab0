// The error and export panels in headless Chromium, fed through the bridge with synthetic worker events: every
// failure is an alert naming its cause (no WebGPU with the browsers that work, a lost device, a crashed worker, an
// alarm, a refused configuration); the export buttons enable as the worker reports results and checkpoints and send
// the right export commands; a refused import lists its line-numbered problems.
import { act } from 'react';
import { describe, expect, test } from 'vitest';
import { ErrorPanel } from '../../src/ui/ErrorPanel';
import { ExportPanel } from '../../src/ui/ExportPanel';
import type { EngineEvent } from '../../src/worker/protocol';
import { labStores } from '../helpers/lab-stores';
import { mount } from '../helpers/mount';


function stores() {
  return labStores({ wrap: (apply) => act(apply) });
}

const READY: EngineEvent = { type: 'ready', adapter: { software: true, features: {}, limits: {} } as never };
const alerts = (div: HTMLElement) => [...div.querySelectorAll('[role="alert"]')].map((a) => a.textContent);

describe('ErrorPanel', () => {
  test('no WebGPU: says so and which browsers work and how to enable it', () => {
    const { lab, emit } = stores();
    const { div } = mount(<ErrorPanel store={lab} />);
    expect(alerts(div)).toEqual([]);
    emit({ type: 'error', kind: 'no-adapter', message: 'No WebGPU adapter in worker. Use a browser with WebGPU (Chrome/Edge 113+, …).' });
    const [text] = alerts(div);
    expect(text).toMatch(/^WebGPU is not available/);
    expect(text).toMatch(/Chrome or Edge 113\+/);
    expect(text).toMatch(/chrome:\/\/flags\/#enable-unsafe-webgpu/);
    expect(text).toMatch(/Safari 26\+/);
    expect(text).toMatch(/https or from localhost/);
  });

  test('a lost device, a crashed worker, an alarm and a refused configuration each name their cause', () => {
    const lost = stores();
    const { div: a } = mount(<ErrorPanel store={lost.lab} />);
    lost.emit(READY, { type: 'error', kind: 'device-lost', message: 'The GPU device was lost (unknown): reset.' });
    expect(alerts(a)).toEqual([expect.stringMatching(/^The GPU device was lost.*reset\..*Reload the page/)]);

    const crashed = stores();
    const { div: b } = mount(<ErrorPanel store={crashed.lab} />);
    crashed.emit(READY, { type: 'error', kind: 'internal', message: 'The engine worker crashed: out of memory' });
    expect(alerts(b)).toEqual([expect.stringMatching(/^The GPU engine stopped.*The engine worker crashed: out of memory/)]);

    const { lab, emit } = stores();
    const { div: c } = mount(<ErrorPanel store={lab} />);
    emit(READY, { type: 'error', kind: 'alarm', message: 'objective/kl 40 > 20: the policy ran away (lower ppo.lr)', metric: 'objective/kl', stage: 'ppo', step: 7 });
    expect(alerts(c)).toEqual([expect.stringMatching(/^Alarm: objective\/kl stopped the run \(PPO, step 7\)objective\/kl 40 > 20.*last good weights/)]);
    act(() => c.querySelector('button')!.click()); // Dismiss
    expect(alerts(c)).toEqual([]);
    emit({ type: 'error', kind: 'config', message: 'the pipeline configuration was refused', problems: [{ field: 'custom.sft', line: 4, message: 'missing "completion"' }] });
    expect(alerts(c)).toEqual([expect.stringMatching(/^The configuration was refused.*custom\.sft line 4: missing "completion"/)]);
  });
});

describe('ExportPanel', () => {
  /** A button by its accessible name: the model table's carry it in aria-label (their text is the format alone). */
  const button = (div: HTMLElement, name: string) => [...div.querySelectorAll('button')].find((b) => (b.getAttribute('aria-label') ?? b.textContent) === name)!;

  test('downloads enable as the run produces them and send the matching export command', () => {
    const { lab, run, sent, emit } = stores();
    const { div } = mount(<ExportPanel lab={lab} run={run} />);
    const names = ['Download metrics (CSV)', 'Download metrics (JSONL)', 'Download samples (JSONL)', 'Download preferences (JSONL)', 'Download SFT (safetensors)', 'Download reward model (safetensors)', 'Download PPO policy (safetensors)', 'Download PPO policy (ONNX)', 'Download base model (safetensors)', 'Continue in TRL', 'Download SFT (Hugging Face)', 'Download reward model (Hugging Face)', 'Download PPO policy (Hugging Face)'];
    expect(button(div, 'Download base model (Hugging Face)').disabled).toBe(true);
    emit(READY);
    expect(names.map((n) => button(div, n).disabled)).toEqual(names.map(() => true));
    expect(button(div, 'Download base model (Hugging Face)').disabled).toBe(false);

    emit(
      { type: 'stage', stage: 'sft', state: 'started' },
      { type: 'metrics', records: [{ stage: 'sft', step: 0, loss: 2 }] },
      { type: 'stage', stage: 'sft', state: 'done', seconds: 1 },
      { type: 'checkpoint', name: 'sft', size: 3 << 20 },
      { type: 'stage', stage: 'rm', state: 'started' },
      { type: 'stage', stage: 'rm', state: 'done', seconds: 1 },
      { type: 'checkpoint', name: 'ppo', size: 4096 },
      { type: 'samples', samples: [{ prompt: 'p', response: 'r', policy: 'sft', proxy: 0, gold: null }] },
    );
    expect(names.map((n) => button(div, n).disabled)).toEqual([false, false, false, false, false, true, false, false, true, false, false, true, false]);
    expect(button(div, 'Download SFT (safetensors)').nextElementSibling!.textContent).toBe('3.0 MiB');

    for (const n of ['Download metrics (CSV)', 'Download preferences (JSONL)', 'Download SFT (safetensors)', 'Download PPO policy (ONNX)', 'Continue in TRL', 'Download PPO policy (Hugging Face)', 'Download base model (Hugging Face)']) {
      act(() => button(div, n).click());
    }
    expect(sent).toEqual([
      { type: 'export', format: 'metrics-csv' },
      { type: 'export', format: 'preferences-jsonl' },
      { type: 'export', format: 'safetensors', model: 'sft' },
      { type: 'export', format: 'onnx', model: 'ppo' },
      { type: 'export', format: 'trl-zip' },
      { type: 'export', format: 'hf-zip', model: 'ppo' },
      { type: 'export', format: 'hf-zip' },
    ]);
  });

  test('the model table: a row per model of the form’s run (and any other the worker holds), a column per format', () => {
    const { lab, run, emit } = stores();
    const { div } = mount(<ExportPanel lab={lab} run={run} />);
    emit(READY);
    const rows = () => [...div.querySelectorAll('.export-models tbody tr')].map((tr) => [...tr.children].map((c) => c.textContent));
    expect([...div.querySelectorAll('.export-models thead th')].map((th) => th.textContent)).toEqual(['Model', 'safetensors', 'Hugging Face', 'ONNX']);
    expect(rows()).toEqual([
      ['Base model', 'safetensors', 'Hugging Face', ''],
      ['SFT', 'safetensors', 'Hugging Face', ''],
      ['Reward model', 'safetensors', 'Hugging Face', ''],
      ['PPO policy', 'safetensors', 'Hugging Face', 'ONNX'],
    ]);
    act(() => lab.getState().setMethod('dpo', true));
    expect(rows().map((r) => r[0])).toEqual(['Base model', 'SFT', 'Reward model', 'PPO policy', 'DPO policy']);
    act(() => lab.getState().setMethod('dpo', false));
    emit({ type: 'checkpoint', name: 'grpo', size: 2048 });
    expect(rows().at(-1)).toEqual(['GRPO policy', 'safetensors2 KiB', 'Hugging Face', 'ONNX']);
    expect(button(div, 'Download GRPO policy (ONNX)').disabled).toBe(false);
    expect(button(div, 'Download DPO policy (ONNX)')).toBeUndefined();
    expect(button(div, 'Download PPO policy (safetensors)').title).toBe('Available after the PPO stage');
  });

  test('a refused import lists its line-numbered problems; the file input is disabled while a run is going', () => {
    const { lab, run, emit } = stores();
    const { div } = mount(<ExportPanel lab={lab} run={run} />);
    emit(READY);
    const input = div.querySelector('input[type="file"]') as HTMLInputElement;
    expect(input.labels![0].textContent).toBe('Import dataset (JSONL)');
    expect(input.disabled).toBe(false);
    act(() => lab.getState().importDataset('prefs.jsonl', 'oops\n{"prompt":"a","chosen":"b","rejected":"c"}'));
    expect(input.disabled).toBe(true); // the worker is checking it
    emit({ type: 'error', kind: 'config', message: 'refused', problems: [{ field: 'custom.preferences', line: 1, message: 'not valid JSON' }] });
    expect(alerts(div)).toEqual(['prefs.jsonl was not imported (read as preferences); nothing changed.Line 1: not valid JSON']);
    expect(input.disabled).toBe(false);
    emit({ type: 'pipeline-state', state: 'running' });
    expect(input.disabled).toBe(true);
  });
});
