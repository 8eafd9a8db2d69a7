#!/usr/bin/env node
// `npm pack` / `npm publish` step: ships this platform's build of the addon as its prebuilt
// (prebuilds/<platform>-<arch>/infoprune.node and build-info.json), beside the prebuilts other platforms' release
// jobs put there. The build must be the default one (node-llama-cpp's prebuilt libraries, the platform's default
// backend), since that is what the package's optional dependencies install; the llama.cpp headers that
// build-native.mjs extracted (native/llama/) ship too, for source builds on platforms without a prebuilt, and so
// does native/ggml/, the patched ggml sources an install compiles the CPU backend for its machine from. Never the
// CPU backend compiled here: it is this machine's.
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'build', 'Release');
const platform = `${process.platform}-${process.arch}`;
const defaultGpu = process.platform === 'darwin' && process.arch === 'arm64' ? 'metal' : 'cpu';

function fail(message) {
  console.error(`infoprune prepack: ${message}`);
  process.exit(1);
}

if (!existsSync(join(built, 'infoprune.node')) || !existsSync(join(built, 'build-info.json'))) {
  fail('no native addon is built: run npm run build:native first');
}
const info = JSON.parse(readFileSync(join(built, 'build-info.json'), 'utf8'));
if (info.mode !== 'prebuilt' || info.gpu !== defaultGpu || info.platform !== platform || !info.llamaPackageVersion) {
  fail(
    `the built addon (${info.mode}, ${info.gpu}, ${info.platform}) is not the default build for ${platform}: ` +
      'run npm run build:native without INFOPRUNE_GPU or INFOPRUNE_LLAMA_FROM_SOURCE',
  );
}
const headers = join(root, 'native', 'llama', 'llama.cpp.info.json');
if (!existsSync(headers) || JSON.parse(readFileSync(headers, 'utf8')).tag !== info.llamaCppTag) {
  fail(`native/llama/ does not hold llama.cpp ${info.llamaCppTag}'s headers: run npm run build:native`);
}
const ggml = join(root, 'native', 'ggml', 'ggml.info.json');
if (!existsSync(ggml) || JSON.parse(readFileSync(ggml, 'utf8')).tag !== info.llamaCppTag) {
  fail(`native/ggml/ does not hold llama.cpp ${info.llamaCppTag}'s ggml sources: run npm run build:native`);
}
const target = join(root, 'prebuilds', platform);
mkdirSync(target, { recursive: true });
rmSync(join(target, 'libggml-cpu-native.so'), { force: true }); // an install's, in a checkout used as a package
copyFileSync(join(built, 'infoprune.node'), join(target, 'infoprune.node'));
const stamp = {
  mode: info.mode,
  gpu: info.gpu,
  llamaCppTag: info.llamaCppTag,
  platform: info.platform,
  llamaPackage: info.llamaPackage,
  llamaPackageVersion: info.llamaPackageVersion,
  builtWith: { node: process.version, napi: process.versions.napi },
  builtAt: info.builtAt,
};
writeFileSync(join(target, 'build-info.json'), `${JSON.stringify(stamp, null, 2)}\n`);
console.log(
  `infoprune prepack: prebuilds/${platform}/infoprune.node (llama.cpp ${info.llamaCppTag}, ${info.llamaPackage}@${info.llamaPackageVersion})`,
);
