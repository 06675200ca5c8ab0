// The shared metric table has every metric the RLHF stages log, each explained; the alarms fire on crafted bad
// records (naming the metric) and stay quiet on healthy ones and at their thresholds.
import { describe, expect, test } from 'vitest';
import {
  KL_BLOWUP_THRESHOLD,
  METRICS,
  METRIC_NAMES,
  NEGATIVE_KL_THRESHOLD,
  RATIO_MAX,
  RATIO_MIN,
  checkAlarms,
  isMetricName,
  type MetricRecord,
  type Stage,
} from '../../src/rlhf/metrics';

// The list from the issue, by the stage that logs it.
const EXPECTED: Record<Stage, string[]> = {
  pretrain: ['loss', 'lr', 'grad_norm'],
  sft: ['loss', 'sft/heldout_loss', 'mean_token_accuracy', 'entropy', 'lr', 'grad_norm'],
  rm: ['rm/loss', 'rm/accuracy', 'rm/heldout_accuracy', 'rm/gold_agreement', 'rm/labeler_gold_agreement', 'rm/inter_labeler_agreement', 'rm/margin', 'rm/reward_mean', 'rm/reward_min', 'rm/reward_max'],
  ensemble: [
    'ensemble/loss', 'ensemble/train_accuracy', 'ensemble/member', 'ensemble/member_accuracy', 'ensemble/accuracy', 'ensemble/member_accuracy_min',
    'ensemble/member_accuracy_max', 'ensemble/disagreement', 'ensemble/gold_agreement', 'lr', 'grad_norm',
  ],
  ppo: [
    'objective/scores', 'objective/gold', 'objective/kl', 'objective/kl_stderr', 'objective/entropy', 'objective/non_score_reward',
    'objective/rlhf_reward', 'objective/kl_coef', 'policy/approxkl', 'policy/clipfrac', 'policy/advantage_std', 'policy/sqrt_kl', 'loss/policy',
    'loss/value', 'loss/ptx', 'val/clipfrac', 'val/ratio', 'val/ratio_var', 'val/num_eos_tokens',
    'val/explained_variance', 'val/response_length', 'lr', 'episode', 'eps', 'grad_norm',
  ],
  dpo: [
    'loss/dpo', 'rewards/chosen', 'rewards/rejected', 'rewards/accuracies', 'rewards/margins', 'logps/chosen', 'logps/rejected',
    'eval_rewards/accuracies', 'eval_rewards/margins', 'objective/scores', 'objective/gold', 'objective/kl', 'objective/kl_stderr', 'policy/sqrt_kl', 'lr', 'grad_norm',
  ],
  grpo: [
    'reward', 'reward_std', 'frac_reward_zero_std', 'kl', 'clip_ratio/low_mean', 'clip_ratio/high_mean', 'clip_ratio/region_mean', 'entropy',
    'completions/mean_length', 'objective/scores', 'objective/gold', 'objective/kl', 'objective/kl_stderr', 'policy/sqrt_kl', 'episode', 'lr', 'grad_norm',
    'sampling/groups_drawn', 'sampling/rounds',
  ],
  rloo: [
    'reward', 'reward_std', 'frac_reward_zero_std', 'entropy', 'completions/mean_length', 'objective/non_score_reward', 'objective/rlhf_reward',
    'objective/kl_coef', 'objective/scores', 'objective/gold', 'objective/kl', 'objective/kl_stderr', 'policy/sqrt_kl', 'episode', 'lr', 'grad_norm',
  ],
  bon: ['bon/proxy', 'bon/gold', 'bon/kl_bound', 'bon/win_rate', 'bon/win_rate_lo', 'bon/win_rate_hi', 'bon/verifier_rate'],
  eval: [
    'eval/gold_sft', 'eval/proxy_sft', 'eval/verifier_rate_sft', 'eval/pass_at_k_sft', 'eval/pass_at_1_sft',
    ...['ppo', 'dpo', 'grpo', 'rloo'].flatMap((p) => ['win_rate', 'win_rate_lo', 'win_rate_hi', 'gold', 'proxy', 'kl', 'verifier_rate', 'pass_at_k', 'pass_at_1'].map((m) => `eval/${m}_${p}`)),
  ],
};

/** A plausible mid-training PPO record: every alarm must stay quiet on it. */
function healthyPpo(): MetricRecord {
  return {
    stage: 'ppo',
    step: 40,
    'objective/scores': 1.3,
    'objective/kl': 4.2,
    'objective/non_score_reward': -0.084,
    'objective/rlhf_reward': 1.216,
    'objective/kl_coef': 0.02,
    'policy/approxkl': 0.004,
    'policy/clipfrac': 0.08,
    'policy/sqrt_kl': Math.sqrt(4.2),
    'loss/policy': -0.01,
    'loss/value': 0.3,
    'val/ratio': 1.01,
    'val/ratio_var': 0.002,
    'val/explained_variance': 0.4,
    lr: 1e-5,
    episode: 20480,
    eps: 35,
  };
}

describe('METRICS table', () => {
  test('every metric the stages log is present, for its stage, with a label and a one-line meaning', () => {
    for (const [stage, names] of Object.entries(EXPECTED) as [Stage, string[]][]) {
      for (const name of names) {
        expect(isMetricName(name), `${name} is in METRICS`).toBe(true);
        if (!isMetricName(name)) continue;
        const info = METRICS[name];
        expect(info.stages, `${name} stages`).toContain(stage);
        expect(info.label.trim().length, `${name} label`).toBeGreaterThan(0);
        expect(info.meaning.trim().length, `${name} meaning`).toBeGreaterThan(10);
        expect(info.meaning, `${name} meaning is one line`).not.toMatch(/\n/);
        if (info.healthy !== undefined) expect(info.healthy.trim().length, `${name} healthy`).toBeGreaterThan(0);
      }
    }
  });

  test('no metric outside the list, and METRIC_NAMES lists exactly the table', () => {
    const all = new Set(Object.values(EXPECTED).flat());
    expect([...METRIC_NAMES].sort()).toEqual([...all].sort());
    expect(Object.keys(METRICS).sort()).toEqual([...all].sort());
    for (const name of METRIC_NAMES) expect(METRICS[name].stages.length, `${name} has a stage`).toBeGreaterThan(0);
  });

  test('the table and its entries are frozen', () => {
    expect(Object.isFrozen(METRICS)).toBe(true);
    for (const name of METRIC_NAMES) {
      expect(Object.isFrozen(METRICS[name]), name).toBe(true);
      expect(Object.isFrozen(METRICS[name].stages), `${name} stages`).toBe(true);
    }
    expect(isMetricName('toString')).toBe(false);
    expect(isMetricName('objective/kl')).toBe(true);
  });
});

describe('checkAlarms', () => {
  test('quiet on healthy records of every stage, and exactly at the thresholds', () => {
    expect(checkAlarms(healthyPpo())).toBeUndefined();
    expect(checkAlarms({ stage: 'sft', step: 3, loss: 2.1, mean_token_accuracy: 0.4, entropy: 2.5, lr: 3e-4, grad_norm: 0.9 })).toBeUndefined();
    expect(checkAlarms({ stage: 'rm', step: 9, 'rm/loss': 0.6, 'rm/accuracy': 0.68, 'rm/margin': 0.4 })).toBeUndefined();
    expect(checkAlarms({ stage: 'eval', step: 0, 'eval/win_rate_ppo': 0.7, 'eval/win_rate_lo_ppo': 0.6, 'eval/win_rate_hi_ppo': 0.8 })).toBeUndefined();
    expect(checkAlarms({ stage: 'ppo', step: 0 })).toBeUndefined();
    // k1 KL is slightly negative by chance early on; the alarm is for clearly negative means
    expect(checkAlarms({ ...healthyPpo(), 'objective/kl': NEGATIVE_KL_THRESHOLD })).toBeUndefined();
    expect(checkAlarms({ ...healthyPpo(), 'objective/kl': KL_BLOWUP_THRESHOLD })).toBeUndefined();
    expect(checkAlarms({ ...healthyPpo(), 'val/ratio': RATIO_MIN })).toBeUndefined();
    expect(checkAlarms({ ...healthyPpo(), 'val/ratio': RATIO_MAX })).toBeUndefined();
  });

  test('a NaN or infinite metric is named, with a cause', () => {
    const nan = checkAlarms({ ...healthyPpo(), 'loss/value': NaN });
    expect(nan?.metric).toBe('loss/value');
    expect(nan?.message).toMatch(/^loss\/value is NaN: .*value head/);
    const inf = checkAlarms({ stage: 'sft', step: 5, loss: Infinity });
    expect(inf?.metric).toBe('loss');
    expect(inf?.message).toMatch(/^loss is Infinity: /);
    const negInf = checkAlarms({ stage: 'eval', step: 1, 'eval/gold_ppo': -Infinity });
    expect(negInf?.metric).toBe('eval/gold_ppo');
    expect(negInf?.message).toMatch(/^eval\/gold_ppo is -Infinity: \S/);
    // non-finite wins over the other alarms: it is the most severe
    expect(checkAlarms({ ...healthyPpo(), 'objective/kl': 99, grad_norm: NaN })?.metric).toBe('grad_norm');
    expect(checkAlarms({ stage: 'ppo', step: NaN })?.metric).toBe('step');
  });

  test('negative mean KL names sampling outside the policy', () => {
    const alarm = checkAlarms({ ...healthyPpo(), 'objective/kl': -0.5 });
    expect(alarm?.metric).toBe('objective/kl');
    expect(alarm?.message).toMatch(/objective\/kl/);
    expect(alarm?.message).toMatch(/negative/i);
    expect(alarm?.message).toMatch(/top_k/);
  });

  test('a negative mean KL within 3 standard errors of 0 is sampling noise (a small batch), not an alarm', () => {
    // nano's 4 responses: k1 KL −0.116 with a standard error of 0.2 is 0.6 standard errors below 0.
    expect(checkAlarms({ ...healthyPpo(), 'objective/kl': -0.116, 'objective/kl_stderr': 0.2 })).toBeUndefined();
    expect(checkAlarms({ ...healthyPpo(), 'objective/kl': -0.3, 'objective/kl_stderr': 0.1 })).toBeUndefined(); // exactly 3
    const clear = checkAlarms({ ...healthyPpo(), 'objective/kl': -0.31, 'objective/kl_stderr': 0.1 });
    expect(clear?.metric).toBe('objective/kl');
    expect(clear?.message).toMatch(/^objective\/kl is -0\.310 nats \(< -0\.1, 3\.1 standard errors below 0\): negative mean KL/);
    // Below the threshold, never an alarm, however small the standard error.
    expect(checkAlarms({ ...healthyPpo(), 'objective/kl': -0.09, 'objective/kl_stderr': 0.001 })).toBeUndefined();
  });

  test('KL blow-up', () => {
    const alarm = checkAlarms({ ...healthyPpo(), 'objective/kl': 51 });
    expect(alarm?.metric).toBe('objective/kl');
    expect(alarm?.message).toMatch(/objective\/kl .*blow-up/);
  });

  test('ratio explosion, above and below', () => {
    for (const ratio of [2.5, 0.3]) {
      const alarm = checkAlarms({ ...healthyPpo(), 'val/ratio': ratio });
      expect(alarm?.metric, `ratio ${ratio}`).toBe('val/ratio');
      expect(alarm?.message).toMatch(/val\/ratio .*ratio explosion.*learning rate/);
    }
  });
});
