/**
 * Finds and loads the native addon, as sharp and better-sqlite3 find theirs, with no compiler on the user's machine:
 *
 * 1. The addon: a local build (build/Release/, made by `npm run build:native`, or by an install that found no
 *    prebuilt that fits) when there is one, else the prebuilt for this platform that the package ships
 *    (prebuilds/<platform>-<arch>/, made by `npm pack` on that platform).
 * 2. llama.cpp: the addon links the shared libraries of node-llama-cpp's prebuilt package for the platform
 *    (@node-llama-cpp/linux-x64, ...: optional dependencies, so npm installs only the one that fits). They are used
 *    where npm put them, not copied: found the way Node finds packages, and loaded before the addon (dlopen, kept
 *    loaded with RTLD_NODELETE; a plain library "did not self-register", which is expected), so the addon's
 *    references to them resolve to the loaded copies by their soname. On Windows their folder goes first on PATH.
 *
 * 3. The CPU backend: where one was compiled for this machine (libggml-cpu-native.so beside the addon, named by the
 *    cpuBackend of its build-info.json: build/Release/ after a build, prebuilds/<platform>-<arch>/ after an install
 *    that kept the prebuilt addon; see scripts/build-native.mjs), it replaces the prebuilt CPU variants;
 *    INFOPRUNE_CPU_BACKEND=prebuilt keeps those (to compare the two).
 *
 * Whatever is missing is a NATIVE_UNAVAILABLE error that says what to do; in a checkout, a build older than its C++
 * sources is a NATIVE_STALE error.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { InfopruneError, InvalidOptionError } from '../errors.js';
import { packageRoot } from '../util/version.js';

/** What a build of the addon records beside it (build-info.json). */
export interface NativeBuildInfo {
  /** How the addon has llama.cpp: node-llama-cpp's prebuilt shared libraries, or compiled into it from source. */
  mode: 'prebuilt' | 'source';
  gpu: string;
  llamaCppTag: string;
  /** `<platform>-<arch>` it was built for. */
  platform: string;
  /** mode prebuilt: the package of the llama.cpp libraries the addon links, and its version. */
  llamaPackage?: string;
  llamaPackageVersion?: string;
  /** mode prebuilt: the CPU backend compiled for this machine, beside the addon (a file name), if it was built. */
  cpuBackend?: string;
  /** The patches of native/ggml-patches/ that backend carries (a faster kernel for training, for one). */
  cpuBackendPatches?: string[];
  /** `nativeSourcesHash` of the sources it was built from (builds before it was recorded have none). */
  sourcesHash?: string;
}

export interface NativeAddonFiles {
  /** A local build (build/Release) or the prebuilt the package ships for this platform. */
  origin: 'local build' | 'prebuilt';
  /** The .node file. */
  path: string;
  build: NativeBuildInfo;
  /** The folder of the llama.cpp libraries (and backends) the addon links; null when llama.cpp is compiled in. */
  libraries: string | null;
  /** The CPU backend compiled for this machine that replaces the prebuilt variants, or null to use those. */
  cpuBackend: string | null;
}

let platform: string | undefined;

/** `<platform>-<arch>` as prebuilds/ names it; musl Linux is its own platform (node-llama-cpp has no build for it). */
export function platformId(): string {
  if (platform === undefined) {
    const report = process.platform === 'linux' ? (process.report?.getReport() as { header?: object }) : undefined;
    const musl = report?.header !== undefined && !('glibcVersionRuntime' in report.header);
    platform = `${process.platform}-${process.arch}${musl ? '-musl' : ''}`;
  }
  return platform;
}

const REBUILD_HINT =
  'build it from source with `npm rebuild infoprune --build-from-source` (needs cmake and a C++17 compiler; in ' +
  "infoprune's own checkout: npm run build:native)";

function unavailable(message: string, cause?: unknown): InfopruneError {
  return new InfopruneError('NATIVE_UNAVAILABLE', message, cause === undefined ? undefined : { cause });
}

function readBuildInfo(directory: string): NativeBuildInfo | null {
  const path = join(directory, 'build-info.json');
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as NativeBuildInfo) : null;
}

/** The addon this process should load: a local build first, then the prebuilt for this platform. */
export function findNativeAddon(root = packageRoot(), platform = platformId()): NativeAddonFiles {
  const candidates = [
    { origin: 'local build' as const, directory: join(root, 'build', 'Release') },
    { origin: 'prebuilt' as const, directory: join(root, 'prebuilds', platform) },
  ];
  for (const { origin, directory } of candidates) {
    const path = join(directory, 'infoprune.node');
    if (!existsSync(path)) continue;
    // A local build without a stamp came from node-gyp (binding.gyp): the default CPU build for this platform.
    const build = readBuildInfo(directory) ?? { mode: 'prebuilt', gpu: 'cpu', llamaCppTag: 'unknown', platform };
    const libraries = build.mode === 'prebuilt' ? llamaLibraries(build, root) : null;
    return { origin, path, build, libraries, cpuBackend: nativeCpuBackend(directory, build) };
  }
  const shipped = existsSync(join(root, 'prebuilds')) ? readdirSync(join(root, 'prebuilds')) : [];
  throw unavailable(
    `No native addon for ${platform}: infoprune ships prebuilt addons for ${shipped.join(', ') || 'no platform'} ` +
      `and none was built here; ${REBUILD_HINT}`,
  );
}

/** Which CPU backend to load: the one compiled for this machine when there is one (default), or the prebuilt. */
function cpuBackendChoice(): 'native' | 'prebuilt' {
  const value = process.env.INFOPRUNE_CPU_BACKEND;
  if (value === undefined || value === '' || value === 'native') return 'native';
  if (value === 'prebuilt') return 'prebuilt';
  throw new InvalidOptionError(
    'INFOPRUNE_CPU_BACKEND',
    `Expected native or prebuilt for INFOPRUNE_CPU_BACKEND but received ${JSON.stringify(value)}`,
    { expected: 'native or prebuilt', received: value },
  );
}

function nativeCpuBackend(directory: string, build: NativeBuildInfo): string | null {
  if (build.mode !== 'prebuilt' || build.cpuBackend === undefined || cpuBackendChoice() === 'prebuilt') return null;
  const path = join(directory, build.cpuBackend);
  return existsSync(path) ? path : null;
}

/** A package's folder, found as Node would find it from `from` (without loading it). */
export function packageFolder(name: string, from: string): string | null {
  for (const base of createRequire(join(from, 'package.json')).resolve.paths(name) ?? []) {
    if (existsSync(join(base, name, 'package.json'))) return join(base, name);
  }
  return null;
}

/** The folder of the llama.cpp libraries a build links, checked to be the version it was built against. */
function llamaLibraries(build: NativeBuildInfo, root: string): string {
  const name =
    build.llamaPackage ?? `@node-llama-cpp/${build.platform.replace(/^darwin/, 'mac').replace(/^win32/, 'win')}`;
  const folder = packageFolder(name, root);
  const wanted = build.llamaPackageVersion;
  if (folder === null) {
    throw unavailable(
      `llama.cpp's libraries are missing: the native addon links ${name}${wanted ? `@${wanted}` : ''}, which is not ` +
        'installed (npm installs it as an optional dependency of infoprune, unless optional dependencies are ' +
        `omitted); install it with \`npm install ${name}${wanted ? `@${wanted}` : ''}\``,
    );
  }
  const { version } = JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8')) as { version: string };
  if (wanted !== undefined && version !== wanted) {
    throw unavailable(
      `The native addon was built against ${name}@${wanted}, but ${version} is installed (${folder}); install ` +
        `${name}@${wanted}, or ${REBUILD_HINT}`,
    );
  }
  return join(folder, 'bins', name.slice(name.indexOf('/') + 1));
}

/** The libraries the addon links, in load order (ggml's core, ggml, llama); not backends or llama-common. */
function linkedLibraries(directory: string): string[] {
  const files = existsSync(directory) ? readdirSync(directory) : [];
  return ['ggml-base', 'ggml', 'llama'].flatMap((stem) =>
    files.filter((file) => new RegExp(`^(lib)?${stem}\\.([^-]*\\.)?(so|dylib|dll)$`).test(file)),
  );
}

/** dlopen's RTLD_NODELETE (not in os.constants.dlopen): keeps a library loaded after Node closes its handle. */
const RTLD_NODELETE = process.platform === 'darwin' ? 0x80 : 0x1000;

/** Makes the libraries in `directory` the ones the addon's references resolve to (see the top of this file). */
function preloadLibraries(directory: string): void {
  if (process.platform === 'win32') {
    process.env.PATH = `${directory}${delimiter}${process.env.PATH ?? ''}`;
    return;
  }
  const libraries = linkedLibraries(directory);
  if (libraries.length === 0) throw unavailable(`llama.cpp's libraries are missing from ${directory}`);
  const flags = constants.dlopen.RTLD_NOW! | RTLD_NODELETE;
  for (const library of libraries) {
    try {
      process.dlopen({ exports: {} } as NodeJS.Module, join(directory, library), flags);
    } catch (error) {
      if ((error as Error).message.includes('did not self-register')) continue; // loaded: it is no addon
      throw unavailable(
        `llama.cpp's library ${join(directory, library)} does not load: ${(error as Error).message}`,
        error,
      );
    }
  }
}

/**
 * The addon's C++ sources as one SHA-256 (each native/*.cpp and *.hpp: its name, NUL, its bytes, NUL, in name order),
 * as scripts/build-native.mjs records it in build-info.json.
 */
export function nativeSourcesHash(root: string): string {
  const folder = join(root, 'native');
  const hash = createHash('sha256');
  for (const name of readdirSync(folder)
    .filter((file) => /\.(cpp|hpp)$/.test(file))
    .sort()) {
    hash
      .update(`${name}\0`)
      .update(readFileSync(join(folder, name)))
      .update('\0');
  }
  return hash.digest('hex');
}

/**
 * In a checkout (a .git beside the package), a local build from other C++ sources than native/ holds now, as after a
 * pull without `npm run build:native`, would fail later on whatever method changed; say so at load. An installed
 * package is never checked (a millisecond or two of hashing, once, in a checkout).
 */
function checkBuildIsCurrent(files: NativeAddonFiles): void {
  if (files.origin !== 'local build' || files.build.sourcesHash === undefined) return;
  const root = dirname(dirname(dirname(files.path))); // <root>/build/Release/infoprune.node
  if (!existsSync(join(root, '.git')) || nativeSourcesHash(root) === files.build.sourcesHash) return;
  throw new InfopruneError(
    'NATIVE_STALE',
    `The native addon ${files.path} was built from other C++ sources than ${join(root, 'native')} holds now; ` +
      'rebuild it with `npm run build:native`',
  );
}

/** Loads the addon found by `findNativeAddon` (its libraries first). */
export function loadNativeAddon<T>(files: NativeAddonFiles): T {
  checkBuildIsCurrent(files);
  if (files.libraries !== null) preloadLibraries(files.libraries);
  try {
    return createRequire(import.meta.url)(files.path) as T;
  } catch (error) {
    const fix = files.origin === 'prebuilt' ? REBUILD_HINT : 'rebuild it with `npm run build:native`';
    throw unavailable(`The native addon ${files.path} does not load: ${(error as Error).message}; ${fix}`, error);
  }
}
