import type { ObjectStore } from '../storage/object-store.js';

/**
 * Server readiness as KServe defines it (Open Inference Protocol `GET /v2/health/ready`): ready
 * when this instance can answer inference requests, which needs the inference backend started and
 * the model store readable. Not a constant: an orchestrator (a load balancer, Kubernetes) stops
 * routing to an instance that says not ready, and routes again once it recovers.
 */
export interface ReadinessReport {
  ready: boolean;
  /** each component: ready, or why not, in words safe to show anyone (the route is public) */
  checks: { engine: ComponentReadiness; store: ComponentReadiness };
}

export interface ComponentReadiness {
  ready: boolean;
  reason?: string;
}

/** Components that are recovering, by hold: the inference engine is process-wide, so are they. */
const holds = new Map<symbol, string>();

/**
 * Marks the inference engine not ready until the returned release is called: a component that
 * discards and re-creates the engine (after a WebAssembly memory fault, say) holds readiness for
 * the time it takes. `reason` is shown on the public readiness route: say what, not how.
 */
export function holdReadiness(reason: string): () => void {
  const hold = Symbol(reason);
  holds.set(hold, reason);
  return () => {
    holds.delete(hold);
  };
}

/** A key no bundle can have (model names start with a letter or digit): reading it proves the store answers. */
const PROBE_KEY = 'models/.ready-probe';

export interface ReadinessDeps {
  store: ObjectStore;
  /** hears why a component is not ready, with the details kept off the public answer */
  log?(entry: Record<string, unknown>): void;
}

async function engineReadiness(log: ReadinessDeps['log']): Promise<ComponentReadiness> {
  if (holds.size) return { ready: false, reason: [...new Set(holds.values())].join('; ') };
  // loaded on demand: a function without inference routes never pays for TensorFlow.js
  const { initBackend } = await import('../training/backend.js');
  try {
    // started once and kept; a start that failed is tried again here, so readiness comes back
    await initBackend();
    return { ready: true };
  } catch (err) {
    log?.({ level: 'error', message: 'not ready: the inference backend cannot start', error: String(err) });
    return { ready: false, reason: 'the inference backend cannot start' };
  }
}

async function storeReadiness(deps: ReadinessDeps): Promise<ComponentReadiness> {
  try {
    await (deps.store.stamp ? deps.store.stamp(PROBE_KEY) : deps.store.get(PROBE_KEY));
    return { ready: true };
  } catch (err) {
    deps.log?.({ level: 'error', message: 'not ready: the model store cannot be read', error: String(err) });
    return { ready: false, reason: 'the model store cannot be read' };
  }
}

/** Checks the engine and the store, both at once; ready when both are. */
export async function checkReadiness(deps: ReadinessDeps): Promise<ReadinessReport> {
  const [engine, store] = await Promise.all([engineReadiness(deps.log), storeReadiness(deps)]);
  return { ready: engine.ready && store.ready, checks: { engine, store } };
}
