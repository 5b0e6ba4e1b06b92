// Installing a packaged extension into an extensions folder (the UI tests and `npm start` load it from there).
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { codeServerEntry, ensureCodeServer, newRunDir, removeRunDir, sandboxEnv } from './cache.mjs';
import { run } from './processes.mjs';

/** Installs a .vsix with code-server's CLI into `extensionsDir` (created if missing). */
export async function installExtension(vsix, extensionsDir) {
  if (!existsSync(vsix)) throw new Error(`no extension package at ${vsix}: run \`npm run package\` first`);
  const node = await ensureCodeServer();
  const runDir = newRunDir('install');
  try {
    mkdirSync(extensionsDir, { recursive: true });
    const result = await run(node, [codeServerEntry, '--config', join(runDir, 'config.yaml'),
      '--user-data-dir', join(runDir, 'user-data'), '--extensions-dir', extensionsDir,
      '--force', '--install-extension', vsix], {
      name: 'code-server --install-extension', env: sandboxEnv(), cwd: runDir, timeoutMs: 120_000,
    });
    if (result.code !== 0 || !/successfully installed/i.test(result.tail)) {
      throw new Error(`installing ${vsix} into ${extensionsDir} failed (exit ${result.code}):\n${result.tail}`);
    }
  } finally {
    removeRunDir(runDir);
  }
}

