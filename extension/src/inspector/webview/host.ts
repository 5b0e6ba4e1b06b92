// The page's line to the extension host: requests that await their typed reply, notifications, and the host's
// pushes. acquireVsCodeApi may be called only once per page, so this module owns it (and the persisted state).
import { Requester } from '../shared/messaging';
import type { HostEnvelope, HostToWebview, InspectorNotification, InspectorRequests, WebviewEnvelope } from '../shared/protocol';

interface VsCodeApi {
  postMessage(message: WebviewEnvelope): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

export const vscodeApi = acquireVsCodeApi();

export const host = new Requester<InspectorRequests, InspectorNotification>((envelope) => vscodeApi.postMessage(envelope));

/** Delivers replies to their requests and every push to `onPush`. */
export function listenToHost(onPush: (message: HostToWebview) => void): void {
  window.addEventListener('message', (event: MessageEvent<HostEnvelope>) => {
    const envelope = event.data;
    if (envelope.inReplyTo !== undefined) host.settle(envelope);
    else onPush(envelope.body);
  });
}
