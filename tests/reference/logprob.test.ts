import { describe, expect, test } from 'vitest';
import { logprobBackward, logprobForward } from '../../src/reference/logprob';
import { dot, expectGradient } from '../helpers/finite-diff';
import { normal } from '../helpers/random';

describe('reference logprob', () => {
  const [N, V] = [3, 5];
  const logits = Float64Array.from(normal(N * V, 1, 2));
  const tokens = [4, 0, 2];
  const dlogp = Float64Array.from(normal(N, 2));

  for (const temperature of [1, 0.7]) {
    test(`dlogits matches central finite differences, temperature ${temperature}`, () => {
      const loss = () => dot(logprobForward(logits, tokens, N, V, temperature), dlogp);
      expectGradient(logprobBackward(logits, tokens, dlogp, N, V, temperature), loss, logits, 'dlogprob/dlogits');
    });
  }

  test('log-probabilities of a row exponentiate to 1 over the vocabulary', () => {
    let total = 0;
    for (let v = 0; v < V; v++) total += Math.exp(logprobForward(logits.subarray(0, V), [v], 1, V, 0.7)[0]);
    expect(total).toBeCloseTo(1, 12);
  });
});
