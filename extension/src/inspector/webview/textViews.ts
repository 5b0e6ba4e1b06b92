// The text and JSON views of the selected message: UTF-8 with invalid bytes, control characters and (optionally)
// line endings made visible; JSON pretty-printed when the message is JSON.
import { decodeUtf8Visible } from '../shared/bytes';
import { $ } from './markup';

/** More than this is not drawn in the text view (opening the message in an editor shows all). */
const TEXT_RENDER_LIMIT = 256 * 1024;

export class TextViews {
  readonly textView = $('textView');
  readonly jsonView = $('jsonView');

  showText(data: Uint8Array | undefined, showLineEndings: boolean): void {
    const view = this.textView;
    view.textContent = '';
    if (!data) return;
    const shown = data.length > TEXT_RENDER_LIMIT ? data.subarray(0, TEXT_RENDER_LIMIT) : data;
    const fragment = document.createDocumentFragment();
    for (const segment of decodeUtf8Visible(shown, showLineEndings)) {
      if (segment.kind === 'text') {
        fragment.append(segment.text);
      } else {
        const span = document.createElement('span');
        span.className = segment.kind;
        if (segment.kind === 'eol' && showLineEndings) {
          const mark = document.createElement('span');
          mark.className = 'eol-mark';
          mark.textContent = segment.text.slice(0, -1);
          span.append(mark, '\n');
        } else {
          span.textContent = segment.text;
        }
        if (segment.kind === 'invalid') span.title = `byte ${segment.offset}: not UTF-8`;
        fragment.append(span);
      }
    }
    if (shown.length < data.length) {
      const more = document.createElement('span');
      more.className = 'notice-inline';
      more.textContent = `\n… ${data.length - shown.length} more bytes: open in an editor to see all`;
      fragment.append(more);
    }
    view.append(fragment);
  }

  showJson(json: string | undefined): void {
    this.jsonView.textContent = json ?? '';
  }
}
