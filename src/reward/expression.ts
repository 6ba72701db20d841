import { create, all, type MathNode } from 'mathjs';
import { BadInputError } from '../core/errors.js';

/**
 * Sandboxed reward expressions (DESIGN.md "names in reward expressions"; STACK.md: mathjs
 * `evaluate` is not a sandbox). We use mathjs only as a *parser*, on a private instance whose
 * dangerous functions are disabled, then walk the tree and accept nothing but numbers,
 * declared names, arithmetic/comparison/logical operators, parentheses, conditionals and the
 * short list of functions below. Evaluation is our own tree walk over plain numbers, so no
 * mathjs code runs on user input at evaluation time.
 */

const math = create(all);
// Keep the parser, then disable it (and the rest) on the instance: belt and braces.
const parse = math.parse.bind(math);
const disabled = ['import', 'createUnit', 'evaluate', 'parse', 'simplify', 'derivative', 'resolve', 'compile', 'reviver', 'replacer'];
math.import(
  Object.fromEntries(disabled.map((n) => [n, () => { throw new Error(`function ${n} is disabled`); }])),
  { override: true },
);

type Fn = (...args: number[]) => number;
/** The functions a reward expression may call. */
export const REWARD_FUNCTIONS: Readonly<Record<string, { fn: Fn; arity: [number, number] }>> = {
  min: { fn: Math.min, arity: [1, 64] },
  max: { fn: Math.max, arity: [1, 64] },
  abs: { fn: Math.abs, arity: [1, 1] },
  sqrt: { fn: Math.sqrt, arity: [1, 1] },
  exp: { fn: Math.exp, arity: [1, 1] },
  log: { fn: (x, b) => (b === undefined ? Math.log(x) : Math.log(x) / Math.log(b)), arity: [1, 2] },
  log10: { fn: Math.log10, arity: [1, 1] },
  pow: { fn: Math.pow, arity: [2, 2] },
  clamp: { fn: (x, lo, hi) => Math.min(hi, Math.max(lo, x)), arity: [3, 3] },
  tanh: { fn: Math.tanh, arity: [1, 1] },
  isFinite: { fn: (x) => (Number.isFinite(x) ? 1 : 0), arity: [1, 1] },
};
const CONSTANTS: Readonly<Record<string, number>> = { pi: Math.PI, e: Math.E, Infinity: Infinity };

const BINARY: Readonly<Record<string, (a: number, b: number) => number>> = {
  add: (a, b) => a + b,
  subtract: (a, b) => a - b,
  multiply: (a, b) => a * b,
  divide: (a, b) => a / b,
  pow: (a, b) => Math.pow(a, b),
  mod: (a, b) => a % b,
  smaller: (a, b) => +(a < b),
  smallerEq: (a, b) => +(a <= b),
  larger: (a, b) => +(a > b),
  largerEq: (a, b) => +(a >= b),
  equal: (a, b) => +(a === b),
  unequal: (a, b) => +(a !== b),
  and: (a, b) => +(!!a && !!b),
  or: (a, b) => +(!!a || !!b),
  xor: (a, b) => +(!!a !== !!b),
};
const UNARY: Readonly<Record<string, (a: number) => number>> = {
  unaryMinus: (a) => -a,
  unaryPlus: (a) => a,
  not: (a) => +!a,
};

export type Scope = Readonly<Record<string, number>>;
type Compiled = (scope: Scope) => number;

export interface RewardExpression {
  readonly source: string;
  /** Names the expression reads. */
  readonly names: readonly string[];
  evaluate(scope: Scope): number;
}

/**
 * Parses and checks an expression against the declared names. Throws BadInputError (exit 2)
 * naming the first construct that is not allowed.
 */
export function compileReward(source: string, declared: readonly string[], where = 'reward'): RewardExpression {
  if (typeof source !== 'string' || source.trim() === '') throw new BadInputError('expected a non-empty expression', where);
  if (source.length > 4000) throw new BadInputError(`expression is ${source.length} characters long; the limit is 4000`, where);
  let root: MathNode;
  try {
    root = parse(source);
  } catch (e) {
    throw new BadInputError(`cannot parse "${source}": ${(e as Error).message}`, where);
  }
  const allowed = new Set(declared);
  const names = new Set<string>();
  const fail = (what: string): never => {
    throw new BadInputError(
      `${what} is not allowed in a reward expression ("${source}"). Allowed: numbers, the names ${[...allowed].sort().join(', ') || '(none)'}, ` +
        `+ - * / ^ %, comparisons, and/or/not, ( ), cond ? a : b, and the functions ${Object.keys(REWARD_FUNCTIONS).join(', ')}`,
      where,
    );
  };

  let depth = 0;
  const build = (n: MathNode): Compiled => {
    if (++depth > 200) fail('nesting deeper than 200 levels');
    try {
      return buildNode(n);
    } finally {
      depth--;
    }
  };
  const buildNode = (n: MathNode): Compiled => {
    const node = n as MathNode & Record<string, any>;
    switch (node.type) {
      case 'ConstantNode': {
        const v = node.value;
        if (typeof v !== 'number') fail(`the constant ${JSON.stringify(v)} (only numbers)`);
        return () => v;
      }
      case 'SymbolNode': {
        const name: string = node.name;
        if (allowed.has(name)) {
          names.add(name);
          return (s) => {
            const v = s[name];
            if (typeof v !== 'number') throw new BadInputError(`no value for "${name}"`, where);
            return v;
          };
        }
        // Own properties only: `toString`, `constructor`… live on every object's prototype.
        if (Object.hasOwn(CONSTANTS, name)) {
          const c = CONSTANTS[name];
          return () => c;
        }
        return fail(`the unknown name "${name}"`);
      }
      case 'ParenthesisNode':
        return build(node.content);
      case 'OperatorNode': {
        const args: Compiled[] = node.args.map(build);
        if (args.length === 1) {
          if (!Object.hasOwn(UNARY, node.fn)) return fail(`the operator "${node.op}"`);
          const f = UNARY[node.fn as string];
          const [a] = args;
          return (s) => f(a(s));
        }
        if (args.length === 2) {
          if (!Object.hasOwn(BINARY, node.fn)) return fail(`the operator "${node.op}"`);
          const f = BINARY[node.fn as string];
          const [a, b] = args;
          return (s) => f(a(s), b(s));
        }
        return fail(`the operator "${node.op}"`);
      }
      case 'ConditionalNode': {
        const c = build(node.condition);
        const t = build(node.trueExpr);
        const f = build(node.falseExpr);
        return (s) => (c(s) ? t(s) : f(s));
      }
      case 'FunctionNode': {
        const fnNode = node.fn as MathNode & Record<string, any>;
        if (fnNode.type !== 'SymbolNode') return fail('calling a computed function');
        if (!Object.hasOwn(REWARD_FUNCTIONS, fnNode.name)) return fail(`the function "${fnNode.name}"`);
        const spec = REWARD_FUNCTIONS[fnNode.name as string];
        const args: Compiled[] = node.args.map(build);
        if (args.length < spec.arity[0] || args.length > spec.arity[1]) {
          fail(`calling ${fnNode.name} with ${args.length} argument(s)`);
        }
        return (s) => spec.fn(...args.map((a) => a(s)));
      }
      case 'AssignmentNode':
        return fail('assignment');
      case 'FunctionAssignmentNode':
        return fail('a function definition');
      case 'AccessorNode':
      case 'IndexNode':
        return fail('property or index access');
      case 'ObjectNode':
        return fail('an object literal');
      case 'ArrayNode':
        return fail('an array or matrix');
      case 'BlockNode':
        return fail('several statements');
      case 'RangeNode':
        return fail('a range');
      default:
        return fail(`the construct ${node.type}`);
    }
  };
  const compiled = build(root);
  return {
    source,
    names: [...names],
    evaluate: (scope) => compiled(scope),
  };
}
