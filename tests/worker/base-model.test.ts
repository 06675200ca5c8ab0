// Loading the base model on the CPU side, with a stand-in runtime: a base checkpoint with a weight that is not finite
// is refused before anything reaches the device, with a ModelLoadError naming the tensor, the flat index and the value;
// nothing is loaded and nothing is posted.
import { describe, expect, test } from 'vitest';
import { saveCheckpoint } from '../../src/model/checkpoint';
import { loadBaseModel } from '../../src/worker/base-model';
import { ModelLoadError } from '../../src/worker/errors';
import { createSession } from '../../src/worker/session';
import { fakeRuntime, filledWeights, nanoModel, recorder } from './fakes';

describe('loadBaseModel', () => {
  test('a base checkpoint with a NaN weight: a ModelLoadError naming where, nothing loaded or posted', async () => {
    const nano = await nanoModel();
    const weights = filledWeights(nano.config, 0.1);
    weights['h.0.attn.c_proj.weight'][12] = NaN;
    const bytes = saveCheckpoint(weights, nano.config, nano.tokenizerJson);
    const rec = recorder();
    const session = createSession(rec.post, { asset: async () => bytes });
    const loading = loadBaseModel(session, fakeRuntime('test').rt);
    await expect(loading).rejects.toThrow(ModelLoadError);
    await expect(loading).rejects.toThrow(/could not be loaded: checkpoint: tensor transformer\.h\.0\.attn\.c_proj\.weight holds NaN at flat index 12: /);
    expect([session.loaded, rec.events]).toEqual([undefined, []]);
  });
});
