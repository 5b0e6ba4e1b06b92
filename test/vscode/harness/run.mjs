// `npm run test:vscode`: the extension in a real VS Code (code-server 4.139, VS Code OSS 1.139), driven by
// headless Debian Chromium.
//   1. extension-host suite: mocha over test/vscode/suite/*.test.js inside the extension host, with the repo as
//      the extension under development (after `npm run build:helper` and `npm run build:ext`);
//   2. UI tests: `npm run package`, the .vsix installed into a fresh extensions dir, then
//      `node --test test/vscode/ui/*.test.mjs` (they drive the workbench through ./workbench.mjs).
// Options:  --suite-only | --ui-only   run one half
//           --self-test                run both halves against the tiny fixture extension in ./fixtures/hello
// Environment: SIPC_SKIP_VSCODE=1 skips everything (prints that it did); SIPC_VSCODE_NO_BUILD=1 uses the
// existing dist/ and .vsix; SIPC_VSCODE_TIMEOUT_MS bounds the suite (default 600000); SIPC_VSCODE_KEEP=1 keeps
// the run folders in .vscode-test/runs/ for inspection; SIPC_SUITE_GREP filters the suite; SIPC_UI_GREP=re runs
// only the UI test files whose name matches; SIPC_VSCODE_DEBUG=1
// adds stack traces to the harness's own errors; SIPC_VSCODE_PRIVATE_SHM=64m runs the extension-host suite with a
// private /dev/shm of that size (root only; the hostile-entries test then also fills it).
import { existsSync, readdirSync, readFileSync, mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import {
  repoRoot, cacheRoot, outDir, requireChromium, ensureCodeServer, applySandbox, cleanAbandonedRuns, newRunDir, removeRunDir,
  EnvironmentError, CODE_SERVER_VERSION, npmLogsDir,
} from './cache.mjs';
import { run, installCleanupHandlers, isStopping } from './processes.mjs';
import { leftoversWithPrefix, runPrefix, sweepDeadTempParents, sweepKilledRuns } from '../../debris.mjs';

const args = new Set(process.argv.slice(2));
const selfTest = args.has('--self-test');
const wantSuite = !args.has('--ui-only');
const wantUi = !args.has('--suite-only');
const fixtureDir = join(repoRoot, 'test/vscode/harness/fixtures/hello');
const originalEnv = { ...process.env };
// Every channel the suite and the UI tests name starts with this (SIPC_TEST_NAME_PREFIX); what is left with it
// after both halves ran fails the run.
const namePrefix = runPrefix('vt');
const cli = process.env.SIPC_CLI ?? join(repoRoot, 'helper/build/linux-x64/sipc');

const target = selfTest
  ? { extensionPath: fixtureDir, suiteDir: join(fixtureDir, 'suite'), uiDir: join(fixtureDir, 'ui'), label: 'harness fixture' }
  : { extensionPath: repoRoot, suiteDir: join(repoRoot, 'test/vscode/suite'), uiDir: join(repoRoot, 'test/vscode/ui'), label: 'sipc' };

function log(message) {
  console.log(`[harness] ${message}`);
}

function filesIn(dir, pattern) {
  return existsSync(dir) ? readdirSync(dir).filter((f) => pattern.test(f)).sort().map((f) => join(dir, f)) : [];
}

/** A build step of the project, with the caller's own environment (not the sandbox). */
function npmRun(script) {
  log(`npm run ${script}`);
  const result = spawnSync('npm', ['run', '--silent', script], {
    cwd: repoRoot, env: { ...originalEnv, npm_config_logs_dir: npmLogsDir }, stdio: 'inherit',
  });
  if (result.status !== 0) throw new Error(`\`npm run ${script}\` failed (exit ${result.status ?? result.signal})`);
}

async function packageFixture(runDir) {
  const vsce = await import('@vscode/vsce');
  const packagePath = join(runDir, 'harness-fixture.vsix');
  await vsce.createVSIX({ cwd: fixtureDir, packagePath, allowMissingRepository: true, skipLicense: true, dependencies: false });
  return packagePath;
}

function packagedVsix() {
  const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
  const vsix = join(repoRoot, `sipc-${version}.vsix`);
  if (!existsSync(vsix)) throw new Error(`\`npm run package\` made no ${relative(repoRoot, vsix)}`);
  return vsix;
}

async function runSuite(suiteFiles) {
  const { runExtensionHostSuite } = await import('./extension-host.mjs');
  // The suite takes about 2.5 min on a loaded 2-vCPU machine; the bound only has to end a hang.
  const timeoutMs = Number(process.env.SIPC_VSCODE_TIMEOUT_MS) || 10 * 60_000;
  const { exitCode, results, consoleFile } = await runExtensionHostSuite({
    extensionPath: target.extensionPath,
    testsIndex: join(repoRoot, 'test/vscode/suite/index.js'),
    suiteDir: target.suiteDir,
    timeoutMs,
    env: { SIPC_TEST_NAME_PREFIX: namePrefix },
    privateShm: process.env.SIPC_VSCODE_PRIVATE_SHM,
  });
  process.stdout.write(`\n--- extension-host suite (${suiteFiles.length} file(s)) ---\n${results || '(the suite wrote no results)\n'}`);
  if (exitCode !== 0) {
    log(`extension-host suite failed (exit ${exitCode}); browser console: ${relative(repoRoot, consoleFile)}`);
    return false;
  }
  // The reporter's last line says the run ended. Without it the extension host died mid-suite (VS Code reported
  // exit 0 for an extension host killed with SIGKILL, with no test results at all).
  if (!/^\d+ passed, \d+ failed, \d+ skipped$/m.test(results)) {
    log(`extension-host suite failed: it ended before its last test (no "N passed" line); browser console: ${relative(repoRoot, consoleFile)}`);
    return false;
  }
  return true;
}

async function runUi(uiFiles) {
  const { installExtension } = await import('./install.mjs');
  const runDir = newRunDir('ui');
  let vsix;
  if (selfTest) {
    vsix = await packageFixture(runDir);
  } else {
    if (!process.env.SIPC_VSCODE_NO_BUILD) npmRun('package');
    vsix = packagedVsix();
  }
  const extensionsDir = join(runDir, 'extensions');
  await installExtension(vsix, extensionsDir);
  log(`installed ${relative(repoRoot, vsix) || vsix} into a fresh extensions dir`);
  process.stdout.write(`\n--- UI tests (${uiFiles.length} file(s)) ---\n`);
  const result = await run(process.execPath, ['--test', '--test-concurrency=1', ...uiFiles], {
    name: 'node --test (UI)',
    cwd: repoRoot,
    env: { ...process.env, SIPC_VSCODE_EXTENSIONS_DIR: extensionsDir, SIPC_TEST_NAME_PREFIX: namePrefix },
    timeoutMs: Number(process.env.SIPC_VSCODE_UI_TIMEOUT_MS) || 20 * 60_000,
    echo: false,
    passthrough: true,
  });
  removeRunDir(runDir);
  if (result.code !== 0 && !isStopping()) log(`UI tests failed (exit ${result.code})${result.timedOut ? `: ${result.tail.split('\n').pop()}` : ''}`);
  return result.code === 0;
}

/** The suite and the UI tests are over (their processes ended): none of their channels may remain. */
function noChannelsLeft() {
  const { channels, objects } = leftoversWithPrefix(cli, namePrefix);
  const left = [...channels, ...objects.map((file) => `/dev/shm/${file}`)];
  if (left.length === 0) return true;
  log(`${left.length} channel(s) named ${namePrefix}* were left behind (removed now): ${left.join(', ')}`);
  for (const name of channels) spawnSync(cli, ['rm', '--force', name], { stdio: 'ignore' });
  for (const file of objects) spawnSync('rm', ['-f', `/dev/shm/${file}`], { stdio: 'ignore' });
  return false;
}

/**
 * The suite's extension host and the UI tests have ended: their temporary folders (testTempDir, in the sandbox's
 * TMPDIR) must be gone with them. A folder of a test process that is gone is this run's debris (a killed earlier run's
 * was swept at the start): removed now, and the run fails.
 */
function noTempFoldersLeft() {
  const left = sweepDeadTempParents('[harness]');
  if (left.length === 0) return true;
  log(`${left.length} temporary folder(s) of this run's test processes were left in the sandbox's TMPDIR (removed now)`);
  return false;
}

async function main() {
  if (process.env.SIPC_SKIP_VSCODE === '1') {
    log('SIPC_SKIP_VSCODE=1: skipped the VS Code tests (extension-host suite and UI tests)');
    return 0;
  }
  installCleanupHandlers();
  requireChromium();
  const suiteFiles = wantSuite ? filesIn(target.suiteDir, /\.test\.js$/) : [];
  const uiGrep = process.env.SIPC_UI_GREP ? new RegExp(process.env.SIPC_UI_GREP) : undefined;
  const uiFiles = wantUi ? filesIn(target.uiDir, /\.test\.m?js$/).filter((file) => !uiGrep || uiGrep.test(relative(target.uiDir, file))) : [];
  if (!suiteFiles.length && !uiFiles.length) {
    throw new Error(`no VS Code tests to run for ${target.label} (looked for ${relative(repoRoot, target.suiteDir)}/*.test.js` +
      ` and ${relative(repoRoot, target.uiDir)}/*.test.mjs)`);
  }
  if (!selfTest && !process.env.SIPC_VSCODE_NO_BUILD) {
    npmRun('build:helper');
    npmRun('build:ext');
    if (!existsSync(join(repoRoot, 'dist/extension.js'))) {
      throw new Error('`npm run build:ext` made no dist/extension.js (is extension/src/extension.ts there?)');
    }
  }
  applySandbox();
  cleanAbandonedRuns();
  sweepDeadTempParents('[harness]'); // what test processes of killed runs left in the sandbox's TMPDIR
  if (!selfTest) sweepKilledRuns(cli, 'vt', '[harness]'); // the channels of killed runs (their prefix names the harness)
  mkdirSync(outDir, { recursive: true });
  const started = Date.now();
  await ensureCodeServer();
  log(`VS Code: code-server ${CODE_SERVER_VERSION} from ${relative(repoRoot, cacheRoot) || cacheRoot}/`);

  const outcomes = [];
  if (suiteFiles.length) outcomes.push(['extension-host suite', await runSuite(suiteFiles)]);
  else if (wantSuite) log(`no ${relative(repoRoot, target.suiteDir)}/*.test.js: extension-host suite not run`);
  if (uiFiles.length) outcomes.push(['UI tests', await runUi(uiFiles)]);
  else if (wantUi) log(`no ${relative(repoRoot, target.uiDir)}/*.test.mjs: UI tests not run`);

  if (isStopping()) return 130;
  if (!selfTest) outcomes.push(['no channels left behind', noChannelsLeft()]);
  outcomes.push(['no temporary folders left behind', noTempFoldersLeft()]);
  const failed = outcomes.filter(([, ok]) => !ok).map(([name]) => name);
  log(`${target.label}: ${outcomes.map(([name, ok]) => `${name} ${ok ? 'passed' : 'FAILED'}`).join(', ')}` +
    ` (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  return failed.length ? 1 : 0;
}

// After Ctrl-C the children end early; the signal handler reports that and exits, so stay quiet here.
main().then(
  (code) => isStopping() || process.exit(code),
  (error) => {
    if (isStopping()) return;
    if (error instanceof EnvironmentError) console.error(`[harness] cannot run the VS Code tests here: ${error.message}`);
    else console.error(`[harness] ${error.message}${process.env.SIPC_VSCODE_DEBUG ? `\n${error.stack}` : ''}`);
    process.exit(1);
  },
);
