/**
 * The package as a user gets it: `npm pack` (which ships this machine's addon as the linux-x64 prebuilt), then
 * `npm install <tarball>` into a fresh consumer folder whose PATH has node, npm and a shell but no cmake, compiler or
 * git. Then a TypeScript service (type-checked against the package's declarations, compiled, run as ESM), a CommonJS
 * caller, `npx infoprune --help`; with cmake and a compiler, the CPU backend compiled for this machine beside the prebuilt
 * (from the checkout's cache entry, which has the same key: compiling it again would take minutes; that the shipped
 * native/ggml/ compiles is the checkout's own build, which compiles that folder); and the path of a platform without
 * a prebuilt, simulated by removing it: a clear error at load, a one-line reason and a clear failure at install
 * without a compiler, and a source build with one. Consumers' per-user cache is a scratch folder (XDG_CACHE_HOME).
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, tinyModelPath } from './helpers/models.js';

const npmCli = join(dirname(process.execPath), process.platform === 'win32' ? 'npm.cmd' : 'npm');
const built = join(REPO_ROOT, 'build', 'Release');
const defaultGpu = process.platform === 'darwin' && process.arch === 'arm64' ? 'metal' : 'cpu';
const buildInfo = existsSync(join(built, 'build-info.json'))
  ? (JSON.parse(readFileSync(join(built, 'build-info.json'), 'utf8')) as { mode: string; gpu: string })
  : null;
/** The checkout's build compiled the CPU backend for this machine (Linux, unless INFOPRUNE_NATIVE_CPU=0). */
const nativeCpu = (buildInfo as { cpuBackend?: string } | null)?.cpuBackend !== undefined;
const skipReason =
  process.platform === 'win32'
    ? 'the consumer checks build a POSIX PATH of symlinks'
    : !existsSync(npmCli)
      ? `npm is not beside node (${npmCli})`
      : !existsSync(join(built, 'infoprune.node')) || buildInfo === null
        ? `the native addon is not built (${built}): npm pack ships it as the prebuilt`
        : buildInfo.mode !== 'prebuilt' || buildInfo.gpu !== defaultGpu
          ? `the addon in ${built} is a ${buildInfo.mode} ${buildInfo.gpu} build; npm pack ships only the default build`
          : null;

/** What `npm pack` reads in a checkout: the package's files, what prepare compiles and prepack ships. */
const CHECKOUT_FILES = [
  'package.json',
  'README.md',
  'LICENSE',
  'tsconfig.json',
  'tsconfig.build.json',
  'src',
  'native',
];
const CHECKOUT_FILES_TOO = ['scripts', 'CMakeLists.txt', 'binding.gyp', join('build', 'Release')];

/**
 * A copy of the checkout to pack from, with the checkout's node_modules: npm's prepare step recompiles dist/ and
 * prepack writes prebuilds/, which must not happen under the other test files' feet (they run dist/ meanwhile).
 */
function checkoutCopy(into: string): string {
  const copy = join(into, 'checkout');
  for (const entry of [...CHECKOUT_FILES, ...CHECKOUT_FILES_TOO]) {
    cpSync(join(REPO_ROOT, entry), join(copy, entry), { recursive: true });
  }
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(copy, 'node_modules'));
  return copy;
}

/** Tools a consumer without build tools still has: node, npm and a shell (npm runs install scripts with sh). */
const CONSUMER_TOOLS = ['node', 'npm', 'npx', 'sh', 'env', 'cat', 'ls', 'rm', 'mkdir', 'uname'];

interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** The consumers' per-user cache (XDG_CACHE_HOME), in the scratch folder. */
let cacheHome: string | undefined;

/** Runs a command as the consumer would (asynchronously: vitest's worker must stay responsive meanwhile). */
function run(
  command: string,
  args: string[],
  options: { cwd: string; path?: string; env?: Record<string, string> },
): Promise<Ran> {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: options.path ?? process.env.PATH };
  // The checks must see what a user sees, not this test run's npm and vitest settings.
  for (const key of Object.keys(env)) if (/^(npm_|VITEST|INFOPRUNE_)/i.test(key)) delete env[key];
  Object.assign(env, cacheHome && { XDG_CACHE_HOME: cacheHome }, options.env);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

async function ok(running: Promise<Ran>, what: string): Promise<string> {
  const result = await running;
  if (result.status !== 0) throw new Error(`${what} failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

function seconds(since: number): string {
  return `${((performance.now() - since) / 1000).toFixed(1)} s`;
}

describe.skipIf(skipReason !== null)('the packed package in a fresh consumer without build tools', () => {
  let scratch: string;
  let consumer: string;
  let bareBin: string;
  let tarball: string;
  let entries: string[];
  let installOutput: string;
  const model = tinyModelPath();
  const installed = () => join(consumer, 'node_modules', 'infoprune');

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'infoprune-package-'));
    // 1. npm pack, as a release would (prepack puts the prebuilt in place, prepare compiles the library), in a copy.
    let started = performance.now();
    const packed = await ok(
      run(npmCli, ['pack', '--json', '--pack-destination', scratch], { cwd: checkoutCopy(scratch) }),
      'npm pack',
    );
    const [report] = JSON.parse(packed.slice(packed.indexOf('['))) as Array<{ filename: string; size: number }>;
    tarball = join(scratch, report.filename);
    entries = (await ok(run('tar', ['-tzf', tarball], { cwd: scratch }), 'tar')).trim().split('\n');
    console.log(`npm pack: ${(report.size / 1e6).toFixed(2)} MB tarball, ${entries.length} files, ${seconds(started)}`);

    // 2. A PATH with the consumer's basic tools only.
    bareBin = join(scratch, 'bin');
    mkdirSync(bareBin);
    for (const tool of CONSUMER_TOOLS) {
      const beside = join(dirname(process.execPath), tool); // node, npm, npx: this test's own
      const found = existsSync(beside)
        ? beside
        : spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
      if (found) symlinkSync(found, join(bareBin, tool));
    }

    // 3. The consumers' cache, holding the CPU backends the checkout compiled (the install's key picks its own).
    cacheHome = join(scratch, 'cache');
    const checkoutCache = join(REPO_ROOT, '.cache');
    for (const entry of existsSync(checkoutCache) ? readdirSync(checkoutCache) : []) {
      if (/^ggml-cpu-v/.test(entry))
        cpSync(join(checkoutCache, entry), join(cacheHome, 'infoprune', entry), { recursive: true });
    }

    // 4. A fresh consumer, and the install.
    consumer = join(scratch, 'consumer');
    mkdirSync(consumer);
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    started = performance.now();
    installOutput = await ok(
      run(npmCli, ['install', tarball, '--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts'], {
        cwd: consumer,
        path: bareBin,
      }),
      'npm install of the tarball',
    );
    console.log(`npm install <tarball> without a compiler: ${seconds(started)}`);
  });
  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
    cacheHome = undefined;
  });

  it('runs with a PATH that really lacks cmake, a compiler and git', async () => {
    for (const tool of ['cmake', 'g++', 'c++', 'cc', 'git', 'make']) {
      expect((await run('sh', ['-c', `command -v ${tool}`], { cwd: consumer, path: bareBin })).status, tool).not.toBe(
        0,
      );
    }
  });

  it('packs a LICENSE, a repository, the prebuilt and the headers, and nothing a consumer cannot use', async () => {
    const files = entries.map((entry) => entry.replace(/^package\//, ''));
    for (const file of ['LICENSE', 'README.md', 'package.json', 'dist/src/index.js', 'dist/src/index.d.ts']) {
      expect(files).toContain(file);
    }
    expect(files).toContain(`prebuilds/${process.platform}-${process.arch}/infoprune.node`);
    expect(files).toContain('native/llama/include/llama.h');
    // The CPU backend's sources, patched (their record says so), and nothing of ggml's other backends.
    for (const file of [
      'ggml-cpu/CMakeLists.txt',
      'ggml/CMakeLists.txt',
      'ggml/src/ggml-cpu/ops.cpp',
      'ggml/src/ggml.c',
    ])
      expect(files).toContain(`native/${file}`);
    expect(files).toContain('native/ggml-patches/ggml-cpu-out-prod.patch');
    expect(files).toContain('native/ggml-patches/ggml-cpu-amx-tilecfg.patch');
    expect(files.filter((file) => /^native\/ggml\/src\/ggml-(?!cpu\/)[^/]+\//.test(file))).toEqual([]);
    expect(JSON.parse(readFileSync(join(installed(), 'native', 'ggml', 'ggml.info.json'), 'utf8')).patches).toContain(
      'ggml-cpu-out-prod',
    );
    expect(readFileSync(join(installed(), 'native', 'ggml', 'src', 'ggml-cpu', 'ops.cpp'), 'utf8')).toMatch(
      /out_prod_ukernel/,
    );
    expect(
      files.filter((file) =>
        /\.map$|^dist\/(dev|bench|test)\/|^dev\/|demo|^\.cache\/|^build\/|llama-common/.test(file),
      ),
    ).toEqual([]);
    const manifest = JSON.parse(readFileSync(join(installed(), 'package.json'), 'utf8'));
    expect(manifest.repository?.url).toMatch(/^git\+https:/);
    expect(manifest.dependencies).not.toHaveProperty('node-llama-cpp');
    const exact = Object.entries(manifest.dependencies as Record<string, string>).filter(
      ([, range]) => !range.startsWith('^'),
    );
    expect(exact).toEqual([]);
    for (const range of Object.values(manifest.optionalDependencies as Record<string, string>))
      expect(range).toMatch(/^\d/);
    const shippedJs = files
      .filter((file) => file.endsWith('.js'))
      .map((file) => readFileSync(join(installed(), file), 'utf8'));
    expect(shippedJs.filter((source) => source.includes('sourceMappingURL'))).toEqual([]);
  });

  it('installs without building: the prebuilt loads, no build folder, no llama.cpp clone, no copied libraries', async () => {
    if (process.platform === 'linux') {
      expect(installOutput).toMatch(
        /\ninfoprune: using the prebuilt CPU backend variants \(compiling the native one needs cmake and a C\+\+ compiler\)\n/,
      );
    }
    expect(existsSync(join(installed(), 'build'))).toBe(false);
    expect(existsSync(join(installed(), '.cache'))).toBe(false);
    const prebuilt = readFileSync(
      join(installed(), 'prebuilds', `${process.platform}-${process.arch}`, 'infoprune.node'),
    );
    // No path of this checkout (e.g. an RPATH to its node_modules) baked into the shipped binary.
    expect(prebuilt.includes(join(REPO_ROOT, 'node_modules'))).toBe(false);
    const sizes = readdirSync(installed(), { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => statSync(join(entry.parentPath, entry.name)).size);
    console.log(`node_modules/infoprune: ${(sizes.reduce((a, b) => a + b, 0) / 1e6).toFixed(2)} MB unpacked`);
    expect(existsSync(join(consumer, 'node_modules', 'node-llama-cpp'))).toBe(false);
  });

  it('serves a TypeScript ESM consumer: types agree with values, coalescing, async tokenize, dispose', async () => {
    const service = join(consumer, 'service.ts');
    cpSync(join(REPO_ROOT, 'test', 'fixtures', 'consumer', 'service.ts'), service);
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          skipLibCheck: false,
          types: ['node'],
          typeRoots: [join(REPO_ROOT, 'node_modules', '@types')],
          outDir: '.',
        },
        files: ['service.ts'],
      }),
    );
    const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    await ok(
      run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: consumer, path: bareBin }),
      'tsc on the consumer',
    );
    const seen = JSON.parse(
      await ok(run('node', ['service.js', model], { cwd: consumer, path: bareBin }), 'the service'),
    );
    console.log(`TypeScript consumer: ${JSON.stringify(seen)}`);
    expect(seen.coalesced.batches).toBeLessThan(32);
    expect(seen.disposed).toBe(true);
  });

  it('gives CommonJS callers a working require (Node with require(esm)) or Node’s own clear error', async () => {
    cpSync(join(REPO_ROOT, 'test', 'fixtures', 'consumer', 'service.cjs'), join(consumer, 'service.cjs'));
    const seen = JSON.parse(
      await ok(run('node', ['service.cjs', model], { cwd: consumer, path: bareBin }), 'the CJS caller'),
    );
    if ((process.features as { require_module?: boolean }).require_module) {
      expect(seen).toMatchObject({ required: true });
      expect(seen.tokens).toBeGreaterThan(0);
    } else {
      expect(seen).toMatchObject({
        required: false,
        code: 'ERR_REQUIRE_ESM',
        message: expect.stringMatching(/import\(\)/),
      });
    }
  });

  it('runs the CLI through npx', async () => {
    const help = await ok(
      run('npx', ['infoprune', '--help'], { cwd: consumer, path: bareBin }),
      'npx infoprune --help',
    );
    expect(help).toMatch(/score/);
    expect(help).toMatch(/prune/);
  });

  it.skipIf(!nativeCpu)(
    'with cmake and a compiler, the install adds the CPU backend for this machine; INFOPRUNE_NATIVE_CPU=0 does not',
    async () => {
      const prebuilt = join(installed(), 'prebuilds', `${process.platform}-${process.arch}`);
      const probe = `const m = await import(${JSON.stringify(join(installed(), 'dist', 'src', 'engine', 'native.js'))});
m.nativeBinding(); console.log(JSON.stringify({ ...m.cpuBackendInfo(), build: m.nativeBuildInfo() }));`;
      const backend = async () =>
        JSON.parse(await ok(run('node', ['--input-type=module', '-e', probe], { cwd: consumer }), 'the backend'));

      const withTools = await ok(
        run(npmCli, ['rebuild', 'infoprune', '--foreground-scripts'], { cwd: consumer }),
        'npm rebuild with build tools',
      );
      expect(withTools).toMatch(/\ninfoprune: using the prebuilt native addon for \S+\n/);
      expect(withTools).not.toMatch(/compiling llama\.cpp's CPU backend/); // the checkout's key: its cache entry
      expect(await backend()).toMatchObject({
        kind: 'native',
        file: join(prebuilt, 'libggml-cpu-native.so'),
        build: {
          cpuBackend: 'libggml-cpu-native.so',
          cpuBackendPatches: ['ggml-cpu-amx-tilecfg', 'ggml-cpu-out-prod'],
        },
      });

      const without = await run(npmCli, ['rebuild', 'infoprune', '--foreground-scripts'], {
        cwd: consumer,
        env: { INFOPRUNE_NATIVE_CPU: '0' },
      });
      expect(without.status).toBe(0);
      expect(without.stdout).toMatch(
        /\ninfoprune: using the prebuilt CPU backend variants \(INFOPRUNE_NATIVE_CPU=0\)\n/,
      );
      expect(existsSync(join(prebuilt, 'libggml-cpu-native.so'))).toBe(false);
      const after = await backend();
      expect(after.kind).toBe('prebuilt');
      expect(after.build).not.toHaveProperty('cpuBackend');
    },
  );

  it('on a platform without a prebuilt: a clear error at load, one line and a clear failure at install, a source build with a compiler', async () => {
    const prebuilds = join(installed(), 'prebuilds');
    renameSync(prebuilds, `${prebuilds}.hidden`);
    const probe = `import('infoprune').then((m) => m.openScorer({ model: ${JSON.stringify(model)} })).catch((e) => console.log(JSON.stringify({ code: e.code, message: e.message })))`;
    const atLoad = JSON.parse(
      await ok(run('node', ['--input-type=module', '-e', probe], { cwd: consumer, path: bareBin }), 'load'),
    );
    expect(atLoad.code).toBe('NATIVE_UNAVAILABLE');
    expect(atLoad.message).toMatch(/^No native addon for \S+: .*npm rebuild infoprune --build-from-source/);

    const withoutCompiler = await run(npmCli, ['rebuild', 'infoprune'], { cwd: consumer, path: bareBin });
    const said = withoutCompiler.stdout + withoutCompiler.stderr;
    expect(withoutCompiler.status).not.toBe(0);
    expect(said).toMatch(
      /infoprune: no prebuilt native addon fits \S+ \(No native addon for .*\); building it from source\n/,
    );
    expect(said).toMatch(
      /infoprune: cannot build the native addon: cmake is not on PATH\. Install them .* then run npm rebuild infoprune/,
    );
    expect(said).not.toMatch(/^\s+at /m); // no stack trace

    const started = performance.now();
    const rebuilt = await ok(
      run(npmCli, ['rebuild', 'infoprune', '--foreground-scripts'], {
        cwd: consumer,
        env: nativeCpu ? {} : { INFOPRUNE_NATIVE_CPU: '0' }, // no compile of minutes where the checkout has none
      }),
      'npm rebuild with a compiler',
    );
    console.log(`npm rebuild infoprune from source (compiler on PATH): ${seconds(started)}`);
    expect(rebuilt).not.toMatch(/compiling llama\.cpp's CPU backend/); // the checkout's key, so its cache entry
    // Only the addon, its stamp and the CPU backend for this machine (from the shipped native/ggml/; here from the
    // cache) stay: no cmake tree, no llama.cpp source, no copied libraries.
    const build = readdirSync(join(installed(), 'build'), { recursive: true }).map(String).sort();
    const cpuBackend = nativeCpu ? [join('Release', 'libggml-cpu-native.so')] : [];
    expect(build).toEqual([
      'Release',
      join('Release', 'build-info.json'),
      join('Release', 'infoprune.node'),
      ...cpuBackend,
    ]);
    expect(existsSync(join(installed(), '.cache'))).toBe(false);
    cpSync(join(REPO_ROOT, 'test', 'fixtures', 'consumer', 'service.cjs'), join(consumer, 'service.cjs'));
    const seen = JSON.parse(
      await ok(run('node', ['service.cjs', model], { cwd: consumer, path: bareBin }), 'after the build'),
    );
    expect(seen.tokens).toBeGreaterThan(0);
  });
});

if (skipReason !== null) {
  describe('the packed package in a fresh consumer without build tools', () => {
    it.skip(`skipped: ${skipReason}`, () => {});
  });
}
