#!/usr/bin/env node
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
//   INFOPRUNE_SKIP_NATIVE_BUILD=1         do nothing (for tooling that only needs the TypeScript)
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
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

/** After an install's build, only the addon and its stamp stay (not cmake's tree, not llama.cpp's source). */
function removeIntermediates() {
  for (const entry of readdirSync(buildDir))
    if (entry !== 'Release') rmSync(join(buildDir, entry), { recursive: true, force: true });
  for (const entry of readdirSync(outputDir)) {
    if (entry !== 'infoprune.node' && entry !== 'build-info.json')
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
  };
  if (!force && existsSync(join(outputDir, 'infoprune.node')) && existsSync(stampPath)) {
    const built = readJson(stampPath);
    if (Object.entries(wanted).every(([key, value]) => built[key] === value)) {
      console.log(
        `infoprune: native addon up to date (${mode}, ${gpu}, llama.cpp ${tag}); npm run build:native rebuilds`,
      );
      return;
    }
  }
  checkTools();
  const started = Date.now();
  const sourceDir = headers ?? extractFromBundle(['.']);
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
  if (installed) removeIntermediates();
  console.log(`infoprune: native addon built in ${seconds.toFixed(1)} s`);
}

try {
  if (process.env.INFOPRUNE_SKIP_NATIVE_BUILD === '1') {
    console.log('infoprune: INFOPRUNE_SKIP_NATIVE_BUILD=1, not building the native addon');
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
