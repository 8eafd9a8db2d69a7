/**
 * llama.cpp's own tools, built for the benchmark's peer rows from the very release node-llama-cpp bundles (and
 * infoprune links), as a user builds them (Release, GGML_NATIVE, static), in .cache/ (no network: the source comes
 * from node-llama-cpp's git bundle). One source checkout serves every tool; each tool has its own build folder.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ToolBuild {
  binary: string | null;
  /** Why there is no binary (build failed or skipped), in words. */
  reason?: string;
  tag: string;
  sourceDir: string;
  buildDir: string;
  cmakeFlags: string[];
  /** Seconds the build took in this run (0 when reused). */
  buildSeconds: number;
  log?: string;
}

export interface ToolSpec {
  /** The CMake target, also the binary's name (llama-perplexity, llama-finetune). */
  target: string;
  /** A file of the tool's source, relative to the checkout (to see the checkout is complete). */
  sourceFile: string;
  cmakeFlags: string[];
}

export const LLAMA_TOOL_BASE_FLAGS = [
  '-DCMAKE_BUILD_TYPE=Release',
  '-DBUILD_SHARED_LIBS=OFF',
  '-DLLAMA_BUILD_TESTS=OFF',
  '-DLLAMA_BUILD_SERVER=OFF',
  '-DLLAMA_BUILD_APP=OFF',
  '-DLLAMA_BUILD_UI=OFF',
  '-DLLAMA_USE_PREBUILT_UI=OFF',
  '-DLLAMA_OPENSSL=OFF',
  '-DLLAMA_CURL=OFF',
  '-DGGML_NATIVE=ON',
  '-DGGML_OPENMP=ON',
];

export function llamaTag(root: string): string {
  const info = JSON.parse(
    readFileSync(join(root, 'node_modules', 'node-llama-cpp', 'llama', 'llama.cpp.info.json'), 'utf8'),
  ) as { tag: string };
  return info.tag;
}

export function command(file: string, args: string[], cwd: string, logPath: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const log = createWriteStream(logPath, { flags: 'a' });
    log.write(`$ ${file} ${args.join(' ')}\n`);
    const child = spawn(file, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    child.on('error', (error) => {
      log.end();
      reject(error);
    });
    child.on('close', (code) => {
      log.end(() => resolve(code ?? 1));
    });
  });
}

function which(name: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => dir && existsSync(join(dir, name)));
}

/**
 * The built tool, building it when allowed (minutes: 10 or more on 2 cores). Never throws: a failure is returned
 * as `reason`, and the benchmark says so in its table.
 */
export async function buildLlamaTool(
  root: string,
  tool: ToolSpec,
  options: { allowBuild: boolean; jobs: number; log: (line: string) => void },
): Promise<ToolBuild> {
  const sourceDir = join(root, '.cache', 'llama-perplexity-src'); // the first tool's name; shared by all
  const buildDir = join(root, '.cache', `${tool.target}-build`);
  const binary = join(buildDir, 'bin', tool.target);
  const stampPath = join(buildDir, 'infoprune-bench-stamp.json');
  const base = { sourceDir, buildDir, cmakeFlags: tool.cmakeFlags, buildSeconds: 0 };
  let tag = 'unknown';
  const failed = (reason: string, log?: string): ToolBuild => ({ ...base, tag, binary: null, reason, log });
  try {
    tag = llamaTag(root);
  } catch (error) {
    return failed(`node-llama-cpp's llama.cpp release is not installed (${(error as Error).message})`);
  }
  const wanted = JSON.stringify({ tag, flags: tool.cmakeFlags });
  if (existsSync(binary) && existsSync(stampPath) && readFileSync(stampPath, 'utf8') === wanted)
    return { ...base, tag, binary };
  // A binary built before the stamp existed (same folders, e.g. by hand with the same flags) is reused too, when
  // its CMake cache names the same source folder.
  if (existsSync(binary) && !existsSync(stampPath) && existsSync(join(buildDir, 'CMakeCache.txt'))) {
    const cache = readFileSync(join(buildDir, 'CMakeCache.txt'), 'utf8');
    if (cache.includes(sourceDir) && /GGML_NATIVE:BOOL=ON/.test(cache)) {
      writeFileSync(stampPath, wanted);
      return { ...base, tag, binary };
    }
  }
  if (!options.allowBuild)
    return failed(`not built (${binary} missing; --quick never builds it: run the full benchmark once)`);
  if (!which('cmake') || !(which('g++') || which('c++') || which('clang++'))) {
    return failed('could not be built: cmake or a C++ compiler is missing on this machine');
  }
  const started = performance.now();
  mkdirSync(buildDir, { recursive: true });
  const logPath = join(buildDir, 'infoprune-bench-build.log');
  try {
    if (!existsSync(join(sourceDir, tool.sourceFile))) {
      const bundle = join(root, 'node_modules', 'node-llama-cpp', 'llama', 'gitRelease.bundle');
      if (!existsSync(bundle)) return failed(`could not be built: ${bundle} is missing`);
      options.log(`${tool.target}: extracting llama.cpp ${tag} from node-llama-cpp's bundle into ${sourceDir}`);
      const clone = ['-c', 'advice.detachedHead=false', 'clone', '--quiet', bundle, sourceDir];
      if ((await command('git', clone, root, logPath)) !== 0) {
        return failed(`could not be built: git clone of the bundle failed (see ${logPath})`, logPath);
      }
    }
    options.log(
      `${tool.target}: building llama.cpp ${tag}'s ${tool.target} in ${buildDir} (once; minutes on few cores) ...`,
    );
    const generator = which('ninja') ? ['-G', 'Ninja'] : [];
    if (
      (await command('cmake', ['-S', sourceDir, '-B', buildDir, ...generator, ...tool.cmakeFlags], root, logPath)) !== 0
    ) {
      return failed(`could not be built: CMake configuration failed (see ${logPath})`, logPath);
    }
    const build = ['--build', buildDir, '--target', tool.target, '-j', String(options.jobs)];
    if ((await command('cmake', build, root, logPath)) !== 0 || !existsSync(binary)) {
      return failed(`could not be built: compilation failed (see ${logPath})`, logPath);
    }
  } catch (error) {
    return failed(`could not be built: ${(error as Error).message}`, logPath);
  }
  writeFileSync(stampPath, wanted);
  const buildSeconds = (performance.now() - started) / 1000;
  options.log(`${tool.target}: built in ${buildSeconds.toFixed(0)} s`);
  return { ...base, tag, binary, buildSeconds, log: logPath };
}
