/**
 * A checkout's local build from other C++ sources (pulled without `npm run build:native`) fails at load with
 * NATIVE_STALE, instead of later on a method the old build lacks; an installed package (no .git) is not checked.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findNativeAddon, loadNativeAddon, nativeSourcesHash } from '../src/engine/addon.js';
import { REPO_ROOT } from './helpers/models.js';

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

/** A package root with one C++ source and a "build" (not an addon) made from those sources or from others. */
function fakeRoot({ stale, checkout }: { stale: boolean; checkout: boolean }): string {
  const root = mkdtempSync(join(tmpdir(), 'infoprune-stale-'));
  roots.push(root);
  mkdirSync(join(root, 'native'));
  writeFileSync(join(root, 'native', 'engine.cpp'), 'int engine;\n');
  mkdirSync(join(root, 'build', 'Release'), { recursive: true });
  writeFileSync(join(root, 'build', 'Release', 'infoprune.node'), 'not an addon');
  const sourcesHash = stale ? '0'.repeat(64) : nativeSourcesHash(root);
  const info = { mode: 'source', gpu: 'cpu', llamaCppTag: 'test', platform: 'test', sourcesHash };
  writeFileSync(join(root, 'build', 'Release', 'build-info.json'), JSON.stringify(info));
  if (checkout) mkdirSync(join(root, '.git'));
  return root;
}

function loadError(root: string): unknown {
  try {
    loadNativeAddon(findNativeAddon(root, 'test'));
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('a stale native build', () => {
  it('this checkout’s build records the hash of the sources it was built from', () => {
    const info = JSON.parse(readFileSync(join(REPO_ROOT, 'build', 'Release', 'build-info.json'), 'utf8'));
    expect(info.sourcesHash).toBe(nativeSourcesHash(REPO_ROOT));
  });

  it('fails at load with NATIVE_STALE in a checkout, and only there', () => {
    expect(loadError(fakeRoot({ stale: true, checkout: true }))).toMatchObject({
      code: 'NATIVE_STALE',
      message: expect.stringContaining('npm run build:native'),
    });
    // Past the check, the fake build does not load: NATIVE_UNAVAILABLE.
    expect(loadError(fakeRoot({ stale: true, checkout: false }))).toMatchObject({ code: 'NATIVE_UNAVAILABLE' });
    expect(loadError(fakeRoot({ stale: false, checkout: true }))).toMatchObject({ code: 'NATIVE_UNAVAILABLE' });
  });
});
