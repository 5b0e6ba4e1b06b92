// `npm start`: the extension, loaded from this repo as the extension under development, in the cached VS Code
// (the VS Code server inside code-server) on 127.0.0.1, with an echo peer on the channel `demo`
// (`helper/build/<platform>-<arch>/sipc echo demo`). Prints the URL to open in a browser; Ctrl-C stops everything.
// Builds first (`npm run build`). User settings of this web workbench live in the browser's storage. Options: --port N (default 8765, or SIPC_START_PORT; a busy port falls back to a
// free one), --folder DIR (default: the repo), --no-echo. The VS Code profile persists in .vscode-test/start/.
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { repoRoot, cacheRoot, ensureCodeServer, sandboxEnv, EnvironmentError, npmLogsDir } from './cache.mjs';
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
const channel = 'demo';
const cli = process.env.SIPC_CLI || join(repoRoot, `helper/build/${process.platform}-${process.arch}/sipc`);

function portIsFree(port) {
  return new Promise((resolvePort) => {
    const server = createServer();
    server.once('error', () => resolvePort(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolvePort(true)));
  });
}

async function main() {
  installCleanupHandlers();
  console.log('[start] npm run build');
  const build = spawnSync('npm', ['run', '--silent', 'build'], {
    cwd: repoRoot, env: { ...process.env, npm_config_logs_dir: npmLogsDir }, stdio: 'inherit',
  });
  if (build.status !== 0) throw new Error(`\`npm run build\` failed (exit ${build.status ?? build.signal})`);
  if (withEcho && !existsSync(cli)) throw new Error(`no sipc CLI at ${cli} after the build (SIPC_CLI overrides the path)`);

  const node = await ensureCodeServer();
  const profile = join(cacheRoot, 'start');
  const dirs = {
    userDataDir: join(profile, 'user-data'),
    serverDataDir: join(profile, 'server-data'),
    extensionsDir: join(profile, 'extensions'),
  };
  for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });

  const port = (await portIsFree(requestedPort)) ? requestedPort : await freePort();
  // The built web workbench honours the URL's extensionDevelopmentPath only with the smoke-test driver enabled.
  const server = startGroup(node, vscodeServerArgs({ port, ...dirs, smokeTestDriver: true }), {
    name: 'vscode-server', env: sandboxEnv(), cwd: profile, logFile: join(profile, 'server.log'),
  });
  await waitForHttp(`http://127.0.0.1:${port}/version`, { what: 'the VS Code server', timeoutMs: 60_000, group: server });

  let echo;
  if (withEcho) {
    echo = startGroup(cli, ['echo', channel], { name: 'sipc echo', env: process.env, cwd: repoRoot, echo: true });
    const early = await Promise.race([echo.exited, new Promise((r) => setTimeout(() => r(null), 1000))]);
    if (early) throw new Error(`\`sipc echo ${channel}\` exited at once (code ${early.code}):\n${echo.logTail()}`);
  }

  const url = workbenchUrl(port, folder, { extensionDevelopmentPath: repoRoot });
  console.log(`\n[start] VS Code with the sipc extension (development build from ${repoRoot}):\n\n    ${url}\n`);
  if (withEcho) console.log(`[start] echo peer: \`sipc echo ${channel}\` is serving the channel "${channel}"`);
  console.log('[start] Ctrl-C stops the server and the echo peer. Rebuild with `npm run build:ext`, then reload the window.');

  const ended = await Promise.race([
    server.exited.then((r) => ({ who: 'the VS Code server', ...r, tail: server.logTail() })),
    ...(echo ? [echo.exited.then((r) => ({ who: `sipc echo ${channel}`, ...r, tail: echo.logTail() }))] : []),
  ]);
  throw new Error(`${ended.who} exited (code ${ended.code}, signal ${ended.signal}):\n${ended.tail}`);
}

main().catch((error) => {
  if (isStopping()) return; // Ctrl-C: the signal handler stops the rest and exits
  console.error(`[start] ${error instanceof EnvironmentError ? 'cannot start here: ' : ''}${error.message}`);
  process.exit(1);
});
