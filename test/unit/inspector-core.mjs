// Bundles the inspector's pure modules (extension/src/inspector/shared/core.ts, and host modules that need no
// VS Code) for Node with esbuild and loads them, so the unit tests exercise the TypeScript sources without a
// separate build step.
import { build } from 'esbuild';
import { createRequire } from 'node:module';
import { mkdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const loaded = new Map();

/** Bundles and loads one entry module (a path from the repository root); `external` packages are required at run time. */
async function loadBundle(entry, external = []) {
  if (!loaded.has(entry)) {
    const outfile = join(root, 'test/out/unit', `${basename(entry, '.ts')}-${process.pid}.cjs`);
    mkdirSync(dirname(outfile), { recursive: true });
    await build({
      entryPoints: [join(root, entry)],
      outfile, bundle: true, platform: 'node', format: 'cjs', target: 'node20', logLevel: 'silent', external,
    });
    loaded.set(entry, createRequire(import.meta.url)(outfile));
    process.on('exit', () => rmSync(outfile, { force: true }));
  }
  return loaded.get(entry);
}

/** @returns {Promise<typeof import('../../extension/src/inspector/shared/core')>} */
export function loadCore() {
  return loadBundle('extension/src/inspector/shared/core.ts');
}

/** @returns {Promise<typeof import('../../extension/src/inspector/host/page')>} */
export function loadPage() {
  return loadBundle('extension/src/inspector/host/page.ts');
}

/** @returns {Promise<typeof import('../../extension/src/webviewPage')>} */
export function loadWebviewPage() {
  return loadBundle('extension/src/webviewPage.ts');
}

/** @returns {Promise<typeof import('../../extension/src/decode/index')>} */
export function loadDecode() {
  return loadBundle('extension/src/decode/index.ts');
}

/** @returns {Promise<typeof import('../../extension/src/messagesPanel/core')>} */
export function loadMessagesPanel() {
  return loadBundle('extension/src/messagesPanel/core.ts');
}

/** @returns {Promise<typeof import('../../extension/src/inspector/host/captureFile')>} */
export function loadCaptureFile() {
  return loadBundle('extension/src/inspector/host/captureFile.ts');
}

/** @returns {Promise<typeof import('../../extension/src/inspector/host/spill')>} */
export function loadSpill() {
  return loadBundle('extension/src/inspector/host/spill.ts');
}

/** @returns {Promise<typeof import('../../extension/src/format')>} */
export function loadFormat() {
  return loadBundle('extension/src/format.ts');
}

/** A feed's post as the webview sees it: a reset's or append's rows decoded from their batch (rowBatch.ts). */
export function asShown(core, message) {
  return message.type === 'reset' || message.type === 'append' ? { ...message, rows: core.decodeRows(message.rows) } : message;
}

/** @returns {Promise<typeof import('../../extension/src/debugging/peerProcess')>} */
export function loadPeerProcess() {
  return loadBundle('extension/src/debugging/peerProcess.ts', ['koffi']);
}
