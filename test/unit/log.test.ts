import { describe, expect, it } from 'vitest';
import { bufferedSink, createLog, plainLines } from '../../lib/log.js';

/** A parsed line without its timestamp, keys in the order written. */
function parsed(line: string): [string, unknown][] {
  return Object.entries(JSON.parse(line) as Record<string, unknown>).filter(([k]) => k !== 'timestamp');
}

describe('createLog with a sink', () => {
  it('writes a line of plain values as Powertools writes it: same keys, same order, empty ones dropped', () => {
    const lines: string[] = [];
    const sink = (l: string) => lines.push(l);
    const keys = { component: 'api' };
    const { log, logger } = createLog({ sink, keys });
    const entry = {
      level: 'warn',
      message: 'POST /json 404',
      requestId: 'r-1',
      cold_start: false,
      status: 404,
      ms: 1.5,
      user: undefined,
      note: '',
      gone: null,
    };
    expect(plainLines(sink, logger, keys)?.(entry)).toBe(true);
    // an object value is Powertools' to format: the same line through it, that key left out after
    log({ ...entry, detail: { a: 1 } });
    expect(lines).toHaveLength(2);
    const powertools = parsed(lines[1]).filter(([k]) => k !== 'detail');
    expect(parsed(lines[0])).toEqual(powertools);
    expect(parsed(lines[0]).map(([k]) => k)).toEqual([
      'level',
      'message',
      'service',
      'cold_start',
      'sampling_rate',
      'component',
      'requestId',
      'status',
      'ms',
    ]);
    expect(JSON.parse(lines[0]).timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('keeps the level threshold and hands errors to Powertools', () => {
    const lines: string[] = [];
    const { log } = createLog({ sink: (l) => lines.push(l), level: 'WARN' });
    log({ level: 'info', message: 'below the threshold' });
    log({ level: 'error', message: 'failed', error: new TypeError('boom') });
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]);
    expect(line).toMatchObject({ level: 'ERROR', message: 'failed', service: 'mlaas4hep' });
    expect(line.error).toMatchObject({ name: 'TypeError', message: 'boom' });
  });
});

describe('bufferedSink', () => {
  const stream = () => {
    const writes: string[] = [];
    return { writes, stream: { write: (t: string) => writes.push(t) } as unknown as NodeJS.WritableStream };
  };

  it('writes the lines of many requests together, once the flush interval has passed', async () => {
    const { writes, stream: s } = stream();
    const sink = bufferedSink(s);
    const info = (m: string) => `{"level":"INFO","message":"${m}"}`;
    sink(info('a'));
    sink(info('b'));
    expect(writes).toEqual([]);
    await new Promise((r) => setTimeout(r, 60));
    expect(writes).toEqual([`${info('a')}\n${info('b')}\n`]);
    sink(info('c'));
    await new Promise((r) => setTimeout(r, 60));
    expect(writes).toEqual([`${info('a')}\n${info('b')}\n`, `${info('c')}\n`]);
  });

  it('writes a warning or an error at once, after the info lines before it', () => {
    const { writes, stream: s } = stream();
    const sink = bufferedSink(s);
    sink('{"level":"INFO","message":"POST /json 200"}');
    expect(writes).toEqual([]);
    sink('{"level":"ERROR","message":"engine memory fault"}');
    expect(writes).toEqual([
      '{"level":"INFO","message":"POST /json 200"}\n{"level":"ERROR","message":"engine memory fault"}\n',
    ]);
    sink('{"level":"WARN","message":"POST /json 422"}');
    expect(writes).toHaveLength(2);
  });

  it('writes at once when 64 KiB wait, so a burst cannot grow the buffer', () => {
    const { writes, stream: s } = stream();
    const sink = bufferedSink(s);
    const head = '{"level":"INFO","message":"';
    const line = `${head}${'x'.repeat(1023 - head.length - 2)}"}`;
    for (let i = 0; i < 64; i++) sink(line);
    expect(writes).toHaveLength(1);
    expect(writes[0]).toHaveLength(64 * 1024);
  });
});
