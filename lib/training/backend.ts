import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
const ORDER: BackendName[] = ['tensorflow', 'wasm', 'cpu'];

/** The backend in use and why: what a function logs at cold start. */
export interface BackendChoice {
  backend: BackendName;
  reason: string;
  /** where the WebAssembly backend read its .wasm files from */
  wasmPath?: string;
}

let chosen: Promise<BackendName> | undefined;
let choice: BackendChoice | undefined;
let wasmPath: string | undefined;
const failures: string[] = [];

/**
 * The folder of tfjs-backend-wasm's .wasm files: MLAAS4HEP_TFJS_WASM_PATH, else the installed
 * package's dist/ as Node resolves it from here. A Lambda bundle resolves it from its zip, which
 * ships the package's package.json and .wasm files (serverless.yml, predict's package patterns);
 * without a path the backend would look beside the bundle and fall back to the CPU.
 */
export function defaultWasmPath(env = process.env.MLAAS4HEP_TFJS_WASM_PATH): string | undefined {
  if (env) return env.endsWith('/') ? env : `${env}/`;
  try {
    const pkg = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json');
    const dist = join(dirname(pkg), 'dist');
    return existsSync(join(dist, 'tfjs-backend-wasm-simd.wasm')) ? `${dist}/` : undefined;
  } catch {
    return undefined;
  }
}

async function tryBackend(name: BackendName): Promise<boolean> {
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
    if ((await tf.setBackend(name)) && tf.getBackend() === name) return true;
    failures.push(`${name}: it did not initialise`);
    return false;
  } catch (err) {
    failures.push(`${name}: ${(err as Error).message?.split('\n')[0] ?? String(err)}`);
    return false;
  }
}

function chose(backend: BackendName, reason: string): BackendName {
  choice = { backend, reason, wasmPath: backend === 'wasm' ? wasmPath : undefined };
  return backend;
}

/**
 * Chooses the fastest TensorFlow.js backend that loads here: the native one (tfjs-node), else
 * WebAssembly (SIMD), else plain JavaScript. MLAAS4HEP_TF_BACKEND=tensorflow|wasm|cpu forces one.
 */
export function initBackend(
  force: string | undefined = process.env.MLAAS4HEP_TF_BACKEND,
): Promise<BackendName> {
  chosen ??= (async () => {
    if (force) {
      if (!ORDER.includes(force as BackendName)) {
        throw new Error(`MLAAS4HEP_TF_BACKEND must be one of ${ORDER.join(', ')}, got "${force}"`);
      }
      if (!(await tryBackend(force as BackendName)))
        throw new Error(`the TensorFlow.js backend "${force}" cannot start here (${failures.join('; ')})`);
      return chose(force as BackendName, `MLAAS4HEP_TF_BACKEND=${force}`);
    }
    for (const name of ORDER)
      if (await tryBackend(name))
        return chose(
          name,
          failures.length ? `the fastest that starts here (${failures.join('; ')})` : 'the fastest there is',
        );
    throw new Error('no TensorFlow.js backend could start');
  })();
  return chosen;
}

/** The backend initBackend chose and why (undefined before it has). */
export function backendChoice(): BackendChoice | undefined {
  return choice;
}
