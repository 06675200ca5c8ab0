// The worker's export module on a made-up session (no GPU): each format's file name, type and contents; a model file
// is a copy of the kept checkpoint, handed over, so the kept one stays; ONNX only for checkpoints with the LM head;
// refusals of an unknown or missing checkpoint, a missing preference set, an unknown format and a base model not
// loaded; checkpoint-data's copy; a model as a zipped Hugging Face folder and the run as a zipped TRL folder.
import { unzipSync } from 'fflate';
import { describe, expect, test } from 'vitest';
import { loadCheckpoint } from '../../src/model/checkpoint';
import { makePipelineConfig } from '../../src/rlhf/config';
import { createTask } from '../../src/rlhf/tasks';
import { exportGptOnnx } from '../../src/onnx/gpt-export';
import { metricsToCsv } from '../../src/rlhf/metrics';
import type { Pipeline } from '../../src/rlhf/pipeline';
import { CHECKPOINT_NAMES } from '../../src/rlhf/stages';
import { parsePreferenceJsonl, type Ranking } from '../../src/rlhf/preferences';
import { ModelLoadError, PipelineCommandError } from '../../src/worker/errors';
import { checkpointData, exportFile } from '../../src/worker/export';
import { POLICY_CHECKPOINTS } from '../../src/worker/session';
import type { ExportFormat, MetricRecord, SampleRecord } from '../../src/worker/protocol';
import { checkpointBytes, nanoModel, sameBytes, testSession } from './fakes';

const RECORDS: MetricRecord[] = [
  { stage: 'sft', step: 0, loss: 2.5, lr: 0.001 },
  { stage: 'ppo', step: 0, 'policy/approxkl': 0.01 },
];
const SAMPLES: SampleRecord[] = [{ prompt: 'p', response: 'r', policy: 'sft', proxy: 0.5, gold: null }];
const ranking = (prompt: string): Ranking => ({ prompt, completions: ['good', 'bad'], source: 'simulated' });

async function made() {
  const model = await nanoModel();
  const { session, rec } = testSession();
  session.checkpoints.set('sft', checkpointBytes(model, 0.01));
  session.checkpoints.set('reward-model', checkpointBytes(model, 0.02, 'score'));
  session.metrics = RECORDS.slice();
  session.samples = SAMPLES.slice();
  const file = async (format: ExportFormat, name?: string) => {
    const from = rec.mark;
    await exportFile(session, format, name);
    const [event] = rec.of('file', from);
    return { ...event, text: new TextDecoder().decode(event.bytes), transfer: rec.transfers[from] };
  };
  return { model, session, rec, file };
}

describe('export', () => {
  test('metrics as JSONL (one record a line) and CSV; samples as JSONL', async () => {
    const { file } = await made();
    const jsonl = await file('metrics-jsonl');
    expect([jsonl.name, jsonl.mime]).toEqual(['rlhf-lab-metrics.jsonl', 'application/jsonl']);
    expect(jsonl.text.split('\n')).toEqual([...RECORDS.map((r) => JSON.stringify(r)), '']);
    const csv = await file('metrics-csv');
    expect([csv.name, csv.mime, csv.text]).toEqual(['rlhf-lab-metrics.csv', 'text/csv', metricsToCsv(RECORDS)]);
    const samples = await file('samples-jsonl');
    expect([samples.name, samples.text]).toEqual(['rlhf-lab-samples.jsonl', `${JSON.stringify(SAMPLES[0])}\n`]);
  });

  test("preferences: the pipeline's training then held-out rankings; refused before there are any", async () => {
    const { session, file } = await made();
    await expect(file('preferences-jsonl')).rejects.toThrow(new PipelineCommandError('export: there are no preference rankings yet — run the rm stage first'));
    session.pipeline = { rankings: { train: [ranking('a'), ranking('b')], heldout: [ranking('c')] } } as Pipeline;
    const prefs = await file('preferences-jsonl');
    expect(prefs.name).toBe('rlhf-lab-preferences.jsonl');
    expect(parsePreferenceJsonl(prefs.text).map((r) => r.prompt)).toEqual(['a', 'b', 'c']);
    // After a configure that kept the reward model (no pipeline made yet): the rankings it was trained on.
    session.pipeline = undefined;
    session.rmRankings = { train: [ranking('d')], heldout: [ranking('e')] };
    expect(parsePreferenceJsonl((await file('preferences-jsonl')).text).map((r) => r.prompt)).toEqual(['d', 'e']);
  });

  test('a checkpoint as safetensors: a copy handed over, the kept one stays', async () => {
    const { session, file } = await made();
    const kept = session.checkpoints.get('sft')!;
    const sft = await file('safetensors', 'sft');
    expect([sft.name, sft.mime]).toEqual(['rlhf-lab-sft.safetensors', 'application/octet-stream']);
    expect(sameBytes(sft.bytes, kept)).toBe(true);
    expect(sft.transfer).toHaveLength(1);
    expect(sft.transfer[0]).toBe(sft.bytes.buffer);
    structuredClone(sft.bytes, { transfer: [sft.bytes.buffer] }); // as postMessage detaches it
    expect(session.checkpoints.get('sft')).toBe(kept);
    expect(kept.byteLength).toBeGreaterThan(0);
  });

  test('ONNX of a policy checkpoint; refused for the reward model (a score head)', async () => {
    const { session, file } = await made();
    const onnx = await file('onnx', 'sft');
    const sft = loadCheckpoint(session.checkpoints.get('sft')!);
    expect(onnx.name).toBe('rlhf-lab-sft.onnx');
    expect(sameBytes(onnx.bytes, exportGptOnnx(sft.config, sft.weights))).toBe(true);
    await expect(file('onnx', 'reward-model')).rejects.toThrow(`export: ONNX is for the policies (${POLICY_CHECKPOINTS.join(', ')}); the reward-model has a score head instead of the LM head`);
  });

  test('refusals: unknown or missing checkpoint, unknown format, no base model loaded', async () => {
    const { file } = await made();
    await expect(file('safetensors', 'nope')).rejects.toThrow(new PipelineCommandError(`export: unknown checkpoint "nope" (known: ${CHECKPOINT_NAMES.join(', ')})`));
    await expect(file('onnx', 'ppo')).rejects.toThrow(new PipelineCommandError('export: there is no ppo checkpoint yet — run the ppo stage first'));
    await expect(file('zip' as ExportFormat)).rejects.toThrow(new PipelineCommandError('export: unknown format "zip"'));
    await expect(file('safetensors')).rejects.toThrow(new ModelLoadError('No model is loaded yet.'));
    await expect(file('onnx')).rejects.toBeInstanceOf(ModelLoadError);
  });

  test("checkpoint-data: a copy of the kept bytes, handed over; an unknown or missing checkpoint's refusal", async () => {
    const { session, rec } = await made();
    checkpointData(session, 'reward-model');
    const [data] = rec.of('checkpoint-data');
    expect(data.name).toBe('reward-model');
    const kept = session.checkpoints.get('reward-model')!;
    expect(sameBytes(data.bytes, kept)).toBe(true);
    expect(data.bytes.buffer === kept.buffer).toBe(false); // a copy
    expect(rec.transfers.at(-1)).toHaveLength(1);
    expect(rec.transfers.at(-1)![0]).toBe(data.bytes.buffer);
    expect(() => checkpointData(session, 'base')).toThrow(new PipelineCommandError('checkpoint-data: there is no base checkpoint yet — run the pretrain stage first'));
    expect(() => checkpointData(session, 'x')).toThrow(`checkpoint-data: unknown checkpoint "x" (known: ${CHECKPOINT_NAMES.join(', ')})`);
  });

  test('a model as a zipped Hugging Face folder: the reward model as GPT2ForSequenceClassification; the base model needs loading', async () => {
    const { file } = await made();
    const zip = await file('hf-zip', 'reward-model');
    expect([zip.name, zip.mime]).toEqual(['rlhf-lab-reward-model-hf.zip', 'application/zip']);
    const files = unzipSync(zip.bytes);
    expect(Object.keys(files).sort()).toEqual(['README.md', 'config.json', 'model.safetensors', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json']);
    expect(JSON.parse(new TextDecoder().decode(files['config.json']))).toMatchObject({ architectures: ['GPT2ForSequenceClassification'], num_labels: 1 });
    await expect(file('hf-zip')).rejects.toBeInstanceOf(ModelLoadError);
  });

  test("Continue in TRL: the run's data, models and script, zipped; refused before a run is configured", async () => {
    const { model, session, file } = await made();
    await expect(file('trl-zip')).rejects.toThrow(new PipelineCommandError('export: there is no run yet — configure and run the pipeline first'));
    const config = makePipelineConfig('nano');
    session.configured = { config, task: createTask('sentiment', { seed: 1, maxResponseTokens: config.ppo.maxResponseTokens }) } as typeof session.configured;
    session.checkpoints.set('base', checkpointBytes(model, 0.03));
    const k4 = (prompt: string): Ranking => ({ prompt, completions: ['a', 'b', 'c', 'd'], source: 'simulated' });
    session.pipeline = { rankings: { train: [k4('p'), k4('q')], heldout: [k4('r')] }, summary: { stage_seconds: { sft: 1, rm: 2, dpo: 3 } } } as unknown as Pipeline;
    const zip = await file('trl-zip');
    expect([zip.name, zip.mime]).toEqual(['rlhf-lab-trl.zip', 'application/zip']);
    const files = unzipSync(zip.bytes);
    expect(Object.keys(files)).toEqual(expect.arrayContaining(['train_trl.py', 'requirements.txt', 'data/preferences.jsonl', 'data/sft.jsonl', 'models/base/config.json', 'models/sft/tokenizer.json']));
    expect(new TextDecoder().decode(files['data/preferences.jsonl']).trim().split('\n')).toHaveLength(12); // 2 rankings of 4: 6 pairs each
    expect(new TextDecoder().decode(files['train_trl.py'])).toContain('SFTTrainer → RewardTrainer → DPOTrainer');
  });
});
