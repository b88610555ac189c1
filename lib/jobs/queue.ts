/** A training request on the queue: only the job id; the record in the job store has the rest. */
export interface JobMessage {
  jobId: string;
}

export interface ReceivedMessage {
  body: string;
  /** opaque handle for extend/delete/release */
  receipt: string;
  /** how many times this message has been received (1 on the first delivery) */
  receiveCount: number;
}

/** The job queue: SQS in a deployment, in memory for a single process. */
export interface JobQueue {
  send(message: JobMessage): Promise<void>;
  /** waits up to `waitSeconds` for one message, hidden from others for `visibilitySeconds` */
  receive(waitSeconds: number, visibilitySeconds: number): Promise<ReceivedMessage | undefined>;
  /** keeps a message hidden while its job runs */
  extend(message: ReceivedMessage, visibilitySeconds: number): Promise<void>;
  delete(message: ReceivedMessage): Promise<void>;
  /** makes a message visible again at once (another worker may take it) */
  release(message: ReceivedMessage): Promise<void>;
  /**
   * Moves a message that no attempt can ever handle (malformed, unknown job) to the dead-letter
   * queue at once, rather than letting it use up its receives. Resolves false when there is no
   * dead-letter queue to move it to (the caller deletes it; its log line is then the only trace).
   */
  deadLetter?(message: ReceivedMessage, reason: string): Promise<boolean>;
}

interface Entry {
  body: string;
  receipt: string;
  visibleAt: number;
  receiveCount: number;
}

/** An in-process queue with SQS's visibility semantics (for `mlaas4hep serve` and tests). */
export class MemoryQueue implements JobQueue {
  private entries: Entry[] = [];
  /** bodies moved aside after `maxReceives` receives, as SQS's redrive policy does */
  readonly deadLetters: string[] = [];

  constructor(private readonly maxReceives = Number.POSITIVE_INFINITY) {}

  private counter = 0;
  private waiters: Array<() => void> = [];

  async send(message: JobMessage): Promise<void> {
    this.entries.push({ body: JSON.stringify(message), receipt: '', visibleAt: 0, receiveCount: 0 });
    for (const w of this.waiters.splice(0)) w();
  }

  /** for tests: puts a raw body on the queue */
  async sendRaw(body: string): Promise<void> {
    this.entries.push({ body, receipt: '', visibleAt: 0, receiveCount: 0 });
    for (const w of this.waiters.splice(0)) w();
  }

  async receive(waitSeconds: number, visibilitySeconds: number): Promise<ReceivedMessage | undefined> {
    const deadline = Date.now() + waitSeconds * 1000;
    for (;;) {
      const now = Date.now();
      const e = this.entries.find((x) => x.visibleAt <= now);
      if (e && e.receiveCount >= this.maxReceives) {
        this.moveAside(e);
        continue;
      }
      if (e) {
        e.receipt = `r${++this.counter}`;
        e.visibleAt = now + visibilitySeconds * 1000;
        e.receiveCount++;
        return { body: e.body, receipt: e.receipt, receiveCount: e.receiveCount };
      }
      if (now >= deadline) return undefined;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(deadline - now, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  private find(m: ReceivedMessage): Entry | undefined {
    return this.entries.find((e) => e.receipt === m.receipt);
  }

  async extend(message: ReceivedMessage, visibilitySeconds: number): Promise<void> {
    const e = this.find(message);
    if (e) e.visibleAt = Date.now() + visibilitySeconds * 1000;
  }

  async delete(message: ReceivedMessage): Promise<void> {
    this.entries = this.entries.filter((e) => e.receipt !== message.receipt);
  }

  async release(message: ReceivedMessage): Promise<void> {
    const e = this.find(message);
    if (e) e.visibleAt = 0;
    for (const w of this.waiters.splice(0)) w();
  }

  async deadLetter(message: ReceivedMessage): Promise<boolean> {
    const e = this.find(message);
    if (!e) return false;
    this.moveAside(e);
    return true;
  }

  private moveAside(e: Entry): void {
    this.entries = this.entries.filter((x) => x !== e);
    this.deadLetters.push(e.body);
  }

  get size(): number {
    return this.entries.length;
  }
}
