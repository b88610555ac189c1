/** The part of the WebAssembly API used here (this project's TypeScript libs do not declare it). */
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: object };
};

/**
 * A WebAssembly module of ours (base64, no imports), instantiated on first use. The getter returns
 * null where it cannot be, an engine without SIMD: callers then take their JavaScript path.
 */
export function simdModule<T>(base64: string): () => T | null {
  let exports: T | null | undefined;
  return () => {
    if (exports !== undefined) return exports;
    try {
      const bytes = Buffer.from(base64, 'base64');
      exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports as T;
    } catch {
      exports = null;
    }
    return exports;
  };
}
