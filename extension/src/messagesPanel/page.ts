// The messages panel's page: the shared shell (../webviewPage) with the panel's style sheets. Pure (no `vscode`
// import).
import { cspNonce, webviewPage } from '../webviewPage';

export interface MessagesPanelResources {
  /** The webview's own origin for styles and fonts (webview.cspSource). */
  readonly cspSource: string;
  readonly codiconCss: string;
  readonly css: string;
  readonly script: string;
}

export function messagesPanelPage(resources: MessagesPanelResources, nonce = cspNonce()): string {
  return webviewPage({
    title: 'SIPC messages',
    cspSource: resources.cspSource,
    styleSheets: [resources.codiconCss, resources.css],
    script: resources.script,
  }, nonce);
}
