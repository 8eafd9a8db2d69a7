#!/usr/bin/env node
// Builds the native addon (build/Release/infoprune.node) with cmake-js, from what `npm install` fetched:
// llama.cpp's source release from node-llama-cpp's git bundle, and (by default) its prebuilt libraries.
// Nothing is downloaded. Runs as the package's install script; `npm run build:native` forces a rebuild.
//
// Environment:
//   INFOPRUNE_GPU=cpu|cuda|vulkan|metal   which llama.cpp backend (default: cpu; metal on Apple silicon)
//   INFOPRUNE_LLAMA_FROM_SOURCE=1         compile llama.cpp from the bundled release instead of linking the
//                                         prebuilt libraries (the route for CUDA archs or Metal tuned to this box)
//   INFOPRUNE_SKIP_NATIVE_BUILD=1         do nothing (for tooling that only needs the TypeScript)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const force = process.argv.includes('--force');

if (process.env.INFOPRUNE_SKIP_NATIVE_BUILD === '1') {
  console.log('infoprune: INFOPRUNE_SKIP_NATIVE_BUILD=1, not building the native addon');
  process.exit(0);
}

/** A package's folder, found like Node finds it (some packages do not export their package.json). */
function packageDir(name, from = root) {
  for (const base of createRequire(join(from, 'package.json')).resolve.paths(name) ?? []) {
    if (existsSync(join(base, name, 'package.json'))) return join(base, name);
  }
  return null;
}

const llamaPackageDir = packageDir('node-llama-cpp');
if (!llamaPackageDir) throw new Error('node-llama-cpp is not installed: run npm install first');
const { tag } = JSON.parse(readFileSync(join(llamaPackageDir, 'llama', 'llama.cpp.info.json'), 'utf8'));
const bundle = join(llamaPackageDir, 'llama', 'gitRelease.bundle');

const defaultGpu = process.platform === 'darwin' && process.arch === 'arm64' ? 'metal' : 'cpu';
const gpu = process.env.INFOPRUNE_GPU || defaultGpu;
if (!['cpu', 'cuda', 'vulkan', 'metal'].includes(gpu)) {
  throw new Error(`Expected one of cpu, cuda, vulkan, metal for INFOPRUNE_GPU but received ${JSON.stringify(gpu)}`);
}
const fromSource = process.env.INFOPRUNE_LLAMA_FROM_SOURCE === '1';
const mode = fromSource ? 'source' : 'prebuilt';

const buildDir = join(root, 'build');
const outputDir = join(buildDir, 'Release');
const stampPath = join(outputDir, 'build-info.json');
const wanted = { mode, gpu, llamaCppTag: tag, platform: `${process.platform}-${process.arch}` };
/** node-llama-cpp's prebuilt package for this platform and backend, e.g. @node-llama-cpp/linux-x64-cuda. */
function prebuiltLibraryDir() {
  const platform = { linux: 'linux', darwin: 'mac', win32: 'win' }[process.platform];
  const suffix = gpu === 'cpu' ? '' : `-${gpu}`;
  const name = `${platform}-${process.arch}${suffix}`;
  const dir = packageDir(`@node-llama-cpp/${name}`, llamaPackageDir);
  if (!dir) {
    throw new Error(
      `node-llama-cpp ships no prebuilt llama.cpp for ${name} (package @node-llama-cpp/${name} is not installed). ` +
        'Set INFOPRUNE_LLAMA_FROM_SOURCE=1 to compile llama.cpp from its bundled source instead.',
    );
  }
  return join(dir, 'bins', name);
}

/** Extracts the bundled llama.cpp release (a local git bundle: no network) once per tag. */
function llamaSourceDir() {
  const dir = join(root, '.cache', `llama.cpp-${tag}`);
  if (existsSync(join(dir, 'include', 'llama.h')) && (!fromSource || existsSync(join(dir, 'CMakeLists.txt'))))
    return dir;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dirname(dir), { recursive: true });
  console.log(`infoprune: extracting llama.cpp ${tag} from node-llama-cpp's bundle`);
  execFileSync('git', ['-c', 'advice.detachedHead=false', 'clone', '--quiet', '--no-checkout', bundle, dir], {
    stdio: 'inherit',
  });
  const paths = fromSource ? ['.'] : ['include', 'ggml/include'];
  execFileSync('git', ['-C', dir, 'checkout', '--quiet', 'HEAD', '--', ...paths], { stdio: 'inherit' });
  return dir;
}

// binding.gyp (the node-gyp route) asks for the same paths this script gives cmake-js.
const printWhat = process.argv[process.argv.indexOf('--print') + 1];
if (process.argv.includes('--print')) {
  const source = llamaSourceDir();
  const libraries = prebuiltLibraryDir();
  const answers = {
    include: `${join(source, 'include')} ${join(source, 'ggml', 'include')}`,
    'library-dir': libraries,
    libraries: readdirSync(libraries)
      .filter((name) => /^(lib)?(llama|ggml)\.[^/]*\.(so|dylib)$|^(lib)?ggml-base\.(so|dylib)$/.test(name))
      .map((name) => join(libraries, name))
      .join(' '),
  };
  if (!(printWhat in answers)) throw new Error(`Expected one of ${Object.keys(answers).join(', ')} after --print`);
  process.stdout.write(answers[printWhat]);
  process.exit(0);
}

if (!force && existsSync(join(outputDir, 'infoprune.node')) && existsSync(stampPath)) {
  const built = JSON.parse(readFileSync(stampPath, 'utf8'));
  if (Object.entries(wanted).every(([key, value]) => built[key] === value)) {
    console.log(
      `infoprune: native addon up to date (${mode}, ${gpu}, llama.cpp ${tag}); npm run build:native rebuilds`,
    );
    process.exit(0);
  }
}

const started = Date.now();
const sourceDir = llamaSourceDir();
const defines = [`INFOPRUNE_LLAMA_MODE=${mode}`, `INFOPRUNE_LLAMA_SOURCE_DIR=${sourceDir}`, `INFOPRUNE_GPU=${gpu}`];
if (!fromSource) defines.push(`INFOPRUNE_PREBUILT_DIR=${prebuiltLibraryDir()}`);

const cmakeJs = join(packageDir('cmake-js'), 'bin', 'cmake-js');
console.log(`infoprune: building the native addon (${mode} llama.cpp ${tag}, ${gpu})`);
rmSync(join(outputDir, 'infoprune.node'), { force: true });
execFileSync(
  process.execPath,
  [
    cmakeJs,
    force || !existsSync(join(buildDir, 'CMakeCache.txt')) ? 'rebuild' : 'build',
    '--out',
    buildDir,
    '--parallel',
    String(Math.max(1, cpus().length)),
    ...defines.map((d) => `--CD${d}`),
  ],
  { cwd: root, stdio: 'inherit' },
);
const seconds = (Date.now() - started) / 1000;
writeFileSync(
  stampPath,
  `${JSON.stringify({ ...wanted, builtAt: new Date().toISOString(), buildSeconds: seconds }, null, 2)}\n`,
);
console.log(`infoprune: native addon built in ${seconds.toFixed(1)} s`);
