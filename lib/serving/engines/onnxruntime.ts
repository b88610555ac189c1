import { createRequire } from 'node:module';
import { join } from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { MisconfiguredError } from '../../errors.js';

export type OnnxRuntime = typeof Ort;

/** Where a Lambda layer's Node.js packages are unpacked. */
const LAYER_MODULES = '/opt/nodejs/node_modules';
const PACKAGE = 'onnxruntime-node';

let loading: Promise<{ ort: OnnxRuntime; from: string }> | undefined;

/**
 * ONNX Runtime, loaded once: from this package's own node_modules, else from each NODE_PATH folder
 * and the Lambda layer's /opt/nodejs/node_modules. An ES-module import() searches neither of the
 * latter, so the package is required through createRequire from each folder in turn (it is
 * CommonJS, and kept out of the function bundle: its native binary ships in a layer).
 */
export function loadOnnxRuntime(): Promise<{ ort: OnnxRuntime; from: string }> {
  loading ??= (async () => {
    const dirs = [undefined, ...(process.env.NODE_PATH ?? '').split(':').filter(Boolean), LAYER_MODULES];
    const tried: string[] = [];
    for (const dir of dirs) {
      const req = createRequire(dir ? join(dir, 'noop.js') : import.meta.url);
      let path: string;
      try {
        path = req.resolve(PACKAGE);
      } catch {
        tried.push(dir ?? 'the package');
        continue;
      }
      try {
        return { ort: req(path) as OnnxRuntime, from: path };
      } catch (err) {
        throw new MisconfiguredError(`ONNX Runtime at ${path} does not load: ${(err as Error).message}`, {
          cause: err,
        });
      }
    }
    throw new MisconfiguredError(
      `ONNX Runtime (${PACKAGE}) is not installed: looked in ${tried.join(', ')}; attach the onnxruntime layer (layers/onnxruntime)`,
    );
  })();
  return loading;
}

/** Whether ONNX Runtime loads here, without throwing: for the engine choice and its log line. */
export async function onnxRuntimeStatus(): Promise<
  { available: true; from: string; version: string } | { available: false; reason: string }
> {
  try {
    const { ort, from } = await loadOnnxRuntime();
    return { available: true, from, version: ort.env.versions?.common ?? 'unknown' };
  } catch (err) {
    return { available: false, reason: (err as Error).message };
  }
}
