// Helpers for UI tests (test/vscode/ui/*.mjs, run by `node --test`): a real VS Code workbench (code-server with
// the packaged .vsix installed) in headless Chromium, driven with playwright-core.
//
//   import { startWorkbench, runCommand, webviewFrame, screenshot, poll } from '../harness/workbench.mjs';
//
//   const wb = await startWorkbench({ folder, settings, theme, timeoutMs });
//       Starts code-server on 127.0.0.1 with a fresh user-data dir and opens the workbench in a new browser.
//       folder     folder to open (default: a fresh empty one, wb.folder)
//       settings   user settings merged over quiet defaults (no welcome page, no telemetry, no trust prompt)
//       theme      'Default Dark Modern' | 'Default Light Modern' | 'Default High Contrast' | ... (workbench.colorTheme)
//       viewport   { width, height }, default 1280x800
//       -> { page, url, folder, userDataDir, console: string[], stop() }   always `await wb.stop()` (use t.after)
//       The extensions come from SIPC_VSCODE_EXTENSIONS_DIR (set by `npm run test:vscode`, which installed the
//       packaged .vsix there), or else from installing SIPC_VSCODE_VSIX or the repo's sipc-<version>.vsix once
//       per process (run `npm run package` first when running a UI test file on its own).
//
//   await runCommand(page, 'SIPC: Open Inspector', { timeoutMs });
//       F1, types the title, picks the entry whose label is exactly that title. Retries while the palette says
//       "No matching commands" (the extension list can reach the browser after the palette first opens).
//
//   const frame = webviewFrame(page);       // FrameLocator inside the visible webview's content frame
//   await frame.locator('h1').waitFor();    // the first show of a webview takes about 3 s
//
//   await screenshot(page, 'inspector-dark');   // -> test/out/screenshots/inspector-dark.png (path returned)
//
//   await poll(async () => (await something()) === expected, { what: 'the channel to appear', timeoutMs });
//
// Timeouts fail with a message naming what was awaited. Everything a workbench writes stays in .vscode-test/.
import { mkdirSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ensureCodeServer, codeServerEntry, sandboxEnv, applySandbox, newRunDir, removeRunDir, cleanAbandonedRuns, repoRoot, outDir,
} from './cache.mjs';
import { installExtension } from './install.mjs';
import { startGroup, freePort, waitForHttp, installCleanupHandlers } from './processes.mjs';
import { launchBrowser } from './browser.mjs';
import { quietSettings } from './extension-host.mjs';

export { repoRoot, outDir };
export const screenshotsDir = join(outDir, 'screenshots');

applySandbox();
installCleanupHandlers();

let defaultExtensionsDir;

/** The extensions dir of this process: the harness's, or a fresh one with the repo's package installed once. */
async function extensionsDirForThisProcess() {
  if (process.env.SIPC_VSCODE_EXTENSIONS_DIR) return process.env.SIPC_VSCODE_EXTENSIONS_DIR;
  if (!defaultExtensionsDir) {
    defaultExtensionsDir = (async () => {
      cleanAbandonedRuns();
      const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
      const vsix = process.env.SIPC_VSCODE_VSIX || join(repoRoot, `sipc-${version}.vsix`);
      const dir = join(newRunDir('extensions'), 'extensions');
      await installExtension(vsix, dir);
      return dir;
    })();
  }
  return defaultExtensionsDir;
}

/** Starts code-server and a browser on its workbench. See the comment at the top for the options. */
export async function startWorkbench({
  folder, settings = {}, theme, viewport = { width: 1280, height: 800 }, timeoutMs = 90_000, extensionsDir,
} = {}) {
  const node = await ensureCodeServer();
  const extensions = extensionsDir || await extensionsDirForThisProcess();
  const runDir = newRunDir('workbench');
  const userDataDir = join(runDir, 'user-data');
  const workspace = folder || join(runDir, 'workspace');
  mkdirSync(join(userDataDir, 'User'), { recursive: true });
  mkdirSync(workspace, { recursive: true });
  writeFileSync(join(userDataDir, 'User/settings.json'), JSON.stringify({
    ...quietSettings, ...(theme ? { 'workbench.colorTheme': theme } : {}), ...settings,
  }, null, 2));

  const port = await freePort();
  const server = startGroup(node, [codeServerEntry,
    '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--config', join(runDir, 'config.yaml'),
    '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust',
    '--disable-getting-started-override', '--disable-proxy',
    '--user-data-dir', userDataDir, '--extensions-dir', extensions, workspace], {
    name: 'code-server', env: sandboxEnv(), cwd: runDir, logFile: join(runDir, 'code-server.log'),
    recordFile: join(runDir, 'process-groups'),
  });
  let browser;
  const stop = async () => {
    await browser?.close().catch(() => {});
    await server.stop();
    removeRunDir(runDir);
  };
  try {
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, { what: 'code-server', timeoutMs, group: server });
    browser = await launchBrowser({ timeoutMs });
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    const consoleLines = [];
    page.on('console', (message) => consoleLines.push(`${message.type()}: ${message.text()}`));
    page.on('pageerror', (error) => consoleLines.push(`pageerror: ${error.message}`));
    const url = `http://127.0.0.1:${port}/?${new URLSearchParams({ folder: workspace })}`;
    await page.goto(url, { timeout: timeoutMs });
    await page.locator('.monaco-workbench .part.statusbar').waitFor({ state: 'visible', timeout: timeoutMs })
      .catch((error) => { throw new Error(`timed out after ${timeoutMs / 1000} s waiting for the workbench to load at ${url}: ${error.message}`); });
    return { page, url, folder: workspace, userDataDir, console: consoleLines, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Runs a command by its palette title ("Category: Title"), retrying while the palette has not caught up. */
export async function runCommand(page, title, { timeoutMs = 30_000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  const widget = page.locator('.quick-input-widget');
  const input = widget.locator('input.input, input').first();
  const exactLabel = new RegExp(`^\\s*${escapeRegExp(title)}\\s*$`);
  let lastSeen = 'the command palette never opened';
  for (let attempt = 1; Date.now() < deadline; attempt++) {
    await page.keyboard.press('Escape');
    await page.keyboard.press('F1');
    if (!(await widget.isVisible())) {
      await widget.waitFor({ state: 'visible', timeout: 3000 }).catch(() => page.keyboard.press('Control+Shift+P'));
    }
    if (!(await widget.waitFor({ state: 'visible', timeout: 5000 }).then(() => true, () => false))) continue;
    await input.fill(`>${title}`);
    const row = widget.locator('.monaco-list-row').filter({ has: page.locator('.label-name', { hasText: exactLabel }) }).first();
    if (await row.waitFor({ state: 'visible', timeout: 3000 }).then(() => true, () => false)) {
      await row.click();
      await widget.waitFor({ state: 'hidden', timeout: 10_000 }).catch(() => {});
      return;
    }
    lastSeen = (await widget.innerText().catch(() => '')).replace(/\s+/g, ' ').trim() || '(empty palette)';
    await page.keyboard.press('Escape');
    await page.waitForTimeout(Math.min(500 * attempt, 2000));
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s running command "${title}": the palette showed: ${lastSeen}`);
}

/** The content of the visible webview (the panel's iframe, then VS Code's inner #active-frame). */
export function webviewFrame(page) {
  return page.locator('iframe.webview.ready').filter({ visible: true }).last().contentFrame().frameLocator('#active-frame');
}

/** Saves a PNG of the page into test/out/screenshots/<name>.png and returns its path. */
export async function screenshot(page, name) {
  mkdirSync(screenshotsDir, { recursive: true });
  const path = join(screenshotsDir, `${name.replace(/[^A-Za-z0-9._-]+/g, '-')}.png`);
  await page.screenshot({ path });
  return path;
}

/** Polls `check` until it returns truthy (and returns that), failing after `timeoutMs` with `what`. */
export async function poll(check, { what, timeoutMs = 10_000, intervalMs = 200 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what || 'a condition'}` +
    (lastError ? ` (last error: ${lastError.message})` : ''));
}

/** Picks `label` in the open quick input (typing it first), retrying until it is listed. */
export async function pickInQuickInput(page, text) {
  const widget = page.locator('.quick-input-widget');
  await widget.waitFor({ state: 'visible' });
  await widget.locator('input').first().fill(text);
  await widget.locator('.quick-input-list .monaco-list-row', { hasText: text }).first().waitFor();
  await page.keyboard.press('Enter');
}

/**
 * Answers VS Code for the web's file dialog (a quick input holding a path) with `path`, until `done()` says the
 * action happened. The dialog fills in its own default first and may overwrite early typing, so retype as needed.
 */
export async function answerFileDialog(page, open, path, done, what) {
  const dialog = page.locator('.quick-input-widget');
  const input = dialog.locator('input').first();
  // A click while the previous quick input is still closing can be lost: start from a closed one, retry the click.
  await dialog.waitFor({ state: 'hidden' });
  await poll(async () => {
    await open();
    return dialog.waitFor({ state: 'visible', timeout: 5000 }).then(() => true, () => false);
  }, { what: `the file dialog for ${what}`, timeoutMs: 30_000, intervalMs: 500 });
  await poll(async () => (await input.inputValue()).includes('/'), { what: 'the file dialog to show a path' });
  // Its folder listing loads asynchronously and then rewrites the path: let it, before typing ours.
  await dialog.locator('.quick-input-list .monaco-list-row').first().waitFor({ timeout: 5000 }).catch(() => {});
  await input.fill(path);
  let unchanged = false;
  await poll(async () => {
    if (await done()) return true;
    if (!(await dialog.isVisible())) return false;
    if ((await input.inputValue()) !== path) {
      await input.fill(path);
      unchanged = false;
    } else if (unchanged) {
      // Only press Enter once our path has survived a whole poll interval untouched.
      await input.press('Enter');
    } else {
      unchanged = true;
    }
    return false;
  }, { what, timeoutMs: 25_000, intervalMs: 700 }).catch(async (error) => {
    const shot = await screenshot(page, `failed-file-dialog-${process.pid}`);
    throw new Error(`${error.message} (screenshot: ${shot})`);
  });
}
