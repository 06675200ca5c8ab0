// The engine worker: owns the GPUDevice and the model, answers Commands with Events (see ./protocol).
import { browserGpu, createRuntime, DeviceLostError, type GpuRuntime, NoAdapterError } from '../gpu';
import { loadCheckpoint, saveCheckpoint, TRAINING_METADATA_KEY } from '../model/checkpoint';
import { parameterCount } from '../model/config';
import { generateText } from '../model/generate';
import { GPT } from '../model/gpt';
import { type Tokenizer, tokenizerFromJSON } from '../model/tokenizer';
import { exportGptOnnx } from '../onnx/gpt-export';
import { BASE_MODEL_PATH, type Command, type EngineEvent, type ExportFormat, type GenerateRequest } from './protocol';

let runtime: GpuRuntime | undefined;
let loaded: { model: GPT; tokenizer: Tokenizer; metadata: Record<string, string> } | undefined;

class ModelLoadError extends Error {}

function post(event: EngineEvent): void {
  self.postMessage(event);
}

function errorEvent(e: unknown): EngineEvent {
  const message = e instanceof Error ? e.message : String(e);
  const kind =
    e instanceof NoAdapterError
      ? 'no-adapter'
      : e instanceof DeviceLostError
        ? 'device-lost'
        : e instanceof ModelLoadError
          ? 'model'
          : 'internal';
  return { type: 'error', kind, message };
}

async function loadBaseModel(rt: GpuRuntime): Promise<void> {
  const url = new URL(`${import.meta.env.BASE_URL}${BASE_MODEL_PATH}`, self.location.origin).href;
  let bytes: Uint8Array;
  try {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    bytes = new Uint8Array(await response.arrayBuffer());
  } catch (e) {
    throw new ModelLoadError(`Could not fetch the base model from ${url}: ${(e as Error).message}`);
  }
  try {
    const checkpoint = loadCheckpoint(bytes);
    const tokenizer = tokenizerFromJSON(checkpoint.tokenizerJson);
    const model = GPT.create(rt, checkpoint.config, { weights: checkpoint.weights }).eval();
    loaded = { model, tokenizer, metadata: checkpoint.metadata };
    post({
      type: 'model',
      info: {
        config: checkpoint.config,
        parameters: parameterCount(checkpoint.config),
        tokenizer: tokenizer.kind,
        metadata: checkpoint.metadata,
      },
    });
  } catch (e) {
    throw new ModelLoadError(`The base model at ${url} could not be loaded: ${(e as Error).message}`);
  }
}

async function sample(request: GenerateRequest): Promise<void> {
  if (!loaded) throw new ModelLoadError('No model is loaded yet.');
  const start = performance.now();
  const result = await generateText(loaded.model, loaded.tokenizer, [request.prompt], {
    maxNewTokens: Math.min(request.maxNewTokens, loaded.model.config.contextLength - loaded.tokenizer.encode(request.prompt).length - 1),
    temperature: request.temperature,
    seed: request.seed,
  });
  post({ type: 'sample', prompt: request.prompt, text: result.texts[0], tokens: result.ids[0].length, ms: performance.now() - start });
}

/** The current model as a file: a safetensors checkpoint (GPT-2 names) or its forward pass as ONNX. */
async function exportModel(format: ExportFormat): Promise<void> {
  if (!loaded) throw new ModelLoadError('No model is loaded yet.');
  const { model, tokenizer, metadata } = loaded;
  const weights = await model.params.getWeights();
  const trained = metadata[TRAINING_METADATA_KEY];
  const training: Record<string, string> = trained === undefined ? {} : { [TRAINING_METADATA_KEY]: trained };
  const bytes =
    format === 'onnx' ? exportGptOnnx(model.config, weights) : saveCheckpoint(weights, model.config, tokenizer.toJSON(), training);
  const file: EngineEvent = {
    type: 'file',
    name: format === 'onnx' ? 'rlhf-lab-model.onnx' : 'rlhf-lab-model.safetensors',
    mime: 'application/octet-stream',
    bytes: new Uint8Array(bytes),
  };
  self.postMessage(file, { transfer: [file.bytes.buffer] });
}

async function handle(command: Command): Promise<void> {
  switch (command.type) {
    case 'init': {
      runtime ??= await createRuntime(browserGpu(), 'worker');
      runtime.device.lost.then((info) => {
        if (info.reason !== 'destroyed') post(errorEvent(new DeviceLostError(info.reason, info.message)));
      });
      post({ type: 'ready', adapter: runtime.adapter });
      await loadBaseModel(runtime);
      break;
    }
    case 'generate':
      await sample(command);
      break;
    case 'export':
      await exportModel(command.format);
      break;
  }
}

self.onmessage = (e: MessageEvent<Command>) => {
  handle(e.data).catch((err) => post(errorEvent(err)));
};
