// Route 1: tests inside the real extension host. Starts the plain VS Code server that ships inside code-server
// (only it accepts extensionTestsPath from a client), opens the workbench in headless Chromium with
// extensionDevelopmentPath and extensionTestsPath in the URL payload, and waits for VS Code to report the test
// runner's exit code through window.codeAutomationExit.
import { mkdirSync, existsSync, readFileSync, writeFileSync, rmSync, readdirSync, statSync, copyFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ensureCodeServer, vscodeServerMain, sandboxEnv, newRunDir, removeRunDir, outDir, repoRoot, EnvironmentError } from './cache.mjs';
import { startGroup, freePort, waitForHttp, withTimeout } from './processes.mjs';
import { launchBrowser } from './browser.mjs';

/** Arguments of the VS Code server shared by the test route and `npm start`. */
export function vscodeServerArgs({ port, userDataDir, serverDataDir, extensionsDir, smokeTestDriver }) {
  return [
    vscodeServerMain,
    '--host', '127.0.0.1',
    '--port', String(port),
    '--without-connection-token',
    '--accept-server-license-terms',
    '--user-data-dir', userDataDir,
    '--server-data-dir', serverDataDir,
    '--extensions-dir', extensionsDir,
    '--telemetry-level', 'off',
    '--disable-workspace-trust',
    ...(smokeTestDriver ? ['--enable-smoke-test-driver'] : []),
  ];
}

/** The workbench URL that opens `folder` with the given development options (the web client's `payload`). */
export function workbenchUrl(port, folder, payload) {
  const remote = (path) => `vscode-remote://127.0.0.1:${port}${path}`;
  const entries = Object.entries(payload).map(([key, path]) => [key, remote(path)]);
  const query = new URLSearchParams({ folder });
  if (entries.length) query.set('payload', JSON.stringify(entries));
  return `http://127.0.0.1:${port}/?${query}`;
}

/** Settings that keep a test workbench quiet: no welcome page, no update checks, no telemetry, no trust prompt. */
export const quietSettings = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'chat.disableAIFeatures': true,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'git.openRepositoryInParentFolders': 'never',
  // VS Code's port auto-forwarding otherwise looks for listening ports every 2 s or more from the extension host's
  // main thread, spawning `ls -l /proc/[0-9]*/fd/[0-9]* | grep socket:` there (a fork of the whole extension host:
  // 70-150 ms on this VM). `remote.autoForwardPorts: false` does not stop it while a tunnel provider is registered
  // (code-server registers one); taking ports from terminal output instead does.
  'remote.autoForwardPortsSource': 'output',
};

/** The newest extension host log of a run, for a failure that never reached the reporter. */
function extensionHostLogTail({ userDataDir, serverDataDir }) {
  const found = [];
  const walk = (dir) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/exthost\.log$|remoteexthost\.log$/i.test(entry.name)) found.push(path);
    }
  };
  walk(join(userDataDir, 'logs'));
  walk(join(serverDataDir, 'data/logs'));
  if (!found.length) return '';
  found.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  return `--- ${found[0]} (last lines)\n${readFileSync(found[0], 'utf8').split('\n').slice(-40).join('\n')}`;
}

/**
 * How to start the server. With `privateShm` (a tmpfs size such as '64m') it runs — and so the extension host and
 * every process the tests start — in a mount namespace of its own with a fresh tmpfs of that size on /dev/shm, so a
 * test may fill /dev/shm without touching the machine's (needs root and util-linux's unshare). The tests see the
 * size in SIPC_PRIVATE_SHM.
 */
function serverCommand(node, args, privateShm) {
  if (!privateShm) return { command: node, args, env: {} };
  if (!/^[1-9][0-9]*[kmg]?$/i.test(privateShm)) throw new Error(`SIPC_VSCODE_PRIVATE_SHM=${privateShm}: give a tmpfs size such as 64m`);
  if (process.getuid?.() !== 0) {
    throw new EnvironmentError(`SIPC_VSCODE_PRIVATE_SHM needs root (it mounts a tmpfs in a private mount namespace); unset it to run without`);
  }
  const mountThenRun = 'mount -t tmpfs -o "size=$0,mode=1777" sipc-test-shm /dev/shm && exec "$@"';
  return {
    command: 'unshare',
    args: ['--mount', '--propagation', 'private', 'sh', '-c', mountThenRun, privateShm, node, ...args],
    env: { SIPC_PRIVATE_SHM: privateShm },
  };
}

/**
 * Runs the extension-host suite once. Resolves { exitCode, results (the reporter's text), resultsFile, consoleFile }.
 *   extensionPath   the extension under development (its package.json "main" must be built)
 *   testsIndex      the extensionTestsPath module (exports run(): Promise)
 *   suiteDir        where the *.test.js files are (SIPC_SUITE_DIR for the index)
 *   timeoutMs       bound on the whole run once the workbench is loading
 *   privateShm      a tmpfs size: run with a private /dev/shm of that size (see serverCommand)
 */
export async function runExtensionHostSuite({ extensionPath, testsIndex, suiteDir, timeoutMs = 10 * 60_000, env = {}, privateShm }) {
  const node = await ensureCodeServer();
  const runDir = newRunDir('exthost');
  const dirs = {
    userDataDir: join(runDir, 'user-data'),
    serverDataDir: join(runDir, 'server-data'),
    extensionsDir: join(runDir, 'extensions'),
  };
  const workspace = join(runDir, 'workspace');
  for (const dir of [...Object.values(dirs), workspace]) mkdirSync(dir, { recursive: true });
  // This web workbench keeps user settings in the browser's storage; workspace settings are files, so use those.
  mkdirSync(join(workspace, '.vscode'), { recursive: true });
  writeFileSync(join(workspace, '.vscode/settings.json'), JSON.stringify(quietSettings, null, 2));
  // Written inside the run folder, then copied to test/out/: two runs at once in one tree must not mix lines.
  mkdirSync(outDir, { recursive: true });
  const runResults = join(runDir, 'vscode-suite.txt');
  const runConsole = join(runDir, 'vscode-suite-console.log');
  const resultsFile = join(outDir, 'vscode-suite.txt');
  const consoleFile = join(outDir, 'vscode-suite-console.log');
  writeFileSync(runConsole, '');

  const port = await freePort();
  const start = serverCommand(node, vscodeServerArgs({ port, ...dirs, smokeTestDriver: true }), privateShm);
  const server = startGroup(start.command, start.args, {
    name: 'vscode-server',
    env: sandboxEnv({
      SIPC_SUITE_DIR: suiteDir,
      SIPC_SUITE_RESULTS: runResults,
      SIPC_TEST_WORKSPACE: workspace,
      ...start.env,
      ...env,
    }),
    cwd: runDir,
    logFile: join(runDir, 'server.log'),
    recordFile: join(runDir, 'process-groups'),
  });
  let browser;
  try {
    await waitForHttp(`http://127.0.0.1:${port}/version`, { what: 'the VS Code server', timeoutMs: 60_000, group: server });
    browser = await launchBrowser();
    const page = await browser.newPage();
    let reportExit;
    const exitCode = new Promise((resolve) => { reportExit = resolve; });
    await page.exposeFunction('codeAutomationExit', (code) => reportExit(Number(code)));
    await page.exposeFunction('codeAutomationLog', () => {});
    page.on('console', (message) => writeFileSync(runConsole, `${message.type()}: ${message.text()}\n`, { flag: 'a' }));
    page.on('pageerror', (error) => writeFileSync(runConsole, `pageerror: ${error.message}\n`, { flag: 'a' }));
    const url = workbenchUrl(port, workspace, { extensionDevelopmentPath: extensionPath, extensionTestsPath: testsIndex });
    console.log(`[harness] extension-host suite: ${relative(repoRoot, suiteDir) || '.'} in VS Code at http://127.0.0.1:${port}/`);
    await page.goto(url, { timeout: 60_000 });
    const serverGone = server.exited.then(({ code, signal }) => {
      throw new Error(`the VS Code server exited (code ${code}, signal ${signal}) during the tests:\n${server.logTail()}`);
    });
    const code = await withTimeout(Promise.race([exitCode, serverGone]), timeoutMs,
      `the extension-host suite (no exit code from VS Code; raise SIPC_VSCODE_TIMEOUT_MS if it is just slow)`);
    const results = existsSync(runResults) ? readFileSync(runResults, 'utf8') : '';
    return { exitCode: code, results, resultsFile, consoleFile };
  } catch (error) {
    const logs = extensionHostLogTail(dirs);
    error.message += `${logs ? `\n${logs}` : ''}\n(browser console: ${relative(repoRoot, consoleFile)})`;
    throw error;
  } finally {
    await browser?.close().catch(() => {});
    await server.stop();
    rmSync(resultsFile, { force: true });
    if (existsSync(runResults)) copyFileSync(runResults, resultsFile);
    copyFileSync(runConsole, consoleFile);
    removeRunDir(runDir);
  }
}
