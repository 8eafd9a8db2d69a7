/**
 * The hyperparameters llama.cpp asserts on (GGML_ASSERT aborts the whole process, so a library cannot catch it),
 * checked from the GGUF header before llama.cpp reads the file. From llama.cpp's `llama_model_base::load_hparams`
 * (every architecture), its ggml kernels (norm epsilons, attention head grouping) and the llama graph (head sizes),
 * for the release node-llama-cpp bundles. Values of the wrong GGUF type are left to llama.cpp, which refuses them
 * with an error, not an abort; so are missing required keys.
 */
import { invalid } from './cursor.js';
import { type GgufHeader, ggufMetadataNumber, ggufMetadataString } from './reader.js';

/** llama.cpp's LLAMA_MAX_LAYERS and LLAMA_MAX_EXPERTS (src/llama-hparams.h). */
export const LLAMA_MAX_LAYERS = 512;
export const LLAMA_MAX_EXPERTS = 1024;
/** llama.cpp's rope scaling types (LLAMA_ROPE_SCALING_TYPES); any other string aborts the load. */
export const ROPE_SCALING_TYPES = ['none', 'linear', 'yarn', 'longrope'] as const;
/** Fewest tokens a training context can have for anything to be scored (one of context, one target). */
export const MIN_TRAINING_CONTEXT = 2;

/** Architectures whose graph is llama's (same attention and head-size asserts). */
const LLAMA_GRAPHS = new Set(['llama', 'llama-embed']);

/** A scalar or per-layer array of numbers: the values (one per layer for arrays), or undefined when absent. */
function numbersOf(header: GgufHeader, key: string): number[] | undefined {
  const entry = header.metadata.get(key);
  if (entry === undefined) return undefined;
  if (entry.type !== 'array') {
    const value = ggufMetadataNumber(header, key);
    return value === undefined ? undefined : [value];
  }
  if (entry.value === undefined) return undefined;
  return Array.from(entry.value as ArrayLike<unknown>, Number);
}

/** Checks the hyperparameters of the header's architecture; throws MODEL_INVALID naming the key on the first bad one. */
export function checkHyperparameters(header: GgufHeader): void {
  const architecture = ggufMetadataString(header, 'general.architecture');
  if (architecture === undefined) return; // llama.cpp refuses a file without one, with an error
  const key = (suffix: string): string => `${architecture}.${suffix}`;
  const fail = (message: string): never => {
    throw invalid(header.path, `${message}: llama.cpp would abort the process loading it`);
  };
  const number = (suffix: string): number | undefined => ggufMetadataNumber(header, key(suffix));

  const context = number('context_length');
  if (context !== undefined && context < MIN_TRAINING_CONTEXT) {
    throw invalid(
      header.path,
      `${key('context_length')} is ${context}: a model trained on fewer than ${MIN_TRAINING_CONTEXT} tokens of context cannot score any token`,
    );
  }
  const layers = number('block_count');
  if (layers !== undefined && (layers < 1 || layers > LLAMA_MAX_LAYERS)) {
    fail(`${key('block_count')} is ${layers}, outside 1..${LLAMA_MAX_LAYERS}`);
  }
  const nextn = number('nextn_predict_layers');
  if (nextn !== undefined && layers !== undefined && nextn > layers) {
    fail(`${key('nextn_predict_layers')} is ${nextn}, more than the ${layers} blocks`);
  }
  const embedding = number('embedding_length');
  if (embedding !== undefined && embedding < 1) fail(`${key('embedding_length')} is ${embedding}`);
  checkExperts(header, architecture, fail);
  const scaling = ggufMetadataString(header, key('rope.scaling.type'));
  if (scaling !== undefined && !(ROPE_SCALING_TYPES as readonly string[]).includes(scaling)) {
    fail(`${key('rope.scaling.type')} is ${JSON.stringify(scaling)}, not one of ${ROPE_SCALING_TYPES.join(', ')}`);
  }
  for (const suffix of ['attention.layer_norm_rms_epsilon', 'attention.layer_norm_epsilon']) {
    const epsilon = number(suffix);
    // ggml's norm kernels assert eps >= 0 (a NaN fails it) at the first decode.
    if (epsilon !== undefined && !(Number.isFinite(epsilon) && epsilon >= 0)) {
      fail(`${key(suffix)} is ${epsilon}, not a finite non-negative number`);
    }
  }
  checkAttentionHeads(header, architecture, fail);
}

function checkExperts(header: GgufHeader, architecture: string, fail: (message: string) => never): void {
  const key = (suffix: string): string => `${architecture}.${suffix}`;
  let experts = ggufMetadataNumber(header, key('expert_count')) ?? 0;
  let used = Math.max(0, ...(numbersOf(header, key('expert_used_count')) ?? [0]));
  const groups = ggufMetadataNumber(header, key('expert_group_count')) ?? 0;
  const groupsUsed = ggufMetadataNumber(header, key('expert_group_used_count')) ?? 0;
  if ((architecture === 'hunyuan-vl' || architecture === 'hunyuan-dense') && experts <= 1) {
    experts = 0; // llama.cpp treats these as dense
    used = 0;
  }
  if (experts > LLAMA_MAX_EXPERTS) fail(`${key('expert_count')} is ${experts}, more than ${LLAMA_MAX_EXPERTS}`);
  if (used > experts) {
    fail(
      experts === 0
        ? `${key('expert_used_count')} is ${used} but the model has no experts (${key('expert_count')} is 0 or absent)`
        : `${key('expert_used_count')} is ${used}, more than the ${experts} experts`,
    );
  }
  if (experts > 0) {
    if (used === 0) fail(`${key('expert_count')} is ${experts} but ${key('expert_used_count')} is 0 or absent`);
    if (groups >= experts) fail(`${key('expert_group_count')} is ${groups}, not fewer than the ${experts} experts`);
    if (groups > 1 && experts % groups !== 0) {
      fail(`${key('expert_count')} ${experts} is not a multiple of ${key('expert_group_count')} ${groups}`);
    }
    if (groups > 1 && !(groupsUsed > 0 && groupsUsed < groups)) {
      fail(`${key('expert_group_used_count')} is ${groupsUsed}, not between 1 and ${groups - 1}`);
    }
  } else if (groups !== 0) {
    fail(`${key('expert_group_count')} is ${groups} but the model has no experts`);
  }
}

/**
 * Attention heads: ggml multiplies grouped-query heads by broadcasting, which asserts that every layer's key/value
 * heads divide its heads (a zero divides nothing: llama.cpp then divides by zero). For llama's graph, also what it
 * asserts about head sizes.
 */
function checkAttentionHeads(header: GgufHeader, architecture: string, fail: (message: string) => never): void {
  const key = (suffix: string): string => `${architecture}.${suffix}`;
  const heads = numbersOf(header, key('attention.head_count'));
  if (heads === undefined) return;
  const kvHeads = numbersOf(header, key('attention.head_count_kv')) ?? heads;
  const llamaGraph = LLAMA_GRAPHS.has(architecture);
  for (let layer = 0; layer < Math.max(heads.length, kvHeads.length); layer++) {
    const h = heads[Math.min(layer, heads.length - 1)];
    const kv = kvHeads[Math.min(layer, kvHeads.length - 1)];
    const where = heads.length > 1 || kvHeads.length > 1 ? ` in layer ${layer}` : '';
    if (llamaGraph && h < 1) fail(`${key('attention.head_count')} is ${h}${where}`);
    if (h > 0 && (kv < 0 || (kv === 0 && llamaGraph) || (kv > 0 && h % kv !== 0))) {
      fail(`${key('attention.head_count_kv')} is ${kv}${where}, not a divisor of the ${h} attention heads`);
    }
  }
  if (!llamaGraph) return;
  const keyLength = ggufMetadataNumber(header, key('attention.key_length'));
  const valueLength = ggufMetadataNumber(header, key('attention.value_length'));
  if (keyLength !== undefined && valueLength !== undefined && keyLength !== valueLength) {
    fail(`${key('attention.key_length')} ${keyLength} differs from ${key('attention.value_length')} ${valueLength}`);
  }
}
