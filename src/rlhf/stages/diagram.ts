// The pipeline diagram's vocabulary (src/ui/PipelineDiagram.tsx draws it): the boxes of the RLHF loop and the live
// numbers on its arrows. A stage says in its descriptor (`diagram`) which boxes it uses, which of its metrics feeds
// each number, and which boxes its explanation belongs to — the page has no per-method code for it.
// Types and constants only (the page's main bundle imports it through the descriptors).

/**
 * The boxes, in the loop's order: prompts → policy → responses → reward model → reward − β·KL (`penalty`) →
 * advantages → update (→ policy again), and the frozen SFT reference beside the policy (the KL is to it).
 */
export const DIAGRAM_BOXES = ['prompts', 'policy', 'responses', 'reward-model', 'penalty', 'advantages', 'update', 'reference'] as const;
export type DiagramBox = (typeof DIAGRAM_BOXES)[number];

/**
 * The live numbers on the arrows: the proxy reward (the reward model's score), the KL to the SFT reference, the KL
 * coefficient β, the spread of the advantages (before whitening) and the policy's clip fraction.
 */
export const DIAGRAM_NUMBERS = ['reward', 'kl', 'beta', 'advantage', 'clipfrac'] as const;
export type DiagramNumber = (typeof DIAGRAM_NUMBERS)[number];

/** How a stage appears on the pipeline diagram. */
export interface StageDiagram {
  /** The boxes the stage uses: lit while it runs (and after, while it is the last stage that ran). */
  readonly lit: readonly DiagramBox[];
  /** The metric (one the stage's own records carry) that feeds each number; a number without one shows "—". */
  readonly numbers?: Partial<Record<DiagramNumber, string>>;
  /**
   * The boxes whose explanation is always this stage's, whichever stage runs (the reward model's box is the
   * reward-model stage's, the SFT reference's SFT's). Any other box opens the explanation of the stage shown when it
   * uses the box, else that of the stage that uses every box (PPO).
   */
  readonly explains?: readonly DiagramBox[];
}
