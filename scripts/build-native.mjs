#!/usr/bin/env node
import { execFileSync } from 'node:child_process';
// Builds the native addon (build/Release/infoprune.node) from source with cmake-js. Nothing is downloaded. npm's
// install step (scripts/install.mjs) runs it only when no prebuilt addon fits this machine; in a checkout,
// `npm run build:native` rebuilds.
//
// llama.cpp comes from node-llama-cpp's packages, at one pinned release:
//   headers     native/llama/ (shipped in the package; in a checkout, extracted from node-llama-cpp's bundle)
//   libraries   @node-llama-cpp/<platform>[-<gpu>]: linked, and loaded from that package at run time
//               (src/engine/addon.ts), never copied
//   or, with INFOPRUNE_LLAMA_FROM_SOURCE=1, llama.cpp compiled into the addon from node-llama-cpp's bundled release
//   (needs node-llama-cpp itself installed, and git).
//
// Environment:
//   INFOPRUNE_GPU=cpu|cuda|vulkan|metal   which llama.cpp backend (default: cpu; metal on Apple silicon); cuda and
//                                         vulkan link @node-llama-cpp/<platform>-<gpu>, installed separately
//   INFOPRUNE_LLAMA_FROM_SOURCE=1         compile llama.cpp from the bundled release instead of linking the
//                                         prebuilt libraries (the route for CUDA archs or Metal tuned to this box)
//   INFOPRUNE_NATIVE_CPU=0                keep node-llama-cpp's prebuilt CPU backend variants (see below)
//   INFOPRUNE_SKIP_NATIVE_BUILD=1         do nothing (for tooling that only needs the TypeScript)
//
// With the prebuilt libraries on Linux, llama.cpp's CPU backend (libggml-cpu only) is also compiled for this machine
// and put beside the addon (libggml-cpu-native.so, named in its build-info.json); the addon loads it instead of the
// prebuilt CPU variants, which GCC 11 compiled for generic ISA levels and which run the matmuls 1.5-1.9x slower
// (docs/benchmarks.md). Its source is native/ggml/: the release's ggml sources that backend needs, infoprune's
// patches (native/ggml-patches/*.patch: a faster kernel for training's OUT_PROD) applied, extracted here in a
// checkout and shipped in the package, built through native/ggml-cpu/CMakeLists.txt. An install that keeps the
// prebuilt addon compiles it too (scripts/install.mjs runs `build-native.mjs --cpu-backend <prebuilt folder>`), so a
// consumer needs only cmake and a C++ compiler, no git and no node-llama-cpp. About 1.5 minutes on 2 cores, once:
// cached by release, patches, compiler and CPU (in .cache/ in a checkout, else in $XDG_CACHE_HOME/infoprune or
// ~/.cache/infoprune). When it cannot be built, one line says why and the prebuilt variants are used. A patch that
// does not apply is left out, with one line saying so; a from-source build carries the patches too.
import { createHash } from 'node:crypto';
import {
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, homedir } from 'node:os';
import { delimiter, dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const force = process.argv.includes('--force');
/** Installed as a dependency (not a checkout): keep only what runs, and say how to retry in the user's terms. */
const installed = root.split(sep).includes('node_modules');
const retry = installed ? 'npm rebuild infoprune' : 'npm run build:native';

/** A failure the user can act on: one line, no stack trace. */
class BuildError extends Error {}

/** A package's folder, found like Node finds it (some packages do not export their package.json). */
function packageDir(name, from = root) {
  for (const base of createRequire(join(from, 'package.json')).resolve.paths(name) ?? []) {
    if (existsSync(join(base, name, 'package.json'))) return join(base, name);
  }
  return null;
}

function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

function onPath(command) {
  const extensions = process.platform === 'win32' ? ['.exe', '.cmd', ''] : [''];
  return (process.env.PATH ?? '')
    .split(delimiter)
    .some((dir) => dir && extensions.some((extension) => existsSync(join(dir, command + extension))));
}

/** cmake and a C++ compiler, checked first so that their absence is one clear line, not CMake's page of errors. */
function checkTools() {
  const hint = `Install them (Debian/Ubuntu: apt-get install cmake g++; macOS: xcode-select --install and brew install cmake), then run ${retry}`;
  if (!onPath('cmake')) throw new BuildError(`cannot build the native addon: cmake is not on PATH. ${hint}`);
  if (process.platform !== 'win32' && !process.env.CXX && !['c++', 'g++', 'clang++'].some(onPath)) {
    throw new BuildError(`cannot build the native addon: no C++ compiler (c++, g++, clang++ or $CXX) on PATH. ${hint}`);
  }
}

const llamaPackageDir = packageDir('node-llama-cpp');
const headersDir = join(root, 'native', 'llama');
const shippedTag = existsSync(join(headersDir, 'llama.cpp.info.json'))
  ? readJson(join(headersDir, 'llama.cpp.info.json')).tag
  : null;
/** The llama.cpp release: node-llama-cpp's when it is installed (a checkout), else the headers the package ships. */
const tag = llamaPackageDir ? readJson(join(llamaPackageDir, 'llama', 'llama.cpp.info.json')).tag : shippedTag;

const defaultGpu = process.platform === 'darwin' && process.arch === 'arm64' ? 'metal' : 'cpu';
const gpu = process.env.INFOPRUNE_GPU || defaultGpu;
const fromSource = process.env.INFOPRUNE_LLAMA_FROM_SOURCE === '1';
const mode = fromSource ? 'source' : 'prebuilt';

const buildDir = join(root, 'build');
const outputDir = join(buildDir, 'Release');
const stampPath = join(outputDir, 'build-info.json');

/**
 * The addon's C++ sources as one SHA-256 (each native/*.cpp and *.hpp: its name, NUL, its bytes, NUL, in name order):
 * recorded in build-info.json, so that a changed source rebuilds here and a checkout's stale build fails at load
 * (src/engine/addon.ts, nativeSourcesHash: the same definition).
 */
function nativeSourcesHash() {
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

/** node-llama-cpp's prebuilt package for this platform and backend, e.g. @node-llama-cpp/linux-x64-cuda. */
function prebuiltLibraries() {
  const platform = { linux: 'linux', darwin: 'mac', win32: 'win' }[process.platform];
  const name = `${platform}-${process.arch}${gpu === 'cpu' ? '' : `-${gpu}`}`;
  const pkg = `@node-llama-cpp/${name}`;
  // infoprune depends on the CPU packages itself; the GPU ones come with node-llama-cpp (a checkout) or by hand.
  const dir = packageDir(pkg) ?? (llamaPackageDir && packageDir(pkg, llamaPackageDir));
  // The release every @node-llama-cpp package must come from: the one infoprune pins its CPU packages to.
  const pinned = Object.values(readJson(join(root, 'package.json')).optionalDependencies ?? {})[0];
  const version = pinned ?? (llamaPackageDir ? readJson(join(llamaPackageDir, 'package.json')).version : null);
  if (!dir) {
    throw new BuildError(
      `llama.cpp's prebuilt libraries for ${name} are not installed: npm install ${pkg}${version ? `@${version}` : ''} ` +
        '(the same version as the @node-llama-cpp packages infoprune depends on), or set INFOPRUNE_LLAMA_FROM_SOURCE=1',
    );
  }
  return { pkg, version: readJson(join(dir, 'package.json')).version, dir: join(dir, 'bins', name) };
}

/** Extracts the bundled llama.cpp release (a local git bundle: no network) once per tag; full source or headers. */
function extractFromBundle(paths) {
  if (!llamaPackageDir) {
    throw new BuildError(
      'compiling llama.cpp from source needs its source: npm install node-llama-cpp (its llama/gitRelease.bundle, ' +
        `release ${shippedTag ?? 'the one infoprune pins'}) and git`,
    );
  }
  const dir = join(root, '.cache', `llama.cpp-${tag}`);
  const complete =
    existsSync(join(dir, 'include', 'llama.h')) && (!paths.includes('.') || existsSync(join(dir, 'CMakeLists.txt')));
  if (complete) return dir;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dirname(dir), { recursive: true });
  console.log(`infoprune: extracting llama.cpp ${tag} from node-llama-cpp's bundle`);
  const bundle = join(llamaPackageDir, 'llama', 'gitRelease.bundle');
  const git = (args) => execFileSync('git', args, { stdio: 'inherit' });
  git(['-c', 'advice.detachedHead=false', 'clone', '--quiet', '--no-checkout', bundle, dir]);
  git(['-C', dir, 'checkout', '--quiet', 'HEAD', '--', ...paths]);
  return dir;
}

const patchesDir = join(root, 'native', 'ggml-patches');

function llamaPatches() {
  if (!existsSync(patchesDir)) return [];
  return readdirSync(patchesDir)
    .filter((name) => name.endsWith('.patch'))
    .sort()
    .map((name) => ({ name: name.replace(/\.patch$/, ''), file: join(patchesDir, name) }));
}

/**
 * The extracted source with infoprune's patches applied, from pristine files each time (the extraction is reused).
 * Returns the names of the patches applied; one that does not apply to this release is left out, with one line.
 */
function patchedSource() {
  const source = extractFromBundle(['.']);
  const git = (args) => execFileSync('git', ['-C', source, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  git(['checkout', '--quiet', 'HEAD', '--', 'ggml']);
  const applied = [];
  for (const patch of llamaPatches()) {
    try {
      git(['apply', patch.file]);
      applied.push(patch.name);
    } catch {
      console.log(`infoprune: patch ${patch.name} does not apply to llama.cpp ${tag}; building without it`);
    }
  }
  return { source, applied };
}

/** native/llama: the release's public headers, all the addon needs to link the prebuilt libraries. */
function llamaHeaders() {
  if (shippedTag === tag && existsSync(join(headersDir, 'include', 'llama.h'))) return headersDir;
  const source = extractFromBundle(['include', 'ggml/include']);
  rmSync(headersDir, { recursive: true, force: true });
  cpSync(join(source, 'include'), join(headersDir, 'include'), { recursive: true });
  cpSync(join(source, 'ggml', 'include'), join(headersDir, 'ggml', 'include'), { recursive: true });
  writeFileSync(join(headersDir, 'llama.cpp.info.json'), `${JSON.stringify({ tag }, null, 2)}\n`);
  return headersDir;
}

/** binding.gyp (the node-gyp route) asks for the same paths this script gives cmake-js. */
function printForGyp(what) {
  const { dir } = prebuiltLibraries();
  const answers = {
    include: `${join(llamaHeaders(), 'include')} ${join(headersDir, 'ggml', 'include')}`,
    libraries: readdirSync(dir)
      .filter((name) => /^(lib)?(llama|ggml|ggml-base)\.([^-]*\.)?(so|dylib)$/.test(name))
      .map((name) => join(dir, name))
      .join(' '),
  };
  if (!(what in answers)) throw new BuildError(`Expected one of ${Object.keys(answers).join(', ')} after --print`);
  process.stdout.write(answers[what]);
}

const NATIVE_CPU_FILE = 'libggml-cpu-native.so';
const ggmlDir = join(root, 'native', 'ggml');
const ggmlProject = join(root, 'native', 'ggml-cpu');

/** What native/ggml/ must have been made from: the release and infoprune's patches (their text). */
function ggmlWanted() {
  const patches = createHash('sha256');
  for (const patch of llamaPatches()) patches.update(`${patch.name}\n${readFileSync(patch.file, 'utf8')}\n`);
  // An installed package keeps the release it shipped, whatever node-llama-cpp the consumer may have beside it.
  return { tag: installed ? shippedTag : tag, patchesDigest: patches.digest('hex').slice(0, 16) };
}

/**
 * native/ggml/: the release's ggml sources its CPU backend builds from (not the other backends), infoprune's patches
 * applied, with ggml.info.json ({ tag, patchesDigest, patches: the names applied }). Made here from node-llama-cpp's
 * bundle in a checkout (npm pack ships it, as native/llama/); an installed package uses the one it ships. Patched
 * once, here, so that an install needs neither git nor a patch tool. Returns its info, or null where there is none.
 */
function ggmlSources() {
  const infoPath = join(ggmlDir, 'ggml.info.json');
  const wanted = ggmlWanted();
  const info = existsSync(infoPath) ? readJson(infoPath) : null;
  if (info?.tag === wanted.tag && info.patchesDigest === wanted.patchesDigest) return info;
  if (installed || !llamaPackageDir) return null;
  const { source, applied } = patchedSource();
  rmSync(ggmlDir, { recursive: true, force: true });
  const from = join(source, 'ggml');
  for (const entry of ['CMakeLists.txt', 'cmake', 'include', join('src', 'CMakeLists.txt'), join('src', 'ggml-cpu')])
    cpSync(join(from, entry), join(ggmlDir, entry), { recursive: true });
  // ggml-base's sources (the CPU backend links it; the prebuilt one stands in at run time), not other backends.
  for (const entry of readdirSync(join(from, 'src'), { withFileTypes: true })) {
    if (entry.isFile() && /\.(c|cpp|h|in)$/.test(entry.name))
      cpSync(join(from, 'src', entry.name), join(ggmlDir, 'src', entry.name));
  }
  const made = { ...wanted, patches: applied };
  writeFileSync(infoPath, `${JSON.stringify(made, null, 2)}\n`);
  return made;
}

/** The C++ compiler cmake will find, or null: checked first so that its absence is one line, not CMake's page. */
function cxxCompiler() {
  return process.env.CXX || ['c++', 'g++', 'clang++'].find(onPath) || null;
}

/** Where compiled CPU backends are kept: .cache/ in a checkout; a per-user folder for an installed package. */
function cpuBackendCache() {
  if (!installed) return join(root, '.cache');
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'infoprune');
}

/**
 * -march=native, less AVX512-FP16: with it ggml's F16 vector code (the KV cache's attention products, F16 weights)
 * multiplies and accumulates in half precision, where the prebuilt variants convert to F32 first. Scores moved by
 * 1e-5 and more on such CPUs (Intel Xeon Sapphire Rapids and later). Compilers that predate the extension (GCC 11)
 * neither know the flag nor enable it.
 */
function archFlags(compiler) {
  try {
    execFileSync(compiler, ['-march=native', '-mno-avx512fp16', '-x', 'c++', '-E', '-'], {
      input: '',
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    return '-march=native -mno-avx512fp16';
  } catch {
    return '-march=native';
  }
}

function cpuBackendFlags(compiler) {
  const arch = archFlags(compiler);
  return [
    '-DCMAKE_BUILD_TYPE=Release',
    '-DBUILD_SHARED_LIBS=ON',
    '-DCMAKE_PLATFORM_NO_VERSIONED_SONAME=ON', // libggml-base.so, the prebuilt's soname
    '-DGGML_BACKEND_DL=ON',
    // GGML_NATIVE refuses GGML_BACKEND_DL (its feature check): the compiler's -march=native does the same here.
    '-DGGML_NATIVE=OFF',
    `-DCMAKE_C_FLAGS=${arch}`,
    `-DCMAKE_CXX_FLAGS=${arch}`,
    '-DGGML_OPENMP=OFF', // ggml's own thread pool, as in the prebuilt variants
    '-DGGML_BUILD_TESTS=OFF',
    '-DGGML_BUILD_EXAMPLES=OFF',
  ];
}

/** What the native CPU backend depends on: the sources (release, patches), the recipe, the compiler and this CPU. */
function nativeCpuKey(sources, compiler, flags) {
  const version = execFileSync(compiler, ['--version'], { encoding: 'utf8' }).split('\n')[0];
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const cpu = ['model name', 'flags'].map((field) => new RegExp(`^${field}\\s*:(.*)$`, 'm').exec(cpuinfo)?.[1]);
  const recipe = [flags, readFileSync(join(ggmlProject, 'CMakeLists.txt'), 'utf8')];
  const key = { tag: sources.tag, patches: sources.patchesDigest, recipe, compiler: version, cpu };
  return createHash('sha256').update(JSON.stringify(key)).digest('hex').slice(0, 16);
}

/** Runs cmake with its output (pages of ggml's warnings) in a log, named in the one line a failure prints. */
function cmake(args, log) {
  const fd = openSync(log, 'a');
  try {
    execFileSync('cmake', args, { stdio: ['ignore', fd, fd] });
  } catch {
    throw new Error(`cmake ${args[0]} failed; its output: ${log}`);
  } finally {
    closeSync(fd);
  }
}

/**
 * Compiles llama.cpp's CPU backend alone from native/ggml/ (a dynamic backend, -march=native) into the cache, or
 * reuses the cached one, and copies it into `directory`, beside the addon. Returns its file name and the patches it
 * carries, or null (after one line saying why) to keep the prebuilt variants. It links its own libggml-base, which
 * the prebuilt one of the same release stands in for at run time (same soname, same ABI).
 */
function buildNativeCpuBackend(directory) {
  if (process.platform !== 'linux') return null;
  const skip = (why) => {
    console.log(`infoprune: using the prebuilt CPU backend variants (${why})`);
    return null;
  };
  if (process.env.INFOPRUNE_NATIVE_CPU === '0') return skip('INFOPRUNE_NATIVE_CPU=0');
  const compiler = cxxCompiler();
  if (!onPath('cmake') || compiler === null) return skip('compiling the native one needs cmake and a C++ compiler');
  try {
    const sources = ggmlSources();
    if (sources === null) return skip("llama.cpp's ggml sources (native/ggml/) are not here");
    const flags = cpuBackendFlags(compiler);
    const key = nativeCpuKey(sources, compiler, flags);
    const cached = join(cpuBackendCache(), `ggml-cpu-${sources.tag}-${key}`, 'libggml-cpu.so');
    const patchesRecord = join(dirname(cached), 'patches.json');
    if (!existsSync(cached) || !existsSync(patchesRecord)) {
      const started = Date.now();
      console.log(
        "infoprune: compiling llama.cpp's CPU backend for this machine, once, about 1.5 min; INFOPRUNE_NATIVE_CPU=0 skips",
      );
      mkdirSync(cpuBackendCache(), { recursive: true });
      const build = mkdtempSync(join(cpuBackendCache(), 'ggml-cpu-build-'));
      const log = join(build, 'build.log');
      cmake(['-S', ggmlProject, '-B', build, ...flags], log);
      cmake(['--build', build, '--target', 'ggml-cpu', '--parallel', String(Math.max(1, cpus().length))], log);
      mkdirSync(dirname(cached), { recursive: true });
      cpSync(join(build, 'bin', 'libggml-cpu.so'), cached);
      writeFileSync(patchesRecord, `${JSON.stringify(sources.patches)}\n`);
      rmSync(build, { recursive: true, force: true }); // kept when it failed: its log says why
      console.log(`infoprune: CPU backend compiled in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
    cpSync(cached, join(directory, NATIVE_CPU_FILE));
    return { file: NATIVE_CPU_FILE, patches: readJson(patchesRecord) };
  } catch (error) {
    return skip(`compiling the native one failed: ${error.message.split('\n')[0]}`);
  }
}

/**
 * The CPU backend step for the addon in `directory` (build/Release, or an installed package's prebuilt folder): the
 * file beside the addon and its build-info.json's cpuBackend, which src/engine/addon.ts reads, agree afterwards.
 */
function addNativeCpuBackend(directory) {
  const stampFile = join(directory, 'build-info.json');
  const stamp = readJson(stampFile);
  const cpuBackend = stamp.mode === 'prebuilt' ? buildNativeCpuBackend(directory) : null;
  if (cpuBackend === null) rmSync(join(directory, NATIVE_CPU_FILE), { force: true });
  // undefined drops the fields (JSON.stringify): the stamp names the file only while it is there.
  const updated = { ...stamp, cpuBackend: cpuBackend?.file, cpuBackendPatches: cpuBackend?.patches };
  writeFileSync(stampFile, `${JSON.stringify(updated, null, 2)}\n`);
}

/** After an install's build, only the addon and its stamp stay (not cmake's tree, not llama.cpp's source). */
function removeIntermediates() {
  for (const entry of readdirSync(buildDir))
    if (entry !== 'Release') rmSync(join(buildDir, entry), { recursive: true, force: true });
  for (const entry of readdirSync(outputDir)) {
    if (entry !== 'infoprune.node' && entry !== 'build-info.json' && entry !== NATIVE_CPU_FILE)
      rmSync(join(outputDir, entry), { recursive: true, force: true });
  }
  rmSync(join(root, '.cache'), { recursive: true, force: true });
}

function build() {
  if (!['cpu', 'cuda', 'vulkan', 'metal'].includes(gpu)) {
    throw new BuildError(
      `Expected one of cpu, cuda, vulkan, metal for INFOPRUNE_GPU but received ${JSON.stringify(gpu)}`,
    );
  }
  if (!tag) throw new BuildError('llama.cpp is missing: neither node-llama-cpp nor native/llama/ is installed');
  const libraries = fromSource ? null : prebuiltLibraries();
  const headers = fromSource ? null : llamaHeaders(); // also when the build is up to date: npm pack ships them
  const wanted = {
    mode,
    gpu,
    llamaCppTag: tag,
    platform: `${process.platform}-${process.arch}`,
    ...(libraries && { llamaPackage: libraries.pkg, llamaPackageVersion: libraries.version }),
    sourcesHash: nativeSourcesHash(),
  };
  const upToDate =
    !force &&
    existsSync(join(outputDir, 'infoprune.node')) &&
    existsSync(stampPath) &&
    Object.entries(wanted).every(([key, value]) => readJson(stampPath)[key] === value);
  if (upToDate) {
    console.log(
      `infoprune: native addon up to date (${mode}, ${gpu}, llama.cpp ${tag}); npm run build:native rebuilds`,
    );
  } else {
    buildAddon(wanted, headers, libraries);
  }
  // native/ggml/ also when the CPU backend is not wanted here: npm pack ships it.
  if (!fromSource && llamaPackageDir) ggmlSources();
  // The CPU backend is its own step (cached), so that an up-to-date addon gets it too, or loses it when turned off.
  addNativeCpuBackend(outputDir);
  if (installed) removeIntermediates();
}

function buildAddon(wanted, headers, libraries) {
  checkTools();
  const started = Date.now();
  const sourceDir = headers ?? patchedSource().source;
  const defines = [`INFOPRUNE_LLAMA_MODE=${mode}`, `INFOPRUNE_LLAMA_SOURCE_DIR=${sourceDir}`, `INFOPRUNE_GPU=${gpu}`];
  if (libraries) defines.push(`INFOPRUNE_PREBUILT_DIR=${libraries.dir}`);
  const cmakeJs = join(packageDir('cmake-js'), 'bin', 'cmake-js');
  console.log(`infoprune: building the native addon (${mode} llama.cpp ${tag}, ${gpu})`);
  rmSync(join(outputDir, 'infoprune.node'), { force: true });
  const command = force || !existsSync(join(buildDir, 'CMakeCache.txt')) ? 'rebuild' : 'build';
  const args = [cmakeJs, command, '--out', buildDir, '--parallel', String(Math.max(1, cpus().length))];
  try {
    execFileSync(process.execPath, [...args, ...defines.map((d) => `--CD${d}`)], { cwd: root, stdio: 'inherit' });
  } catch (error) {
    throw new BuildError(`the native build failed (cmake-js exited with status ${error.status}; its output is above)`);
  }
  const seconds = (Date.now() - started) / 1000;
  writeFileSync(
    stampPath,
    `${JSON.stringify({ ...wanted, builtAt: new Date().toISOString(), buildSeconds: seconds }, null, 2)}\n`,
  );
  console.log(`infoprune: native addon built in ${seconds.toFixed(1)} s`);
}

try {
  if (process.env.INFOPRUNE_SKIP_NATIVE_BUILD === '1') {
    console.log('infoprune: INFOPRUNE_SKIP_NATIVE_BUILD=1, not building the native addon');
  } else if (process.argv.includes('--cpu-backend')) {
    addNativeCpuBackend(resolve(process.argv[process.argv.indexOf('--cpu-backend') + 1]));
  } else if (process.argv.includes('--print')) {
    printForGyp(process.argv[process.argv.indexOf('--print') + 1]);
  } else {
    build();
  }
} catch (error) {
  if (!(error instanceof BuildError)) throw error;
  console.error(`infoprune: ${error.message}`);
  process.exit(1);
}
