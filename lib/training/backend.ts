import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
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

/** The backend in use and why: what a function logs at cold start. */
export interface BackendChoice {
  backend: BackendName;
  reason: string;
  /** where the WebAssembly backend read its .wasm files from */
  wasmPath?: string;
}

let chosen: Promise<BackendName> | undefined;
let status: BackendStatus = { state: 'not started' };
let choice: BackendChoice | undefined;
let wasmPath: string | undefined;

/**
 * The folder of tfjs-backend-wasm's .wasm files: MLAAS4HEP_TFJS_WASM_PATH, else the installed
 * package's dist/ as Node resolves it from here. A Lambda bundle resolves it from its zip, which
 * ships the package's package.json and .wasm files (serverless.yml, predict's package patterns);
 * without a path the backend would look beside the bundle and fall back to the CPU.
 */
export function defaultWasmPath(configured = processConfig().tfjsWasmPath): string | undefined {
  if (configured) return configured.endsWith('/') ? configured : `${configured}/`;
  try {
    const pkg = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json');
    const dist = join(dirname(pkg), 'dist');
    return existsSync(join(dist, 'tfjs-backend-wasm-simd.wasm')) ? `${dist}/` : undefined;
  } catch {
    return undefined;
  }
}

/** Undefined when the backend started, else why not. */
async function tryBackend(name: BackendName): Promise<string | undefined> {
  try {
    if (name === 'tensorflow') {
      // optional: present in the trainer image, absent where libtensorflow cannot be fetched
      const mod = '@tensorflow/tfjs-node';
      await import(mod);
    } else if (name === 'wasm') {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      wasmPath = defaultWasmPath();
      if (wasmPath) wasm.setWasmPaths(wasmPath);
    }
    if ((await tf.setBackend(name)) && tf.getBackend() === name) return undefined;
    return `TensorFlow.js did not switch to "${name}"`;
  } catch (err) {
    return err instanceof Error ? err.message.split('\n')[0] : String(err);
  }
}

export function backendStatus(): BackendStatus {
  return status;
}

/** The backend initBackend chose and why (undefined before it has). */
export function backendChoice(): BackendChoice | undefined {
  return choice;
}

/**
 * Chooses the fastest TensorFlow.js backend that loads here: the native one (tfjs-node), else
 * WebAssembly (SIMD), else plain JavaScript; `force` (default: MLAAS4HEP_TF_BACKEND, through
 * lib/config) takes only that one. A backend that started is kept for the process's life; a start
 * that failed is not: the next call tries again (readiness says not ready meanwhile), so a backend
 * that comes good (a transient load error) is used without a restart.
 */
export function initBackend(force?: string): Promise<BackendName> {
  if (chosen) return chosen;
  force ??= processConfig().tfBackend;
  status = { state: 'starting' };
  const p = (async (): Promise<BackendName> => {
    const chose = (backend: BackendName, reason: string): BackendName => {
      choice = { backend, reason, wasmPath: backend === 'wasm' ? wasmPath : undefined };
      return backend;
    };
    if (force) {
      if (!ORDER.includes(force as BackendName)) {
        throw new Error(`MLAAS4HEP_TF_BACKEND must be one of ${ORDER.join(', ')}, got "${force}"`);
      }
      const why = await tryBackend(force as BackendName);
      if (why) throw new Error(`the TensorFlow.js backend "${force}" cannot start here: ${why}`);
      return chose(force as BackendName, `MLAAS4HEP_TF_BACKEND=${force}`);
    }
    const failures: string[] = [];
    for (const name of ORDER) {
      const why = await tryBackend(name);
      if (why === undefined)
        return chose(
          name,
          failures.length ? `the fastest that starts here (${failures.join('; ')})` : 'the fastest there is',
        );
      failures.push(`${name}: ${why}`);
    }
    throw new Error(`no TensorFlow.js backend could start (${failures.join('; ')})`);
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
