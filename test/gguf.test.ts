/** GGUF reader, writer, random models and the make-model command (pure JS; llama.cpp checks are in gguf-llama). */
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { registerMakeModelCommand } from '../src/cli/make-model.js';
import {
  describeModel,
  encodeGgufHeader,
  float16BitsToFloat32,
  float32ToFloat16Bits,
  type GgufArrayValue,
  type GgufMetadataValue,
  ggufArray,
  ggufBool,
  ggufFloat32,
  ggufFloat64,
  ggufInt8,
  ggufInt16,
  ggufInt32,
  ggufInt64,
  ggufString,
  ggufUint8,
  ggufUint16,
  ggufUint32,
  ggufUint64,
  MODEL_PRESETS,
  randomModelLayout,
  randomModelParameterCount,
  readGgufHeader,
  readTensorBytes,
  readTensorFloat32,
  resolveModelShape,
  syntheticVocabulary,
  validateGgufFile,
  writeGguf,
  writeRandomModel,
} from '../src/gguf/index.js';
import { describeIfStories, TINY_MODEL_SHAPE, tinyModelPath } from './helpers/models.js';

const dir = mkdtempSync(join(tmpdir(), 'infoprune-gguf-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

/** A copy of `source` with `patch` applied to its bytes. */
function patched(source: string, name: string, patch: (bytes: Buffer) => Buffer | undefined): string {
  const bytes = readFileSync(source);
  const result = patch(bytes) ?? bytes;
  const path = join(dir, name);
  writeFileSync(path, result);
  return path;
}

/** File offset of the tensor info of `tensorName` (at its name-length field), found by searching the header. */
function tensorInfoOffset(bytes: Buffer, tensorName: string): number {
  const nameAt = bytes.lastIndexOf(Buffer.from(tensorName), readGgufHeader(tinyModelPath()).headerSize);
  expect(nameAt).toBeGreaterThan(0);
  return nameAt - 8;
}

describe('float16', () => {
  it('converts known values with round-to-nearest-even', () => {
    expect(float32ToFloat16Bits(1)).toBe(0x3c00);
    expect(float32ToFloat16Bits(-2)).toBe(0xc000);
    expect(float32ToFloat16Bits(0.5)).toBe(0x3800);
    expect(float32ToFloat16Bits(-0)).toBe(0x8000);
    expect(float32ToFloat16Bits(65504)).toBe(0x7bff);
    expect(float32ToFloat16Bits(65520)).toBe(0x7c00); // rounds up to infinity
    expect(float32ToFloat16Bits(1e9)).toBe(0x7c00);
    expect(float32ToFloat16Bits(-Infinity)).toBe(0xfc00);
    expect(float32ToFloat16Bits(NaN) & 0x7c00).toBe(0x7c00);
    expect(float32ToFloat16Bits(NaN) & 0x3ff).not.toBe(0);
    expect(float32ToFloat16Bits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(float32ToFloat16Bits(2 ** -25)).toBe(0x0000); // tie to even (0)
    expect(float32ToFloat16Bits(1.5 * 2 ** -25)).toBe(0x0001);
    expect(float32ToFloat16Bits(1e-9)).toBe(0);
    expect(float32ToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie, to even
    expect(float32ToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie, to even (up)
    expect(float32ToFloat16Bits(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01);
  });

  it('round-trips every finite half value', () => {
    for (let h = 0; h < 0x10000; h++) {
      const value = float16BitsToFloat32(h);
      if (Number.isNaN(value)) continue;
      if (float32ToFloat16Bits(value) !== h)
        throw new Error(`half 0x${h.toString(16)} -> ${value} -> 0x${float32ToFloat16Bits(value).toString(16)}`);
    }
  });
});

describe('GGUF writer and reader round trip', () => {
  const bigStrings = Array.from({ length: 1500 }, (_, i) => `token-${i}`);
  const metadata: Array<[string, GgufMetadataValue]> = [
    ['general.architecture', ggufString('llama')],
    ['test.u8', ggufUint8(255)],
    ['test.i8', ggufInt8(-128)],
    ['test.u16', ggufUint16(65535)],
    ['test.i16', ggufInt16(-32768)],
    ['test.u32', ggufUint32(4294967295)],
    ['test.i32', ggufInt32(-2147483648)],
    ['test.f32', ggufFloat32(0.1)],
    ['test.f64', ggufFloat64(0.1)],
    ['test.u64', ggufUint64(2n ** 64n - 1n)],
    ['test.i64', ggufInt64(-(2n ** 63n))],
    ['test.true', ggufBool(true)],
    ['test.false', ggufBool(false)],
    ['test.string', ggufString('héllo ▁ 日本 🎉')],
    ['test.empty_string', ggufString('')],
    ['test.array.u8', ggufArray('uint8', [0, 1, 255])],
    ['test.array.i32', ggufArray('int32', new Int32Array([-1, 0, 7]))],
    ['test.array.f32', ggufArray('float32', new Float32Array([0.25, -1.5]))],
    ['test.array.f64', ggufArray('float64', [Math.PI])],
    ['test.array.u64', ggufArray('uint64', [1n, 2n ** 40n])],
    ['test.array.bool', ggufArray('bool', [true, false, true])],
    ['test.array.string', ggufArray('string', ['a', '', 'ü'])],
    ['test.array.empty', ggufArray('int16', [])],
    ['test.array.big', ggufArray('string', bigStrings)],
    ['test.array.nested', ggufArray('array', [ggufArray('uint8', [1, 2]), ggufArray('string', ['x'])])],
  ];
  const f32Values = new Float32Array(Array.from({ length: 3 * 5 }, (_, i) => i * 0.5 - 3));
  const f16Values = Array.from({ length: 64 }, (_, i) => Math.sin(i) * 10);
  const q8Bytes = new Uint8Array(68).map((_, i) => (i * 37) & 0xff);
  const path = join(dir, 'round-trip.gguf');

  it('writes and reads back metadata and tensors of every kind', () => {
    const result = writeGguf(
      path,
      metadata,
      [
        { name: 'a.f32', dims: [3, 5], type: 'F32', data: f32Values },
        { name: 'b.f16', dims: [64], type: 'F16', data: f16Values },
        { name: 'c.q8_0', dims: [32, 2], type: 'Q8_0', bytes: q8Bytes },
        {
          name: 'd.fill',
          dims: [10, 3, 2],
          type: 'F32',
          fill: (chunk, start) =>
            chunk.forEach((_, i) => {
              chunk[i] = start + i;
            }),
        },
      ],
      { alignment: 64, chunkElements: 7 },
    );
    expect(() => validateGgufFile(path)).toThrow(
      `Invalid GGUF file ${path}: metadata "test.array.nested" is an array of arrays, which llama.cpp does not support`,
    );
    const header = readGgufHeader(path, { arrayLimit: 1000 });
    expect(result.bytes).toBe(header.fileSize);
    expect(header.version).toBe(3);
    expect(header.alignment).toBe(64);
    expect(header.dataOffset % 64).toBe(0);
    expect(header.dataOffset).toBe(result.dataOffset);
    expect(header.metadata.get('general.alignment')).toEqual({ type: 'uint32', value: 64 });

    for (const [key, value] of metadata) {
      const read = header.metadata.get(key)!;
      expect(read, key).toBeDefined();
      expect(read.type).toBe(value.type);
      if (value.type === 'array') {
        const readArray = read as GgufArrayValue;
        expect(readArray.elementType).toBe(value.elementType);
        expect(readArray.length).toBe(value.length);
        if (key === 'test.array.big') {
          expect(readArray.value).toBeUndefined(); // longer than arrayLimit: length only
        } else if (key === 'test.array.nested') {
          expect(readArray.value).toEqual([ggufArray('uint8', [1, 2]), ggufArray('string', ['x'])]);
        } else {
          expect(Array.from(readArray.value as ArrayLike<unknown>)).toEqual(
            Array.from(value.value as ArrayLike<unknown>),
          );
        }
      } else if (value.type === 'float32') {
        expect(read.value).toBe(Math.fround(value.value));
      } else {
        expect(read.value).toEqual(value.value);
      }
    }
    expect([...header.metadata.keys()]).toEqual([...metadata.map(([k]) => k), 'general.alignment']);

    const all = readGgufHeader(path, { arrayLimit: Infinity });
    expect((all.metadata.get('test.array.big') as GgufArrayValue).value).toEqual(bigStrings);

    expect(header.tensors.map((t) => [t.name, t.typeName, t.dims, t.byteSize])).toEqual([
      ['a.f32', 'F32', [3, 5], 60],
      ['b.f16', 'F16', [64], 128],
      ['c.q8_0', 'Q8_0', [32, 2], 68],
      ['d.fill', 'F32', [10, 3, 2], 240],
    ]);
    expect(header.tensors.map((t) => t.offset)).toEqual([0, 64, 192, 320]);
    expect(Array.from(readTensorFloat32(header, 'a.f32'))).toEqual(Array.from(f32Values));
    const f16 = readTensorFloat32(header, 'b.f16');
    f16Values.forEach((v, i) => {
      expect(Math.abs(f16[i] - v)).toBeLessThanOrEqual(Math.abs(v) * 2 ** -11 + 1e-7);
    });
    expect(f16[5]).toBe(float16BitsToFloat32(float32ToFloat16Bits(f16Values[5])));
    expect(new Uint8Array(readTensorBytes(header, 'c.q8_0'))).toEqual(q8Bytes);
    expect(Array.from(readTensorFloat32(header, 'd.fill'))).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(describeModel(header).parameterCount).toBe(15 + 64 + 64 + 60);
    // nothing left behind
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('rejects bad writer input with clear messages', () => {
    const out = join(dir, 'bad.gguf');
    expect(() => writeGguf(out, [['k', ggufUint8(256)]], [])).toThrow(
      'Expected integer between 0 and 255 for metadata "k" but received 256 of type number',
    );
    expect(() =>
      writeGguf(
        out,
        [
          ['k', ggufString('x')],
          ['k', ggufString('y')],
        ],
        [],
      ),
    ).toThrow('unique key');
    expect(() => writeGguf(out, [], [{ name: 't', dims: [3], type: 'F32', data: [1, 2] }])).toThrow(
      'Expected 3 values for tensors[0].data',
    );
    expect(() => writeGguf(out, [], [{ name: 't', dims: [0], type: 'F32', data: [] }])).toThrow(
      'Expected positive integer for tensors[0].dims[0] but received 0 of type number',
    );
    expect(() => writeGguf(out, [], [{ name: 't', dims: [16], type: 'Q4_0', bytes: new Uint8Array(9) }])).toThrow(
      'multiple of the Q4_0 block size 32',
    );
    expect(() => writeGguf(out, [], [{ name: 't', dims: [4], type: 'Q9', data: [1, 2, 3, 4] }])).toThrow(
      'known ggml type',
    );
    expect(() => writeGguf(out, [], [{ name: 'x'.repeat(64), dims: [1], type: 'F32', data: [1] }])).toThrow(
      'shorter than 64 bytes',
    );
    expect(() => writeGguf(out, [], [], { alignment: 24 })).toThrow(
      'Expected power of 2 for alignment but received 24 of type number',
    );
    expect(() => writeGguf(join(dir, 'missing-dir', 'x.gguf'), [], [])).toThrow(/Cannot write GGUF file .*missing-dir/);
    // a failing fill removes the temporary file
    expect(() =>
      writeGguf(
        out,
        [],
        [
          {
            name: 't',
            dims: [4],
            type: 'F32',
            fill: () => {
              throw new Error('generator failed');
            },
          },
        ],
      ),
    ).toThrow('generator failed');
    expect(readdirSync(dir).filter((f) => f.startsWith('bad.gguf'))).toEqual([]);
  });
});

describe('random models', () => {
  it('are deterministic from the seed', () => {
    const a = writeRandomModel(join(dir, 'seed1-a.gguf'), TINY_MODEL_SHAPE, { seed: 1 });
    const b = writeRandomModel(join(dir, 'seed1-b.gguf'), TINY_MODEL_SHAPE, { seed: 1 });
    const c = writeRandomModel(join(dir, 'seed2.gguf'), TINY_MODEL_SHAPE, { seed: 2 });
    expect(a.bytes).toBe(c.bytes);
    expect(sha256(a.path)).toBe(sha256(b.path));
    expect(sha256(a.path)).not.toBe(sha256(c.path));
    const f16a = writeRandomModel(join(dir, 'f16-a.gguf'), { ...TINY_MODEL_SHAPE, tensorType: 'f16' }, { seed: 1 });
    const f16b = writeRandomModel(join(dir, 'f16-b.gguf'), { ...TINY_MODEL_SHAPE, tensorType: 'f16' }, { seed: 1 });
    expect(sha256(f16a.path)).toBe(sha256(f16b.path));
    expect(f16a.bytes).toBeLessThan(a.bytes);
  });

  it('have the llama layout, metadata and weights asked for', () => {
    const path = tinyModelPath();
    const header = validateGgufFile(path, { arrayLimit: Infinity });
    const { embedding, layers, vocabularySize, feedForward } = TINY_MODEL_SHAPE;
    expect(describeModel(header)).toMatchObject({
      architecture: 'llama',
      contextLength: 256,
      embeddingLength: 64,
      blockCount: 2,
      feedForwardLength: 128,
      headCount: 4,
      headCountKv: 2,
      vocabularySize: 512,
      parameterCount: randomModelParameterCount(TINY_MODEL_SHAPE),
      tensorCount: 3 + 9 * layers,
    });
    const get = (key: string): unknown => header.metadata.get(key)?.value;
    expect(header.metadata.get('llama.rope.dimension_count')).toEqual({ type: 'uint32', value: 16 });
    expect(header.metadata.get('llama.attention.layer_norm_rms_epsilon')).toEqual({
      type: 'float32',
      value: Math.fround(1e-5),
    });
    expect(get('llama.rope.freq_base')).toBe(10000);
    expect(get('llama.vocab_size')).toBe(512);
    expect(get('general.alignment')).toBe(32);
    expect(get('tokenizer.ggml.model')).toBe('llama');
    expect(get('tokenizer.ggml.add_bos_token')).toBe(true);
    expect(get('tokenizer.ggml.add_eos_token')).toBe(false);
    expect([
      get('tokenizer.ggml.bos_token_id'),
      get('tokenizer.ggml.eos_token_id'),
      get('tokenizer.ggml.unknown_token_id'),
    ]).toEqual([1, 2, 0]);

    const dims = Object.fromEntries(header.tensors.map((t) => [t.name, t.dims]));
    expect(dims['token_embd.weight']).toEqual([embedding, vocabularySize]);
    expect(dims['output.weight']).toEqual([embedding, vocabularySize]);
    expect(dims['output_norm.weight']).toEqual([embedding]);
    expect(dims['blk.1.attn_q.weight']).toEqual([embedding, embedding]);
    expect(dims['blk.1.attn_k.weight']).toEqual([embedding, 32]);
    expect(dims['blk.1.attn_v.weight']).toEqual([embedding, 32]);
    expect(dims['blk.1.attn_output.weight']).toEqual([embedding, embedding]);
    expect(dims['blk.1.ffn_gate.weight']).toEqual([embedding, feedForward]);
    expect(dims['blk.1.ffn_up.weight']).toEqual([embedding, feedForward]);
    expect(dims['blk.1.ffn_down.weight']).toEqual([feedForward, embedding]);
    expect(Array.from(readTensorFloat32(header, 'blk.0.ffn_norm.weight')).every((v) => v === 1)).toBe(true);
    const weights = readTensorFloat32(header, 'blk.0.ffn_down.weight');
    const bound = 1 / Math.sqrt(feedForward);
    expect(Math.max(...weights)).toBeLessThanOrEqual(bound);
    expect(Math.min(...weights)).toBeGreaterThanOrEqual(-bound);
    expect(Math.max(...weights) - Math.min(...weights)).toBeGreaterThan(bound); // spread, not constant
    const mean = weights.reduce((a, b) => a + b, 0) / weights.length;
    expect(Math.abs(mean)).toBeLessThan(bound / 10);

    const tied = validateGgufFile(tinyModelPath({ tiedEmbeddings: true, addBos: false, tensorType: 'f16' }));
    expect(tied.tensors.some((t) => t.name === 'output.weight')).toBe(false);
    expect(tied.metadata.get('tokenizer.ggml.add_bos_token')?.value).toBe(false);
    expect(tied.tensors.find((t) => t.name === 'blk.0.attn_q.weight')?.typeName).toBe('F16');
    expect(tied.tensors.find((t) => t.name === 'blk.0.attn_norm.weight')?.typeName).toBe('F32');
  });

  it('have a synthetic SentencePiece vocabulary with byte fallback', () => {
    const { tokens, scores, tokenTypes } = syntheticVocabulary(2000);
    expect(tokens.length).toBe(2000);
    expect(new Set(tokens).size).toBe(2000);
    expect(tokens.slice(0, 4)).toEqual(['<unk>', '<s>', '</s>', '<0x00>']);
    expect(tokens[258]).toBe('<0xFF>');
    expect(tokens[259]).toBe('\u2581');
    expect(Array.from(tokenTypes.slice(0, 4))).toEqual([2, 3, 3, 6]);
    expect(tokenTypes[258]).toBe(6);
    expect(tokenTypes.slice(259).every((t) => t === 1)).toBe(true);
    for (let i = 260; i < 2000; i++) expect(scores[i]).toBeLessThan(scores[i - 1]);
    expect(tokens).toContain('e');
    expect(tokens).toContain('\u2581t');
    expect(tokens).toContain('th');
    expect(syntheticVocabulary(151936).tokens.length).toBe(151936);
  });

  it('validate their shape', () => {
    const base = { ...TINY_MODEL_SHAPE };
    expect(() => resolveModelShape({ ...base, layers: -1 })).toThrow(
      'Expected integer between 1 and 512 for layers but received -1 of type number',
    );
    expect(() => resolveModelShape({ ...base, heads: 5 })).toThrow('for heads but received 5 of type number');
    expect(() => resolveModelShape({ ...base, heads: 64 })).toThrow('even head dimension'); // head size 1
    expect(() => resolveModelShape({ ...base, kvHeads: 3 })).toThrow(
      'Expected divisor of heads (4) for kvHeads but received 3 of type number',
    );
    expect(() => resolveModelShape({ ...base, vocabularySize: 299 })).toThrow('for vocabularySize but received 299');
    expect(() => resolveModelShape({ ...base, tensorType: 'q4' as 'f32' })).toThrow(
      'Expected one of "f32", "f16", "q8_0", "q4_k" for tensorType',
    );
    expect(() => resolveModelShape({ ...base, addBos: 'yes' as unknown as boolean })).toThrow(
      'Expected boolean for addBos',
    );
    expect(() => resolveModelShape({ ...base, vocab: 512 } as never)).toThrow('for shape key but received "vocab"');
    expect(() => resolveModelShape('huge' as never)).toThrow('for preset but received "huge"');
    expect(() => writeRandomModel(join(dir, 'x.gguf'), base, { seed: -1 })).toThrow('for seed but received -1');
    expect(resolveModelShape('tiny')).toMatchObject({ tensorType: 'f32', addBos: true, tiedEmbeddings: false });
  });

  it('smollm2-135m preset has the expected header (header only, no weights written)', () => {
    const layout = randomModelLayout('smollm2-135m');
    const encoded = encodeGgufHeader(layout.metadata, layout.tensors);
    const path = join(dir, 'smollm2-header-only.gguf');
    writeFileSync(path, encoded.header);
    const header = readGgufHeader(path);
    expect(describeModel(header)).toMatchObject({
      architecture: 'llama',
      contextLength: 2048,
      embeddingLength: 576,
      blockCount: 30,
      feedForwardLength: 1536,
      headCount: 9,
      headCountKv: 3,
      vocabularySize: 49152,
      parameterCount: 134_515_008,
      tensorCount: 2 + 30 * 9,
    });
    expect(layout.parameterCount).toBe(134_515_008);
    expect(header.tensors.find((t) => t.name === 'blk.29.attn_k.weight')?.dims).toEqual([576, 192]);
    expect(encoded.totalBytes).toBe(539_076_672); // the size `make-model --preset smollm2-135m` writes
    expect(() => validateGgufFile(path)).toThrow(
      /tensor data is truncated: tensor "token_embd.weight" .* file has only \d+ bytes/,
    );
    expect(randomModelParameterCount('qwen2.5-0.5b-like')).toBe(494_005_120);
    expect(randomModelParameterCount(MODEL_PRESETS['tinystories-15m'])).toBe(15_191_712);
  });
});

describe('GGUF reader errors', () => {
  it('names missing files, directories and non-GGUF files', () => {
    const missing = join(dir, 'nope.gguf');
    expect(() => readGgufHeader(missing)).toThrow(`Model file not found: ${missing}`);
    expect(() => validateGgufFile(missing)).toThrow(`Model file not found: ${missing}`);
    expect(() => readGgufHeader(dir)).toThrow(`Model path is a directory, not a GGUF file: ${dir}`);
    const zip = join(dir, 'model.zip');
    writeFileSync(zip, Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(100)]));
    expect(() => readGgufHeader(zip)).toThrow(
      `Not a GGUF file: ${zip} (expected magic bytes "GGUF" (47 47 55 46), found "PK.." (50 4b 03 04))`,
    );
    const empty = join(dir, 'empty.gguf');
    writeFileSync(empty, '');
    expect(() => readGgufHeader(empty)).toThrow(`Not a GGUF file: ${empty} (the file is 0 bytes long`);
    expect(() => readGgufHeader('')).toThrow('Expected non-empty string for path but received "" of type string');
  });

  it('rejects unsupported versions', () => {
    const source = tinyModelPath();
    const v1 = patched(source, 'v1.gguf', (b) => void b.writeUInt32LE(1, 4));
    expect(() => readGgufHeader(v1)).toThrow(`Unsupported GGUF version 1 in ${v1}`);
    const v4 = patched(source, 'v4.gguf', (b) => void b.writeUInt32LE(4, 4));
    expect(() => readGgufHeader(v4)).toThrow(
      `Unsupported GGUF version 4 in ${v4}: only versions 2 and 3 are supported`,
    );
    const bigEndian = patched(source, 'be.gguf', (b) => void b.writeUInt32BE(3, 4));
    expect(() => readGgufHeader(bigEndian)).toThrow('big-endian');
    const v2 = patched(source, 'v2.gguf', (b) => void b.writeUInt32LE(2, 4));
    expect(readGgufHeader(v2).version).toBe(2);
  });

  it('reports a truncated header at any cut point, naming what was being read', () => {
    const source = tinyModelPath();
    const bytes = readFileSync(source);
    const { headerSize } = readGgufHeader(source);
    const cut = join(dir, 'cut.gguf');
    for (let length = 4; length < headerSize; length += 101) {
      writeFileSync(cut, bytes.subarray(0, length));
      expect(() => readGgufHeader(cut), `cut at ${length}`).toThrow(`Invalid GGUF file ${cut}: `);
    }
    writeFileSync(cut, bytes.subarray(0, 30));
    expect(() => readGgufHeader(cut)).toThrow(
      `Invalid GGUF file ${cut}: the tensor count of the file header is 21 (at offset 8), more than the file can hold: ` +
        'the file has only 30 bytes and each tensor info takes at least 24 (a corrupt count, or a truncated file)',
    );
    const scoresKeyAt = bytes.indexOf(Buffer.from('tokenizer.ggml.scores'));
    writeFileSync(cut, bytes.subarray(0, scoresKeyAt + 5));
    expect(() => readGgufHeader(cut)).toThrow(
      `Invalid GGUF file ${cut}: the length of the key of metadata entry 16 is 21 bytes (at offset ${scoresKeyAt - 8}), ` +
        'more than the 5 bytes remaining in the file (corrupt string length or truncated file)',
    );
    writeFileSync(cut, bytes.subarray(0, headerSize - 3));
    expect(() => readGgufHeader(cut)).toThrow(
      /the header is truncated: reading the data offset of tensor info 20 \("blk\.1\.ffn_down\.weight"\)/,
    );
  });

  it('reports truncated tensor data (an incomplete download)', () => {
    const source = tinyModelPath();
    const header = readGgufHeader(source);
    const last = header.tensors[header.tensors.length - 1];
    const short = join(dir, 'short.gguf');
    copyFileSync(source, short);
    truncateSync(short, header.fileSize - 100);
    expect(readGgufHeader(short).tensors.length).toBe(header.tensors.length); // the header itself is intact
    expect(() => validateGgufFile(short)).toThrow(
      `Invalid GGUF file ${short}: tensor data is truncated: tensor "${last.name}" (F32 [128, 64]) needs bytes up to offset ${header.fileSize} but the file has only ${header.fileSize - 100} bytes (missing 100 bytes`,
    );
    truncateSync(short, header.dataOffset + 10);
    expect(() => validateGgufFile(short)).toThrow('tensor data is truncated: tensor "token_embd.weight"');
  });

  it('rejects corrupt lengths and counts without allocating or hanging', () => {
    const source = tinyModelPath();
    const keyLength = patched(source, 'key-length.gguf', (b) => void b.writeBigUInt64LE(2n ** 40n, 24));
    expect(() => readGgufHeader(keyLength)).toThrow(
      /the length of the key of metadata entry 0 is 1099511627776 bytes \(at offset 24\), more than the \d+ bytes remaining in the file/,
    );
    const tensorCount = patched(source, 'tensor-count.gguf', (b) => void b.writeBigUInt64LE(2n ** 50n, 8));
    expect(() => readGgufHeader(tensorCount)).toThrow(
      /the tensor count of the file header is 1125899906842624 \(at offset 8\), more than the file can hold/,
    );
    const kvCount = patched(source, 'kv-count.gguf', (b) => void b.writeBigUInt64LE(2n ** 63n, 16));
    expect(() => readGgufHeader(kvCount)).toThrow(
      /the metadata entry count of the file header is 9223372036854775808 .* more than the file can hold/,
    );
    const tokensKey = Buffer.from('tokenizer.ggml.tokens');
    const arrayLength = patched(source, 'array-length.gguf', (b) => {
      const at = b.indexOf(tokensKey) + tokensKey.length + 4 + 4; // value type, element type, then the length
      b.writeBigUInt64LE(2n ** 60n, at);
    });
    expect(() => readGgufHeader(arrayLength)).toThrow(
      /the array length of metadata entry \d+ \("tokenizer\.ggml\.tokens"\) is 1152921504606846976 .* more than the file can hold/,
    );
    const valueType = patched(
      source,
      'value-type.gguf',
      (b) => void b.writeUInt32LE(77, b.indexOf(tokensKey) + tokensKey.length),
    );
    expect(() => readGgufHeader(valueType)).toThrow(
      /the value type of metadata entry \d+ \("tokenizer\.ggml\.tokens"\) is 77 .* not a known GGUF value type/,
    );
  });

  it('rejects unknown types, bad offsets and bad alignment in validateGgufFile', () => {
    const source = tinyModelPath();
    const bytes = readFileSync(source);
    const second = tensorInfoOffset(bytes, 'output_norm.weight');
    // output_norm.weight: name (8 + 18), n_dims (4), 1 dim (8), type (4), offset (8)
    const typeAt = second + 8 + 18 + 4 + 8;
    const unknownType = patched(source, 'unknown-type.gguf', (b) => void b.writeUInt32LE(99, typeAt));
    expect(readGgufHeader(unknownType).tensors[1].typeName).toBe('unknown type 99');
    expect(() => validateGgufFile(unknownType)).toThrow(
      `Invalid GGUF file ${unknownType}: tensor "output_norm.weight" has unknown ggml type 99`,
    );
    const removedType = patched(source, 'removed-type.gguf', (b) => void b.writeUInt32LE(4, typeAt));
    expect(() => validateGgufFile(removedType)).toThrow('uses ggml type 4 (Q4_2), which has been removed from ggml');
    const q4 = patched(source, 'q4-rows.gguf', (b) => void b.writeUInt32LE(12, typeAt));
    expect(() => validateGgufFile(q4)).toThrow(
      'tensor "output_norm.weight" (Q4_K [64]) has rows of 64 elements, not a multiple of the Q4_K block size 256',
    );
    const overlap = patched(source, 'overlap.gguf', (b) => void b.writeBigUInt64LE(0n, typeAt + 4));
    expect(() => validateGgufFile(overlap)).toThrow(
      'tensor "output_norm.weight" (F32 [64]) has data offset 0, which overlaps the previous tensor\'s data (expected offset 131072)',
    );
    const misaligned = patched(source, 'misaligned.gguf', (b) => void b.writeBigUInt64LE(131072n + 4n, typeAt + 4));
    expect(() => validateGgufFile(misaligned)).toThrow('has data offset 131076, not a multiple of the alignment 32');
    const gap = patched(source, 'gap.gguf', (b) => void b.writeBigUInt64LE(131072n + 32n, typeAt + 4));
    expect(() => validateGgufFile(gap)).toThrow(
      'has data offset 131104, expected 131072: tensors must be stored contiguously',
    );
    const attnK = tensorInfoOffset(bytes, 'blk.0.attn_k.weight');
    const duplicate = patched(
      source,
      'duplicate.gguf',
      (b) => void b.write('blk.0.attn_q.weight', attnK + 8, 'latin1'),
    );
    expect(() => validateGgufFile(duplicate)).toThrow(
      `Invalid GGUF file ${duplicate}: duplicate tensor name "blk.0.attn_q.weight"`,
    );
    // C sees "token_embd.weight\0" as "token_embd.weight": a NUL in a name is rejected outright
    const nul = patched(source, 'nul.gguf', (b) => void b.write('token_embd.weight\0', second + 8, 'latin1'));
    expect(() => validateGgufFile(nul)).toThrow('has a name containing a NUL byte');

    const alignment = join(dir, 'alignment.gguf');
    writeGguf(
      alignment,
      [['general.alignment', ggufUint32(64)]],
      [{ name: 't', dims: [4], type: 'F32', data: [1, 2, 3, 4] }],
    );
    const alignmentKey = Buffer.from('general.alignment');
    const wrongType = patched(
      alignment,
      'alignment-type.gguf',
      (b) => void b.writeUInt32LE(5, b.indexOf(alignmentKey) + alignmentKey.length),
    );
    expect(() => readGgufHeader(wrongType)).toThrow('general.alignment must be of type uint32 but is of type int32');
    const notPower = patched(
      alignment,
      'alignment-value.gguf',
      (b) => void b.writeUInt32LE(48, b.indexOf(alignmentKey) + alignmentKey.length + 4),
    );
    expect(() => readGgufHeader(notPower)).toThrow('general.alignment is 48, not a power of 2');

    const scores = Buffer.from('tokenizer.ggml.scores');
    const scoresType = patched(
      source,
      'scores-type.gguf',
      (b) => void b.writeUInt32LE(5, b.indexOf(scores) + scores.length + 4),
    );
    expect(() => validateGgufFile(scoresType)).toThrow(
      'tokenizer.ggml.scores must be an array of float32 but is an array of int32',
    );
  });

  it('never crashes or hangs on randomly corrupted headers', () => {
    const source = tinyModelPath();
    const bytes = readFileSync(source);
    const { headerSize } = readGgufHeader(source);
    const fuzz = join(dir, 'fuzz.gguf');
    let state = 12345;
    const next = (): number => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state;
    };
    let rejected = 0;
    for (let round = 0; round < 150; round++) {
      const copy = Buffer.from(bytes);
      const flips = 1 + (next() % 4);
      for (let f = 0; f < flips; f++) copy[next() % headerSize] = next() & 0xff;
      writeFileSync(fuzz, copy);
      try {
        validateGgufFile(fuzz);
      } catch (error) {
        expect(error).toBeInstanceOf(Error);
        expect((error as Error).message).toContain(fuzz);
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(0);
  });
});

describeIfStories('stories260K header', (modelPath) => {
  it('reads and validates the shared trained model', () => {
    const header = validateGgufFile(modelPath, { arrayLimit: Infinity });
    expect(header.version).toBe(3);
    expect(describeModel(header)).toMatchObject({
      architecture: 'llama',
      contextLength: 2048,
      embeddingLength: 64,
      blockCount: 5,
      headCount: 8,
      headCountKv: 4,
      vocabularySize: 512,
      parameterCount: 292_800,
      fileSize: 1_185_376,
    });
    const tokens = header.metadata.get('tokenizer.ggml.tokens') as GgufArrayValue;
    expect((tokens.value as string[]).slice(0, 3)).toEqual(['<unk>', '<s>', '</s>']);
    expect(header.tensors.every((t) => t.typeName === 'F32')).toBe(true);
    expect(readTensorFloat32(header, 'output_norm.weight').length).toBe(64);
  });
});

describe('make-model command', () => {
  async function run(...args: string[]): Promise<string> {
    const program = new Command().exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    registerMakeModelCommand(program);
    const writes: string[] = [];
    const toStdout: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      writes.push(String(chunk));
      return true;
    });
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      toStdout.push(String(chunk));
      return true;
    });
    try {
      await program.parseAsync(['node', 'infoprune', 'make-model', ...args]);
    } finally {
      spy.mockRestore();
      stdout.mockRestore();
    }
    expect(toStdout).toEqual([]); // stdout is for data: the summary goes to stderr
    return writes.join('');
  }

  it('writes a model and says what it wrote', async () => {
    const out = join(dir, 'cli.gguf');
    const text = await run(
      out,
      '--layers',
      '1',
      '--embedding',
      '32',
      '--heads',
      '2',
      '--kv-heads',
      '1',
      '--vocab',
      '400',
      '--type',
      'f16',
      '--no-bos',
      '--seed',
      '5',
    );
    expect(text).toContain(`Wrote ${out}`);
    expect(text).toMatch(/parameters in 12 tensors, [\d,]+ bytes/);
    const header = validateGgufFile(out);
    expect(describeModel(header)).toMatchObject({
      blockCount: 1,
      embeddingLength: 32,
      headCount: 2,
      headCountKv: 1,
      vocabularySize: 400,
      contextLength: 512,
    });
    expect(header.metadata.get('tokenizer.ggml.add_bos_token')?.value).toBe(false);
    const again = join(dir, 'cli-again.gguf');
    await run(
      again,
      '--layers',
      '1',
      '--embedding',
      '32',
      '--heads',
      '2',
      '--kv-heads',
      '1',
      '--vocab',
      '400',
      '--type',
      'f16',
      '--no-bos',
      '--seed',
      '5',
    );
    expect(sha256(again)).toBe(sha256(out));
  });

  it('rejects bad options with messages naming the flag', async () => {
    const out = join(dir, 'cli-bad.gguf');
    await expect(run(out, '--layers', '-1')).rejects.toThrow(
      'Expected positive integer for --layers but received -1 of type number',
    );
    await expect(run(out, '--layers', 'two')).rejects.toThrow(
      'Expected positive integer for --layers but received "two" of type string',
    );
    await expect(run(out, '--heads', '5')).rejects.toThrow('for --heads but received 5 of type number');
    await expect(run(out, '--kv-heads', '3')).rejects.toThrow(
      'Expected divisor of heads (4) for --kv-heads but received 3 of type number',
    );
    await expect(run(out, '--vocab', '100')).rejects.toThrow('for --vocab but received 100 of type number');
    await expect(run(out, '--preset', 'huge')).rejects.toThrow('for --preset but received "huge"');
    await expect(run(out, '--type', 'q4_0')).rejects.toThrow(
      'Expected one of "f32", "f16", "q8_0", "q4_k" for --type but received "q4_0"',
    );
    await expect(run(out, '--seed', '1.5')).rejects.toThrow(
      'Expected non-negative integer for --seed but received "1.5" of type string',
    );
    mkdirSync(join(dir, 'a-directory'), { recursive: true });
    await expect(run(join(dir, 'a-directory'))).rejects.toThrow('Output path is a directory');
  });
});
