import * as tf from '@tensorflow/tfjs';
// the process's settings only (lib/config imports no training, jobs or AWS code)
import { processConfig } from '../config.js';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
const ORDER: BackendName[] = ['tensorflow', 'wasm', 'cpu'];

/** Where the backend stands: readiness reports it, and a failed start is tried again on next use. */
export type BackendStatus =
  | { state: 'not started' }
  | { state: 'starting' }
  | { state: 'ready'; backend: BackendName }
  | { state: 'failed'; reason: string };

let chosen: Promise<BackendName> | undefined;
let status: BackendStatus = { state: 'not started' };

async function tryBackend(name: BackendName): Promise<string | undefined> {
  try {
    if (name === 'tensorflow') {
      // optional: present in the trainer image and the Lambda layer, absent where libtensorflow cannot be fetched
      const mod = '@tensorflow/tfjs-node';
      await import(mod);
    } else if (name === 'wasm') {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      const path = processConfig().tfjsWasmPath;
      if (path) wasm.setWasmPaths(path.endsWith('/') ? path : `${path}/`);
    }
    if ((await tf.setBackend(name)) && tf.getBackend() === name) return undefined;
    return `TensorFlow.js did not switch to "${name}"`;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

export function backendStatus(): BackendStatus {
  return status;
}

/**
 * Chooses the fastest TensorFlow.js backend that loads here: the native one (tfjs-node), else
 * WebAssembly (SIMD), else plain JavaScript; `force` (default: MLAAS4HEP_TF_BACKEND, through
 * lib/config) takes only that one. A backend that started is kept for the process's life; a start that failed is not: the
 * next call tries again (readiness says not ready meanwhile), so a backend that comes good
 * (a layer mounted late, a transient load error) is used without a restart.
 */
export function initBackend(force?: string): Promise<BackendName> {
  if (chosen) return chosen;
  force ??= processConfig().tfBackend;
  status = { state: 'starting' };
  const p = (async (): Promise<BackendName> => {
    if (force) {
      if (!ORDER.includes(force as BackendName)) {
        throw new Error(`MLAAS4HEP_TF_BACKEND must be one of ${ORDER.join(', ')}, got "${force}"`);
      }
      const why = await tryBackend(force as BackendName);
      if (why) throw new Error(`the TensorFlow.js backend "${force}" cannot start here: ${why}`);
      return force as BackendName;
    }
    for (const name of ORDER) if ((await tryBackend(name)) === undefined) return name;
    throw new Error('no TensorFlow.js backend could start');
  })();
  chosen = p;
  p.then(
    (backend) => {
      status = { state: 'ready', backend };
    },
    (err: Error) => {
      status = { state: 'failed', reason: err.message };
      if (chosen === p) chosen = undefined;
    },
  );
  return p;
}
