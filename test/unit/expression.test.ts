import { describe, expect, it } from 'vitest';
import type { NumColumn } from '../../lib/dataset/columns.js';
import { parseExpression } from '../../lib/dataset/expression.js';
import { applyCut, evaluate, parseCut } from '../../lib/dataset/expression-eval.js';
import { parseWorkflow } from '../../lib/dataset/workflow.js';
import { InvalidInputError, UnprocessableError } from '../../lib/errors.js';

const flat = (...v: number[]): NumColumn => ({ values: Float64Array.from(v) });
const jagged = (...rows: number[][]): NumColumn => {
  const offsets = new Int32Array(rows.length + 1);
  rows.forEach((r, i) => {
    offsets[i + 1] = offsets[i] + r.length;
  });
  return { values: Float64Array.from(rows.flat()), offsets };
};
const value = (text: string, cols: Record<string, NumColumn> = {}, n = 1): number[] =>
  Array.from(evaluate(parseExpression(text), cols, n).values);

describe('expressions', () => {
  it('follows Python precedence: -2**2 is -4, ** is right-associative, * before +', () => {
    expect(value('-2**2')).toEqual([-4]);
    expect(value('2**3**2')).toEqual([512]);
    expect(value('1 + 2 * 3 - 4 / 2')).toEqual([5]);
    expect(value('(1 + 2) * 3 % 4')).toEqual([1]);
    expect(value('2**-1')).toEqual([0.5]);
  });

  it('chains comparisons: 1 <= x <= 16 means 1 <= x and x <= 16', () => {
    expect(value('1 <= x <= 16', { x: flat(0, 1, 8, 16, 17) }, 5)).toEqual([0, 1, 1, 1, 0]);
    expect(value('3 > x > 1', { x: flat(0, 2, 3) }, 3)).toEqual([0, 1, 0]);
  });

  it('knows the math functions and constants, and logic with and/or/not', () => {
    expect(value('sqrt(16) + abs(-2) + log(e) + max(1, 3) + atan2(0, 1) + cos(pi)')).toEqual([
      4 + 2 + 1 + 3 + 0 - 1,
    ]);
    expect(value('x > 1 and not x > 2 || x == 10', { x: flat(1, 2, 3, 10) }, 4)).toEqual([0, 1, 0, 1]);
    expect(value('where(x > 0, x, -x)', { x: flat(-3, 4) }, 2)).toEqual([3, 4]);
  });

  it('broadcasts a flat branch over the elements of a jagged one', () => {
    const r = evaluate(
      parseExpression('Jet_pt / MET'),
      { Jet_pt: jagged([10, 20], [], [30]), MET: flat(10, 5, 3) },
      3,
    );
    expect(Array.from(r.values)).toEqual([1, 2, 10]);
    expect(Array.from(r.offsets!)).toEqual([0, 2, 2, 3]);
  });

  it('refuses to combine jagged branches of different lengths', () => {
    const cols = { a: jagged([1, 2], [3]), b: jagged([1], [2, 3]) };
    expect(() => evaluate(parseExpression('a + b'), cols, 2)).toThrow(UnprocessableError);
  });

  it('points at the position of a syntax error', () => {
    expect(() => parseExpression('pt >> 20')).toThrow(
      /malformed expression "pt >> 20": unexpected ">" at column 5/,
    );
    expect(() => parseExpression('(pt > 20')).toThrow(/missing "\)"/);
    expect(() => parseExpression('pt >')).toThrow(/unexpected the end/);
  });

  it('names unknown functions and branches with suggestions, and checks arity', () => {
    expect(() => parseExpression('lg(x)')).toThrow(/unknown function "lg"; did you mean "log"\?/);
    expect(() => parseExpression('Muon_PT > 2', ['Muon_pt', 'nMuon'])).toThrow(
      /unknown branch "Muon_PT"; did you mean "Muon_pt"/,
    );
    expect(() => parseExpression('atan2(1)')).toThrow(/atan2\(\) takes 2 arguments, got 1/);
  });

  it('never evaluates text as code', () => {
    expect(() => parseExpression('constructor.constructor("return process")()')).toThrow(InvalidInputError);
    expect(() => parseExpression('x; process.exit(1)')).toThrow(InvalidInputError);
    expect(() => parseExpression(`${'('.repeat(500)}1${')'.repeat(500)}`)).toThrow(/nested too deeply/);
  });
});

describe('cuts', () => {
  it('keeps events passing a flat cut; NaN never passes', () => {
    const mask = applyCut(parseCut('nMuon <= 2'), { nMuon: flat(0, 2, 3, Number.NaN) }, 4);
    expect(Array.from(mask)).toEqual([1, 1, 0, 0]);
  });

  it('reduces a jagged cut with any or all; an empty event fails any and passes all', () => {
    const cols = { Muon_pt: jagged([25, 5], [30, 40], [], [1]) };
    expect(Array.from(applyCut(parseCut(['Muon_pt > 20', 'any']), cols, 4))).toEqual([1, 1, 0, 0]);
    expect(Array.from(applyCut(parseCut(['Muon_pt > 20', 'all']), cols, 4))).toEqual([0, 1, 1, 0]);
  });

  it('asks for any/all when a cut on a jagged branch has none', () => {
    expect(() => applyCut(parseCut('Muon_pt > 20'), { Muon_pt: jagged([1]) }, 1)).toThrow(
      /\["Muon_pt > 20", "any"\]/,
    );
  });
});

describe('expressions: own properties only, bounded depth, reserved names (finding 9)', () => {
  it('treats constructor, toString and __proto__ as unknown names, never as inherited constants or functions', () => {
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      expect(() => parseExpression(`${name} > 1`, ['pt'])).toThrow(InvalidInputError);
      expect(() => parseExpression(`${name} > 1`, ['pt'])).toThrow(/unknown branch/);
      expect(() => parseExpression(`${name}(1)`)).toThrow(/unknown function/);
      // without a branch list the name is a variable, and evaluating it needs that branch
      expect(() => value(`${name} + 1`, { pt: flat(1) })).toThrow(/is not available/);
    }
  });

  it('refuses calls nested deeper than the limit with 400, not a stack overflow', () => {
    const deep = `${'abs('.repeat(1500)}1${')'.repeat(1500)}`;
    expect(() => parseExpression(deep)).toThrow(InvalidInputError);
    expect(() => parseExpression(deep)).toThrow(/nested too deeply/);
    expect(() =>
      parseExpression(`${'abs('.repeat(10)}x${')'.repeat(10)}`, undefined, { maxLength: 1000, maxDepth: 8 }),
    ).toThrow(/nested too deeply/);
    expect(value(`${'abs('.repeat(10)}-2${')'.repeat(10)}`)).toEqual([2]);
  });

  it('refuses a long chain of operators as too deep, by the size of its tree', () => {
    expect(() => parseExpression(Array(300).fill('x').join(' + '))).toThrow(/300 levels, the limit is 256/);
  });

  it('shows at most 80 characters of a long expression in its error', () => {
    const err = (() => {
      try {
        parseExpression(`${'x'.repeat(5000)} >`);
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err?.message).toMatch(/\.\.\. \(5002 characters\)/);
    expect(err!.message.length).toBeLessThan(300);
  });
});

describe('workflow branch names: reserved names refused, not dropped (finding 9)', () => {
  it('refuses __proto__, constructor and prototype as define and new_branch names with 400', () => {
    for (const [section, value] of [
      ['define', '"x + 1"'],
      ['new_branch', '{"def": "x + 1"}'],
    ]) {
      for (const name of ['__proto__', 'constructor', 'prototype']) {
        // as a JSON body arrives: "__proto__" is an own key of the parsed object
        const doc = JSON.parse(
          `{"files": ["a.root"], "labels": [1], "preproc": {"${section}": {"${name}": ${value}}}}`,
        );
        expect(() => parseWorkflow(doc)).toThrow(InvalidInputError);
        expect(() => parseWorkflow(doc)).toThrow(
          new RegExp(`preproc\\.${section}: "${name}" is a reserved name`),
        );
      }
    }
  });
});
