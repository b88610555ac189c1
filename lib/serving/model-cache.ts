import { BundleStore } from '../bundles/bundle-store.js';
import { type BundleParams, checkModelName, checkVersion } from '../bundles/params.js';
import { InvalidInputError, NotFoundError, UnavailableError } from '../errors.js';
import type { ObjectStore } from '../storage/object-store.js';
import { backendGeneration, backendRestart, isWasmMemoryFault } from '../training/backend.js';
import type { EngineChoice, EngineName, LoadedModel } from './engines/engine.js';
import { loadBundleModel, preferredEngine } from './engines/load.js';
import { restartTfjsEngine } from './engines/tfjs-engine.js';
import { type ModelInputs, modelInputs } from './model-inputs.js';
import { VersionResolver } from './version-resolver.js';

/** A loaded model with what predictions need, computed once per load. */
export interface ServedModel {
  name: string;
  version: string;
  /** stamp (or ETag) of the version's COMPLETE marker when loaded: a rewrite changes it */
  etag: string;
  params: BundleParams;
  /** the model behind the engine interface (TensorFlow.js or ONNX Runtime) */
  engine: LoadedModel;
  /** which engine and why */
  choice: EngineChoice;
  /** what callers send, and how it becomes the engine's rows */
  inputs: ModelInputs;
  /** bytes of the model files loaded */
  bytes: number;
  /** feature columns per row by position (= inputs.features.length) */
  width: number;
  /** outputs per row: 1 for a sigmoid or a regression, k for a k-class softmax */
  outputs: number;
}

interface Entry extends ServedModel {
  pins: number;
  evicted: boolean;
  disposed: boolean;
}

function dispose(e: Entry): void {
  if (e.pins > 0 || e.disposed) return;
  e.disposed = true;
  e.engine.dispose();
}

export interface ModelCacheOptions {
  /** bound on the sum of model.json + weights.bin of the models kept (default 512 MiB) */
  maxBytes?: number;
  /** skip re-reading `latest`/COMPLETE for this long after a check (default 0: every request) */
  revalidateMs?: number;
  /** hears one line per model loaded: its engine and why */
  log?(entry: Record<string, unknown>): void;
  /** the engine for bundles that have both models; default MLAAS4HEP_ENGINE (lib/config) */
  prefer?: EngineName;
}

export interface CacheStats {
  models: number;
  bytes: number;
  maxBytes: number;
  hits: number;
  misses: number;
  evictions: number;
  /** times the TensorFlow.js engine was started afresh after a memory fault */
  restarts: number;
}

/**
 * Models loaded on first use and kept in memory, least recently used evicted first when their
 * bytes exceed the bound. Which version a request gets is read afresh for it (VersionResolver:
 * a re-upload or a deletion is seen by the next request). Concurrent first requests share one load.
 */
export class ModelCache {
  readonly maxBytes: number;
  private readonly log?: (entry: Record<string, unknown>) => void;
  private readonly prefer?: EngineName;
  /** LRU order: first = least recently used */
  private readonly entries = new Map<string, Entry>();
  /** the key last in `entries`: a hit on it moves nothing (each move grows the map's table) */
  private mru?: string;
  private readonly loading = new Map<string, Promise<Entry>>();
  private readonly bundles: BundleStore;
  private readonly versions: VersionResolver;
  private bytes = 0;
  private hits = 0;
  private misses = 0;
  private evictions = 0;
  private restarts = 0;
  /** the TensorFlow.js backend's generation the cached models were built on */
  private generation = backendGeneration();

  constructor(
    readonly store: ObjectStore,
    options: ModelCacheOptions = {},
  ) {
    this.bundles = new BundleStore(store);
    this.maxBytes = options.maxBytes ?? 512 * 1024 * 1024;
    this.versions = new VersionResolver(this.bundles, options.revalidateMs ?? 0, (name, version) =>
      this.dropGone(name, version),
    );
    this.log = options.log;
    this.prefer = options.prefer;
  }

  /**
   * Runs `fn` with the model (the latest version unless one is named). The model stays usable
   * until `fn` settles, even if it is evicted meanwhile.
   */
  async use<T>(
    name: string,
    version: string | undefined,
    fn: (m: ServedModel) => T | Promise<T>,
  ): Promise<T> {
    // requests arriving while the engine restarts wait for it, then load their model afresh
    const restart = backendRestart();
    if (restart) await restart.catch(() => undefined);
    this.forgetOlderEngine();
    let e: Entry | undefined;
    try {
      e = await this.acquire(name, version);
      return await fn(e);
    } catch (err) {
      if (!isWasmMemoryFault(err) || (e && e.engine.engine !== 'tfjs')) throw err;
      await this.restartEngine(err, name);
      throw new UnavailableError(
        `the TensorFlow.js engine ran out of memory serving model "${name}" and was restarted; retry, with fewer rows per request if it happens again`,
        { cause: err },
      );
    } finally {
      if (e) this.release(e);
    }
  }

  /** False while the engine restarts after a memory fault (readiness answers 503 meanwhile). */
  get healthy(): boolean {
    return backendRestart() === undefined;
  }

  /**
   * After a WebAssembly memory fault every TensorFlow.js model is gone with the memory that held
   * it: the backend is started afresh (here or wherever the fault was met, an upload say), the
   * models of the old one are forgotten, and the next request loads its model again. No operator,
   * no restart of the process.
   */
  private async restartEngine(err: unknown, name: string): Promise<void> {
    this.log?.({
      level: 'error',
      message: 'TensorFlow.js engine memory fault: restarting it',
      model: name,
      error: err instanceof Error ? err.message : String(err),
    });
    await restartTfjsEngine();
    this.restarts++;
    this.forgetOlderEngine();
    this.log?.({ level: 'warn', message: 'TensorFlow.js engine restarted' });
  }

  /** Forgets TensorFlow.js models of an engine since replaced (never disposed: their memory is gone). */
  private forgetOlderEngine(): void {
    const now = backendGeneration();
    if (now === this.generation) return;
    this.generation = now;
    for (const e of [...this.entries.values()])
      if (e.engine.engine === 'tfjs') {
        e.disposed = true;
        this.drop(e, false);
      }
    this.loading.clear();
    this.versions.reset();
  }

  /** KServe's readiness: loads the model if needed. Unknown models throw NotFoundError (404). */
  async ready(name: string, version?: string): Promise<boolean> {
    try {
      await this.use(name, version, () => undefined);
      return true;
    } catch (err) {
      if (err instanceof NotFoundError || err instanceof InvalidInputError) throw err;
      return false;
    }
  }

  stats(): CacheStats {
    const { bytes, maxBytes, hits, misses, evictions, restarts } = this;
    return { models: this.entries.size, bytes, maxBytes, hits, misses, evictions, restarts };
  }

  /** Drops every model (disposed once no request uses it). */
  clear(): void {
    for (const e of [...this.entries.values()]) this.drop(e, false);
    this.versions.reset(true);
  }

  private async acquire(name: string, version: string | undefined): Promise<Entry> {
    checkModelName(name);
    const want = version === undefined || version === 'latest' ? undefined : checkVersion(version);
    const { version: v, etag } = await this.versions.resolve(name, want);
    const key = `${name}/${v}`;
    const hit = this.entries.get(key);
    if (hit && hit.etag === etag) {
      this.hits++;
      if (this.mru !== key) {
        this.entries.delete(key); // most recently used goes last
        this.entries.set(key, hit);
        this.mru = key;
      }
      hit.pins++;
      return hit;
    }
    this.misses++;
    const id = `${key}#${etag}`;
    let p = this.loading.get(id);
    if (!p) {
      p = this.load(name, v, etag).finally(() => this.loading.delete(id));
      this.loading.set(id, p);
    }
    const e = await p;
    e.pins++;
    return e;
  }

  private release(e: Entry): void {
    e.pins--;
    if (e.evicted) dispose(e);
  }

  private async load(name: string, version: string, etag: string): Promise<Entry> {
    const b = await this.bundles.read(name, version);
    const what = `version "${version}" of model "${name}"`;
    const { model: engine, choice } = await loadBundleModel(b, what, this.prefer ?? preferredEngine());
    this.log?.({
      level: 'info',
      message: 'model loaded',
      model: name,
      version,
      engine: choice.engine,
      reason: choice.reason,
    });
    let inputs: ModelInputs;
    try {
      inputs = modelInputs(b.params, engine);
    } catch (err) {
      engine.dispose();
      throw err;
    }
    const e: Entry = {
      name,
      version,
      etag,
      params: b.params,
      engine,
      choice,
      inputs,
      bytes:
        choice.engine === 'onnxruntime'
          ? b.onnx!.length
          : (b.modelJson?.length ?? 0) + (b.weights?.length ?? 0),
      width: inputs.features.length,
      outputs: engine.outputs,
      pins: 0,
      evicted: false,
      disposed: false,
    };
    const key = `${name}/${version}`;
    const old = this.entries.get(key);
    if (old) this.drop(old, false);
    this.entries.set(key, e);
    this.mru = key;
    this.bytes += e.bytes;
    for (const [k, victim] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      if (k !== key) this.drop(victim, true);
    }
    return e;
  }

  /** Drops the cached versions of a model that the store no longer has (the resolver forgot them already). */
  private dropGone(name: string, version?: string): void {
    for (const e of [...this.entries.values()])
      if (e.name === name && (version === undefined || e.version === version)) this.drop(e, false);
  }

  /**
   * Removes an entry; its model is disposed once no request holds it. A request whose shared load
   * has just finished pins the model within the same turn of the event loop, hence setImmediate.
   */
  private drop(e: Entry, eviction: boolean): void {
    const key = `${e.name}/${e.version}`;
    if (this.entries.get(key) !== e || e.evicted) return;
    this.entries.delete(key);
    if (this.mru === key) this.mru = undefined;
    this.bytes -= e.bytes;
    e.evicted = true;
    if (eviction) this.evictions++;
    setImmediate(() => dispose(e));
  }
}
