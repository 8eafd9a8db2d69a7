/**
 * Errors: stable codes a service can branch on, API option names in library messages, flag names in the CLI's, and
 * options checked once, before anything is opened.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAKE_MODEL_FLAGS, optionsFromFlags, SCORE_FLAGS, toFlagWording } from '../src/cli/flags.js';
import { openScorer } from '../src/engine/scorer.js';
import { InfopruneError, InvalidOptionError } from '../src/errors.js';
import { runScoreJob } from '../src/pipeline/job.js';
import { scoreCorpus } from '../src/pipeline/score-corpus.js';
import { FAKE_MODEL_PATH } from './helpers/fake-engine.js';

const corpus = join(import.meta.dirname, 'fixtures', 'pipeline', 'small.jsonl');

describe('error codes', () => {
  it('a bad option is an InvalidOptionError naming the API option, before any file is read', async () => {
    const missing = join(tmpdir(), 'no-such-model.gguf');
    const error = await openScorer({ model: missing, contextSize: 512, stride: 512 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error).toBeInstanceOf(TypeError);
    expect(error).toMatchObject({ code: 'INVALID_OPTION', option: 'stride' });
    expect(() => scoreCorpus({ inputs: [corpus], model: missing, contextSize: 512, stride: 512 })).toThrow(
      'Expected integer between 1 and 511 for stride but received 512 of type number',
    );
  });

  it('failures carry a code: model not found, output not writable, an interrupted run', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'infoprune-errors-'));
    await expect(openScorer({ model: join(folder, 'none.gguf') })).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    await expect(
      runScoreJob({ inputs: [corpus], model: FAKE_MODEL_PATH, out: join(folder, 'missing', 'x.jsonl') }),
    ).rejects.toMatchObject({ code: 'OUTPUT_NOT_WRITABLE' });
    const error = new InfopruneError('RUN_INCOMPLETE', (name) => `pass ${name('resume')} or ${name('overwrite')}`);
    expect(error.message).toBe('pass resume or overwrite');
    expect(error.name).toBe('InfopruneError');
  });
});

describe('the CLI speaks flags', () => {
  it('rewords an error with the command flags, keeping its code', () => {
    const error = new InfopruneError('RUN_INCOMPLETE', (name) => `pass ${name('resume')} or ${name('overwrite')}`);
    const reworded = toFlagWording(error, SCORE_FLAGS) as InfopruneError;
    expect(reworded.message).toBe('pass --resume or --overwrite');
    expect(reworded.code).toBe('RUN_INCOMPLETE');
    const scaled = new InvalidOptionError('checkpointIntervalMs', 'x', {
      expected: 'non-negative integer',
      received: -2000,
    });
    expect((toFlagWording(scaled, SCORE_FLAGS) as Error).message).toBe(
      'Expected non-negative integer for --checkpoint-every but received -2 of type number',
    );
  });

  it('parses flag text to each flag type, leaving ranges to the library', () => {
    expect(optionsFromFlags(SCORE_FLAGS, { context: '256', gpuLayers: 'max', checkpointEvery: '5' })).toEqual({
      contextSize: 256,
      gpuLayers: 'max',
      checkpointIntervalMs: 5000,
    });
    expect(() => optionsFromFlags(MAKE_MODEL_FLAGS, { layers: 'two' })).toThrow(
      'Expected positive integer for --layers but received "two" of type string',
    );
  });
});
