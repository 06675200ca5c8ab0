// The bundled base model (public/models/, BASE_MODEL_PATH): loading it onto a device (`init`, and again on a new
// device after a loss) and sampling from it (`generate`). Its export is ./export's.
import type { GpuRuntime } from '../gpu';
import { loadCheckpoint } from '../model/checkpoint';
import { parameterCount } from '../model/config';
import { generateText } from '../model/generate';
import { GPT } from '../model/gpt';
import { tokenizerFromJSON } from '../model/tokenizer';
import { ModelLoadError } from './errors';
import { BASE_MODEL_PATH, type GenerateRequest } from './protocol';
import type { LoadedModel, Session } from './session';

/** Loads the base model on `rt` (replacing the one loaded before) and posts what it is. */
export async function loadBaseModel(session: Session, rt: GpuRuntime): Promise<void> {
  let bytes: Uint8Array;
  try {
    bytes = await session.asset(BASE_MODEL_PATH);
  } catch (e) {
    throw new ModelLoadError(`Could not fetch the base model ${BASE_MODEL_PATH}: ${(e as Error).message}`);
  }
  try {
    const checkpoint = loadCheckpoint(bytes);
    const tokenizer = tokenizerFromJSON(checkpoint.tokenizerJson);
    const model = GPT.create(rt, checkpoint.config, { weights: checkpoint.weights }).eval();
    session.loaded?.model.dispose();
    session.loaded = { model, tokenizer, metadata: checkpoint.metadata };
    session.post({
      type: 'model',
      info: { config: checkpoint.config, parameters: parameterCount(checkpoint.config), tokenizer: tokenizer.kind, metadata: checkpoint.metadata },
    });
  } catch (e) {
    throw new ModelLoadError(`The base model ${BASE_MODEL_PATH} could not be loaded: ${(e as Error).message}`);
  }
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
