// The send box (peer mode only): text, hex or base64, a line ending for text, Enter sends, ↑/↓ walk the history.
import type { LineEnding, SendFormat } from '../shared/protocol';
import { host } from './host';
import { $ } from './markup';
import { HISTORY_LIMIT, persist, state, type HistoryEntry } from './state';

export class SendBox {
  private readonly input = $<HTMLTextAreaElement>('sendInput');
  private readonly format = $<HTMLSelectElement>('sendFormat');
  private readonly lineEnding = $<HTMLSelectElement>('lineEnding');
  private historyPosition = state.history.length;
  /** What was in the box (and its format) before ↑ walked into the history. */
  private draft: HistoryEntry = { input: '', format: state.sendFormat, lineEnding: state.lineEnding };
  private sending = false;

  constructor() {
    this.format.value = state.sendFormat;
    this.lineEnding.value = state.lineEnding;
    this.format.addEventListener('change', () => {
      state.sendFormat = this.format.value as SendFormat;
      persist();
      this.updateControls();
    });
    this.lineEnding.addEventListener('change', () => { state.lineEnding = this.lineEnding.value as LineEnding; persist(); });
    this.updateControls();
    $('send').addEventListener('click', () => void this.send());
    $('sendFile').addEventListener('click', () => host.notify({ type: 'sendFile' }));
    this.input.addEventListener('keydown', (e) => this.onKey(e));
  }

  set visible(visible: boolean) {
    $('sendBox').hidden = !visible;
  }

  private updateControls(): void {
    this.lineEnding.disabled = this.format.value !== 'text';
  }

  /** Sends bytes given as hex (the send form) exactly as if typed in hex here: same path, same history. */
  async sendHex(hex: string): Promise<string | undefined> {
    this.recall({ input: hex, format: 'hex', lineEnding: 'none' });
    await this.send();
    return $('sendError').textContent || undefined;
  }

  private async send(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    $('sendError').textContent = '';
    try {
      const reply = await host.request({
        type: 'send', format: this.format.value as SendFormat, input: this.input.value, lineEnding: this.lineEnding.value as LineEnding,
      });
      if (reply.ok) this.sent();
      else $('sendError').textContent = reply.message;
    } catch (error) {
      $('sendError').textContent = error instanceof Error ? error.message : 'Send failed';
    } finally {
      this.sending = false;
    }
  }

  /** The input went out: it joins the history (with its format) and the box empties. */
  private sent(): void {
    const entry: HistoryEntry = { input: this.input.value, format: this.format.value as SendFormat, lineEnding: this.lineEnding.value as LineEnding };
    const last = state.history[state.history.length - 1];
    const repeated = last !== undefined && last.input === entry.input && last.format === entry.format && last.lineEnding === entry.lineEnding;
    if (entry.input !== '' && !repeated) state.history.push(entry);
    if (state.history.length > HISTORY_LIMIT) state.history.splice(0, state.history.length - HISTORY_LIMIT);
    this.historyPosition = state.history.length;
    this.draft = { ...entry, input: '' };
    this.input.value = '';
    persist();
  }

  private onKey(e: KeyboardEvent): void {
    const input = this.input;
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      void this.send();
      return;
    }
    const value = input.value;
    const onFirstLine = !value.slice(0, input.selectionStart).includes('\n');
    const onLastLine = !value.slice(input.selectionEnd).includes('\n');
    if (e.key === 'ArrowUp' && onFirstLine && this.historyPosition > 0) {
      if (this.historyPosition === state.history.length) {
        this.draft = { input: value, format: this.format.value as SendFormat, lineEnding: this.lineEnding.value as LineEnding };
      }
      this.historyPosition--;
      this.recall(state.history[this.historyPosition]);
      e.preventDefault();
    } else if (e.key === 'ArrowDown' && onLastLine && this.historyPosition < state.history.length) {
      this.historyPosition++;
      this.recall(this.historyPosition === state.history.length ? this.draft : state.history[this.historyPosition]);
      e.preventDefault();
    }
  }

  /** Puts an entry in the box with the format and line ending it was sent with. */
  private recall(entry: HistoryEntry): void {
    this.input.value = entry.input;
    this.format.value = entry.format;
    this.lineEnding.value = entry.lineEnding;
    state.sendFormat = entry.format;
    state.lineEnding = entry.lineEnding;
    persist();
    this.updateControls();
  }
}
