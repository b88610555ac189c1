import type { Server } from 'node:http';
import { createDevIssuer, type DevIssuer } from '../auth/dev-issuer.js';
import { startDevLogin } from '../auth/dev-login.js';
import { createVerifier, type TokenVerifier } from '../auth/verifier.js';
import { processConfig } from '../config.js';
import { ConsoleSite, consoleConfigFromEnv } from '../console/site.js';
import type { DataAccess } from '../data/files.js';
import type { DatasetDeps } from '../dataset/dataset.js';
import { createApi } from '../http/api.js';
import type { RateLimits } from '../http/rate-limit.js';
import { startHttpServer } from '../http/server.js';
import { type JobQueue, MemoryQueue } from '../jobs/queue.js';
import { sourcePolicy } from '../jobs/source-policy.js';
import type { Limits } from '../limits.js';
import { defaultLog } from '../log.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { JobRunner } from '../trainer/child-trainer.js';
import { consumeQueue } from '../trainer/worker.js';
import { routes } from './routes.js';
import { Service } from './service.js';

export interface StackOptions {
  store: ObjectStore;
  queue?: JobQueue;
  /** token verification; omitted → a development issuer (local use only) */
  verifier?: TokenVerifier;
  port?: number;
  host?: string;
  /**
   * consumes the queue in this process: trains here (the dataset I/O and a TensorFlow.js backend;
   * tests) or hands each job to a runner (`serve`: a child process per job, see childTrainer)
   */
  worker?: { dataset: DatasetDeps; backend: string; pollMs?: number } | { run: JobRunner };
  /** refuses sources outside an allow-list; default: `allowedSources` */
  checkSources?(files: string[]): void | Promise<void>;
  /** prefixes workflows may read (403 beyond them); default MLAAS4HEP_ALLOWED_SOURCES, unset: any */
  allowedSources?: string[];
  /** per-user limits on predict and submit; default from MLAAS4HEP_RATE_LIMIT_* (rateLimitsFromEnv) */
  rateLimits?: RateLimits;
  /** what one workflow may ask for; default from MLAAS4HEP_MAX_* (limitsFromEnv) */
  limits?: Limits;
  log?(entry: Record<string, unknown>): void;
  /** training data for the console's file list, inspect and uploads */
  data?: DataAccess;
  /** serves this development issuer's login page for the console (the default issuer gets one anyway) */
  devLogin?: DevIssuer;
  /** origins the console may call besides its own (the bucket's endpoint, for uploads); default MLAAS4HEP_CONSOLE_CONNECT */
  consoleConnect?: string[];
}

export interface Stack {
  url: string;
  /** the web console, same origin as the API */
  consoleUrl: string;
  /** the development issuer's login page, when the stack runs one */
  loginUrl?: string;
  service: Service;
  /** mints a token, when the stack runs its own development issuer */
  token?(sub: string, scopes: string[]): string;
  stop(): Promise<void>;
}

/** The HTTP functions, the queue and a trainer in one process: `mlaas4hep serve` and the tests. */
export async function startStack(o: StackOptions): Promise<Stack> {
  // three receives and a job goes to the dead-letter list, as the deployment's queue does
  const queue = o.queue ?? new MemoryQueue(3);
  const dev = o.verifier ? undefined : createDevIssuer();
  const verifier = o.verifier ?? createVerifier(dev!.config, { jwks: dev!.jwks });
  // the same policy as the Lambda functions (functions/compose.ts), options taking precedence
  const config = processConfig();
  const allowed = o.allowedSources ?? config.allowedSources;
  const checkSources = o.checkSources ?? (allowed ? sourcePolicy(allowed).checkSources : undefined);
  // with the development issuer, the console signs in on its login page (127.0.0.1 only)
  const loginIssuer = dev ?? o.devLogin;
  const login = loginIssuer ? await startDevLogin(loginIssuer) : undefined;
  const fromEnv = consoleConfigFromEnv();
  const connect = o.consoleConnect ?? fromEnv.connect;
  const site = new ConsoleSite({ oidc: login ? login.oidc : fromEnv.oidc, connect });
  const limits = o.limits ?? config.limits;
  const service = new Service({
    store: o.store,
    queue,
    checkSources,
    limits,
    log: o.log ?? defaultLog,
    data: o.data,
    maxDataUploadBytes: config.maxDataUploadBytes,
    console: site,
  });
  const api = createApi(routes(service, o.rateLimits ?? config.rateLimits), { verifier, log: o.log });
  const { server, url } = await startHttpServer(api, { port: o.port, host: o.host, log: o.log });
  const stop = new AbortController();
  const worker = o.worker
    ? consumeQueue(
        queue,
        service.jobs,
        'run' in o.worker
          ? o.worker
          : {
              models: o.store,
              dataset: o.worker.dataset,
              backend: o.worker.backend,
              pollMs: o.worker.pollMs,
              limits,
            },
        { signal: stop.signal, waitSeconds: 1, log: o.log },
      )
    : undefined;
  return {
    url,
    consoleUrl: `${url}/console`,
    loginUrl: login?.url,
    service,
    token: dev ? (sub, scopes) => dev.mint({ sub, scopes }) : undefined,
    async stop() {
      stop.abort();
      await worker?.catch(() => undefined);
      await login?.stop();
      const closed = new Promise<void>((r) => (server as Server).close(() => r()));
      (server as Server).closeAllConnections();
      await closed;
    },
  };
}
