// The stages' places on the pipeline diagram (src/rlhf/stages/diagram.ts; drawn by src/ui/PipelineDiagram.tsx): every
// stage lights known boxes, each number is fed by a metric the stage's own records carry, the first stage that uses the
// whole loop is PPO, with all five numbers, and no box is claimed by two stages' explanations.
import { describe, expect, test } from 'vitest';
import { isMetricName, METRICS } from '../../src/rlhf/metrics';
import { STAGE_REGISTRY, type StageDescriptor } from '../../src/rlhf/stages';
import { DIAGRAM_BOXES, DIAGRAM_NUMBERS } from '../../src/rlhf/stages/diagram';

const stages: readonly StageDescriptor[] = STAGE_REGISTRY;

describe('stage diagrams', () => {
  test('every stage has one: known boxes, no repeats, numbers from metrics its records carry', () => {
    for (const s of stages) {
      const d = s.diagram;
      expect(d, `${s.id} has a diagram`).toBeDefined();
      if (!d) continue;
      expect(d.lit.length, `${s.id} lights a box`).toBeGreaterThan(0);
      expect(new Set(d.lit).size, `${s.id} lit boxes repeat`).toBe(d.lit.length);
      for (const b of [...d.lit, ...(d.explains ?? [])]) expect(DIAGRAM_BOXES, `${s.id}: ${b}`).toContain(b);
      for (const [n, metric] of Object.entries(d.numbers ?? {})) {
        expect(DIAGRAM_NUMBERS, `${s.id}: number ${n}`).toContain(n);
        expect(isMetricName(metric!), `${s.id}: ${n} ← ${metric} is a metric`).toBe(true);
        if (isMetricName(metric!)) expect(METRICS[metric].stages, `${s.id}: ${metric} is in its records`).toContain(s.id);
      }
    }
  });

  test('PPO is the first stage that uses the whole loop (the picture before a run), with all five numbers', () => {
    // RLOO lights every box too (its KL penalty is in the reward; its value-free advantages still fill the box).
    const full = stages.filter((s) => DIAGRAM_BOXES.every((b) => s.diagram?.lit.includes(b)));
    expect(full.map((s) => s.id)).toEqual(['ppo', 'rloo']);
    expect(full[0].diagram!.numbers).toEqual({
      reward: 'objective/scores',
      kl: 'objective/kl',
      beta: 'objective/kl_coef',
      advantage: 'policy/advantage_std',
      clipfrac: 'policy/clipfrac',
    });
  });

  test('the reward model’s box explains the reward model, the SFT reference SFT; no box has two owners', () => {
    const owners = stages.flatMap((s) => (s.diagram?.explains ?? []).map((b) => [b, s.id] as const));
    expect(new Set(owners.map(([b]) => b)).size).toBe(owners.length);
    expect(Object.fromEntries(owners)).toEqual({ 'reward-model': 'rm', reference: 'sft' });
    expect(stages.find((s) => s.id === 'rm')!.diagram!.lit).toEqual(['responses', 'reward-model']);
  });
});
