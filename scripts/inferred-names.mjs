// esbuild's keepNames (scripts/bundle.mjs) wraps every function it might have renamed in a call to
// its helper `__name(fn, "name")`, which is one Object.defineProperty on the function. For the
// functions made on every request (the closures of Nest's execution context and of rxjs' operators,
// Fastify's hook runners, the service's own) that cost the running service 15-35 % of its CPU per
// request (docs/performance.md, "esbuild's keepNames on every request"). This drops the
// calls that set the name the language gives the function anyway:
//
//  1. `__name(function f() {...}, "f")`: a function expression's own name;
//  2. `key: __name(() => ..., "key")`, `const key = __name(...)`, `key = __name(...)` (an assignment,
//     a default value, a class field): an anonymous function or arrow takes the name of what it is
//     assigned to (the language's NamedEvaluation; not for `__proto__:`, which sets a prototype);
//  3. `function f() {...}` and `__name(f, "f");` in one block where nothing assigns `f`: a function
//     declaration's own name.
//
// Every other call stays: where esbuild renamed the function (`function next2` named "next"), and
// classes (made once, and a static `name` member would make the language's name differ). The dropped
// text becomes spaces, so every position, and with them the source map, stays where it was.
import { parse } from 'acorn';

/** esbuild's helper, checked before anything is dropped: another helper could mean another meaning. */
export const ESBUILD_NAME_HELPER = 'var __name = (target, value) => __defProp(target, "name", { value, configurable: true });';

const isNameCall = (node) =>
  node?.type === 'CallExpression' &&
  node.callee.type === 'Identifier' &&
  node.callee.name === '__name' &&
  node.arguments.length === 2 &&
  node.arguments[1].type === 'Literal' &&
  typeof node.arguments[1].value === 'string';

const keyName = (key, computed) =>
  computed ? null : key.type === 'Identifier' ? key.name : key.type === 'Literal' && typeof key.value === 'string' ? key.value : null;

/** The name an anonymous function `node` takes where it stands in `parent` (NamedEvaluation), or null. */
function contextName(parent, node) {
  switch (parent?.type) {
    case 'Property': {
      const name =
        parent.value === node && parent.kind === 'init' && !parent.method && !parent.shorthand
          ? keyName(parent.key, parent.computed)
          : null;
      return name === '__proto__' ? null : name;
    }
    case 'PropertyDefinition':
      return parent.value === node ? keyName(parent.key, parent.computed) : null;
    case 'VariableDeclarator':
      return parent.init === node && parent.id.type === 'Identifier' ? parent.id.name : null;
    case 'AssignmentExpression':
      return parent.right === node && parent.operator === '=' && parent.left.type === 'Identifier' ? parent.left.name : null;
    case 'AssignmentPattern':
      return parent.right === node && parent.left.type === 'Identifier' ? parent.left.name : null;
    default:
      return null;
  }
}

/** The names a pattern (an assignment's or a declaration's target) binds or assigns. */
function targetNames(pattern, into) {
  switch (pattern?.type) {
    case 'Identifier':
      into.add(pattern.name);
      break;
    case 'ObjectPattern':
      for (const p of pattern.properties) targetNames(p.type === 'RestElement' ? p.argument : p.value, into);
      break;
    case 'ArrayPattern':
      for (const e of pattern.elements) targetNames(e, into);
      break;
    case 'AssignmentPattern':
      targetNames(pattern.left, into);
      break;
    case 'RestElement':
      targetNames(pattern.argument, into);
      break;
  }
  return into;
}

/** Names a node itself may assign: any name at all (`*`) for a direct `eval`. */
function assignedBy(node) {
  switch (node.type) {
    case 'AssignmentExpression':
      return targetNames(node.left, new Set());
    case 'UpdateExpression':
      return targetNames(node.argument, new Set());
    case 'VariableDeclarator':
      return node.init ? targetNames(node.id, new Set()) : null;
    case 'ForInStatement':
    case 'ForOfStatement': {
      // `for (x of ...)`, and `for (var x of ...)`, which assigns a function's binding of that name
      const targets = node.left.type === 'VariableDeclaration' ? node.left.declarations.map((d) => d.id) : [node.left];
      const names = new Set();
      for (const target of targets) targetNames(target, names);
      return names;
    }
    case 'CallExpression':
      return node.callee.type === 'Identifier' && node.callee.name === 'eval' ? new Set(['*']) : null;
    default:
      return null;
  }
}

const isNode = (value) => value !== null && typeof value === 'object' && typeof value.type === 'string';

/**
 * The bundle's source without the `__name` calls that set a name the function has anyway (the rules
 * above), each replaced by spaces (line breaks kept). `dropped` counts them by rule, `kept` the rest.
 */
export function dropInferredNameCalls(source) {
  if (!source.includes(`\n${ESBUILD_NAME_HELPER}\n`)) {
    throw new Error(`esbuild's __name helper is not "${ESBUILD_NAME_HELPER}": review scripts/inferred-names.mjs`);
  }
  const ast = parse(source, { ecmaVersion: 'latest', sourceType: 'module' });
  const blanks = [];
  const dropped = { ownName: 0, contextName: 0, declaration: 0 };
  let calls = 0;

  // returns the names assigned anywhere inside `node` (null for none)
  function visit(node, parent) {
    let assigned = assignedBy(node);
    const merge = (names) => {
      if (!names) return;
      if (!assigned) assigned = new Set();
      for (const n of names) assigned.add(n);
    };
    for (const key of Object.keys(node)) {
      const value = node[key];
      if (Array.isArray(value)) {
        for (const child of value) if (isNode(child)) merge(visit(child, node));
      } else if (isNode(value)) {
        merge(visit(value, node));
      }
    }
    if (isNameCall(node)) {
      calls++;
      const [fn, { value: name }] = node.arguments;
      const rule =
        fn.type === 'FunctionExpression' && fn.id?.name === name
          ? 'ownName'
          : (fn.type === 'FunctionExpression' || fn.type === 'ArrowFunctionExpression') && !fn.id && contextName(parent, node) === name
            ? 'contextName'
            : null;
      if (rule) {
        dropped[rule]++;
        blanks.push([node.start, fn.start], [fn.end, node.end]);
      }
    }
    if (Array.isArray(node.body) && (node.type === 'BlockStatement' || node.type === 'Program')) {
      const declared = new Set(node.body.filter((s) => s.type === 'FunctionDeclaration').map((s) => s.id.name));
      for (const statement of node.body) {
        const call = statement.type === 'ExpressionStatement' ? statement.expression : null;
        if (!isNameCall(call) || call.arguments[0].type !== 'Identifier') continue;
        const name = call.arguments[0].name;
        if (name !== call.arguments[1].value || !declared.has(name) || assigned?.has(name) || assigned?.has('*')) continue;
        dropped.declaration++;
        blanks.push([statement.start, statement.end]);
      }
    }
    return assigned;
  }
  visit(ast, null);

  const parts = [];
  let at = 0;
  for (const [from, to] of blanks.sort((a, b) => a[0] - b[0])) {
    parts.push(source.slice(at, from), source.slice(from, to).replace(/[^\n]/g, ' '));
    at = to;
  }
  parts.push(source.slice(at));
  const total = dropped.ownName + dropped.contextName + dropped.declaration;
  return { code: parts.join(''), dropped, kept: calls - total };
}
