// The one table of training metrics shared by the worker, the CLI and the UI: names, what each means, what healthy
// looks like; and alarms that name the likely cause when a run goes wrong. Pure TypeScript (Node and Web Worker).
//
// Names follow Hugging Face TRL's PPOTrainer/RewardTrainer/SFTTrainer logs (the `_avg` suffixes dropped) so users
// recognise them; policy/sqrt_kl is trlX's (the x-axis of Anthropic's HH-RLHF and Gao et al.'s over-optimization
// plots). Healthy-run guidance: TRL's PPO docs and "The N Implementation Details of RLHF with PPO" (Huang et al.).
// KL metrics are in nats, summed over a response's tokens and averaged over the batch (TRL's objective/kl).

export type Stage = 'pretrain' | 'sft' | 'rm' | 'ppo' | 'bon' | 'eval';

export interface MetricInfo {
  /** The stages that log this metric (lr and grad_norm appear in several). */
  readonly stages: readonly Stage[];
  /** Short label for a chart title or a table header. */
  readonly label: string;
  /** One line: what the number is. */
  readonly meaning: string;
  /** What a healthy run shows. */
  readonly healthy?: string;
  readonly unit?: string;
}

const table = {
  // ---- SFT (and shared) ----
  loss: {
    stages: ['pretrain', 'sft'],
    label: 'LM loss',
    meaning: 'Mean next-token cross-entropy: of every token when pretraining, of the response tokens only in SFT (prompt tokens carry no loss).',
    healthy: 'Falls quickly, then flattens; validation loss rising while training loss falls means overfitting.',
    unit: 'nats/token',
  },
  'sft/heldout_loss': {
    stages: ['sft'],
    label: 'SFT held-out loss',
    meaning: 'Cross-entropy of the response tokens of held-out demonstrations (dropout off), after SFT.',
    healthy: 'Close to the final training loss; far above it means the demonstrations were memorised.',
    unit: 'nats/token',
  },
  mean_token_accuracy: {
    stages: ['sft'],
    label: 'Token accuracy',
    meaning: "Fraction of response tokens where the model's most likely next token is the target.",
    healthy: 'Rises along with falling loss.',
  },
  entropy: {
    stages: ['sft'],
    label: 'Entropy',
    meaning: "Mean entropy of the model's next-token distribution over response tokens.",
    healthy: 'Falls slowly; a collapse toward 0 means the model has become (over)confident.',
    unit: 'nats/token',
  },
  lr: {
    stages: ['pretrain', 'sft', 'rm', 'ppo'],
    label: 'Learning rate',
    meaning: 'Learning rate of the optimizer at this step (after warm-up/schedule).',
  },
  grad_norm: {
    stages: ['pretrain', 'sft', 'rm', 'ppo'],
    label: 'Gradient norm',
    meaning: 'Global L2 norm of the gradient before clipping.',
    healthy: 'Roughly steady; sudden spikes precede divergence.',
  },

  // ---- reward model ----
  'rm/loss': {
    stages: ['rm'],
    label: 'RM loss',
    meaning: 'Ranking loss −1/C(K,2)·Σ log σ(r_w − r_l) over all pairs of a prompt, averaged over prompts.',
    healthy: 'Starts at log 2 ≈ 0.693 (all rewards equal) and falls; one epoch only (more overfits).',
    unit: 'nats',
  },
  'rm/accuracy': {
    stages: ['rm'],
    label: 'RM accuracy',
    meaning: 'Fraction of training comparison pairs where the RM scores the preferred response higher.',
    healthy: 'Above 0.5 and rising; capped near the labelers’ own agreement (≈ 0.73 in InstructGPT).',
  },
  'rm/heldout_accuracy': {
    stages: ['rm'],
    label: 'RM held-out accuracy',
    meaning: 'Pairwise accuracy on held-out comparisons the RM never trained on.',
    healthy: 'Close to training accuracy; a widening gap means overfitting.',
  },
  'rm/gold_agreement': {
    stages: ['rm'],
    label: 'RM–gold agreement',
    meaning: "Fraction of response pairs the RM orders the same way as the hidden gold reward.",
    healthy: 'Well above 0.5; can exceed held-out accuracy because gold labels have no labeler noise.',
  },
  'rm/labeler_gold_agreement': {
    stages: ['rm'],
    label: 'Labelers–gold agreement',
    meaning: 'Fraction of held-out pairs the (simulated) labelers themselves ordered as the gold reward does: the yardstick for RM–gold agreement.',
    healthy: 'Near the target agreement (0.73 by default); the RM can match it but rarely beat it.',
  },
  'rm/inter_labeler_agreement': {
    stages: ['rm'],
    label: 'Inter-labeler agreement',
    meaning: 'How often a second, independent simulated labeler agrees with the held-out labels: the yardstick for RM held-out accuracy (InstructGPT: 72.6%).',
    healthy: 'Below the labelers–gold agreement (both labelers are noisy); an RM near or above it has learned what the labels can teach.',
  },
  'rm/margin': {
    stages: ['rm'],
    label: 'RM margin',
    meaning: 'Mean reward difference r_w − r_l over comparison pairs.',
    healthy: 'Positive and growing slowly; exploding margins mean overconfident rewards.',
  },
  'rm/reward_mean': {
    stages: ['rm'],
    label: 'RM mean reward',
    meaning: 'Mean RM score over the batch’s responses (demonstrations are normalised to mean 0 after training).',
  },
  'rm/reward_min': {
    stages: ['rm'],
    label: 'RM min reward',
    meaning: 'Smallest RM score in the batch.',
  },
  'rm/reward_max': {
    stages: ['rm'],
    label: 'RM max reward',
    meaning: 'Largest RM score in the batch.',
  },

  // ---- PPO ----
  'objective/scores': {
    stages: ['ppo'],
    label: 'RM score',
    meaning: 'Mean reward-model score of the sampled responses (the proxy reward, before the KL penalty).',
    healthy: 'Rises; rising while objective/gold falls is reward over-optimization.',
  },
  'objective/gold': {
    stages: ['ppo'],
    label: 'Gold reward',
    meaning: 'Mean hidden gold reward of the sampled responses (what the labelers actually wanted).',
    healthy: 'Rises with the RM score; first rises then falls when over-optimizing (Gao et al.).',
  },
  'objective/kl': {
    stages: ['ppo'],
    label: 'KL to SFT',
    meaning: 'KL(π ‖ π_SFT) per response: per-token log-ratio summed over the response, mean over the batch.',
    healthy: 'Grows slowly from 0, usually between 0 and 10; negative means sampling is not from the policy.',
    unit: 'nats',
  },
  'objective/kl_stderr': {
    stages: ['ppo'],
    label: 'KL standard error',
    meaning: 'Standard error of objective/kl: the standard deviation of per-response KL over the batch, divided by √(batch size).',
    healthy: 'Small next to objective/kl; a negative objective/kl within 3 of these is sampling noise, not a bug.',
    unit: 'nats',
  },
  'objective/entropy': {
    stages: ['ppo'],
    label: 'Policy entropy',
    meaning: "Entropy of the policy's token distribution, summed over a response, mean over the batch.",
    healthy: 'Declines slowly; a collapse means repeated-token / mode collapse.',
    unit: 'nats',
  },
  'objective/non_score_reward': {
    stages: ['ppo'],
    label: 'KL penalty',
    meaning: 'The KL part of the reward, −β·KL summed over a response, mean over the batch.',
    healthy: 'Small and negative.',
  },
  'objective/rlhf_reward': {
    stages: ['ppo'],
    label: 'RLHF reward',
    meaning: 'What PPO maximises: objective/scores + objective/non_score_reward.',
    healthy: 'Keeps rising.',
  },
  'objective/kl_coef': {
    stages: ['ppo'],
    label: 'KL coefficient β',
    meaning: 'The current KL penalty coefficient β (fixed, or set by the adaptive KL controller).',
  },
  'policy/approxkl': {
    stages: ['ppo'],
    label: 'Approx. KL (old→new)',
    meaning: 'Mean over tokens of ½(log π_new − log π_old)²: how far one PPO update moved the policy.',
    healthy: 'Small (≈ 0.01 or below); large values mean updates are too aggressive.',
    unit: 'nats',
  },
  'policy/clipfrac': {
    stages: ['ppo'],
    label: 'Policy clip fraction',
    meaning: 'Fraction of tokens where the clipped surrogate was active (the ratio left [1−ε, 1+ε]).',
    healthy: 'Low (below ≈ 0.2); high means the learning rate is too large.',
  },
  'policy/sqrt_kl': {
    stages: ['ppo'],
    label: '√KL',
    meaning: 'Square root of objective/kl: the x-axis on which reward grows roughly linearly (Anthropic, Gao et al.).',
    unit: '√nats',
  },
  'loss/policy': {
    stages: ['ppo'],
    label: 'Policy loss',
    meaning: 'Clipped surrogate loss, mean over tokens of max(−A·ρ, −A·clip(ρ, 1±ε)).',
    healthy: 'Small and noisy around 0 (advantages are whitened).',
  },
  'loss/value': {
    stages: ['ppo'],
    label: 'Value loss',
    meaning: 'Clipped value loss, ½·mean over tokens of max((v − R)², (v_clip − R)²).',
    healthy: 'Falls and stays bounded; spikes or NaN mean trouble.',
  },
  'loss/ptx': {
    stages: ['ppo'],
    label: 'Pretraining loss (ptx)',
    meaning: 'Language-model loss on pretraining data mixed into PPO (PPO-ptx; 0 / absent for plain PPO).',
    healthy: 'Stays near its SFT-time level (that is the point of mixing it in).',
    unit: 'nats/token',
  },
  'val/clipfrac': {
    stages: ['ppo'],
    label: 'Value clip fraction',
    meaning: 'Fraction of tokens where the clipped value loss was the larger one.',
    healthy: 'Low; high means the value head moves too fast.',
  },
  'val/ratio': {
    stages: ['ppo'],
    label: 'Policy ratio',
    meaning: 'Mean over tokens of ρ = π_new/π_old within the PPO update.',
    healthy: 'Stays near 1.0.',
  },
  'val/ratio_var': {
    stages: ['ppo'],
    label: 'Policy ratio variance',
    meaning: 'Variance of the policy ratio ρ.',
    healthy: 'Small.',
  },
  'val/num_eos_tokens': {
    stages: ['ppo'],
    label: 'EOS count',
    meaning: 'Number of sampled responses in the batch that ended with EOS (the rest get the no-EOS penalty).',
    healthy: 'Most of the batch; falling means responses run to the length limit (length hacking).',
  },
  'val/explained_variance': {
    stages: ['ppo'],
    label: 'Explained variance',
    meaning: 'How much of the returns’ variance the value head predicts: 1 − Var(R − V)/Var(R).',
    healthy: 'Rises toward 1; negative means the value head is worse than predicting the mean.',
  },
  'val/response_length': {
    stages: ['ppo'],
    label: 'Response length',
    meaning: 'Mean number of tokens per sampled response.',
    healthy: 'Roughly stable; steady growth with a rising RM score hints at length hacking.',
    unit: 'tokens',
  },
  episode: {
    stages: ['ppo'],
    label: 'Episodes',
    meaning: 'Number of responses (prompt → response → reward episodes) sampled so far.',
  },
  eps: {
    stages: ['ppo'],
    label: 'Episodes/s',
    meaning: 'Throughput: episodes per second over the last PPO iteration.',
    unit: 'episodes/s',
  },

  // ---- best-of-N ----
  'bon/proxy': {
    stages: ['bon'],
    label: 'Best-of-N RM score',
    meaning: 'Mean RM (proxy) score of the RM-preferred response out of N samples of the SFT policy.',
    healthy: 'Rises with N.',
  },
  'bon/gold': {
    stages: ['bon'],
    label: 'Best-of-N gold reward',
    meaning: 'Mean hidden gold reward of the RM-preferred response out of N samples.',
    healthy: 'Rises with N, then flattens or falls as the RM is over-optimized (Gao et al.).',
  },
  'bon/kl_bound': {
    stages: ['bon'],
    label: 'Best-of-N KL bound',
    meaning: 'Upper bound on KL(best-of-N ‖ SFT): log N − (N − 1)/N.',
    unit: 'nats',
  },

  // ---- evaluation ----
  'eval/win_rate': {
    stages: ['eval'],
    label: 'Win rate vs SFT',
    meaning: 'Fraction of prompts where the PPO response beats the SFT response by gold reward (ties count ½).',
    healthy: 'Above 0.5.',
  },
  'eval/win_rate_lo': {
    stages: ['eval'],
    label: 'Win rate 95% CI low',
    meaning: 'Lower end of the 95% Wilson confidence interval of the win rate.',
    healthy: 'Above 0.5 means PPO is reliably better.',
  },
  'eval/win_rate_hi': {
    stages: ['eval'],
    label: 'Win rate 95% CI high',
    meaning: 'Upper end of the 95% Wilson confidence interval of the win rate.',
  },
  'eval/gold_sft': {
    stages: ['eval'],
    label: 'Gold reward (SFT)',
    meaning: 'Mean hidden gold reward of the SFT policy on the evaluation prompts.',
  },
  'eval/gold_ppo': {
    stages: ['eval'],
    label: 'Gold reward (PPO)',
    meaning: 'Mean hidden gold reward of the PPO policy on the evaluation prompts.',
    healthy: 'Above eval/gold_sft.',
  },
  'eval/proxy_sft': {
    stages: ['eval'],
    label: 'RM score (SFT)',
    meaning: "Mean reward-model score of the SFT policy's responses on the evaluation prompts.",
  },
  'eval/proxy_ppo': {
    stages: ['eval'],
    label: 'RM score (PPO)',
    meaning: "Mean reward-model score of the PPO policy's (EMA weights) responses on the evaluation prompts.",
    healthy: 'Above eval/proxy_sft; far above while gold is not means the reward model is being exploited.',
  },
} as const satisfies Record<string, MetricInfo>;

export type MetricName = keyof typeof table;

/** Every metric, keyed by name; frozen (entries and their stage lists too). */
export const METRICS: Readonly<Record<MetricName, MetricInfo>> = Object.freeze(
  Object.fromEntries(
    Object.entries(table).map(([name, info]) => [name, Object.freeze({ ...info, stages: Object.freeze([...info.stages]) })]),
  ) as Record<MetricName, MetricInfo>,
);

export const METRIC_NAMES = Object.freeze(Object.keys(table) as MetricName[]);

export function isMetricName(name: string): name is MetricName {
  return Object.prototype.hasOwnProperty.call(METRICS, name);
}

/** One logged row: the stage and step it belongs to, plus any metrics. */
export type MetricRecord = { stage: Stage; step: number } & Partial<Record<MetricName, number>>;

// ---- alarms ----

/**
 * Mean KL below this (nats) means samples are not from the policy (N-details: top-k/top-p, min-length sampling) —
 * when it is also below 0 by more than NEGATIVE_KL_STDERRS standard errors (objective/kl_stderr): the k1 estimate of
 * a small batch (nano's 4 responses) can be −0.1 by chance.
 */
export const NEGATIVE_KL_THRESHOLD = -0.1;
export const NEGATIVE_KL_STDERRS = 3;
/** Mean KL above this (nats per response) is a KL blow-up: the policy has run far from the SFT model. */
export const KL_BLOWUP_THRESHOLD = 50;
/** val/ratio outside [RATIO_MIN, RATIO_MAX] is a ratio explosion (the healthy value is ≈ 1). */
export const RATIO_MIN = 0.5;
export const RATIO_MAX = 2;

export interface Alarm {
  metric: MetricName | 'step';
  message: string;
}

/** Likely causes of a non-finite value, for the metrics where we know better than "something diverged". */
const NON_FINITE_CAUSES: Partial<Record<MetricName, string>> = {
  'loss/value': 'the value head diverged — lower the learning rate, scale/whiten rewards, or tighten the value clip',
  'loss/policy': 'the policy update diverged — lower the learning rate; check for −Inf log-probs',
  'objective/kl': 'a sampled token has probability 0 under the policy or the reference — check sampling settings',
  'objective/scores': 'the reward model produced NaN/Inf — check its weights and inputs',
  'rm/loss': 'the reward model diverged — lower the learning rate',
  loss: 'training diverged — lower the learning rate or clip gradients',
  grad_norm: 'a gradient overflowed — lower the learning rate or clip gradients',
};

function describe(v: number): string {
  return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
}

/**
 * The first alarm a record raises, most severe first, or undefined for a healthy record:
 *   any non-finite metric (NaN/Inf), KL blow-up (> KL_BLOWUP_THRESHOLD), negative KL (< NEGATIVE_KL_THRESHOLD and,
 *   where the record has objective/kl_stderr, below 0 by more than NEGATIVE_KL_STDERRS of it),
 *   ratio explosion (val/ratio outside [RATIO_MIN, RATIO_MAX]). The message names the metric and the likely cause.
 */
export function checkAlarms(record: MetricRecord): Alarm | undefined {
  if (!Number.isFinite(record.step)) return { metric: 'step', message: `step is ${describe(record.step)}: the caller logged a bad step number` };
  for (const name of METRIC_NAMES) {
    const v = record[name];
    if (v === undefined || Number.isFinite(v)) continue;
    const cause = NON_FINITE_CAUSES[name] ?? 'a NaN/Inf entered training — lower the learning rate and check the inputs';
    return { metric: name, message: `${name} is ${describe(v)}: ${cause}` };
  }
  const kl = record['objective/kl'];
  if (kl !== undefined && kl > KL_BLOWUP_THRESHOLD) {
    return {
      metric: 'objective/kl',
      message:
        `objective/kl is ${kl.toFixed(2)} nats (> ${KL_BLOWUP_THRESHOLD}): KL blow-up — the policy has run far from the ` +
        'SFT model; raise β (kl_coef) or use the adaptive KL controller, lower the learning rate',
    };
  }
  const stderr = record['objective/kl_stderr'];
  if (kl !== undefined && kl < NEGATIVE_KL_THRESHOLD && (stderr === undefined || kl < -NEGATIVE_KL_STDERRS * stderr)) {
    const noise = stderr === undefined ? '' : `, ${(-kl / stderr).toFixed(1)} standard errors below 0`;
    return {
      metric: 'objective/kl',
      message:
        `objective/kl is ${kl.toFixed(3)} nats (< ${NEGATIVE_KL_THRESHOLD}${noise}): negative mean KL — responses are not sampled ` +
        'from the policy; sample with top_k = 0, top_p = 1, temperature as in the log-prob pass, and no min-length forcing',
    };
  }
  const ratio = record['val/ratio'];
  if (ratio !== undefined && (ratio < RATIO_MIN || ratio > RATIO_MAX)) {
    return {
      metric: 'val/ratio',
      message:
        `val/ratio is ${ratio.toFixed(3)} (outside [${RATIO_MIN}, ${RATIO_MAX}]): ratio explosion — the policy moved too far ` +
        'within one PPO update; lower the learning rate, use fewer inner epochs or a smaller clip range',
    };
  }
  return undefined;
}

// ---- export ------------------------------------------------------------------------------------------------------

const csvCell = (v: unknown): string => {
  const s = v === undefined || v === null ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/**
 * CSV of metric records, one line per record (each line ends in \n): columns stage, step, then every metric name
 * that occurs in any record, in METRICS order (names the table does not know follow, in first-seen order). A
 * metric a record lacks is an empty cell; numbers are written as JavaScript prints them (NaN, Infinity included).
 */
export function metricsToCsv(records: readonly MetricRecord[]): string {
  const present = new Set<string>();
  for (const r of records) for (const k of Object.keys(r)) if (k !== 'stage' && k !== 'step') present.add(k);
  const known = METRIC_NAMES.filter((n) => present.has(n));
  const unknown = [...present].filter((n) => !(n in METRICS));
  const columns = ['stage', 'step', ...known, ...unknown];
  const lines = [columns, ...records.map((r) => columns.map((c) => (r as Record<string, unknown>)[c]))];
  return lines.map((cells) => `${cells.map(csvCell).join(',')}\n`).join('');
}

/** JSON Lines: one record per line as JSON.stringify writes it (non-finite numbers become null, as in JSON). */
export function metricsToJsonl(records: readonly MetricRecord[]): string {
  return records.map((r) => `${JSON.stringify(r)}\n`).join('');
}
