import { describe, expect, it } from 'vitest';
import { createLog, plainLines } from '../../lib/log.js';

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
