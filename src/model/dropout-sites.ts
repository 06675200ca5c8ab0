// The dropout sites of one GPT forward pass, the `site` of each mask's key: the embeddings, then two per block.
// The GPU model (src/model/gpt.ts) and the float64 reference (src/reference/gpt.ts) both number them from here,
// so their masks cannot drift apart. No imports: the reference stays free of the GPU path.
export const SITE_EMBEDDING = 0;
export const siteAttn = (layer: number) => 1 + 2 * layer;
export const siteMlp = (layer: number) => 2 + 2 * layer;
