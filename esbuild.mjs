// Builds the extension bundle (dist/extension.js), the standalone Node API (dist/api.js), copies the native
// helper of each built platform into dist/native/<platform>-<arch>/, and with --package makes the .vsix.
//   node esbuild.mjs                 build once
//   node esbuild.mjs --watch         rebuild on change
//   node esbuild.mjs --package [--target linux-x64|win32-x64]
import * as esbuild from 'esbuild';
import { existsSync, mkdirSync, copyFileSync, readdirSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const watch = args.includes('--watch');
const production = args.includes('--package') || args.includes('--production');

/** @type {import('esbuild').BuildOptions} */
const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: production ? false : 'linked',
  minify: production,
  external: ['vscode', 'koffi'],
  logLevel: 'info',
};

const builds = [
  { ...common, entryPoints: [join(root, 'extension/src/extension.ts')], outfile: join(root, 'dist/extension.js') },
  { ...common, entryPoints: [join(root, 'extension/src/api/index.ts')], outfile: join(root, 'dist/api.js') },
].filter((b) => existsSync(b.entryPoints[0]));

/** Native helper libraries, one folder per platform: helper/build/<platform>-<arch>/ -> dist/native/<platform>-<arch>/ */
function copyNative() {
  const built = join(root, 'helper/build');
  if (!existsSync(built)) return;
  for (const target of readdirSync(built)) {
    for (const lib of ['libsipc.so', 'libsipc.dylib', 'sipc.dll']) {
      const from = join(built, target, lib);
      if (!existsSync(from)) continue;
      const to = join(root, 'dist/native', target, lib);
      mkdirSync(dirname(to), { recursive: true });
      copyFileSync(from, to);
    }
  }
}

if (watch) {
  copyNative();
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  rmSync(join(root, 'dist'), { recursive: true, force: true });
  await Promise.all(builds.map((b) => esbuild.build(b)));
  copyNative();
}
