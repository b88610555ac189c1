#!/usr/bin/env node
// Builds the ONNX Runtime Lambda layer from the locked npm package, with nothing downloaded:
//
//   node layers/onnxruntime/build.mjs      -> layers/onnxruntime/onnxruntime-layer.zip
//                                             (nodejs/node_modules/onnxruntime-node, -common)
//
// Publish it with `aws lambda publish-layer-version` (README "Deploy to AWS"); serverless.yml
// attaches the published version (the OnnxRuntimeLayerArn parameter) to the predict function,
// where Lambda unpacks it under /opt. onnxruntime-node ships its
// binaries for every platform (288 MB); Lambda (linux, x86_64) needs bin/napi-v6/linux/x64 (about
// 45 MB) and the JavaScript of onnxruntime-node and onnxruntime-common. The predict bundle resolves
// it from /opt/nodejs/node_modules itself (lib/serving/engines/onnxruntime.ts): ES-module import()
// does not search NODE_PATH.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import AdmZip from 'adm-zip';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const out = join(here, 'build', 'nodejs', 'node_modules');
const require = createRequire(join(root, 'package.json'));
/** The folder of a package: up from its entry point to the package.json naming it (exports hide it). */
function packageDir(name, entry) {
  for (let d = dirname(entry); d !== dirname(d); d = dirname(d)) {
    const p = join(d, 'package.json');
    if (existsSync(p) && JSON.parse(readFileSync(p, 'utf8')).name === name) return d;
  }
  throw new Error(`no package.json of ${name} above ${entry}`);
}

const ort = packageDir('onnxruntime-node', require.resolve('onnxruntime-node'));
const common = packageDir(
  'onnxruntime-common',
  createRequire(join(ort, 'package.json')).resolve('onnxruntime-common'),
);
const version = JSON.parse(readFileSync(join(ort, 'package.json'), 'utf8')).version;
const binary = join(ort, 'bin', 'napi-v6', 'linux', 'x64');
if (!existsSync(join(binary, 'onnxruntime_binding.node')))
  throw new Error(`onnxruntime-node ${version} has no linux-x64 binary at ${binary}: run npm ci first`);

rmSync(join(here, 'build'), { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const skipMaps = (src) => !src.endsWith('.map');
for (const part of ['package.json', 'dist'])
  cpSync(join(ort, part), join(out, 'onnxruntime-node', part), { recursive: true, filter: skipMaps });
cpSync(binary, join(out, 'onnxruntime-node', 'bin', 'napi-v6', 'linux', 'x64'), { recursive: true });
for (const part of ['package.json', 'dist'])
  cpSync(join(common, part), join(out, 'onnxruntime-common', part), { recursive: true, filter: skipMaps });

let bytes = 0;
for (const f of readdirSync(out, { recursive: true })) {
  const s = statSync(join(out, f));
  if (s.isFile()) bytes += s.size;
}
const zipPath = join(here, 'onnxruntime-layer.zip');
const zip = new AdmZip();
zip.addLocalFolder(join(here, 'build'));
zip.writeZip(zipPath);
const zipped = statSync(zipPath).size;
console.log(
  `onnxruntime-node ${version} layer: ${(bytes / 2 ** 20).toFixed(1)} MiB unpacked, ${(zipped / 2 ** 20).toFixed(1)} MiB zipped: ${zipPath}`,
);
