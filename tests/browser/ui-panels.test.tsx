// "Latest metrics" and the samples view in headless Chromium, rendered from a run store fed with synthetic events:
// table rows per metric grouped by stage with their meanings as titles and descriptions; rollout tokens coloured
// by the chosen quantity (the switch changes the colours), the legend, and the SFT answer beside the PPO one.
import { act } from 'react';
import { describe, expect, test } from 'vitest';
import { METRICS } from '../../src/rlhf/metrics';
import type { Episode } from '../../src/rlhf/episode';
import { createRunStore } from '../../src/store/run';
import { MetricsTable } from '../../src/ui/MetricsTable';
import { colourScale, SamplesView, tokenColour } from '../../src/ui/SamplesView';
import { mount } from '../helpers/mount';


const manualStore = () => createRunStore({ schedule: () => () => {} });

describe('MetricsTable', () => {
  test('one row per metric with a value, grouped by stage, meanings as titles and descriptions', () => {
    const store = manualStore();
    const { div } = mount(<MetricsTable store={store} />);
    const table = div.querySelector('table')!;
    expect(table.caption!.textContent).toBe('Latest metrics');
    expect(table.textContent).toContain('No metrics yet.');

    act(() => {
      store.getState().onMetrics([
        { stage: 'sft', step: 0, loss: 2.5, lr: 0.001 },
        { stage: 'sft', step: 1, loss: 2.25, lr: 0.0009 },
        { stage: 'rm', step: 4, 'rm/loss': 0.6931, 'rm/accuracy': 0.5 },
        { stage: 'ppo', step: 3, 'objective/scores': 1.23456, 'val/num_eos_tokens': 12, lr: 0.00001234 },
      ]);
      store.getState().flush();
    });
    const rows = [...table.querySelectorAll('tr[data-metric]')].map((tr) => [...tr.children].map((c) => (c as HTMLElement).innerText));
    // Stages in run order; METRICS order within a stage; lr's latest value is PPO's.
    expect(rows).toEqual([
      ['loss', '2.25 nats/token', 'SFT', '1'],
      ['rm/loss', '0.6931 nats', 'Reward model', '4'],
      ['rm/accuracy', '0.5', 'Reward model', '4'],
      ['lr', '1.23e-5', 'PPO', '3'],
      ['objective/scores', '1.235', 'PPO', '3'],
      ['val/num_eos_tokens', '12', 'PPO', '3'],
    ]);
    const groups = [...table.querySelectorAll('tbody')].map((b) => b.querySelector('th[scope="rowgroup"]')!.textContent);
    expect(groups).toEqual(['SFT', 'Reward model', 'PPO']);

    for (const tr of table.querySelectorAll('tr[data-metric]')) {
      const name = tr.getAttribute('data-metric') as keyof typeof METRICS;
      const th = tr.querySelector('th')!;
      expect(th.title).toBe(METRICS[name].meaning);
      const described = document.getElementById(th.getAttribute('aria-describedby')!)!;
      expect(described.textContent).toBe(METRICS[name].meaning);
      expect(described.hidden).toBe(true); // description only: kept out of the cell's name
    }

    act(() => {
      store.getState().onMetrics([{ stage: 'sft', step: 2, loss: 2 }]);
      store.getState().flush();
    });
    expect((table.querySelector('tr[data-metric="loss"]')!.children[1] as HTMLElement).innerText).toBe('2 nats/token');
  });
});

describe('MetricsTable: metrics the shared table does not know', () => {
  test('a metric the table does not know (a custom stage\'s) still shows: after the known ones of its stage, by name', () => {
    const store = manualStore();
    const { div } = mount(<MetricsTable store={store} />);
    act(() => {
      store.getState().onMetrics([{ stage: 'ppo', step: 2, 'zeta/custom': 0.5, 'objective/scores': 1, 'alpha/custom': 3 } as never]);
      store.getState().flush();
    });
    const rows = [...div.querySelectorAll('tr[data-metric]')].map((tr) => [...tr.children].map((c) => (c as HTMLElement).innerText));
    expect(rows).toEqual([
      ['objective/scores', '1', 'PPO', '2'],
      ['alpha/custom', '3', 'PPO', '2'],
      ['zeta/custom', '0.5', 'PPO', '2'],
    ]);
    expect(div.querySelector<HTMLElement>('tr[data-metric="alpha/custom"] th')!.title).toBe(''); // no meaning to show
  });
});

function episode(prompt: string, tokens: string[], kl: number[], advantages: number[], logprobs: number[], score: number, gold: number | undefined): Episode {
  return { prompt, response: tokens.join(''), score, gold, finished: true, tokens, kl, advantages, logprobs };
}

describe('SamplesView', () => {
  const episodes = [
    episode('Review: ', ['Gr', 'eat', ' film'], [0.2, -0.1, 0.05], [1, -0.5, 0.25], [-0.1, -2, -0.5], 0.5, 0.25),
    episode('Say hi: ', ['hi', '!'], [0.4, 0], [-1, 2], [-4, -0.01], 1.5, undefined),
  ];

  test('shows the rollouts with scores; the colouring switch changes token colours', () => {
    const store = manualStore();
    const { div } = mount(<SamplesView store={store} />);
    expect(div.textContent).toContain('No RL rollouts yet.');
    act(() => store.getState().onEpisodes('ppo', 12, episodes));

    const cards = div.querySelectorAll('article.episode');
    expect(cards.length).toBe(2);
    expect(cards[0].getAttribute('aria-label')).toBe('Rollout 1');
    expect(cards[0].textContent).toContain('Review:');
    expect(cards[0].textContent).toContain('PPO, iteration 12');
    expect(cards[0].querySelector('.sample-scores')!.textContent).toBe('Reward 0.5 · Gold 0.25');
    expect(cards[1].querySelector('.sample-scores')!.textContent).toBe('Reward 1.5'); // no gold reward
    expect(div.textContent).not.toContain('group');

    const group = div.querySelector('[role="radiogroup"]')!;
    expect(group.getAttribute('aria-label')).toBe('Colour tokens by');
    const radios = [...group.querySelectorAll<HTMLInputElement>('input[type="radio"]')];
    expect(radios.map((r) => r.parentElement!.textContent!.trim())).toEqual(['KL contribution', 'Advantage', 'Log-prob']);
    expect(radios[0].checked).toBe(true);

    const colours = () => [...div.querySelectorAll<HTMLElement>('.token')].map((t) => t.style.backgroundColor);
    const expected = (mode: 'kl' | 'advantage' | 'logprob', pick: (e: Episode) => number[]) => {
      const scale = colourScale(episodes, mode);
      return episodes.flatMap((e) => pick(e).map((v) => tokenColour(v, scale, mode)));
    };
    const tokens = [...div.querySelectorAll<HTMLElement>('.token')];
    expect(tokens.map((t) => t.textContent).join('|')).toBe('Gr|eat| film|hi|!');
    const kl = colours();
    expect(kl).toEqual(expected('kl', (e) => e.kl));
    expect(kl[3]).toBe('rgba(214, 69, 69, 0.75)'); // the largest KL contribution: full red
    expect(kl[1]).toBe('rgba(47, 111, 222, 0.19)'); // negative: blue, |−0.1|/0.4 of full
    expect(tokens[0].title).toBe('KL contribution 0.2');

    act(() => radios[1].click());
    expect(radios[1].checked).toBe(true);
    const adv = colours();
    expect(adv).toEqual(expected('advantage', (e) => e.advantages));
    expect(adv).not.toEqual(kl);
    expect(tokens[1].title).toBe('Advantage -0.5');

    act(() => radios[2].click());
    const lp = colours();
    expect(lp).toEqual(expected('logprob', (e) => e.logprobs));
    expect(lp).not.toEqual(adv);
    expect(div.querySelector('.token-legend figcaption')!.textContent).toContain('Log-prob');
    const legendEnds = [...div.querySelectorAll('.token-legend > .num')].map((e) => e.textContent);
    expect(legendEnds).toEqual(['-4', '0']);
  });

  test("a group method's completions: its name, each completion's group, one advantage on all its tokens, grey KL at β = 0", () => {
    const store = manualStore();
    const { div } = mount(<SamplesView store={store} initialColouring="advantage" />);
    const completion = (response: string, advantage: number, group: number): Episode => ({
      ...episode('Review: ', [...response], [NaN, NaN], [advantage, advantage], [-1, -2], advantage, undefined),
      group,
    });
    act(() => store.getState().onEpisodes('grpo', 3, [completion('ab', 0.7, 0), completion('cd', -0.7, 0), completion('ef', 0, 1)]));
    const cards = [...div.querySelectorAll('article.episode')];
    expect(cards.map((c) => c.querySelector('h4')!.textContent)).toEqual(['GRPO, iteration 3', 'GRPO, iteration 3', 'GRPO, iteration 3']);
    expect(cards.map((c) => c.querySelector('.episode-prompt')!.textContent)).toEqual([1, 1, 2].map((g) => `Prompt Review:  · group ${g}: its completions are compared with each other`));
    const colours = (card: Element) => [...card.querySelectorAll<HTMLElement>('.token')].map((t) => t.style.backgroundColor);
    expect(colours(cards[0])).toEqual(['rgba(46, 158, 91, 0.75)', 'rgba(46, 158, 91, 0.75)']); // better than its group: green on every token
    expect(colours(cards[1])).toEqual(['rgba(214, 69, 69, 0.75)', 'rgba(214, 69, 69, 0.75)']);
    act(() => (div.querySelector<HTMLInputElement>('input[value="kl"]')!).click());
    expect(colours(cards[0])).toEqual(['rgba(0, 0, 0, 0.35)', 'rgba(0, 0, 0, 0.35)']); // no reference at β = 0: no KL to show
  });

  test('evaluation samples: a column per policy in run order, best-of-N last and named by its N; at most `limit` prompts', () => {
    const store = manualStore();
    const { div } = mount(<SamplesView store={store} limit={2} />);
    const s = (prompt: string, policy: string, response: string) => ({ prompt, response, policy, proxy: 0.5, gold: 0.25 });
    act(() => store.getState().onSamples([s('P1', 'bon-16', 'b1'), s('P1', 'ppo', 'p1'), s('P1', 'sft', 's1'), s('P2', 'sft', 's2'), s('P3', 'sft', 's3')]));
    const table = div.querySelector<HTMLTableElement>('table.eval-samples')!;
    expect([...table.querySelectorAll('thead th')].map((t) => t.textContent)).toEqual(['Prompt', 'SFT', 'PPO', 'Best-of-16']);
    const rows = [...table.querySelectorAll('tbody tr')].map((tr) => [...tr.children].map((c) => c.querySelector('.tokens')?.textContent ?? c.textContent));
    expect(rows).toEqual([
      ['P1', 's1', 'p1', 'b1'],
      ['P2', 's2', '–', '–'],
    ]);
  });

  test('the SFT answer to the same prompt sits beside the PPO one; evaluation samples side by side', () => {
    const store = manualStore();
    const { div } = mount(<SamplesView store={store} />);
    act(() => {
      store.getState().onEpisodes('ppo', 3, episodes);
      store.getState().onSamples([
        { prompt: 'Review: ', response: 'It was ok.', policy: 'sft', proxy: -0.2, gold: 0.1 },
        { prompt: 'Review: ', response: 'Great film', policy: 'ppo', proxy: 0.9, gold: 0.7 },
      ]);
    });
    const cards = div.querySelectorAll('article.episode');
    const sft = cards[0].querySelector('.episode-sft')!;
    expect(sft.querySelector('h4')!.textContent).toBe('SFT');
    expect(sft.querySelector('.tokens')!.textContent).toBe('It was ok.');
    expect(sft.querySelector('.sample-scores')!.textContent).toBe('Proxy (RM) -0.2 · Gold 0.1');
    expect(cards[1].querySelector('.episode-sft')).toBeNull(); // no SFT sample for this prompt

    const table = div.querySelector<HTMLTableElement>('table.eval-samples')!;
    expect(table.caption!.textContent).toBe('Held-out evaluation samples');
    expect([...table.querySelectorAll('thead th')].map((t) => t.textContent)).toEqual(['Prompt', 'SFT', 'PPO']);
    expect(table.querySelector('tbody tr')!.textContent).toContain('Great film');
  });
});
