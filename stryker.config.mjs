// Mutation testing (StrykerJS): `npm run test:mutation` mutates the TypeScript that runs without VS Code (the
// Node API in extension/src/api and the inspector's pure logic) and runs the node:test files that load it
// (test/unit, test/node), each file as one "test", through the tap runner. The report goes to test/out/mutation/.
// `npm run test:mutation:ci` (SIPC_MUTATION=ci) mutates a fixed subset and fails below its floor; CI runs it.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));

/** True if the module imports VS Code, directly or through its relative imports. */
function needsVscode(path, seen = new Set()) {
  if (seen.has(path)) return false;
  seen.add(path);
  const source = readFileSync(join(root, path), 'utf8');
  if (/from ['"]vscode['"]|require\(['"]vscode['"]\)/.test(source)) return true;
  for (const [, spec] of source.matchAll(/from ['"](\.{1,2}\/[^'"]+)['"]/g)) {
    const base = join(dirname(path), spec);
    const target = [`${base}.ts`, join(base, 'index.ts')].find((candidate) => existsSync(join(root, candidate)));
    if (target && needsVscode(target, seen)) return true;
  }
  return false;
}

/** Every .ts file under `dir` that needs neither VS Code nor a browser (webview code is left out). */
function pureModules(dir) {
  const found = [];
  for (const entry of readdirSync(join(root, dir))) {
    const path = join(dir, entry);
    if (statSync(join(root, path)).isDirectory()) {
      if (entry !== 'webview') found.push(...pureModules(path));
    } else if (entry.endsWith('.ts') && !entry.endsWith('.d.ts') && !needsVscode(path)) {
      found.push(path);
    }
  }
  return found;
}

// The CI subset: modules whose tests are fast unit tests, so the pass takes a few minutes: the inspector's byte
// matching and pcapng writer (test/unit), and the Node API's delivery order and spin policy, which
// test/node/policies.test.mjs checks without a channel (the rest of test/node runs real peers: too slow for CI).
const ci = process.env.SIPC_MUTATION === 'ci';
const inspectorModules = pureModules('extension/src/inspector');
const apiModules = pureModules('extension/src/api');
const ciSubset = [
  ...inspectorModules.filter((path) => ['bytes.ts', 'pcapng.ts'].includes(basename(path))),
  ...apiModules.filter((path) => ['delivery.ts', 'spinPolicy.ts'].includes(basename(path))),
];
const ciTests = ['test/unit/*.test.mjs', 'test/node/policies.test.mjs'];
const out = 'test/out/mutation';
// SIPC_MUTATION_REPORT names the report files (and the incremental file), e.g. for a run limited with --mutate.
const report = process.env.SIPC_MUTATION_REPORT ?? (ci ? 'ci' : 'index');
// SIPC_MUTATION_TESTS (comma-separated globs) limits the test files, e.g. 'test/unit/*.test.mjs' for inspector
// modules, which no test/node file loads: the initial run then skips minutes of two-process tests. A score
// measured against fewer tests can only be lower (a mutant survives every test it is not run against).
const allTests = ['test/unit/*.test.mjs', 'test/node/!(native).test.mjs'];
const testFiles = process.env.SIPC_MUTATION_TESTS?.split(',') ?? (ci ? ciTests : allTests);

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  plugins: ['@stryker-mutator/tap-runner'],
  testRunner: 'tap',
  tap: {
    // native.test.mjs is left out: it checks the C layer under sanitizers (a minute per run), not TypeScript.
    testFiles,
    nodeArgs: ['--test-reporter=tap'],
    forceBail: true,
  },
  // abi.ts is generated from the C headers (test/node/abi.test.mjs checks it is exactly that): not mutated.
  mutate: ci ? ciSubset : [...apiModules.filter((path) => basename(path) !== 'abi.ts'), ...inspectorModules],
  // The tests load the bundles (dist/api.js; the inspector core is bundled by each unit test file), so the
  // sandbox rebuilds them from the mutated sources once; mutants are then switched on per run.
  buildCommand: 'node esbuild.mjs',
  coverageAnalysis: 'perTest',
  // tsconfig.json stays out: esbuild does not need it, and Stryker would parse it with the TypeScript JS API,
  // which TypeScript 7 (the native compiler this project type-checks with) no longer has.
  // The tool venvs (.mypy-venv from test:python, .zig-venv from the cross builds) hold symlinked folders that the
  // sandbox copy cannot take (EISDIR), and nothing mutated needs them.
  ignorePatterns: ['tsconfig.json', 'dist', 'test/out', '.vscode-test', '.wine-test', '.mypy-venv', '.zig-venv', '*.vsix', 'helper/build/test-*',
    'helper/build/fuzz', 'helper/build/coverage', 'helper/build/win*'],
  // Nothing type-checks the sandbox (esbuild only strips types), and Stryker's default would put `// @ts-nocheck`
  // atop every .ts file, abi.ts included, which then differs from what the headers generate (abi.test.mjs).
  disableTypeChecks: false,
  tempDirName: 'test/out/stryker-tmp',
  cleanTempDir: 'always',
  concurrency: Number(process.env.SIPC_MUTATION_CONCURRENCY ?? 2),
  timeoutMS: 15000,
  // The initial run of every test file (test/node's take minutes) exceeds Stryker's default 5 min on a loaded machine.
  dryRunTimeoutMinutes: 30,
  incremental: !ci,
  incrementalFile: report === 'index' ? `${out}/incremental.json` : `${out}/${report}.incremental.json`,
  // SIPC_MUTATION_EVENTS=<name> also writes each mutant's result as it is known, to test/out/mutation/<name>/ (Stryker's
  // event-recorder): a run stopped before its end (they take hours) still says which mutants it tested and how they ended.
  // `node test/mutation-survivors.mjs` lists what a report or such a folder left, with the exact code each mutant changes.
  reporters: ['clear-text', 'progress', 'html', 'json', ...(process.env.SIPC_MUTATION_EVENTS ? ['event-recorder'] : [])],
  eventReporter: { baseDir: `${out}/${process.env.SIPC_MUTATION_EVENTS ?? 'events'}` },
  htmlReporter: { fileName: `${out}/${report}.html` },
  jsonReporter: { fileName: `${out}/${report}.json` },
  clearTextReporter: { allowColor: false, logTests: false, reportMutants: false },
  thresholds: { high: 80, low: 60, break: ci ? 85 : null }, // CI subset measured at 91%
};
