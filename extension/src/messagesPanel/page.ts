// The messages panel's HTML page and its Content Security Policy: nothing loads unless the policy allows it, and
// the only script is the bundle with this render's nonce. Pure (no `vscode` import).
import { cspNonce } from '../inspector/host/page';

export interface MessagesPanelResources {
  /** The webview's own origin for styles and fonts (webview.cspSource). */
  readonly cspSource: string;
  readonly codiconCss: string;
  readonly css: string;
  readonly script: string;
}

export function messagesPanelPage(resources: MessagesPanelResources, nonce = cspNonce()): string {
  const csp = [
    "default-src 'none'",
    `style-src ${resources.cspSource}`,
    `font-src ${resources.cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${resources.codiconCss}">
<link rel="stylesheet" href="${resources.css}">
<title>SIPC messages</title>
</head>
<body>
<div id="app"></div>
<script nonce="${nonce}" src="${resources.script}"></script>
</body>
</html>`;
}
