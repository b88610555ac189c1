import { Logger, type LogItem } from '@aws-lambda-powertools/logger';
import type { ConstructorOptions } from '@aws-lambda-powertools/logger/types';

/**
 * One structured log line: `level` (debug, info, warn, error; default info), `message`, and any
 * keys (requestId, jobId, model, cold_start...). An `error` that is an Error is written with its
 * name, message, location and stack. Everything in lib/ logs through this small interface; which
 * logger stands behind it is the composition root's choice (see createLog).
 */
export type LogFn = (entry: Record<string, unknown>) => void;

export const SERVICE = 'mlaas4hep';

type Level = 'debug' | 'info' | 'warn' | 'error' | 'critical';
const LEVELS = new Set<string>(['debug', 'info', 'warn', 'error', 'critical']);
// keys the logger sets itself: passed again they would be dropped with a warning line each
const OWN_KEYS = new Set(['level', 'message', 'service', 'timestamp', 'sampling_rate']);

/** Powertools' Logger, printing each line through `sink` instead of its own console. */
class SinkLogger extends Logger {
  // set after super(): a line printed by the base constructor falls back to stdout
  private sink?: (line: string) => void;

  constructor(sink: ((line: string) => void) | undefined, options: ConstructorOptions) {
    super(options);
    this.sink = sink;
  }

  protected override createLogger(options?: ConstructorOptions): Logger {
    return new SinkLogger(this.sink, options ?? {});
  }

  protected override printLog(logLevel: number, log: LogItem): void {
    if (!this.sink) {
      super.printLog(logLevel, log);
      return;
    }
    log.prepareForPrint();
    this.sink(JSON.stringify(log.getAttributes(), this.getJsonReplacer()));
  }
}

export interface CreateLogOptions {
  /**
   * Where lines go: by default Powertools' own console (stdout, warnings and errors on stderr),
   * as Lambda and the trainer's container want; a function for anything else (`serve`'s buffered
   * stdout, a test's array).
   */
  sink?: (line: string) => void;
  /** keys on every line of this log, e.g. { component: 'trainer' } */
  keys?: Record<string, unknown>;
  /** default info; POWERTOOLS_LOG_LEVEL or AWS_LAMBDA_LOG_LEVEL override it as Powertools documents */
  level?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
}

/** Turns a Powertools logger into the LogFn lib/ calls. */
export function logFnOf(logger: Logger): LogFn {
  return (entry) => {
    const level =
      typeof entry.level === 'string' && LEVELS.has(entry.level) ? (entry.level as Level) : 'info';
    const attributes: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(entry)) if (!OWN_KEYS.has(k)) attributes[k] = v;
    logger[level]({ message: typeof entry.message === 'string' ? entry.message : '', ...attributes });
  };
}

/**
 * The structured logger of a process (a Lambda function, `serve`, the trainer worker): Powertools
 * for AWS Lambda's Logger, one JSON object a line with `level`, `message`, `timestamp` and
 * `service: "mlaas4hep"`, plus each line's keys.
 */
export function createLog(options: CreateLogOptions = {}): { log: LogFn; logger: Logger } {
  const logger = new SinkLogger(options.sink, {
    serviceName: SERVICE,
    logLevel: options.level ?? 'INFO',
    persistentKeys: options.keys,
  });
  const full = logFnOf(logger);
  const plain = options.sink && plainLines(options.sink, logger, options.keys);
  return { log: plain ? (entry) => plain(entry) || full(entry) : full, logger };
}

function put(out: Record<string, unknown>, k: string, v: unknown): void {
  if (v !== undefined && v !== null && v !== '') out[k] = v;
  else if (k in out) delete out[k];
}

const THRESHOLD: Record<string, number> = { debug: 8, info: 12, warn: 16, error: 20, critical: 24 };
const isPlain = (v: unknown) =>
  typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || v == null;

/**
 * A sink's lines of plain values (strings, numbers, booleans: `serve`'s line per request) written
 * as Powertools writes them, without its per-line work (environment reads, deep merges, a JSON
 * replacer): that was a tenth of a single-row prediction's CPU. Returns false for any other line
 * (errors, objects), which Powertools formats. Off when the environment changes Powertools' output
 * (sampling, a time zone, pretty printing, Lambda's context).
 */
export function plainLines(
  sink: (line: string) => void,
  logger: Logger,
  keys: Record<string, unknown> = {},
): ((entry: Record<string, unknown>) => boolean) | undefined {
  const env = process.env;
  const tz = env.TZ;
  if (
    env.POWERTOOLS_LOGGER_SAMPLE_RATE ||
    env.POWERTOOLS_DEV ||
    env.AWS_LAMBDA_FUNCTION_NAME ||
    (tz && !tz.includes('UTC')) ||
    !Object.values(keys).every(isPlain)
  )
    return undefined;
  // read once: Powertools' getter reads the environment on every call (a Lambda invocation may
  // change the level; plain lines are never made in Lambda, see above)
  const threshold = logger.level;
  return (entry) => {
    for (const k in entry) if (!isPlain(entry[k])) return false;
    const level = typeof entry.level === 'string' && LEVELS.has(entry.level) ? entry.level : 'info';
    if (typeof entry.message !== 'string') return false;
    if (THRESHOLD[level] < threshold) return true;
    // Powertools' order: its own keys (cold_start in its place), then persistent keys, then the
    // line's, a later value taking an earlier one's place; as Powertools, no key with an empty value
    const out: Record<string, unknown> = { level: level.toUpperCase() };
    put(out, 'message', entry.message);
    out.timestamp = new Date().toISOString();
    out.service = SERVICE;
    put(out, 'cold_start', entry.cold_start);
    out.sampling_rate = 0;
    for (const k in keys) put(out, k, keys[k]);
    for (const k in entry) if (!OWN_KEYS.has(k)) put(out, k, entry[k]);
    sink(JSON.stringify(out));
    return true;
  };
}

/** How long a line may wait in `bufferedSink` before it is written. */
const FLUSH_MS = 25;
/** Buffered text past which `bufferedSink` writes at once. */
const FLUSH_BYTES = 64 * 1024;
/** Lines `bufferedSink` may hold back: info and debug (every line starts with its level, as Powertools writes it). */
const ROUTINE = /^\{"level":"(?:INFO|DEBUG)"/;

/**
 * The sink of a long-running server: info lines written together every 25 ms (or once 64 KiB
 * wait) instead of once per line (stdout to a pipe or a file is a synchronous write, a system call per
 * line). A timer rather than a setImmediate: under load a setImmediate flush was one more turn of
 * the event loop after every batch of answers (a poll of every socket, and a write, each time).
 * Whatever waits is written when the process exits. Not for Lambda, where the process may be
 * frozen before the flush.
 */
export function bufferedSink(stream: NodeJS.WritableStream = process.stdout): (line: string) => void {
  let pending = '';
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (!pending) return;
    const text = pending;
    pending = '';
    stream.write(text);
  };
  process.once('exit', flush);
  return (line) => {
    pending += `${line}\n`;
    // warnings and errors go out at once (after the lines before them): a crash just after one
    // cannot lose it, and whoever watches the log sees it when the caller sees the answer
    if (pending.length >= FLUSH_BYTES || !ROUTINE.test(line)) flush();
    else timer ??= setTimeout(flush, FLUSH_MS).unref();
  };
}

let processLog: LogFn | undefined;

/** The default log of library code given none: Powertools' Logger on stdout, created on first use. */
export const defaultLog: LogFn = (entry) => {
  processLog ??= createLog().log;
  processLog(entry);
};

/**
 * An error as log fields: `error` (its name or code), `reason` (its message) and `stack`, as
 * plain strings, so every sink keeps them (JSON.stringify of an Error gives `{}`).
 */
export function errorFields(err: unknown): { error: string; reason?: string; stack?: string } {
  if (!(err instanceof Error)) return { error: String(err) };
  const code = (err as { code?: unknown }).code;
  return {
    error: typeof code === 'string' ? code : err.name,
    reason: err.message,
    ...(err.stack ? { stack: err.stack } : {}),
  };
}
