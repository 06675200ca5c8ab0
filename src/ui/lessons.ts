// Built-in lessons: each is a ready configuration (task, preset, overrides, stages) that runs end to end, with text
// saying what to look at. A lesson with several `runs` (the KL sweep) is run once per entry, each a fresh
// `configure` with the run's overrides on top of the lesson's; runs after the first skip the stages whose checkpoints
// the worker kept (src/store/index.ts lesson slice). Open one directly with `?lesson=<id>`.
// Sources: InstructGPT (Ouyang et al. 2022) for the pipeline and β; Ziegler et al. 2019 and Gao, Schulman & Hilton
// 2022 for the KL penalty and reward over-optimization; Stiennon et al. 2020 / WebGPT (Nakano et al. 2021) for
// best-of-N as a baseline; Shao et al. 2024 (DeepSeekMath) and Wu et al. 2025 for GRPO and its group size; Lambert et
// al. 2024 (Tülu 3) for RL with verifiable rewards; Coste et al. 2024 for reward-model ensembles.
import type { PipelineStage } from '../rlhf/pipeline';
import { DEFAULT_STAGES } from '../rlhf/stages';
import type { LessonStepPlan } from '../store';
import type { ConfigureRequest } from '../worker/protocol';

export type Overrides = ConfigureRequest['overrides'];

export interface LessonRun {
  /** Shown in the UI and used as the run's name (e.g. "β = 0"). */
  label: string;
  /** On top of the lesson's overrides. */
  overrides: Overrides;
  /** Its stages, when not the lesson's (e.g. only the runs that score with an ensemble train one). */
  stages?: PipelineStage[];
}

export interface Lesson {
  /** For `?lesson=<id>`. */
  id: string;
  title: string;
  /** One line for the list. */
  summary: string;
  /** What the lesson shows, in paragraphs. */
  text: string[];
  /** What to look for in the charts, one point each. */
  lookFor: string[];
  task: string;
  preset: string;
  overrides: Overrides;
  stages: PipelineStage[];
  /** Several runs, one after another (each from a fresh configure); absent: one run. */
  runs?: LessonRun[];
}

const ALL: PipelineStage[] = [...DEFAULT_STAGES];

export const LESSONS: readonly Lesson[] = [
  {
    id: 'instructgpt',
    title: 'InstructGPT pipeline',
    summary: 'The whole recipe on the sentiment task: SFT, a reward model from ranked samples, PPO with a KL penalty, best-of-N and a win rate.',
    text: [
      'This is the default full run. The tiny base model is fine-tuned on demonstrations (SFT); simulated labelers, who agree with a hidden gold preference on about 73% of pairs (InstructGPT’s labelers agreed with each other on 72.6%), rank six samples per prompt; a reward model learns those rankings; PPO then optimises the SFT policy against the reward model with a per-token KL penalty to the SFT model.',
      'The gold reward is never shown to the reward model or the policy. It only measures, at the end, whether PPO really got better: the win rate of PPO over SFT on held-out prompts.',
    ],
    lookFor: [
      'SFT: the loss falls and held-out loss stays close to it.',
      'Reward model: loss starts at 0.693 and falls; held-out accuracy above 0.5, near the inter-labeler agreement (a second labeler on the same labels).',
      'PPO: RM score and rlhf_reward rise, KL grows slowly, the ratio stays near 1.',
      'Evaluation: a win rate above 0.5.',
    ],
    task: 'sentiment',
    preset: 'tiny',
    overrides: {},
    stages: ALL,
  },
  {
    id: 'kl-sweep',
    title: 'KL-coefficient sweep',
    summary: 'The same pipeline with β = 0.2, 0.05 and 0: without the KL penalty the policy hacks the reward model.',
    text: [
      'The KL penalty −β·log(π_RL/π_SFT) is what keeps PPO honest: it charges the policy for every token it moves away from the SFT model, so it cannot drift into text the reward model never saw, where its scores mean nothing. The three runs share one SFT model and one reward model (same seed, same settings): the first run trains them, the other two reuse them and run only PPO and the evaluation.',
      'The runs go from the most cautious β to none, so the collapse comes last, on top of the charts. β = 0.2 stays very close to SFT: safe, but it improves little. β = 0.05 (the lab’s default) trades a little proxy reward for staying near SFT. β = 0 is a longer, faster-learning run — 1280 episodes instead of 640, at PPO learning rate 6e-4 instead of 3e-4 — because at the preset’s settings only the start of the hacking shows; its curves run on past the others’. Nothing holds the policy back: it moves furthest from SFT and collapses onto one phrase the reward model likes; the hidden gold reward rises at first and then falls while the proxy keeps rising — reward hacking, as Gao et al. (2022) measured: the policy finds what the proxy over-rates. Measured on the tiny preset (seed 1): gold peaked at 0.82 after 22 iterations, fell to 0.49 by iteration 30 and to −0.06 at 31, where samples read “It is worth every every every every …” (proxy 2.3, gold −0.15), and the KL alarm (objective/kl above 50 nats) stopped the run.',
      'That alarm is the lesson’s ending, not a failure: the policy keeps its last good weights, and the lesson shows the alarm as the outcome of the β = 0 run. The evaluation then still runs, on the policy PPO kept (its weights from before the iteration the alarm refused), so β = 0 gets a win rate too: set it against β = 0.05’s, and its samples against its high proxy score.',
    ],
    lookFor: [
      'objective/kl: smallest at β = 0.2, largest at β = 0.',
      'objective/scores (proxy) against objective/gold: at β = 0 the proxy keeps climbing while gold peaks and then falls.',
      'The reward-vs-√KL chart: each run is a curve; the gold curve of β = 0 bends down at large √KL.',
      'Rollouts: β = 0 responses turn repetitive or strange while scoring high.',
      'Runs 2 and 3 draw no SFT or reward-model curves of their own: they reuse run 1’s.',
    ],
    task: 'sentiment',
    preset: 'tiny',
    overrides: {},
    stages: ['pretrain', 'sft', 'rm', 'ppo', 'eval'],
    runs: [
      { label: 'β = 0.2', overrides: { 'ppo.klCoef': 0.2 } },
      { label: 'β = 0.05', overrides: { 'ppo.klCoef': 0.05 } },
      // Longer and faster-learning, so the hacking goes all the way (measured: see the text).
      { label: 'β = 0', overrides: { 'ppo.klCoef': 0, 'ppo.episodes': 1280, 'ppo.lr': 6e-4 } },
    ],
  },
  {
    id: 'best-of-n',
    title: 'Best-of-N vs PPO',
    summary: 'Rejection sampling with the reward model against PPO, on the reward-vs-√KL frontier.',
    text: [
      'Best-of-N needs no training: sample N responses from the SFT policy and keep the one the reward model likes best. Its KL from the SFT policy is at most log N − (N−1)/N, so each N is a point at a known √KL. WebGPT found best-of-64 competitive with RL.',
      'PPO moves along the same axis as it trains: its KL to the SFT policy grows iteration by iteration. Plotting proxy and gold reward against √KL for both shows which spends its KL budget better — Gao et al. found RL spends far more KL than best-of-N for the same gain.',
    ],
    lookFor: [
      'The frontier chart: best-of-N points (N = 1 … 32) and the PPO curve, proxy and gold.',
      'At the same √KL, which is higher on the gold reward?',
      'For large N the proxy keeps rising while the gold flattens: over-optimization without any training.',
    ],
    task: 'sentiment',
    preset: 'tiny',
    overrides: { 'bon.maxN': 32 },
    stages: ALL,
  },
  {
    id: 'ppo-or-dpo',
    title: 'PPO or DPO? Same labels, two methods',
    summary: 'One SFT model and one set of rankings; PPO learns through a reward model, DPO and IPO straight from the rankings — compared by the hidden gold reward.',
    text: [
      'PPO needs a reward model and samples from the policy as it trains. DPO (Rafailov et al. 2023) skips both: the KL-regularised objective PPO optimises has a closed-form optimum, so the policy can be fitted to the rankings directly — each pair says “raise this response’s log-probability relative to the SFT model, lower that one’s”. IPO (Azar et al. 2023) keeps DPO’s form but replaces the log-sigmoid by a squared loss that stops at a margin of 1/(2β).',
      'The first run trains SFT, the labels and the reward model, then PPO and DPO on exactly those labels (every ranking as all its pairs, the reward model’s held-out rankings held out from DPO too). The second run changes only dpo.loss to IPO: SFT, the reward model and PPO are kept and only IPO trains. The evaluation samples every policy on the same held-out prompts and compares each with SFT by the gold reward; the frontier chart puts them on one gold-vs-√KL picture.',
      'Measured on the tiny preset (sentiment, seed 1; win rates on 64 held-out prompts, ties counted half): PPO (640 episodes) won 88% against SFT (95% interval 78–94%) at a KL of 5.2 nats. DPO with the preset’s settings (two epochs at learning rate 1e-4, β = 0.1) won 84% (74–91%) at a KL of 3.8 nats; its implicit reward ordered 60% of the held-out pairs as the labels do, beside the reward model’s 62% on the same pairs. IPO with the same settings moved less — KL 1.27 nats — and won 79% (67–87%), held-out pair accuracy 60%. One epoch was not enough for IPO: KL 0.87 and 62.5% (50–73%); DPO 1.9 nats and 73%. At equal KL the offline methods were ahead on the way: the gold reward of one-epoch DPO’s held-out samples had risen by 0.77 over its start at 1.95 nats and IPO’s by 0.66 at 1.0 nats, while PPO’s rollouts at 1.2–2.1 nats were no better than its start (−0.06) — PPO gained later and went furthest. With noiseless labels (labels.agreement = 1, 48 labelled prompts, four epochs), Azar et al.’s prediction showed: DPO’s KL to SFT kept growing epoch by epoch (0.10, 1.26, 2.37, 3.44 nats) while IPO’s levelled off (0.17, 1.11, 1.32, 1.45), and IPO won more often against SFT (81% against 66% of 32 prompts; the intervals overlap).',
    ],
    lookFor: [
      'The frontier chart: PPO’s trajectory (blue), DPO’s (green, one point per held-out check) and best-of-N (orange) — at the same √KL, which has the higher gold reward?',
      'DPO’s held-out implicit-reward accuracy (eval_rewards/accuracies) next to the reward model’s held-out accuracy (rm/heldout_accuracy): the same held-out pairs.',
      'rewards/chosen and rewards/rejected: with sigmoid DPO both often fall while their margin grows — the likelihood of the preferred answers drops too.',
      'Latest metrics: eval/win_rate_ppo and eval/win_rate_dpo, each with its KL to SFT (eval/kl_…).',
    ],
    task: 'sentiment',
    preset: 'tiny',
    overrides: {},
    stages: ['pretrain', 'sft', 'rm', 'ppo', 'dpo', 'bon', 'eval'],
    runs: [
      { label: 'PPO and DPO', overrides: {} },
      { label: 'IPO', overrides: { 'dpo.loss': 'ipo' } },
    ],
  },
  {
    id: 'grpo-group',
    title: 'GRPO: no critic, just a group',
    summary: 'GRPO with 8 completions per prompt against 2, on the same 1280 completions: each completion is judged against its own group instead of a value model.',
    text: [
      'PPO trains a value model to say whether a response turned out better than expected. GRPO (Shao et al. 2024) has none: it samples G completions of each prompt and gives each one the advantage (r − mean of its group) / (std of its group), on every one of its tokens. A k3 KL term to the SFT model (β = 0.04) sits in the loss, and the ratio is clipped asymmetrically (ε 0.2 below, 0.28 above: DAPO’s clip-higher). No critic to run or train: an iteration is one policy update.',
      'How large must a group be? Wu et al. (2025) report that GRPO with G = 2 matches G = 16 at an eighth of the rollouts. Both runs here sample the same 1280 completions, 32 an iteration, from one SFT model and one reward model: G = 8 with 4 prompts an iteration, then G = 2 with 16 (the second run keeps SFT and the reward model and trains only GRPO).',
      'Measured on the tiny preset (sentiment, seed 1; win rates against SFT on 64 held-out prompts): G = 8 won 97% (95% interval 89–99%) at a KL of 12.8 nats, held-out gold 0.77, in 173 s; G = 2 won 81% (70–89%) at 9.8 nats, gold 0.50, in 176 s — the same seconds, for the same completions. Two more GRPO seeds on the same SFT and reward model: G = 8 won 81% at 10.5 nats and 78% at 17.2; G = 2 won 78% at 9.6 and 77% at 13.5. At equal KL (the rollouts’ gold while the KL was between 8 and 11 nats) G = 8 was ahead on all three seeds, by 0.26, 0.03 and 0.05: on seeds 2 and 3 the small group nearly matched the large one, on seed 1 it did not. One reason to see in the numbers: with two completions the advantage is ±0.71 whatever the gap between their rewards (the std of two numbers is their difference over √2), so a reward-model score that is off by a little moves the policy as much as a real difference.',
    ],
    lookFor: [
      'reward and objective/gold rising per iteration in both runs; at G = 2 they are noisier.',
      'reward_std (the spread inside a group) and frac_reward_zero_std (groups whose completions all scored the same, e.g. all truncated: they teach nothing).',
      'The frontier chart: the two runs’ gold against √KL — which gains more gold for the same KL?',
      'Seconds per iteration against PPO’s in the instructGPT lesson: no value model.',
    ],
    task: 'sentiment',
    preset: 'tiny',
    overrides: { 'grpo.episodes': 1280 },
    stages: ['pretrain', 'sft', 'rm', 'grpo', 'eval'],
    runs: [
      { label: 'G = 8', overrides: {} },
      { label: 'G = 2', overrides: { 'grpo.groupSize': 2, 'grpo.promptsPerIteration': 16 } },
    ],
  },
  {
    id: 'verifiable-rewards',
    title: 'Verifiable rewards',
    summary: 'GRPO on the instructions task rewarded by an exact-answer check, with and without dynamic sampling, then by a reward model learned from rankings: the check cannot be fooled, but it only rewards what the policy already sometimes gets right.',
    text: [
      'A verifier checks an answer instead of judging it: on the instructions task (“reverse: kite” → “etik”, “add: 3 + 4” → “7”, …) the reward is 1 when the response is exactly the answer and 0 otherwise. RL with verifiable rewards (Tülu 3, Lambert et al. 2024; DeepSeek-R1) needs no labels and no reward model, and leaves nothing to over-optimize: a response is right or it is not. GRPO suits it: a right answer’s advantage is how much better it did than the rest of its group.',
      'All three runs start from one SFT model (400 steps on the task’s demonstrations at learning rate 2e-3) and train on 1536 completions, 16 per prompt. The first rewards them with the verifier. The second does too, with DAPO’s dynamic sampling (Yu et al. 2025): a group whose 16 completions all scored the same is set aside and the next prompts’ groups are sampled in its place, up to 4 more rounds an iteration. The third uses a reward model trained, as in the other lessons, on simulated labelers’ rankings of SFT samples. The later runs keep the SFT model.',
      'Measured on the tiny preset (seed 1; 64 held-out prompts, sampled at temperature 1): with the verifier the held-out exact-answer rate went from 9.4% (SFT) to 14.1% and gold from 0.29 to 0.32 (win rate 55% against SFT, interval 43–66%), at 0.68 nats of KL — a small step. The tiny model almost never answers sort, add or reverse exactly, and those are 45 of the 64 held-out prompts; its exact answers are mostly to the “sentiment:” prompts. So in 7 of the 24 iterations no group of four had any spread, and in 9 only one did: a group of zeros has no advantage and teaches nothing. Dynamic sampling kept the batches full of groups with a spread (about 11.5 groups sampled for the 4 kept: nearly 3× the sampling) and reached 12.5% exact, gold 0.34 — the same, within what 64 prompts can tell apart. It makes better use of what the policy sometimes gets right; it cannot reward what the policy never samples. The reward model had learned little (held-out accuracy 56%), and GRPO against it moved 3.2 nats away from SFT for nothing: 9.4% exact, gold 0.27, win rate 52%.',
      'How far could it go? A verifier can only reward an exact answer that turns up among the samples, so the lesson’s evaluation also draws 16 more answers to each held-out prompt (eval.passK = 16) and counts the prompts with at least one exact answer among them: pass@16. For the SFT model it is 19%, against 11% of its answers (pass@1 over the same 16). RL with a verifier mostly moves pass@1 toward pass@k (Yue et al. 2025). After GRPO with the verifier: pass@1 13%, pass@16 28% (6 more of the 64 prompts answered at least once). Training longer did not help: from an SFT model trained 1200 steps (pass@1 16%, pass@16 34%), 96 GRPO iterations (12,288 completions, 8× this lesson’s) left pass@1 at 16% (pass@16 30%), and even on its own training prompts the exact rate stayed at 51%. Each of the 640 training prompts came up about once, and what one answer teaches (this sum, this word reversed) does not carry over to the next prompt. Fresh prompts did not help either: with grpo.promptSource = generated (a new prompt from the task’s generator each time, never a held-out one) and 49,152 completions from that SFT model, the exact rate stayed at 18.8%. On new sums, sorts and reversals the training reward stayed flat (sums 4.5% → 5.7%), while kinds the model had memorised rose (count letters 80% → 95%, plurals 45% → 70%), and pass@16 fell from 34% to 23% as the policy narrowed. A better start did not change that. SFT on 19,200 demonstrations drawn from the generator (sft.promptSource = generated, 1200 steps of 16; 5,969 distinct prompts, against the 461 it trains on otherwise) learned some of the skill itself: 26.6% exact, pass@16 59% (after 1200 steps on the task’s 512 demonstrations: 18.8% and 34%), sorting best (greedy 46% of held-out sorts). GRPO with the verifier on fresh prompts still added nothing: 28.1% exact after 24,576 completions at the default learning rate (from a like SFT model trained on 40,000 generated demonstrations), and 21.9% at learning rate 1e-3 with two optimizer steps a batch and dynamic sampling, where pass@16 fell to 34%. A longer run in smaller groups did better: 32 prompts an iteration in groups of 4, dynamic sampling (2 more rounds), the default learning rate and 32,768 completions (256 iterations, 54 minutes on a 2-core CPU) reached 32.8% exact (pass@1 over 16 answers 27.1% → 31.9%), gold 0.555 against 0.516 and a win rate of 56% (44–68%: not clearly above even), at 0.33 nats — a gain in pass@1 beyond its sampling noise, but about 1.5 points per 10,000 completions, mostly on sorts (their training reward in the batches kept: 38% → 45%). A verifier works best where the answers share a skill the policy can learn and already sometimes shows.',
    ],
    lookFor: [
      'reward (with the verifier: the share of exact answers in the batch) and frac_reward_zero_std, the share of groups with nothing to compare; with dynamic sampling, sampling/groups_drawn.',
      'objective/kl: the verifier runs stay near SFT.',
      'The reward model’s held-out accuracy (rm/heldout_accuracy) in the third run: can it tell a right answer from a wrong one?',
      'Latest metrics: eval/verifier_rate_grpo against eval/verifier_rate_sft, and eval/win_rate_grpo, in each run.',
      'eval/pass_at_k_sft against eval/pass_at_1_sft: how often 16 tries of SFT hold an exact answer, against one; then the same pair for GRPO.',
    ],
    task: 'instructions',
    preset: 'tiny',
    overrides: { 'sft.steps': 400, 'sft.lr': 2e-3, 'grpo.groupSize': 16, 'grpo.promptsPerIteration': 4, 'grpo.episodes': 1536, 'eval.passK': 16 },
    stages: ['pretrain', 'sft', 'grpo', 'eval'],
    runs: [
      { label: 'Verifier', overrides: { 'grpo.rewardSource': 'verifier' } },
      { label: 'Verifier, dynamic sampling', overrides: { 'grpo.rewardSource': 'verifier', 'grpo.dynamicSampling': 4 } },
      { label: 'Reward model', overrides: { 'grpo.rewardSource': 'rm' }, stages: ['pretrain', 'sft', 'rm', 'grpo', 'eval'] },
    ],
  },
  {
    id: 'ensembles',
    title: 'Ensembles against reward hacking',
    summary: 'GRPO with no KL penalty against one reward model, then against four combined by their minimum (WCO) and by mean − λ·variance (UWO).',
    text: [
      'With β = 0 nothing holds the policy near the SFT model, and it learns whatever the reward model over-rates: the hidden gold reward rises, peaks and falls while the reward keeps rising (Gao et al. 2022). Coste et al. (2024) train several reward models instead of one — here four, each on its own bootstrap resample of the rankings, with its own seeds — and score a response with all of them: by their minimum (worst-case optimisation, WCO: a response is only as good as its most sceptical judge) or by their mean minus λ times their variance (uncertainty-weighted optimisation, UWO: disagreement costs reward). Where the members disagree is where one model’s score is least to be trusted.',
      'The first run trains SFT and the reward model and runs GRPO at β = 0 against it. The second trains the ensemble (four members one after another: the longest stage of the lesson) and runs GRPO against their minimum. The third keeps everything and changes only how the members combine: UWO with λ = 0.5.',
      'Measured on the tiny preset (sentiment, seed 1; GRPO with 768 completions at β = 0): against one reward model the rollouts’ gold peaked at 0.56 at iteration 17 of 24 and ended at 0.54 (held-out gold 0.55; win rate 88% against SFT at 8.6 nats). Against WCO it was still rising at the end, 0.73 at the last iteration (held-out 0.60; 91% at 14.9 nats). Against UWO it peaked at 0.55 at iteration 14 and fell to 0.47 (held-out 0.48; 81% at 9.6 nats). So here WCO put off over-optimization past the end of the run and reached the most gold, at the most KL; UWO with an untuned λ peaked earlier and fell further than the single reward model. One seed each: try λ, and β, yourself.',
    ],
    lookFor: [
      'objective/gold against reward in each run: where does gold turn down while the reward still rises?',
      'The ensemble stage: every member’s held-out accuracy, and how much the members disagree.',
      'The frontier chart: the three runs’ gold against √KL.',
      'Samples: what the policy writes once gold has started to fall.',
    ],
    task: 'sentiment',
    preset: 'tiny',
    overrides: { 'grpo.beta': 0 },
    stages: ['pretrain', 'sft', 'rm', 'grpo', 'eval'],
    runs: [
      { label: 'One reward model', overrides: {} },
      { label: 'WCO: the minimum of 4', overrides: { 'grpo.rewardSource': 'ensemble', 'ensemble.combine': 'min' }, stages: ['pretrain', 'sft', 'rm', 'ensemble', 'grpo', 'eval'] },
      { label: 'UWO: mean − 0.5·variance', overrides: { 'grpo.rewardSource': 'ensemble', 'ensemble.combine': 'uwo' }, stages: ['pretrain', 'sft', 'rm', 'ensemble', 'grpo', 'eval'] },
    ],
  },
];

export function findLesson(id: string): Lesson | undefined {
  return LESSONS.find((l) => l.id === id);
}

/** The lesson named by a URL query (`?lesson=<id>`), if it names a known one. */
export function lessonFromSearch(search: string): Lesson | undefined {
  const id = new URLSearchParams(search).get('lesson');
  return id === null ? undefined : findLesson(id);
}

/** What to run for a lesson: per run, a configuration (the lesson's overrides, then the run's) and the stages. */
export function lessonSteps(lesson: Lesson): LessonStepPlan[] {
  const runs = lesson.runs ?? [{ label: lesson.title, overrides: {} }];
  return runs.map((run) => ({
    label: run.label,
    task: lesson.task,
    preset: lesson.preset,
    overrides: { ...lesson.overrides, ...run.overrides },
    stages: (run.stages ?? lesson.stages).slice(),
  }));
}
