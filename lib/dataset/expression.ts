import { InvalidInputError, nearestNames, truncateName } from '../errors.js';
import { EXPRESSION_CEILING } from '../limits.js';

/**
 * A small expression language for cuts and new branches ("abs(eta) < 2.4 && pt > 20",
 * "1 <= nJet <= 8", "log(E)", "Jet_pt * cosh(Jet_eta)"): parsed into a tree here, evaluated
 * column-wise in expression-eval.ts. User text is never run as code.
 */
export type Node =
  | { k: 'num'; v: number }
  | { k: 'var'; name: string }
  | { k: 'neg'; a: Node }
  | { k: 'not'; a: Node }
  | { k: 'bin'; op: '+' | '-' | '*' | '/' | '%' | '**' | '&&' | '||'; a: Node; b: Node }
  | { k: 'cmp'; ops: CmpOp[]; args: Node[] }
  | { k: 'call'; fn: string; args: Node[] };

export type CmpOp = '<' | '<=' | '>' | '>=' | '==' | '!=';

export interface Expression {
  readonly text: string;
  readonly variables: readonly string[];
  readonly root: Node;
}

/** Functions and their number of arguments. */
export const FUNCTIONS: Readonly<Record<string, number>> = {
  abs: 1,
  sqrt: 1,
  exp: 1,
  log: 1,
  log10: 1,
  log2: 1,
  log1p: 1,
  sin: 1,
  cos: 1,
  tan: 1,
  asin: 1,
  acos: 1,
  atan: 1,
  sinh: 1,
  cosh: 1,
  tanh: 1,
  floor: 1,
  ceil: 1,
  round: 1,
  atan2: 2,
  min: 2,
  max: 2,
  pow: 2,
  where: 3,
};
const CONSTANTS: Readonly<Record<string, number>> = { pi: Math.PI, e: Math.E };

/**
 * Names an object inherits in JavaScript: never a branch a workflow may define (as a key of a
 * plain object, "__proto__" would be silently dropped, the others would shadow what every object
 * has). Refused with 400 where a workflow names a new branch.
 */
export const RESERVED_NAMES: ReadonlySet<string> = new Set([
  '__proto__',
  'constructor',
  'prototype',
  '__defineGetter__',
  '__defineSetter__',
  '__lookupGetter__',
  '__lookupSetter__',
  'hasOwnProperty',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'toLocaleString',
  'toString',
  'valueOf',
]);

/** Refuses a reserved name (see RESERVED_NAMES) as the name of a branch a workflow defines. */
export function checkDefinedName(name: string, where: string): void {
  if (RESERVED_NAMES.has(name))
    throw new InvalidInputError(
      `${where}: "${truncateName(name)}" is a reserved name and cannot name a branch; choose another name`,
    );
}

interface Token {
  t: 'num' | 'id' | 'op' | 'end';
  v: string;
  at: number;
}

const OPS = ['**', '<=', '>=', '==', '!=', '&&', '||', '<', '>', '+', '-', '*', '/', '%', '!', '(', ')', ','];

function lex(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const fail = (what: string): never => {
    throw new InvalidInputError(`malformed expression "${truncateName(text)}": ${what} at column ${i + 1}`);
  };
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const num = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(text.slice(i));
    if (num) {
      out.push({ t: 'num', v: num[0], at: i });
      i += num[0].length;
      if (/^[A-Za-z_]/.test(text.slice(i))) fail(`unexpected "${text[i]}" after a number`);
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(text.slice(i));
    if (id) {
      const w = id[0];
      out.push(
        w === 'and'
          ? { t: 'op', v: '&&', at: i }
          : w === 'or'
            ? { t: 'op', v: '||', at: i }
            : w === 'not'
              ? { t: 'op', v: '!', at: i }
              : { t: 'id', v: w, at: i },
      );
      i += w.length;
      continue;
    }
    const op = OPS.find((o) => text.startsWith(o, i));
    if (!op) fail(`unexpected "${c}"`);
    out.push({ t: 'op', v: op!, at: i });
    i += op!.length;
  }
  out.push({ t: 'end', v: '', at: text.length });
  return out;
}

class Parser {
  private p = 0;
  private depth = 0;
  readonly vars = new Set<string>();

  constructor(
    private readonly text: string,
    private readonly toks: Token[],
    private readonly maxDepth: number,
    private readonly available?: ReadonlySet<string>,
  ) {}

  private peek(): Token {
    return this.toks[this.p];
  }

  private fail(tok: Token, what?: string): never {
    const shown = tok.t === 'end' ? 'the end' : `"${tok.v}"`;
    throw new InvalidInputError(
      `malformed expression "${truncateName(this.text)}": ${what ?? `unexpected ${shown}`} at column ${tok.at + 1}`,
    );
  }

  private accept(...ops: string[]): string | undefined {
    const t = this.peek();
    if (t.t === 'op' && ops.includes(t.v)) {
      this.p++;
      return t.v;
    }
    return undefined;
  }

  parse(): Node {
    const n = this.or();
    if (this.peek().t !== 'end') this.fail(this.peek());
    return n;
  }

  private or(): Node {
    let a = this.and();
    while (this.accept('||')) a = { k: 'bin', op: '||', a, b: this.and() };
    return a;
  }

  private and(): Node {
    let a = this.not();
    while (this.accept('&&')) a = { k: 'bin', op: '&&', a, b: this.not() };
    return a;
  }

  private not(): Node {
    if (this.accept('!')) return this.nested(() => ({ k: 'not', a: this.not() }));
    return this.comparison();
  }

  private comparison(): Node {
    const first = this.additive();
    const ops: CmpOp[] = [];
    const args = [first];
    for (
      let op = this.accept('<', '<=', '>', '>=', '==', '!=');
      op;
      op = this.accept('<', '<=', '>', '>=', '==', '!=')
    ) {
      ops.push(op as CmpOp);
      args.push(this.additive());
    }
    return ops.length ? { k: 'cmp', ops, args } : first;
  }

  private additive(): Node {
    let a = this.multiplicative();
    for (let op = this.accept('+', '-'); op; op = this.accept('+', '-'))
      a = { k: 'bin', op: op as '+' | '-', a, b: this.multiplicative() };
    return a;
  }

  private multiplicative(): Node {
    let a = this.unary();
    for (let op = this.accept('*', '/', '%'); op; op = this.accept('*', '/', '%'))
      a = { k: 'bin', op: op as '*', a, b: this.unary() };
    return a;
  }

  /** unary minus binds looser than **, as in Python: -2**2 == -4 */
  private unary(): Node {
    if (this.accept('-')) return this.nested(() => ({ k: 'neg', a: this.unary() }));
    if (this.accept('+')) return this.nested(() => this.unary());
    return this.power();
  }

  /** bounds recursion so a hostile expression cannot exhaust the stack */
  private nested(f: () => Node): Node {
    if (++this.depth > this.maxDepth) this.fail(this.peek(), this.tooDeep());
    const n = f();
    this.depth--;
    return n;
  }

  private power(): Node {
    const base = this.primary();
    if (this.accept('**')) return this.nested(() => ({ k: 'bin', op: '**', a: base, b: this.unary() }));
    return base;
  }

  private primary(): Node {
    const t = this.peek();
    if (t.t === 'num') {
      this.p++;
      return { k: 'num', v: Number(t.v) };
    }
    if (this.accept('(')) {
      if (++this.depth > this.maxDepth) this.fail(t, this.tooDeep());
      const n = this.or();
      if (!this.accept(')')) this.fail(this.peek(), 'missing ")"');
      this.depth--;
      return n;
    }
    if (t.t !== 'id') this.fail(t);
    this.p++;
    if (this.accept('(')) {
      // own properties only: "constructor" or "toString" are not functions of this language
      const arity = Object.hasOwn(FUNCTIONS, t.v) ? FUNCTIONS[t.v] : undefined;
      if (arity === undefined) {
        const near = nearestNames(t.v, Object.keys(FUNCTIONS));
        this.fail(t, `unknown function "${t.v}"${near.length ? `; did you mean "${near[0]}"?` : ''}`);
      }
      const args: Node[] = [];
      if (!this.accept(')')) {
        // a call's arguments nest like parentheses: abs(abs(abs(...))) counts every level
        do args.push(this.nested(() => this.or()));
        while (this.accept(','));
        if (!this.accept(')')) this.fail(this.peek(), 'missing ")"');
      }
      if (args.length !== arity)
        this.fail(t, `${t.v}() takes ${arity} argument${arity > 1 ? 's' : ''}, got ${args.length}`);
      return { k: 'call', fn: t.v, args };
    }
    if (Object.hasOwn(CONSTANTS, t.v) && !this.available?.has(t.v)) return { k: 'num', v: CONSTANTS[t.v] };
    if (this.available && !this.available.has(t.v)) {
      const near = nearestNames(t.v, this.available);
      this.fail(
        t,
        `unknown branch "${truncateName(t.v)}"${near.length ? `; did you mean ${near.map((n) => `"${n}"`).join(' or ')}?` : ''}`,
      );
    }
    this.vars.add(t.v);
    return { k: 'var', name: t.v };
  }

  private tooDeep(): string {
    return `expression nested too deeply (more than ${this.maxDepth} levels of operators, calls and parentheses)`;
  }
}

/** How deep a tree is, walked without recursion (a long chain "a+a+a+..." is deep too). */
export function treeDepth(root: Node): number {
  let max = 0;
  const stack: Array<[Node, number]> = [[root, 1]];
  while (stack.length) {
    const [n, d] = stack.pop()!;
    if (d > max) max = d;
    if (n.k === 'neg' || n.k === 'not') stack.push([n.a, d + 1]);
    else if (n.k === 'bin') stack.push([n.a, d + 1], [n.b, d + 1]);
    else if (n.k === 'cmp' || n.k === 'call') for (const a of n.args) stack.push([a, d + 1]);
  }
  return max;
}

export interface ExpressionLimits {
  /** characters */
  maxLength: number;
  /** levels of the tree: operators, calls and parentheses */
  maxDepth: number;
}

/**
 * Parses an expression; with `available`, every name must be one of those branches. `limits`
 * (default: the parser's own ceilings) bounds its length and depth; beyond them, a 400 naming the
 * limit.
 */
export function parseExpression(
  text: string,
  available?: Iterable<string>,
  limits: ExpressionLimits = EXPRESSION_CEILING,
): Expression {
  if (typeof text !== 'string' || !text.trim()) throw new InvalidInputError('empty expression');
  if (text.length > limits.maxLength)
    throw new InvalidInputError(
      `expression "${truncateName(text)}" is longer than the limit of ${limits.maxLength} characters`,
    );
  const parser = new Parser(text, lex(text), limits.maxDepth, available ? new Set(available) : undefined);
  const root = parser.parse();
  const depth = treeDepth(root);
  if (depth > limits.maxDepth)
    throw new InvalidInputError(
      `expression "${truncateName(text)}" is nested too deeply: ${depth} levels, the limit is ${limits.maxDepth}`,
    );
  return { text, variables: [...parser.vars], root };
}
