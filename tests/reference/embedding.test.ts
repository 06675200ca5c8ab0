import { describe, test } from 'vitest';
import { embeddingBackward, embeddingForward } from '../../src/reference/embedding';
import { dot, expectGradient } from '../helpers/finite-diff';
import { normal } from '../helpers/random';

describe('reference embedding', () => {
  const [B, T, C, V, maxT] = [2, 3, 4, 5, 4];
  const tokens = [1, 3, 1, 4, 1, 0]; // repeats, so dwte sums several positions; id 2 unused, so its row is 0
  const wte = Float64Array.from(normal(V * C, 1));
  const wpe = Float64Array.from(normal(maxT * C, 2));
  const dy = Float64Array.from(normal(B * T * C, 3));
  const loss = () => dot(embeddingForward(tokens, wte, wpe, B, T, C), dy);
  const grads = embeddingBackward(dy, tokens, B, T, C, V);

  test('dwte matches central finite differences', () => {
    expectGradient(grads.dwte, loss, wte, 'dembedding/dwte');
  });

  test('dwpe matches central finite differences (rows past T get no gradient)', () => {
    const dwpe = new Float64Array(maxT * C);
    dwpe.set(grads.dwpe);
    expectGradient(dwpe, loss, wpe, 'dembedding/dwpe');
  });
});
