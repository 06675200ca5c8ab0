// The base model: the bundled one (public/models/, BASE_MODEL_PATH), or a Hugging Face GPT-2 folder the person chose
// (`load-base`, src/model/hf-model.ts) — loading it onto a device (`init`, and again on a new device after a loss) and
// sampling from it (`generate`). Its export is ./export's.
import type { GpuRuntime } from '../gpu';
import { loadCheckpoint } from '../model/checkpoint';
import { type GPTConfig, parameterCount } from '../model/config';
import { generateText } from '../model/generate';
import { GPT } from '../model/gpt';
import { hfBaseCheckpoint, type HfFile, readHfModel } from '../model/hf-model';
import { decodeSafetensors } from '../model/safetensors';
import { type Tokenizer, tokenizerFromJSON } from '../model/tokenizer';
import { ModelLoadError } from './errors';
import { BASE_MODEL_PATH, type GenerateRequest } from './protocol';
import type { LoadedModel, Session } from './session';

/** Loads the base model (the chosen one, else the bundled one) on `rt`, replacing the one loaded before, and posts what it is. */
export async function loadBaseModel(session: Session, rt: GpuRuntime): Promise<void> {
  const chosen = session.chosenBase;
  const what = chosen ? `The Hugging Face model "${chosen.folder}"` : `The base model ${BASE_MODEL_PATH}`;
  let bytes: Uint8Array;
  try {
    bytes = chosen?.checkpoint ?? (await session.asset(BASE_MODEL_PATH));
  } catch (e) {
    throw new ModelLoadError(`Could not fetch the base model ${BASE_MODEL_PATH}: ${(e as Error).message}`);
  }
  try {
    const checkpoint = loadCheckpoint(bytes);
    install(session, rt, checkpoint.config, checkpoint.weights, tokenizerFromJSON(checkpoint.tokenizerJson), checkpoint.metadata);
  } catch (e) {
    throw new ModelLoadError(`${what} could not be loaded: ${(e as Error).message}`);
  }
}

/**
 * `load-base`: the Hugging Face GPT-2 folder's model becomes the base model — of generation now, and of the pipeline's
 * next run (SFT and the rest start from it; nothing is pretrained). The checkpoints, metrics and samples made from the
 * previous base model are dropped. A folder that cannot be used (src/model/hf-model.ts names why) changes nothing:
 * it is refused before the device is touched, and the previous base model stays loaded.
 */
export function chooseBaseModel(session: Session, rt: GpuRuntime, folder: string, files: readonly HfFile[]): void {
  const previous = session.chosenBase ? `the Hugging Face model "${session.chosenBase.folder}"` : 'the bundled base model';
  try {
    const model = readHfModel(files, rt.memory);
    const checkpoint = hfBaseCheckpoint(model, folder);
    install(session, rt, model.config, model.weights, model.tokenizer, decodeSafetensors(checkpoint).metadata);
    session.chosenBase = { checkpoint, folder };
  } catch (e) {
    throw new ModelLoadError(`The Hugging Face model "${folder}" was not loaded (${previous} stays the base model): ${(e as Error).message}`);
  }
  session.checkpoints.clear();
  session.rmRankings = undefined;
  session.pipeline = undefined;
  session.metrics = [];
  session.samples = [];
}

/** Puts the model on the device, then (only then) makes it the session's, freeing the previous one, and posts what it is. */
function install(session: Session, rt: GpuRuntime, config: GPTConfig, weights: Record<string, Float32Array>, tokenizer: Tokenizer, metadata: Record<string, string>): void {
  const model = GPT.create(rt, config, { weights }).eval();
  session.loaded?.model.dispose();
  session.loaded = { model, tokenizer, metadata };
  session.post({ type: 'model', info: { config, parameters: parameterCount(config), tokenizer: tokenizer.kind, metadata } });
}

/** The base model, or the refusal of a command that came before `init` loaded it. */
export function loadedModel(session: Session): LoadedModel {
  if (!session.loaded) throw new ModelLoadError('No model is loaded yet.');
  return session.loaded;
}

/** `generate`: a continuation of the prompt, as long as asked where the context allows. */
export async function generate(session: Session, request: GenerateRequest): Promise<void> {
  const { model, tokenizer } = loadedModel(session);
  const start = performance.now();
  const result = await generateText(model, tokenizer, [request.prompt], {
    maxNewTokens: Math.min(request.maxNewTokens, model.config.contextLength - tokenizer.encode(request.prompt).length - 1),
    temperature: request.temperature,
    seed: request.seed,
  });
  session.post({ type: 'sample', prompt: request.prompt, text: result.texts[0], tokens: result.ids[0].length, ms: performance.now() - start });
}
