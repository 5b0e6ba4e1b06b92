// Builds the extension bundle (dist/extension.js), the standalone Node API (dist/api.js), copies the native
// helper of each built platform into dist/native/<platform>-<arch>/, and with --package makes the .vsix.
//   node esbuild.mjs                 build once
//   node esbuild.mjs --watch         rebuild on change
//   node esbuild.mjs --package [--target linux-x64|win32-x64|...]
//   node esbuild.mjs --package --target all   sipc-<target>-<version>.vsix for every target in allTargets
import * as esbuild from 'esbuild';
import { existsSync, mkdirSync, copyFileSync, readdirSync, rmSync, readFileSync, writeFileSync, cpSync, statSync } from 'node:fs';
import { join, dirname, relative } from 'node:path';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { missingLinksLine, packagedManifest, repositoryLinksOrExit } from './test/package/repository-links.mjs';

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
  // The inspector's webview script runs in the browser sandbox of the webview, not in Node.
  { ...common, platform: 'browser', format: 'iife', target: 'es2022', external: [],
    entryPoints: [join(root, 'extension/src/inspector/webview/main.ts')], outfile: join(root, 'dist/media/inspector.js') },
  // The messages panel's page (a webview view in the bottom panel), likewise in the browser sandbox.
  { ...common, platform: 'browser', format: 'iife', target: 'es2022', external: [],
    entryPoints: [join(root, 'extension/src/messagesPanel/webview/main.ts')], outfile: join(root, 'dist/media/messages.js') },
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

/** The codicon font for the webviews, from the installed @vscode/codicons package -> dist/media/codicons/. */
function copyCodicons() {
  const from = join(root, 'node_modules/@vscode/codicons/dist');
  if (!existsSync(from)) return;
  mkdirSync(join(root, 'dist/media/codicons'), { recursive: true });
  for (const file of ['codicon.css', 'codicon.ttf']) copyFileSync(join(from, file), join(root, 'dist/media/codicons', file));
}

/** uPlot's stylesheet for the inspector's plot -> dist/media/uplot/ (its script is bundled into the webview's). */
function copyPlotCss() {
  const from = join(root, 'node_modules/uplot/dist/uPlot.min.css');
  if (!existsSync(from)) return;
  mkdirSync(join(root, 'dist/media/uplot'), { recursive: true });
  copyFileSync(from, join(root, 'dist/media/uplot/uPlot.min.css'));
}

/** The VS Code target of this machine, in vsce's naming (linux-x64, win32-x64, darwin-arm64, ...). */
const hostTarget = `${process.platform}-${process.arch}`;

function optionValue(name) {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** Files of the koffi runtime that a packaged extension needs (its sources, docs and build tooling stay out). */
const koffiRuntimeFiles = ['package.json', 'LICENSE.txt', 'index.cjs', 'src/koffi/index.cjs', 'src/koffi/src/static.cjs'];

/** llvm-strip (Debian: llvm): the one strip that reads ELF, PE and Mach-O of both CPUs; the host's GNU strip reads
 * only this machine's own format. */
function findLlvmStrip() {
  for (const name of ['llvm-strip', ...[19, 18, 17, 16, 15, 14].map((v) => `llvm-strip-${v}`)]) {
    if (spawnSync(name, ['--version'], { stdio: 'ignore' }).status === 0) return name;
  }
  return undefined;
}

/**
 * The development build keeps its debug information and symbols (tests, debuggers, sanitizer reports); users get
 * the library without either: ELF and PE lose their debug sections and static symbol table (`--strip-all` keeps the
 * dynamic symbols and the export table, all that loading needs), Mach-O its local symbols and the debug map that
 * points at the build's object files (`-x`; the exports stay). test/package/vsix-check.mjs checks the result.
 */
function stripForRelease(dir, target) {
  const llvmStrip = findLlvmStrip();
  // Without llvm-strip only this machine's own format can be stripped (GNU strip), so only its own target packages.
  const strip = llvmStrip ?? (target === hostTarget && process.platform === 'linux' ? 'strip' : undefined);
  if (strip === undefined) throw new Error(`packaging ${target} needs llvm-strip to strip its helper (Debian: apt-get install llvm)`);
  for (const file of readdirSync(dir)) {
    const flags = target.startsWith('darwin-') ? ['-x'] : ['--strip-all'];
    const result = spawnSync(strip, [...flags, join(dir, file)], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`${strip} ${flags.join(' ')} ${file} (${target}) failed: ${result.stderr || result.error}`);
  }
}

/**
 * Lays out exactly what the .vsix contains in a staging folder, then lets vsce pack it. Staging keeps the package
 * small and explicit: the bundles, one platform's helper and koffi binary, the webview media, the manifest.
 */
/** Every VS Code target sipc packages for (npm run package:all); each needs its helper built and koffi's package. */
const allTargets = ['linux-x64', 'linux-arm64', 'win32-x64', 'win32-arm64', 'darwin-x64', 'darwin-arm64'];

async function packageVsix(target, links, { namedByTarget = false } = {}) {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const nativeDir = join(root, 'dist/native', target);
  if (!existsSync(nativeDir)) {
    throw new Error(`no native helper built for ${target} (expected ${relative(root, nativeDir)}/): build it first`);
  }
  const koffiPlatformPackage = `@koromix/koffi-${target}`;
  const requireFromRoot = createRequire(join(root, 'package.json'));
  let koffiPlatformDir;
  try {
    koffiPlatformDir = dirname(requireFromRoot.resolve(`${koffiPlatformPackage}/package.json`));
  } catch {
    throw new Error(`${koffiPlatformPackage} is not installed: npm install --no-save --force ${koffiPlatformPackage}@${manifest.dependencies.koffi.replace(/^[\^~]/, '')}`);
  }

  const stage = join(root, 'dist/stage', target);
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  const copy = (from, to = from) => cpSync(join(root, from), join(stage, to), { recursive: true });

  copy(manifest.main.replace(/^\.\//, ''));
  for (const dir of ['dist/media', 'extension/media']) if (existsSync(join(root, dir))) copy(dir);
  cpSync(nativeDir, join(stage, 'dist/native', target), { recursive: true });
  stripForRelease(join(stage, 'dist/native', target), target);
  for (const file of koffiRuntimeFiles) copy(join('node_modules/koffi', file));
  cpSync(koffiPlatformDir, join(stage, 'node_modules', koffiPlatformPackage), { recursive: true });
  for (const file of ['README.md', 'LICENSE', 'CHANGELOG.md']) if (existsSync(join(root, file))) copy(file);

  writeFileSync(join(stage, 'package.json'), JSON.stringify(packagedManifest(manifest, links), null, 2));

  const vsce = await import('@vscode/vsce');
  const packagePath = join(root, target === hostTarget && !namedByTarget ? `sipc-${manifest.version}.vsix` : `sipc-${target}-${manifest.version}.vsix`);
  await vsce.createVSIX({
    cwd: stage,
    packagePath,
    target,
    allowMissingRepository: 'missing' in links,
    rewriteRelativeLinks: false,
  });
  return packagePath;
}

if (watch) {
  copyNative();
  copyCodicons();
  copyPlotCss();
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  rmSync(join(root, 'dist'), { recursive: true, force: true });
  await Promise.all(builds.map((b) => esbuild.build(b)));
  copyNative();
  copyCodicons();
  copyPlotCss();
  if (args.includes('--package')) {
    const target = optionValue('--target') ?? hostTarget;
    // The links to the public repository go into the packaged manifest only (test/package/repository-links.mjs).
    const links = repositoryLinksOrExit(root, 1);
    console.log('missing' in links ? missingLinksLine(links) : `repository link ${links.repository} (from ${links.source})`);
    const packages = target === 'all'
      ? await Promise.all(allTargets.map((t) => packageVsix(t, links, { namedByTarget: true })))
      : [await packageVsix(target, links)];
    for (const packagePath of packages) console.log(`packaged ${relative(root, packagePath)} (${(statSync(packagePath).size / 1024).toFixed(0)} KiB)`);
  }
}
