#!/usr/bin/env node
// npm's install step. When the package ships a prebuilt addon for this platform (prebuilds/<platform>-<arch>/) and
// it loads here with its llama.cpp libraries, there is nothing to do: no compiler, no download. Otherwise (another
// platform, a machine the prebuilt does not load on, or a checkout) the addon is built from source by
// scripts/build-native.mjs, after one line that says why. `npm install --build-from-source` (npm's flag, as for
// better-sqlite3 and sharp) or INFOPRUNE_BUILD_FROM_SOURCE=1 always builds from source; so do INFOPRUNE_GPU and
// INFOPRUNE_LLAMA_FROM_SOURCE, which ask for a build the prebuilt is not. Where the prebuilt addon is kept, on Linux,
// llama.cpp's CPU backend is still compiled for this machine beside it when cmake and a compiler are there
// (build-native.mjs --cpu-backend: cached per user, one line before, one line and the prebuilt variants if it
// cannot; never a failed install).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const buildNative = join(root, 'scripts', 'build-native.mjs');
const native = join(root, 'dist', 'src', 'engine', 'native.js');

/** Loads the addon the way the library will (in a child, so that any failure is a message, not this process). */
function probe() {
  if (!existsSync(native)) return { ok: false, reason: 'the package is not compiled (a checkout)' };
  const script = `const { nativeBinding } = await import(${JSON.stringify(pathToFileURL(native).href)});
const { findNativeAddon } = await import(${JSON.stringify(pathToFileURL(join(dirname(native), 'addon.js')).href)});
nativeBinding().systemInfo();
const { origin, path } = findNativeAddon();
process.stdout.write(JSON.stringify({ origin, path }));`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  if (child.status === 0) return { ok: true, ...JSON.parse(child.stdout) };
  const message = /InfopruneError: (.*)/.exec(child.stderr)?.[1] ?? child.stderr.trim().split('\n').pop();
  return { ok: false, reason: message || `exit status ${child.status}` };
}

/** The CPU backend compiled for this machine, beside the prebuilt addon; whatever happens, the install goes on. */
function nativeCpuBackend(directory) {
  try {
    execFileSync(process.execPath, [buildNative, '--cpu-backend', directory], { stdio: 'inherit' });
  } catch (error) {
    console.log(`infoprune: using the prebuilt CPU backend variants (exit status ${error.status ?? error.message})`);
  }
}

const platform = `${process.platform}-${process.arch}`;
const sourceWanted =
  process.env.INFOPRUNE_BUILD_FROM_SOURCE === '1' ||
  process.env.npm_config_build_from_source === 'true' ||
  process.env.INFOPRUNE_LLAMA_FROM_SOURCE === '1' ||
  (process.env.INFOPRUNE_GPU !== undefined && process.env.INFOPRUNE_GPU !== 'cpu');

if (process.env.INFOPRUNE_SKIP_NATIVE_BUILD === '1') {
  console.log('infoprune: INFOPRUNE_SKIP_NATIVE_BUILD=1, not building the native addon');
  process.exit(0);
}
const found = sourceWanted ? { ok: false, reason: 'a build from source was asked for' } : probe();
if (found.ok) {
  console.log(
    `infoprune: using the ${found.origin === 'prebuilt' ? 'prebuilt' : 'locally built'} native addon for ${platform}`,
  );
  if (found.origin === 'prebuilt' && process.platform === 'linux') nativeCpuBackend(dirname(found.path));
  process.exit(0);
}
if (!sourceWanted && existsSync(native)) {
  console.log(`infoprune: no prebuilt native addon fits ${platform} (${found.reason}); building it from source`);
}
try {
  execFileSync(process.execPath, [buildNative], { stdio: 'inherit' });
} catch (error) {
  process.exit(error.status ?? 1);
}
