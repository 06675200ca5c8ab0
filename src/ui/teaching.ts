// The lab's teaching text: for every pipeline stage what it is, why it is there and what a healthy run shows, and
// the objectives written out as formulas (plain text with Unicode, each symbol explained). Each stage declares its
// own (src/rlhf/stages/<id>.ts `teaching`); sources are named with each formula. Metric meanings live with the
// metrics themselves (src/rlhf/metrics.ts METRICS); Explain.tsx shows both.
import { STAGE_REGISTRY, type StageId } from '../rlhf/stages';
import type { Formula, StageTeaching } from '../rlhf/stages/types';

export type { Formula, StageTeaching };

export const STAGE_TEACHING: Readonly<Record<StageId, StageTeaching>> = Object.freeze(
  Object.fromEntries(STAGE_REGISTRY.map((s): [StageId, StageTeaching] => [s.id, s.teaching])) as Record<StageId, StageTeaching>,
);
