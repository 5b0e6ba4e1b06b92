// Turns what the user typed into the send box into the exact bytes to send.
import { encodeUtf8, fromBase64, parseHex } from './bytes';
import type { LineEnding, SendFormat } from './protocol';

const LINE_ENDINGS: Record<LineEnding, string> = { none: '', lf: '\n', crlf: '\r\n' };

/**
 * Text is UTF-8 followed by the chosen line ending; hex and base64 are taken byte for byte (the line ending
 * is a text convenience and is not appended to them). Throws InspectorInputError on malformed hex/base64.
 */
export function encodeSendInput(format: SendFormat, input: string, lineEnding: LineEnding): Uint8Array {
  switch (format) {
    case 'text': return encodeUtf8(input + LINE_ENDINGS[lineEnding]);
    case 'hex': return parseHex(input);
    case 'base64': return fromBase64(input);
  }
}
