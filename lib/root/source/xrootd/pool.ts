import { discoverToken } from './auth.js';
import type { Connection } from './connection.js';
import { Request } from './protocol.js';
import { openSession, type SessionOptions } from './session.js';
import { type Endpoint, hostPort } from './url.js';

export interface PoolOptions extends Partial<SessionOptions> {
  /** Connections kept per server (default 2); requests are multiplexed on each. */
  connectionsPerHost?: number;
  /** A connection without open files or requests is closed after this many ms (default 30 s). */
  idleMs?: number;
}

interface Slot {
  connections: Connection[];
  /** connections being opened, so concurrent callers share them */
  opening: Array<Promise<Connection>>;
  /** sessions of connections that broke: ended (kXR_endsess) from the next connection, freeing their files */
  stale: Buffer[];
}

/** Broken sessions remembered per server (the server also ends them itself, later). */
const MAX_STALE = 8;

/**
 * Logged-in connections per server (host, port, TLS, user), shared by every file read from it. A new
 * connection is opened while all existing ones are busy and the per-host limit allows; dead ones are
 * dropped and replaced on the next acquire (which ends their sessions, kXR_endsess, so the server frees
 * their open files at once); idle ones are ended and closed after `idleMs`.
 */
export class XRootDPool {
  private readonly slots = new Map<string, Slot>();
  private readonly idleTimers = new Map<Connection, NodeJS.Timeout>();
  private readonly perHost: number;
  private readonly idleMs: number;
  private readonly session: SessionOptions;

  constructor(options: PoolOptions = {}) {
    this.perHost = Math.max(1, options.connectionsPerHost ?? 2);
    this.idleMs = options.idleMs ?? 30_000;
    this.session = { ...options, token: options.token ?? discoverToken() };
  }

  /** A live, logged-in connection to `e`: the least busy one, or a new one while under the limit. */
  async acquire(e: Endpoint): Promise<Connection> {
    const key = `${e.tls ? 'roots' : 'root'}://${e.user ? `${e.user}@` : ''}${hostPort(e)}`;
    let slot = this.slots.get(key);
    if (!slot) {
      slot = { connections: [], opening: [], stale: [] };
      this.slots.set(key, slot);
    }
    for (const c of slot.connections) if (!c.alive && c.sessionId) slot.stale.push(c.sessionId);
    slot.stale.splice(0, slot.stale.length - MAX_STALE);
    slot.connections = slot.connections.filter((c) => c.alive);
    const best = slot.connections.reduce<Connection | undefined>(
      (b, c) => (b === undefined || load(c) < load(b) ? c : b),
      undefined,
    );
    const total = slot.connections.length + slot.opening.length;
    let conn: Connection;
    if (best && (load(best) === 0 || total >= this.perHost)) conn = best;
    else if (total < this.perHost) conn = await this.open(slot, e);
    else conn = await Promise.race(slot.opening);
    this.touch(conn);
    return conn;
  }

  /** Tells the pool a file was opened on, or closed from, a connection (idle connections are closed). */
  hold(conn: Connection, delta: 1 | -1): void {
    conn.openFiles = Math.max(0, conn.openFiles + delta);
    this.touch(conn);
  }

  /** Ends every session (kXR_endsess) and closes every connection. */
  async close(): Promise<void> {
    for (const t of this.idleTimers.values()) clearTimeout(t);
    this.idleTimers.clear();
    const all = [...this.slots.values()];
    this.slots.clear();
    const opened = await Promise.all(all.flatMap((s) => s.opening.map((p) => p.catch(() => undefined))));
    for (const c of [...all.flatMap((s) => s.connections), ...opened]) if (c) endSession(c);
  }

  private open(slot: Slot, e: Endpoint): Promise<Connection> {
    const p = openSession(e, this.session);
    slot.opening.push(p);
    const done = () => {
      slot.opening = slot.opening.filter((x) => x !== p);
    };
    return p.then(
      (c) => {
        done();
        slot.connections.push(c);
        for (const id of slot.stale.splice(0)) {
          void c.request(Request.endsess, (b) => id.copy(b, 4)).catch(() => undefined);
        }
        return c;
      },
      (err: unknown) => {
        done();
        throw err;
      },
    );
  }

  /** (Re)arms the idle timer of a connection that has nothing open. */
  private touch(conn: Connection): void {
    clearTimeout(this.idleTimers.get(conn));
    this.idleTimers.delete(conn);
    if (!conn.alive || conn.openFiles > 0) return;
    const timer = setTimeout(() => {
      this.idleTimers.delete(conn);
      if (conn.openFiles === 0 && conn.load === 0) endSession(conn);
      else this.touch(conn);
    }, this.idleMs);
    timer.unref();
    this.idleTimers.set(conn, timer);
  }
}

const load = (c: Connection) => c.load + c.openFiles;

/** kXR_endsess with our own session id: the server ends the session and closes the link. */
function endSession(c: Connection): void {
  const id = c.sessionId;
  c.sessionId = undefined; // ended here: not a broken session to end again from another connection
  if (id) c.notify(Request.endsess, (b) => id.copy(b, 4));
  // the server closes the link on its side; do not wait for it
  setTimeout(() => c.destroy(), 100).unref();
}

let shared: XRootDPool | undefined;

/** The process-wide pool used when a caller injects none (one per Lambda instance or CLI run). */
export function sharedXRootDPool(): XRootDPool {
  shared ??= new XRootDPool();
  return shared;
}
