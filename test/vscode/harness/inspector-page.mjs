// The inspector webview on its own, in headless Chromium, against an in-page fake of the extension host built
// from the same pure modules (Capture, ViewFeed, encodeSendInput): the page the webview tests drive.
import { build } from 'esbuild';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { launchBrowser } from './browser.mjs';
import { outDir, repoRoot } from './cache.mjs';

const dir = join(outDir, 'inspector-webview');
export const screenshots = join(outDir, 'screenshots');

/** A small subset of VS Code's theme variables, enough to see that the page only uses theme colours. */
export const themes = {
  dark: {
    'foreground': '#cccccc', 'editor-background': '#1f1f1f', 'panel-border': '#2b2b2b', 'focusBorder': '#0078d4',
    'input-background': '#313131', 'input-foreground': '#cccccc', 'input-border': '#3c3c3c', 'button-background': '#0078d4',
    'button-foreground': '#ffffff', 'button-secondaryBackground': '#313131', 'button-secondaryForeground': '#cccccc',
    'list-hoverBackground': '#2a2d2e', 'list-activeSelectionBackground': '#04395e', 'list-activeSelectionForeground': '#ffffff',
    'list-inactiveSelectionBackground': '#37373d', 'descriptionForeground': '#9d9d9d', 'badge-background': '#616161',
    'badge-foreground': '#f8f8f8', 'charts-blue': '#3794ff', 'charts-green': '#89d185', 'editorWarning-foreground': '#cca700',
    'errorForeground': '#f85149', 'editor-selectionBackground': '#264f78', 'editorLineNumber-foreground': '#6e7681',
    'font-family': 'sans-serif', 'font-size': '13px', 'editor-font-family': 'monospace', 'editor-font-size': '13px',
    'dropdown-background': '#313131', 'dropdown-foreground': '#cccccc', 'icon-foreground': '#cccccc', 'toolbar-hoverBackground': '#5a5d5e50',
    'inputOption-activeBackground': '#2489db82', 'testing-iconPassed': '#73c991', 'statusBar-background': '#181818',
  },
  light: {
    'foreground': '#3b3b3b', 'editor-background': '#ffffff', 'panel-border': '#e5e5e5', 'focusBorder': '#005fb8',
    'input-background': '#ffffff', 'input-foreground': '#3b3b3b', 'input-border': '#cecece', 'button-background': '#005fb8',
    'button-foreground': '#ffffff', 'button-secondaryBackground': '#e5e5e5', 'button-secondaryForeground': '#3b3b3b',
    'list-hoverBackground': '#f2f2f2', 'list-activeSelectionBackground': '#e8e8e8', 'list-activeSelectionForeground': '#000000',
    'list-inactiveSelectionBackground': '#e4e6f1', 'descriptionForeground': '#717171', 'badge-background': '#cccccc',
    'badge-foreground': '#3b3b3b', 'charts-blue': '#1a85ff', 'charts-green': '#388a34', 'editorWarning-foreground': '#bf8803',
    'errorForeground': '#f85149', 'editor-selectionBackground': '#add6ff', 'editorLineNumber-foreground': '#6e7681',
    'font-family': 'sans-serif', 'font-size': '13px', 'editor-font-family': 'monospace', 'editor-font-size': '13px',
    'dropdown-background': '#ffffff', 'dropdown-foreground': '#3b3b3b', 'icon-foreground': '#3b3b3b', 'toolbar-hoverBackground': '#b8b8b850',
    'inputOption-activeBackground': '#bed6ed', 'testing-iconPassed': '#388a34', 'statusBar-background': '#f8f8f8',
  },
};

/** The fake host: what extension/src/inspector/host/panel.ts does, minus VS Code. Runs in the page. */
const fakeHost = `
const core = InspectorCore;
const capture = new core.Capture({ maxMessages: 100000, maxBytes: 512 * 1024 * 1024 });
const responder = new core.Responder((envelope) => window.postMessage(envelope, '*'));
const feed = new core.ViewFeed(capture, (m) => responder.push(m));
window.__host = { capture, feed, sent: [], posts: [], copies: [] };
const rates = new core.RateMeter();
function stats() {
  const directions = ['sent', 'received'].map((d) => ({ direction: d, ...capture.totalsFor(d), ...rates.sample(d, capture.totalsFor(d), Date.now()), queued: 0, capacity: 16 }));
  return { state: 'connected', directions, serverPid: 4242, clientPid: 4343, serverAlive: true, clientAlive: true,
    retained: capture.length, retainedBytes: capture.retainedBytes, dropped: capture.dropped, maxMessages: capture.limits.maxMessages };
}
const requests = {
  ready: () => { responder.push({ type: 'target', name: 'demo.channel', mode: 'peer', role: 'client', canSend: true, captureId: 'c1' }); feed.attach(); responder.push({ type: 'stats', stats: stats() }); return { paused: feed.isPaused }; },
  select: (m) => { const e = capture.get(m.seq); return e ? { found: true, data: e.kind === 'message' ? e.data : new Uint8Array(0), length: e.length ?? 0, row: capture.summarize(e) } : { found: false }; },
  filter: (m) => { try { feed.setFilter(m.spec); return {}; } catch (e) { return { error: e.message }; } },
  pause: (m) => { feed.setPaused(m.paused); return { paused: feed.isPaused }; },
  send: (m) => { try { const data = core.encodeSendInput(m.format, m.input, m.lineEnding); window.__host.sent.push([...data]); capture.addMessage('sent', data, Date.now()); return { ok: true }; } catch (e) { return { ok: false, message: e.message }; } },
};
window.acquireVsCodeApi = () => ({
  getState: () => JSON.parse(sessionStorage.getItem('state') || 'null'),
  setState: (s) => sessionStorage.setItem('state', JSON.stringify(s)),
  postMessage: (raw) => {
    const envelope = core.parseWebviewEnvelope(raw);
    const m = envelope.body;
    window.__host.posts.push(m);
    if (core.isRequest(m)) { void core.answerRequest(requests, envelope.messageId, m, responder); return; }
    switch (m.type) {
      case 'clear': capture.clear(); break;
      case 'copy': window.__host.copies.push(m); break;
    }
  },
});
`;

async function preparePage(theme) {
  mkdirSync(dir, { recursive: true });
  await build({ entryPoints: [join(repoRoot, 'extension/src/inspector/shared/core.ts')], outfile: join(dir, 'core.js'), bundle: true,
    platform: 'browser', format: 'iife', globalName: 'InspectorCore', logLevel: 'silent' });
  await build({ entryPoints: [join(repoRoot, 'extension/src/inspector/webview/main.ts')], outfile: join(dir, 'inspector.js'), bundle: true,
    platform: 'browser', format: 'iife', target: 'es2022', logLevel: 'silent' });
  writeFileSync(join(dir, 'host.js'), fakeHost);
  const vars = Object.entries(themes[theme]).map(([k, v]) => `--vscode-${k}: ${v};`).join(' ');
  const url = (path) => pathToFileURL(path).href;
  const html = `<!DOCTYPE html><html><head><meta charset="UTF-8">
<link rel="stylesheet" href="${url(join(repoRoot, 'node_modules/@vscode/codicons/dist/codicon.css'))}">
<link rel="stylesheet" href="${url(join(repoRoot, 'extension/media/inspector/inspector.css'))}">
<style>:root { ${vars} }</style></head>
<body class="vscode-${theme}"><div id="app"></div>
<script src="core.js"></script><script src="host.js"></script><script src="inspector.js"></script></body></html>`;
  const file = join(dir, `page-${theme}.html`);
  writeFileSync(file, html);
  return url(file);
}

export async function openPage(t, theme = 'dark', viewport = { width: 1280, height: 760 }) {
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(await preparePage(theme));
  await page.locator('#title').filter({ hasText: 'demo.channel' }).waitFor();
  return { page, errors };
}

export const rowCount = (page) => page.locator('#listViewport .row:not([hidden])').count();

