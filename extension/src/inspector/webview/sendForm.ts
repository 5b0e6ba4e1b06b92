// The send form (peer mode, a channel with a C-struct schema): pick the message type, fill in its fields (enums
// from a list, bools as a box), see the encoded bytes, send. The host encodes; the bytes go out through the send
// box as hex, so a form message joins the same history as typed text and hex.
import type { FormField } from '../../decode/encoder';
import { host } from './host';
import { $ } from './markup';

/** Typing pauses this long before the bytes are encoded again. */
const ENCODE_DELAY_MS = 150;

export class SendForm {
  private readonly panel = $('sendForm');
  private readonly typeSelect = $<HTMLSelectElement>('formType');
  private readonly fieldsBox = $('formFields');
  private readonly preview = $('formHex');
  private timer: ReturnType<typeof setTimeout> | undefined;
  private hex: string | undefined;
  private messageType: string | undefined;
  private available = false;

  constructor(private readonly sendHex: (hex: string) => Promise<string | undefined>) {
    $('sendFormToggle').addEventListener('click', () => void this.toggle());
    this.typeSelect.addEventListener('change', () => void this.load(this.typeSelect.value));
    this.fieldsBox.addEventListener('input', () => this.schedule());
    this.fieldsBox.addEventListener('change', () => this.schedule());
    $('formSend').addEventListener('click', () => void this.send());
  }

  /** The channel's schema changed: the form is offered only with a C-struct schema (the host says). */
  setAvailable(available: boolean): void {
    this.available = available;
    $<HTMLButtonElement>('sendFormToggle').hidden = !available;
    if (!available) this.panel.hidden = true;
    else if (!this.panel.hidden) void this.load(this.messageType);
  }

  private async toggle(): Promise<void> {
    if (!this.panel.hidden) { this.panel.hidden = true; return; }
    if (!this.available) return;
    this.panel.hidden = false;
    await this.load(this.messageType);
  }

  private async load(messageType: string | undefined): Promise<void> {
    const reply = await host.request({ type: 'form', ...(messageType !== undefined ? { messageType } : {}) });
    $('formError').textContent = reply.error ?? '';
    this.messageType = reply.messageType;
    this.typeSelect.textContent = '';
    for (const t of reply.types) {
      const option = document.createElement('option');
      option.value = option.textContent = t;
      this.typeSelect.appendChild(option);
    }
    if (reply.messageType) this.typeSelect.value = reply.messageType;
    this.typeSelect.hidden = reply.types.length <= 1;
    this.renderFields(reply.fields, reply.defaults);
    await this.encode();
  }

  private renderFields(fields: readonly FormField[], defaults: Readonly<Record<string, string>>): void {
    this.fieldsBox.textContent = '';
    for (const field of fields) {
      const label = document.createElement('label');
      label.className = 'form-field';
      const name = document.createElement('span');
      name.className = 'form-name';
      name.textContent = field.path;
      name.title = field.type;
      let input: HTMLInputElement | HTMLSelectElement;
      if (field.kind === 'enum') {
        input = document.createElement('select');
        for (const n of field.enumNames ?? []) {
          const option = document.createElement('option');
          option.value = option.textContent = n;
          input.appendChild(option);
        }
      } else if (field.kind === 'bool') {
        input = document.createElement('input');
        input.type = 'checkbox';
      } else {
        input = document.createElement('input');
        input.type = 'text';
        input.placeholder = field.kind === 'text' ? `text, up to ${field.maxBytes} bytes` : field.type;
        input.spellcheck = false;
      }
      input.dataset.path = field.path;
      input.dataset.kind = field.kind;
      const preset = defaults[field.path];
      if (preset !== undefined) {
        if (input instanceof HTMLInputElement && input.type === 'checkbox') input.checked = preset === 'true' || preset === '1';
        else input.value = preset;
      }
      label.append(name, input);
      this.fieldsBox.appendChild(label);
    }
  }

  private values(): Record<string, string> {
    const values: Record<string, string> = {};
    for (const input of this.fieldsBox.querySelectorAll<HTMLInputElement | HTMLSelectElement>('[data-path]')) {
      const path = input.dataset.path!;
      if (input instanceof HTMLInputElement && input.type === 'checkbox') values[path] = input.checked ? 'true' : 'false';
      else if (input.value !== '' || input.dataset.kind === 'enum') values[path] = input.value;
    }
    return values;
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.encode(), ENCODE_DELAY_MS);
  }

  private async encode(): Promise<void> {
    if (this.messageType === undefined) return;
    const reply = await host.request({ type: 'encode', messageType: this.messageType, values: this.values() });
    this.hex = reply.hex;
    this.preview.textContent = reply.hex ?? '';
    $('formError').textContent = reply.error ?? '';
    $<HTMLButtonElement>('formSend').disabled = reply.hex === undefined;
  }

  private async send(): Promise<void> {
    if (this.timer) { clearTimeout(this.timer); this.timer = undefined; }
    await this.encode();
    if (this.hex === undefined) return;
    const error = await this.sendHex(this.hex);
    $('formError').textContent = error ?? '';
  }
}
