/**
 * Random weights stored in llama.cpp's quantized formats (Q8_0, Q5_0, Q4_K), for benchmark models of the types users
 * score with. Quantizing random floats would cost minutes and buy nothing: a matmul costs the same whatever the
 * quants are, so the blocks get random quants from a seeded PRNG under fixed scales chosen so that every weight lies
 * in ±amplitude, as the float models' uniform weights do.
 */
import { float32ToFloat16Bits } from './float16.js';

/** The quantized types a random model can store its matrices in. */
export type RandomQuantType = 'Q8_0' | 'Q5_0' | 'Q4_K';

/** Elements per block and bytes per block (ggml's block_q8_0, block_q5_0, block_q4_K). */
export const QUANT_BLOCKS: Record<RandomQuantType, { elements: number; bytes: number }> = {
  Q8_0: { elements: 32, bytes: 34 },
  Q5_0: { elements: 32, bytes: 22 },
  Q4_K: { elements: 256, bytes: 144 },
};

/** mulberry32 bytes: fills `out` from `seed`. */
function randomBytes(out: Uint8Array, seed: number): void {
  let s = seed | 0;
  for (let i = 0; i < out.length; i += 4) {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    const word = (t ^ (t >>> 14)) >>> 0;
    for (let b = 0; b < 4 && i + b < out.length; b++) out[i + b] = (word >>> (8 * b)) & 0xff;
  }
}

/** The fixed header of one block: the scales (and for Q4_K the packed sub-block scales and mins). */
function blockHeader(type: RandomQuantType, amplitude: number): Uint8Array {
  const half = (value: number) => {
    const bits = float32ToFloat16Bits(value);
    return [bits & 0xff, bits >>> 8];
  };
  // Q8_0: d * q, q in [-128, 127]. Q5_0: d * (q - 16), q in [0, 31].
  if (type === 'Q8_0') return Uint8Array.from(half(amplitude / 128));
  if (type === 'Q5_0') return Uint8Array.from(half(amplitude / 16));
  // Q4_K: d * sc * q - dmin * m with q in [0, 15]; every sub-block's 6-bit scale and min is 8 (ggml's
  // get_scale_min_k4 packing: bytes 0-3 scales, 4-7 mins, 8-11 low nibbles of the last four of each).
  const scales = [8, 8, 8, 8, 8, 8, 8, 8, 0x88, 0x88, 0x88, 0x88];
  return Uint8Array.from([...half(amplitude / 60), ...half(amplitude / 8), ...scales]);
}

/** The stored bytes of `elements` random weights of `type` (elements a multiple of the block size). */
export function randomQuantizedBytes(type: RandomQuantType, elements: number, seed: number, amplitude: number) {
  const { elements: perBlock, bytes: blockBytes } = QUANT_BLOCKS[type];
  const blocks = elements / perBlock;
  const out = new Uint8Array(blocks * blockBytes);
  randomBytes(out, seed);
  const header = blockHeader(type, amplitude);
  for (let b = 0; b < blocks; b++) out.set(header, b * blockBytes);
  // Q8_0's kernels take |q| <= 127 (they negate quants with sign tricks): -128 becomes -127.
  if (type === 'Q8_0') for (let i = 0; i < out.length; i++) if (i % blockBytes >= 2 && out[i] === 0x80) out[i] = 0x81;
  return out;
}
