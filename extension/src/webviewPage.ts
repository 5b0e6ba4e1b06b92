// The one HTML shell of every webview page (the inspector, the messages panel) and its strict Content Security
// Policy: nothing loads unless the policy allows it, styles and fonts come only from the webview's own origin, and
// the only script is the page's bundle with this render's nonce. Pure (no `vscode` import), so the unit tests check
// the policy and the nonce of every render.
import { randomBytes } from 'node:crypto';

/** Bytes of CSPRNG output in a nonce: 192 bits, above the 128 the CSP spec asks for. */
export const NONCE_BYTES = 24;

/** A CSP nonce must be unguessable and new on every render, so it comes from the CSPRNG each time. */
export function cspNonce(): string {
  return randomBytes(NONCE_BYTES).toString('base64url');
}

/**
 * Directives a page may add to the policy. Scripts, styles and fonts are not among them: those stay as strict as
 * the shell makes them for every page.
 */
export type ExtraCspDirective = 'img-src' | 'media-src' | 'connect-src';

export interface WebviewPageShell {
  readonly title: string;
  /** The webview's own origin for styles and fonts (webview.cspSource). */
  readonly cspSource: string;
  /** Style sheet URIs, linked in this order. */
  readonly styleSheets: readonly string[];
  /** The page's one script (its bundle's URI). */
  readonly script: string;
  /** Sources the page needs beyond the strict base, by directive (e.g. images from `data:`). */
  readonly extraSources?: Readonly<Partial<Record<ExtraCspDirective, readonly string[]>>>;
}

/** The policy for one render; `script-src` is last and names only the nonce (no host, no 'unsafe-inline'). */
export function webviewCsp(shell: Pick<WebviewPageShell, 'cspSource' | 'extraSources'>, nonce: string): string {
  const extra = Object.entries(shell.extraSources ?? {}).map(([directive, sources]) => `${directive} ${sources.join(' ')}`);
  return [
    "default-src 'none'",
    `style-src ${shell.cspSource}`,
    `font-src ${shell.cspSource}`,
    ...extra,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
}

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? c);

/** The page: an empty `#app` the script fills in. */
export function webviewPage(shell: WebviewPageShell, nonce = cspNonce()): string {
  const links = shell.styleSheets.map((href) => `<link rel="stylesheet" href="${escapeHtml(href)}">`).join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(webviewCsp(shell, nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
${links}
<title>${escapeHtml(shell.title)}</title>
</head>
<body>
<div id="app"></div>
<script nonce="${nonce}" src="${escapeHtml(shell.script)}"></script>
</body>
</html>`;
}
