// The Node API bundled from source with its native bindings passed through a wrapper, so a test can make a library
// call fail the way the OS makes it fail (a thread that cannot start, an error with an errno) without any hook in the
// shipped code. Loaded in this process next to dist/api.js: its own copy of the API, with its own handles.
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const NATIVE_TS = join(repo, 'extension/src/api/native.ts');

/**
 * The Node API bundled from source, its bindings (what native.ts's `native()` returns) passed through `wrap`.
 * `bundleDir` is the folder the bundle believes it is in (where the library is looked for): dist/ by default.
 */
export async function apiWithWrappedBindings(wrap, { bundleDir = join(repo, 'dist'), internals = false } = {}) {
  // `internals`: the API's exports plus `lifecycle`, that bundle's own lifecycle.ts (its registry, keep-alive timer
  // and test seam), for tests of the process-wide machinery with the handles of that same bundle.
  const entry = internals
    ? { stdin: { contents: "export * from './index'; export * as lifecycle from './lifecycle';", resolveDir: dirname(NATIVE_TS), loader: 'ts' } }
    : { entryPoints: [join(repo, 'extension/src/api/index.ts')] };
  const bundle = await esbuild.build({
    ...entry, bundle: true, platform: 'node', format: 'cjs',
    write: false, external: ['koffi'], logLevel: 'silent',
    plugins: [{
      name: 'wrapped-native',
      setup(build) {
        // Every import of native.ts gets the shim, but the shim's own import gets native.ts.
        build.onResolve({ filter: /^\.\/native$/ }, (args) =>
          args.namespace === 'shim' ? { path: NATIVE_TS } : { path: 'native', namespace: 'shim' });
        build.onLoad({ filter: /.*/, namespace: 'shim' }, () => ({
          contents: `export * from './native'; import { native as real } from './native';
            let wrapped; export function native() { return wrapped ??= globalThis.__sipcWrapBindings(real()); }`,
          resolveDir: dirname(NATIVE_TS), loader: 'ts',
        }));
      },
    }],
  });
  globalThis.__sipcWrapBindings = wrap;
  const module = { exports: {} };
  const require = createRequire(join(repo, 'package.json'));
  // __dirname as the shipped bundle has it (dist/), so the library is found where dist/api.js finds it.
  new Function('module', 'exports', 'require', '__dirname', bundle.outputFiles[0].text)(module, module.exports, require, bundleDir);
  return module.exports;
}

/**
 * The API with bindings that a test can replace one at a time: `faults.set('sipc_x', (real, ...args) => ...)` makes
 * every later call of sipc_x run that function (given the real binding); `faults.clear()` restores them all.
 */
export async function apiWithFaults({ internals = false } = {}) {
  const faults = new Map();
  const api = await apiWithWrappedBindings((real) => new Proxy(real, {
    get(target, key) {
      const value = Reflect.get(target, key);
      const fault = faults.get(key);
      return fault ? (...args) => fault(value, ...args) : value;
    },
  }), { internals });
  return { api, faults };
}
