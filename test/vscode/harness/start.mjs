// `npm start`: VS Code as a user gets it — the VS Code server inside the cached code-server on 127.0.0.1 with the
// packaged extension installed (notifications show: no smoke-test driver) — and a supervised echo peer on the
// channel `demo` (`helper/build/<platform>-<arch>/sipc echo demo`): if the peer dies it is started again, and its
// death never stops the server. Prints the URL to open in a browser; Ctrl-C stops the server first, so that the
// extension host deactivates the extension and this window's channels close cleanly, then the peer.
// Builds and packages first (`npm run build:helper`, `npm run package`; about 20 s). Options: --port N (default 8765, or
// SIPC_START_PORT; a busy port falls back to a free one), --folder DIR (default: the repo), --channel NAME (default
// demo), --no-echo, --dev (load the extension from this repo as the extension under development instead: a rebuild
// is picked up by reloading the window, but the smoke-test driver this needs hides every notification), --no-build
// (use the dist/ and .vsix there are), --profile DIR (default .vscode-test/start/, where the VS Code profile
// persists). User settings of this web workbench live in the browser's storage.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { repoRoot, cacheRoot, ensureCodeServer, sandboxEnv, EnvironmentError, npmLogsDir } from './cache.mjs';
import { installExtension } from './install.mjs';
import { startGroup, freePort, waitForHttp, installCleanupHandlers, isStopping } from './processes.mjs';
import { vscodeServerArgs, workbenchUrl } from './extension-host.mjs';

const argv = process.argv.slice(2);
const option = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const requestedPort = Number(option('--port') || process.env.SIPC_START_PORT || 8765);
const folder = resolve(option('--folder') || repoRoot);
const withEcho = !argv.includes('--no-echo');
const development = argv.includes('--dev');
const channel = option('--channel') || 'demo';
const build = !argv.includes('--no-build');
const profile = resolve(option('--profile') || join(cacheRoot, 'start'));
const cli = process.env.SIPC_CLI || join(repoRoot, `helper/build/${process.platform}-${process.arch}/sipc`);
/** How long the extension host gets, once the server is told to stop, to deactivate the extension and exit. */
const EXTENSION_HOST_GRACE_MS = 10_000;
/** A peer that ran this long counts as healthy: the next restart comes at once again. */
const PEER_HEALTHY_MS = 10_000;
const PEER_RESTART_MAX_MS = 30_000;

function portIsFree(port) {
  return new Promise((resolvePort) => {
    const server = createServer();
    server.once('error', () => resolvePort(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolvePort(true)));
  });
}

function npmRun(script) {
  console.log(`[start] npm run ${script}`);
  const result = spawnSync('npm', ['run', '--silent', script], {
    cwd: repoRoot, env: { ...process.env, npm_config_logs_dir: npmLogsDir }, stdio: 'inherit',
  });
  if (result.status !== 0) throw new Error(`\`npm run ${script}\` failed (exit ${result.status ?? result.signal})`);
}

/**
 * Keeps `sipc echo CHANNEL` running: when it exits (killed, crashed) it is started again, at once after a healthy
 * run and with a growing pause (up to 30 s) while it keeps dying young. Its exit never ends `npm start`.
 */
function superviseEchoPeer() {
  let pauseMs = 0;
  const startPeer = () => {
    if (isStopping()) return;
    const started = Date.now();
    const peer = startGroup(cli, ['echo', channel], { name: 'sipc echo', env: process.env, cwd: repoRoot, echo: true });
    console.log(`[start] echo peer: \`sipc echo ${channel}\` (pid ${peer.pid}) is serving the channel "${channel}"`);
    peer.exited.then(({ code, signal }) => {
      if (isStopping()) return;
      pauseMs = Date.now() - started >= PEER_HEALTHY_MS ? 0 : Math.min(PEER_RESTART_MAX_MS, Math.max(1000, pauseMs * 2));
      console.log(`[start] the echo peer exited (code ${code}, signal ${signal}); starting it again${pauseMs ? ` in ${pauseMs / 1000} s` : ''}`);
      void peer.stop(0).then(() => setTimeout(startPeer, pauseMs));
    });
  };
  startPeer();
}

async function main() {
  installCleanupHandlers();
  if (build && development) {
    npmRun('build');
  } else if (build) {
    npmRun('build:helper');
    npmRun('package');
  }
  if (withEcho && !existsSync(cli)) throw new Error(`no sipc CLI at ${cli} after the build (SIPC_CLI overrides the path)`);

  const node = await ensureCodeServer();
  const dirs = {
    userDataDir: join(profile, 'user-data'),
    serverDataDir: join(profile, 'server-data'),
    extensionsDir: join(profile, development ? 'extensions-dev' : 'extensions'),
  };
  for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });
  if (!development) {
    const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
    console.log(`[start] installing sipc-${version}.vsix into ${dirs.extensionsDir}`);
    rmSync(dirs.extensionsDir, { recursive: true, force: true });
    await installExtension(join(repoRoot, `sipc-${version}.vsix`), dirs.extensionsDir);
  }

  const port = (await portIsFree(requestedPort)) ? requestedPort : await freePort();
  // The built web workbench honours the URL's extensionDevelopmentPath only with the smoke-test driver enabled.
  const server = startGroup(node, vscodeServerArgs({ port, ...dirs, smokeTestDriver: development }), {
    name: 'vscode-server', env: sandboxEnv(), cwd: profile, logFile: join(profile, 'server.log'),
    leaderFirstMs: EXTENSION_HOST_GRACE_MS,
  });
  await waitForHttp(`http://127.0.0.1:${port}/version`, { what: 'the VS Code server', timeoutMs: 60_000, group: server });

  if (withEcho) superviseEchoPeer();

  const url = workbenchUrl(port, folder, development ? { extensionDevelopmentPath: repoRoot } : {});
  const what = development ? `the development build from ${repoRoot}` : 'the packaged extension';
  console.log(`\n[start] VS Code with the sipc extension (${what}):\n\n    ${url}\n`);
  console.log(development
    ? '[start] Ctrl-C stops the server and the echo peer. Rebuild with `npm run build:ext`, then reload the window.'
    : '[start] Ctrl-C stops the server and the echo peer. After a change, stop and run `npm start` again (or use --dev).');

  const { code, signal } = await server.exited;
  throw new Error(`the VS Code server exited (code ${code}, signal ${signal}):\n${server.logTail()}`);
}

main().catch((error) => {
  if (isStopping()) return; // Ctrl-C: the signal handler stops the rest and exits
  console.error(`[start] ${error instanceof EnvironmentError ? 'cannot start here: ' : ''}${error.message}`);
  process.exit(1);
});
