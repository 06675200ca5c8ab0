// "Policies against SFT" in headless Chromium: the evaluation's and best-of-N's latest records as one row per policy,
// the columns that some policy has, win rates with their intervals, best-of-N's KL as a bound, pass@k titled by k,
// and a policy trained on the gold oracle marked as the upper bound (a kept run's by its own configuration).
import { act } from 'react';
import { describe, expect, test } from 'vitest';
import { makePipelineConfig } from '../../src/rlhf/config';
import type { MetricRecord } from '../../src/rlhf/metrics';
import { PolicyTable } from '../../src/ui/PolicyTable';
import { labStores } from '../helpers/lab-stores';
import { mount } from '../helpers/mount';

/** The table on fresh stores, and `feed`: metric records into the run store, committed at once. */
function mountTable() {
  const { lab, run } = labStores({ wrap: (apply) => act(apply) });
  const { div } = mount(<PolicyTable lab={lab} run={run} />);
  const feed = (records: MetricRecord[]) =>
    act(() => {
      run.getState().onMetrics(records);
      run.getState().flush();
    });
  return { lab, run, div, feed };
}

describe('PolicyTable', () => {
  test('nothing before the evaluation; then a row per policy with its figures, the columns some policy has', () => {
    const { lab, div, feed } = mountTable();
    expect(div.querySelector('table')).toBeNull();
    feed([{ stage: 'ppo', step: 3, 'objective/gold': 0.5 }]);
    expect(div.querySelector('table')).toBeNull(); // training records are not the evaluation's

    act(() => lab.setState({ configured: { key: 'k', config: makePipelineConfig('tiny', { 'eval.passK': 16, 'grpo.rewardSource': 'gold' }), task: {} as never, kept: [] } }));
    feed([
      { stage: 'bon', step: 4, 'bon/gold': 0.41, 'bon/proxy': 0.2, 'bon/kl_bound': 0.636 },
      { stage: 'bon', step: 16, 'bon/gold': 0.52, 'bon/proxy': 0.5, 'bon/kl_bound': 1.835 },
      { stage: 'bon', step: 16, 'bon/win_rate': 0.7, 'bon/win_rate_lo': 0.58, 'bon/win_rate_hi': 0.8 },
      {
        stage: 'eval',
        step: 0,
        'eval/gold_sft': 0.294,
        'eval/verifier_rate_sft': 0.094,
        'eval/pass_at_k_sft': 0.188,
        'eval/pass_at_1_sft': 0.112,
        'eval/win_rate_grpo': 0.547,
        'eval/win_rate_lo_grpo': 0.426,
        'eval/win_rate_hi_grpo': 0.663,
        'eval/gold_grpo': 0.318,
        'eval/kl_grpo': 0.68,
        'eval/verifier_rate_grpo': 0.141,
        'eval/pass_at_k_grpo': 0.281,
        'eval/pass_at_1_grpo': 0.128,
      },
    ]);
    const table = div.querySelector('table')!;
    expect(table.caption!.textContent).toBe('Policies against SFT');
    expect([...table.querySelectorAll('thead th')].map((th) => th.textContent)).toEqual(['Policy', 'Win rate vs SFT [95%]', 'Gold reward', 'KL to SFT (nats)', 'RM score', 'Exact answers', 'pass@16', 'pass@1']);
    const rows = [...table.querySelectorAll('tbody tr')].map((tr) => [...tr.children].map((c) => c.textContent));
    expect(rows).toEqual([
      ['SFT', 'baseline', '0.294', '0', '—', '9.4%', '18.8%', '11.2%'],
      ['GRPO (gold oracle: upper bound)', '55% [43%, 66%]', '0.318', '0.68', '—', '14.1%', '28.1%', '12.8%'],
      ['Best-of-16', '70% [58%, 80%]', '0.520', '≤ 1.83', '0.500', '—', '—', '—'],
    ]);
    expect(table.querySelector('th[scope="rowgroup"]')).toBeNull(); // one run: no run headings
  });

  test('a sweep or a lesson of several runs: the kept runs first, a group of rows each under its label', () => {
    const { run, div, feed } = mountTable();
    act(() => run.getState().reset({ label: 'Verifier', first: true }));
    feed([{ stage: 'eval', step: 0, 'eval/gold_sft': 0.29, 'eval/verifier_rate_sft': 0.094, 'eval/win_rate_grpo': 0.547, 'eval/gold_grpo': 0.318, 'eval/kl_grpo': 0.68, 'eval/verifier_rate_grpo': 0.141 }]);
    // Best-of-N's figures are logged by its own stage: the kept run's come from there.
    feed([{ stage: 'bon', step: 16, 'bon/gold': 0.52, 'bon/proxy': 0.5, 'bon/kl_bound': 1.835 }]);
    act(() => run.getState().reset({ label: 'Reward model', first: false }));
    feed([{ stage: 'eval', step: 0, 'eval/gold_sft': 0.29, 'eval/verifier_rate_sft': 0.094, 'eval/proxy_grpo': 1.5, 'eval/win_rate_grpo': 0.516, 'eval/gold_grpo': 0.273, 'eval/kl_grpo': 3.21, 'eval/verifier_rate_grpo': 0.094 }]);
    const table = div.querySelector('table')!;
    expect([...table.querySelectorAll('tbody th[scope="rowgroup"]')].map((th) => th.textContent)).toEqual(['Verifier', 'Reward model']);
    const rows = [...table.querySelectorAll('tbody tr')].filter((tr) => !tr.querySelector('th[scope="rowgroup"]')).map((tr) => [...tr.children].map((c) => c.textContent));
    expect(rows).toEqual([
      ['SFT', 'baseline', '0.290', '0', '—', '9.4%'],
      ['GRPO', '55%', '0.318', '0.68', '—', '14.1%'],
      ['Best-of-16', '—', '0.520', '≤ 1.83', '0.500', '—'],
      ['SFT', 'baseline', '0.290', '0', '—', '9.4%'],
      ['GRPO', '52%', '0.273', '3.21', '1.500', '9.4%'],
    ]);
  });

  test("a kept run trained on the gold oracle keeps its mark: its names come from its own configuration", () => {
    const { run, lab, div, feed } = mountTable();
    const evaluated = () => feed([{ stage: 'eval', step: 0, 'eval/gold_sft': 0.29, 'eval/win_rate_grpo': 0.6, 'eval/gold_grpo': 0.35 }]);
    const gold = makePipelineConfig('tiny', { 'grpo.rewardSource': 'gold' });
    act(() => lab.setState({ configured: { key: 'k', config: gold, task: {} as never, kept: [] } }));
    act(() => run.getState().reset({ label: 'Gold', first: true }));
    evaluated();
    // The next run (the reward model's) is configured: the run so far is kept with the configuration it ran under.
    act(() => run.getState().reset({ label: 'Reward model', first: false, keptConfig: gold }));
    act(() => lab.setState({ configured: { key: 'k2', config: makePipelineConfig('tiny'), task: {} as never, kept: [] } }));
    evaluated();
    const names = [...div.querySelectorAll('tbody tr')].filter((tr) => !tr.querySelector('th[scope="rowgroup"]')).map((tr) => tr.children[0].textContent);
    expect(names).toEqual(['SFT', 'GRPO (gold oracle: upper bound)', 'SFT', 'GRPO']);
  });
});
