// The cached VS Code (code-server) and the Node it needs, kept in the git-ignored `.vscode-test/` of the repo.
//
// Layout of the cache (override its root with SIPC_VSCODE_CACHE):
//   .vscode-test/node-<version>/          Node 24 from the npm package node-<platform>-<arch>; code-server needs it
//   .vscode-test/code-server-<version>/   code-server with its native modules built against that Node
//   .vscode-test/sandbox/                 HOME, XDG dirs, npm cache and TMPDIR of everything the harness starts
//   .vscode-test/runs/<owner pid>-<n>/    one run's fresh user-data, server-data and extensions dirs
// A version is complete once its `.installed` marker exists; `rm -rf .vscode-test` resets everything.
import { existsSync, mkdirSync, writeFileSync, rmSync, readFileSync, readdirSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { run, isAlive, killStaleGroups, installCleanupHandlers } from './processes.mjs';

export const CODE_SERVER_VERSION = '4.139.1';
/** code-server 4.139 refuses any Node major but 24; the exact build is pinned so a cache key names one thing. */
export const NODE_VERSION = '24.21.0';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const cacheRoot = resolve(process.env.SIPC_VSCODE_CACHE || join(repoRoot, '.vscode-test'));
export const outDir = join(repoRoot, 'test/out');
export const chromiumPath = process.env.SIPC_CHROMIUM || '/usr/bin/chromium';

const nodePackage = `node-${process.platform}-${process.arch}`;
const nodePrefix = join(cacheRoot, `node-${NODE_VERSION}`);
const codeServerPrefix = join(cacheRoot, `code-server-${CODE_SERVER_VERSION}`);
const sandboxRoot = join(cacheRoot, 'sandbox');
const runsRoot = join(cacheRoot, 'runs');

/** Where npm writes the debug logs of the builds the harness runs (they would otherwise land in ~/.npm). */
export const npmLogsDir = join(sandboxRoot, 'npm-logs');

export const nodeHome = join(nodePrefix, 'node_modules', nodePackage);
export const nodeBinary = join(nodeHome, 'bin', 'node');
export const codeServerHome = join(codeServerPrefix, 'node_modules', 'code-server');
/** The code-server CLI (install extensions, serve the workbench). */
export const codeServerEntry = join(codeServerHome, 'out/node/entry.js');
/** The plain VS Code server inside code-server: the only one that accepts extensionTestsPath from a client. */
export const vscodeServerMain = join(codeServerHome, 'lib/vscode/out/server-main.js');

/** Thrown when this machine lacks something only the administrator can install; the message says what. */
export class EnvironmentError extends Error {
  constructor(message) {
    super(message);
    this.name = 'EnvironmentError';
  }
}

/**
 * The environment of every process the harness starts: HOME, XDG dirs, TMPDIR and the npm cache all inside the
 * cache, so VS Code, Chromium and npm write nowhere else. npm still reads the user's own .npmrc (registry, CA).
 */
export function sandboxEnv(extra = {}) {
  const dirs = {
    HOME: join(sandboxRoot, 'home'),
    TMPDIR: join(sandboxRoot, 'tmp'),
    XDG_CONFIG_HOME: join(sandboxRoot, 'config'),
    XDG_CACHE_HOME: join(sandboxRoot, 'cache'),
    XDG_DATA_HOME: join(sandboxRoot, 'data'),
    XDG_STATE_HOME: join(sandboxRoot, 'state'),
    XDG_RUNTIME_DIR: join(sandboxRoot, 'runtime'),
    npm_config_cache: join(sandboxRoot, 'npm-cache'),
  };
  for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const originalHome = process.env.SIPC_ORIGINAL_HOME || process.env.HOME || '';
  const userNpmrc = process.env.npm_config_userconfig || (originalHome && join(originalHome, '.npmrc'));
  return {
    ...process.env,
    ...dirs,
    SIPC_ORIGINAL_HOME: originalHome,
    ...(userNpmrc && existsSync(userNpmrc) ? { npm_config_userconfig: userNpmrc } : {}),
    ...extra,
  };
}

/** Points this process at the sandbox too (os.tmpdir(), and whatever it starts without an explicit env). */
export function applySandbox() {
  const env = sandboxEnv();
  for (const key of ['HOME', 'TMPDIR', 'XDG_CONFIG_HOME', 'XDG_CACHE_HOME', 'XDG_DATA_HOME', 'XDG_STATE_HOME',
    'XDG_RUNTIME_DIR', 'npm_config_cache', 'SIPC_ORIGINAL_HOME', 'npm_config_userconfig']) {
    if (env[key] !== undefined) process.env[key] = env[key];
  }
}

/** Fails with what to install when Chromium is missing (the browser is the only client that starts tests). */
export function requireChromium() {
  if (!existsSync(chromiumPath)) {
    throw new EnvironmentError(
      `no Chromium at ${chromiumPath}: install it with \`apt-get install chromium\` (Debian), or point SIPC_CHROMIUM ` +
      'at a Chromium binary; set SIPC_SKIP_VSCODE=1 to skip the VS Code tests instead.');
  }
}

/** code-server compiles native modules (kerberos, node-pty, ...) on install: these tools must be there. */
function requireBuildTools() {
  const missing = [];
  const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
  if (!has('make') || !has('g++')) missing.push('build-essential');
  if (!has('python3')) missing.push('python3');
  if (!has('pkg-config')) missing.push('pkg-config');
  if (!existsSync('/usr/include/gssapi/gssapi.h') && !has('krb5-config')) missing.push('libkrb5-dev');
  if (missing.length) {
    throw new EnvironmentError(
      `installing code-server ${CODE_SERVER_VERSION} compiles native modules and needs: ` +
      `apt-get install ${missing.join(' ')}`);
  }
}

/**
 * Takes a directory lock (mkdir is atomic) so that two harnesses never install into one folder at once; a lock
 * left by a dead process is taken over.
 */
async function withInstallLock(target, work) {
  const lock = `${target}.lock`;
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
      let owner = 0;
      try { owner = Number(readFileSync(join(lock, 'pid'), 'utf8')); } catch { /* being written */ }
      if (owner && !isAlive(owner)) { rmSync(lock, { recursive: true, force: true }); continue; }
      if (Date.now() > deadline) throw new Error(`timed out waiting for another install into ${target} (lock ${lock})`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    return await work();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * The environment of a nested `npm install`: the sandbox, less every npm_* variable an outer `npm run` exported
 * (npm reads them as config: an inherited npm_config_user_agent names the outer Node, and code-server's install
 * script refuses that), plus the user's and the system's npmrc so the registry and CA settings still apply.
 */
function npmEnv(extra = {}) {
  const env = sandboxEnv();
  for (const key of Object.keys(env)) if (/^npm_/i.test(key) || key === 'NODE') delete env[key];
  const originalHome = process.env.SIPC_ORIGINAL_HOME || process.env.HOME || '';
  const userNpmrc = process.env.npm_config_userconfig || (originalHome && join(originalHome, '.npmrc'));
  const globalNpmrc = process.env.npm_config_globalconfig || join(dirname(dirname(process.execPath)), 'etc/npmrc');
  return {
    ...env,
    npm_config_cache: join(sandboxRoot, 'npm-cache'),
    ...(userNpmrc && existsSync(userNpmrc) ? { npm_config_userconfig: userNpmrc } : {}),
    ...(existsSync(globalNpmrc) ? { npm_config_globalconfig: globalNpmrc } : {}),
    ...extra,
  };
}

/** `npm install` of exact package specs into a prefix of their own, run by `node` (its major decides scripts). */
async function npmInstall({ prefix, specs, node, env, what, timeoutMs }) {
  rmSync(prefix, { recursive: true, force: true });
  mkdirSync(prefix, { recursive: true });
  writeFileSync(join(prefix, 'package.json'), JSON.stringify({ name: 'sipc-vscode-test-cache', private: true }));
  const npmCli = findNpmCli();
  const started = Date.now();
  console.log(`[harness] installing ${what} into ${prefix} (once; cached afterwards)`);
  const result = await run(node, [npmCli, 'install', '--prefix', prefix, '--no-save', '--no-package-lock',
    '--no-audit', '--no-fund', '--loglevel=error', ...specs], {
    env, cwd: prefix, timeoutMs, name: `npm install ${specs.join(' ')}`, logFile: join(prefix, 'install.log'),
  });
  if (result.code !== 0) {
    throw new Error(`installing ${what} failed (exit ${result.code}); log: ${join(prefix, 'install.log')}\n${result.tail}`);
  }
  console.log(`[harness] installed ${what} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

/** The npm of the Node running this script; run under Node 24 so code-server's install scripts see Node 24. */
function findNpmCli() {
  const candidates = [
    process.env.npm_execpath,
    join(dirname(process.execPath), '../lib/node_modules/npm/bin/npm-cli.js'),
    '/usr/lib/node_modules/npm/bin/npm-cli.js',
    '/usr/share/nodejs/npm/bin/npm-cli.js',
  ].filter(Boolean);
  const found = candidates.find((p) => p.endsWith('npm-cli.js') && existsSync(p));
  if (!found) throw new EnvironmentError(`cannot find npm's npm-cli.js (looked in ${candidates.join(', ')}); install npm`);
  return found;
}

/** Node 24 in the cache, installed from the npm registry on first use. Returns the path of its `node`. */
export async function ensureNode() {
  if (existsSync(join(nodePrefix, '.installed')) && existsSync(nodeBinary)) return nodeBinary;
  await withInstallLock(nodePrefix, async () => {
    if (existsSync(join(nodePrefix, '.installed'))) return;
    await npmInstall({
      prefix: nodePrefix, specs: [`${nodePackage}@${NODE_VERSION}`], node: process.execPath, env: npmEnv(),
      what: `Node ${NODE_VERSION} (${nodePackage})`, timeoutMs: 5 * 60_000,
    });
    if (!existsSync(nodeBinary)) throw new Error(`${nodePackage}@${NODE_VERSION} installed no ${nodeBinary}`);
    writeFileSync(join(nodePrefix, '.installed'), `${NODE_VERSION}\n`);
  });
  return nodeBinary;
}

/** code-server in the cache, installed on first use (about 90 s, 620 MB). Returns the Node binary that runs it. */
export async function ensureCodeServer() {
  const node = await ensureNode();
  if (existsSync(join(codeServerPrefix, '.installed')) && existsSync(vscodeServerMain)) return node;
  requireBuildTools();
  await withInstallLock(codeServerPrefix, async () => {
    if (existsSync(join(codeServerPrefix, '.installed'))) return;
    await npmInstall({
      prefix: codeServerPrefix,
      specs: [`code-server@${CODE_SERVER_VERSION}`],
      node,
      // node-gyp must build against Node 24's headers, not the system Node's that a user npmrc may name.
      env: npmEnv({ PATH: `${dirname(node)}:${process.env.PATH}`, npm_config_nodedir: nodeHome, JOBS: '2' }),
      what: `code-server ${CODE_SERVER_VERSION}`,
      timeoutMs: 15 * 60_000,
    });
    if (!existsSync(vscodeServerMain)) throw new Error(`code-server ${CODE_SERVER_VERSION} installed without ${vscodeServerMain}`);
    writeFileSync(join(codeServerPrefix, '.installed'), `${CODE_SERVER_VERSION}\n`);
  });
  return node;
}

let runCounter = 0;
const liveRunDirs = new Set();

/**
 * A fresh folder for one run under runs/, named after this process so that a later harness can recognise it as
 * abandoned (owner dead), kill what it left running and delete it. Removed by removeRunDir, or when this process
 * exits (after its process groups are killed), unless SIPC_VSCODE_KEEP is set.
 */
export function newRunDir(label) {
  if (liveRunDirs.size === 0 && runCounter === 0) {
    installCleanupHandlers();
    process.on('exit', () => { for (const dir of liveRunDirs) removeRunDir(dir); });
  }
  mkdirSync(runsRoot, { recursive: true });
  const dir = join(runsRoot, `${process.pid}-${Date.now().toString(36)}-${++runCounter}-${label}`);
  mkdirSync(dir, { recursive: true });
  liveRunDirs.add(dir);
  return dir;
}

/** Deletes a run folder, unless SIPC_VSCODE_KEEP asks to keep it for inspection. */
export function removeRunDir(dir) {
  liveRunDirs.delete(dir);
  if (process.env.SIPC_VSCODE_KEEP) return;
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch (error) {
    console.error(`[harness] could not remove ${dir}: ${error.message}`);
  }
}

/** Removes run folders whose owning process is gone, first killing any server process group they recorded. */
export function cleanAbandonedRuns() {
  if (!existsSync(runsRoot)) return;
  for (const name of readdirSync(runsRoot)) {
    const owner = Number(name.split('-')[0]);
    if (!owner || isAlive(owner)) continue;
    const dir = join(runsRoot, name);
    killStaleGroups(join(dir, 'process-groups'), cacheRoot);
    rmSync(dir, { recursive: true, force: true });
  }
}
