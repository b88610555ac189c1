import type { BundleStore } from '../bundles/bundle-store.js';
import { NotFoundError, truncateName } from '../errors.js';

const ignore = () => undefined;

export interface Resolved {
  version: string;
  etag: string;
}

/** The revalidation of one model name: the check in flight, and the one queued behind it. */
interface Round {
  running?: Promise<Resolved>;
  /** the running round's read has not begun yet: a request arriving now may still share it */
  open?: boolean;
  queued?: Promise<Resolved>;
}

/**
 * Which version of a model to serve, read afresh for every request: each request waits for a
 * re-read of `latest` and the version's COMPLETE marker that started after it arrived, so a
 * re-upload or a deletion is seen by the next request. Requests arriving in the same turn of the
 * event loop share one re-read, begun once the turn's requests are parsed; requests arriving while
 * a re-read is in flight share the one queued behind it (begun as soon as that one settles): under
 * load the store sees two small reads per round trip, not per request.
 */
export class VersionResolver {
  private readonly checked = new Map<string, { at: number; version: string; etag: string }>();
  private readonly rounds = new Map<string, Round>();
  /** per model name: the stamp of `latest` when it was last read, and the version it named */
  private readonly latest = new Map<string, { stamp: string; version: string }>();

  /**
   * `revalidateMs`: skip the re-read for this long after a check (0: every request). `onGone` hears
   * of a model, or one version, that the store no longer has (once this resolver has forgotten it).
   */
  constructor(
    private readonly bundles: BundleStore,
    private readonly revalidateMs: number,
    private readonly onGone: (name: string, version?: string) => void,
  ) {}

  /** Forgets every check (`latest` stamps too, with `all`). */
  reset(all = false): void {
    this.checked.clear();
    if (all) this.latest.clear();
  }

  /** Forgets what was read of a model the store no longer has (the next request reads `latest` again) and says so. */
  private gone(name: string, version?: string): void {
    for (const k of [...this.checked.keys()]) if (k.startsWith(`${name}@`)) this.checked.delete(k);
    this.latest.delete(name);
    this.onGone(name, version);
  }

  /** Which version to serve and the ETag of its COMPLETE marker, read after this call began. */
  resolve(name: string, want: string | undefined): Promise<Resolved> {
    const ck = `${name}@${want ?? ''}`;
    const seen = this.checked.get(ck);
    if (this.revalidateMs > 0 && seen && Date.now() - seen.at < this.revalidateMs)
      return Promise.resolve(seen);
    let round = this.rounds.get(ck);
    if (!round) {
      round = {};
      this.rounds.set(ck, round);
    }
    const { running } = round;
    if (!running) return this.startRound(ck, round, name, want);
    if (round.open) return running;
    // the read in flight may have begun before this request arrived: wait for the next one
    if (round.queued) return round.queued;
    const r = round;
    r.queued = running.then(ignore, ignore).then(() => {
      r.queued = undefined;
      return this.startRound(ck, r, name, want, true);
    });
    return r.queued;
  }

  private startRound(
    ck: string,
    round: Round,
    name: string,
    want: string | undefined,
    atOnce = false,
  ): Promise<Resolved> {
    // a fresh round starts once this turn of the event loop has parsed its requests, so all of
    // them share it, and its read still begins after each arrived. Started at once, a read that
    // settles within the turn (a local stat) was one round per request: two stats each, 15% of
    // a single-row prediction's time (bench:predict)
    const begin = () => {
      round.open = false;
      return this.read(ck, name, want);
    };
    const p = atOnce ? begin() : new Promise<void>((r) => setImmediate(r)).then(begin);
    round.running = p;
    round.open = !atOnce;
    p.then(ignore, ignore).then(() => {
      if (round.running === p) round.running = undefined;
      if (!round.running && !round.queued && this.rounds.get(ck) === round) this.rounds.delete(ck);
    });
    return p;
  }

  /**
   * The version `latest` names and the stamp of its COMPLETE marker. With a store that stamps
   * objects, an unchanged `latest` costs two stamps in parallel (one stat each on a local disk);
   * its body is read again only when its stamp moved.
   */
  private async read(ck: string, name: string, want: string | undefined): Promise<Resolved> {
    const now = Date.now();
    const bundles = this.bundles;
    let version = want;
    let etag: string | undefined;
    if (version === undefined) {
      const prev = this.latest.get(name);
      const [stamp, prevComplete] = await Promise.all([
        bundles.latestStamp(name),
        prev ? bundles.completeStamp(name, prev.version) : undefined,
      ]);
      if (stamp !== undefined && prev?.stamp === stamp) {
        version = prev.version;
        etag = prevComplete;
      } else {
        const latest = stamp === undefined ? undefined : await bundles.latest(name);
        if (!latest) {
          this.gone(name);
          throw new NotFoundError(`no model named "${truncateName(name)}"`, 'ModelNotFound');
        }
        version = latest;
        // the stamp was taken before the read: a newer body only costs one more read next time
        this.latest.set(name, { stamp: stamp!, version });
      }
    }
    etag ??= await bundles.completeStamp(name, version);
    if (etag === undefined) {
      this.gone(name, version);
      throw new NotFoundError(
        want
          ? `model "${truncateName(name)}" has no complete version "${truncateName(want)}"`
          : `no model named "${truncateName(name)}"`,
        'ModelNotFound',
      );
    }
    const r = { at: now, version, etag };
    if (this.revalidateMs > 0) this.checked.set(ck, r);
    return r;
  }
}
