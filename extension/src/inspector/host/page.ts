// The inspector webview's HTML page and its Content Security Policy. Pure (no `vscode` import), so the unit
// tests check the policy and the nonce of every render.
import { randomBytes } from 'node:crypto';

/** Bytes of CSPRNG output in a nonce: 192 bits, above the 128 the CSP spec asks for. */
export const NONCE_BYTES = 24;

/** A CSP nonce must be unguessable and new on every render, so it comes from the CSPRNG each time. */
export function cspNonce(): string {
  return randomBytes(NONCE_BYTES).toString('base64url');
}

export interface InspectorPageResources {
  /** The webview's own origin for styles and fonts (webview.cspSource). */
  readonly cspSource: string;
  readonly codiconCss: string;
  readonly inspectorCss: string;
  /** The plot library's stylesheet (uPlot), when the page has one. */
  readonly plotCss?: string;
  readonly script: string;
}

/** The page: nothing loads unless the policy allows it; the only script is the bundle with this render's nonce. */
export function inspectorPage(resources: InspectorPageResources, nonce = cspNonce()): string {
  const csp = [
    "default-src 'none'",
    `style-src ${resources.cspSource}`,
    `font-src ${resources.cspSource}`,
    `img-src ${resources.cspSource} data:`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${resources.codiconCss}">
<link rel="stylesheet" href="${resources.inspectorCss}">${resources.plotCss ? `\n<link rel="stylesheet" href="${resources.plotCss}">` : ''}
<title>sipc inspector</title>
</head>
<body>
<div id="app"></div>
<script nonce="${nonce}" src="${resources.script}"></script>
</body>
</html>`;
}
