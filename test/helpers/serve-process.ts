import { type ChildProcess, spawn } from 'node:child_process';

/** `mlaas4hep serve` in a child process: a wedged event loop there cannot stop the test's own clock. */
export interface ServeProcess {
  url: string;
  token: string;
  /** everything the process printed, stdout and stderr */
  output(): string;
  /** SIGTERM, then SIGKILL if it has not exited within 15 s; resolves with the exit code */
  stop(): Promise<number | null>;
}

/** `nodeArgs` go to node itself (e.g. --wasm-max-mem-pages to make a memory fault easy to reach). */
export async function startServe(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  nodeArgs: string[] = [],
): Promise<ServeProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    [...nodeArgs, '--import', 'tsx', 'bin/mlaas4hep.ts', 'serve', '--port', '0', ...args],
    {
      env: { ...process.env, MLAAS4HEP_DEV_ISSUER: '1', MLAAS4HEP_DEV_JWKS: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let text = '';
  child.stdout!.on('data', (c: Buffer) => {
    text += c.toString();
  });
  child.stderr!.on('data', (c: Buffer) => {
    text += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const started = await new Promise<{ url: string; token: string }>((resolve, reject) => {
    const look = () => {
      const m = /serving on (\S+)[^\n]*\n[\s\S]*?development token[^\n]*\n(\S+)\n/.exec(text);
      if (m) resolve({ url: m[1], token: m[2] });
    };
    child.stdout!.on('data', look);
    void exited.then((code) => reject(new Error(`serve exited (${code}) before listening:\n${text}`)));
  });
  return {
    ...started,
    output: () => text,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(kill);
      return code;
    },
  };
}

export interface Watchdog {
  /** health answers seen while watching */
  readonly answers: number;
  /** stops watching; throws if health did not answer within the limit at some point */
  stop(): Promise<void>;
}

/**
 * Asks `url` (a health route) every `everyMs` while an attack runs. Each check must answer within
 * `limitMs`; the first that does not fails the watchdog at once, and `failed` rejects, so a test
 * racing its attack against it fails instead of hanging on a wedged server.
 */
export function watchHealth(
  url: string,
  { everyMs = 300, limitMs = 2000 }: { everyMs?: number; limitMs?: number } = {},
): Watchdog & { failed: Promise<never> } {
  let answers = 0;
  let stopped = false;
  let fail: (err: Error) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    fail = reject;
  });
  failed.catch(() => undefined);
  let problem: Error | undefined;
  const loop = (async () => {
    while (!stopped) {
      const began = performance.now();
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(limitMs) });
        await res.arrayBuffer();
        answers++;
      } catch (err) {
        if (stopped) break;
        problem = new Error(
          `health (${url}) did not answer within ${limitMs} ms: ${(err as Error).message} after ${Math.round(performance.now() - began)} ms`,
        );
        fail(problem);
        break;
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    get answers() {
      return answers;
    },
    failed,
    async stop() {
      stopped = true;
      await loop;
      if (problem) throw problem;
    },
  };
}

/** Runs `attack` while the watchdog watches; rejects as soon as health stops answering. */
export async function underWatch<T>(
  healthUrl: string,
  attack: () => Promise<T>,
): Promise<{ result: T; answers: number }> {
  const dog = watchHealth(healthUrl);
  try {
    const result = await Promise.race([attack(), dog.failed]);
    return { result, answers: dog.answers };
  } finally {
    await dog.stop();
  }
}
