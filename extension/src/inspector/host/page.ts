// The inspector webview's page: the shared shell (../../webviewPage) with the inspector's style sheets and images
// from the webview or `data:` URIs. Pure (no `vscode` import).
import { cspNonce, webviewPage } from '../../webviewPage';

export interface InspectorPageResources {
  /** The webview's own origin for styles, fonts and images (webview.cspSource). */
  readonly cspSource: string;
  readonly codiconCss: string;
  readonly inspectorCss: string;
  /** The plot library's stylesheet (uPlot), when the page has one. */
  readonly plotCss?: string;
  readonly script: string;
}

export function inspectorPage(resources: InspectorPageResources, nonce = cspNonce()): string {
  return webviewPage({
    title: 'sipc inspector',
    cspSource: resources.cspSource,
    styleSheets: [resources.codiconCss, resources.inspectorCss, ...(resources.plotCss ? [resources.plotCss] : [])],
    script: resources.script,
    extraSources: { 'img-src': [resources.cspSource, 'data:'] },
  }, nonce);
}
