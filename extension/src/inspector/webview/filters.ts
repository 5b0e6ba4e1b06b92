// The filter bar: directions, text, hex bytes, sizes and events. The host applies the filter to the capture (so the
// page receives only the rows it shows) and replies with the reason when it refuses one.
import type { FilterSpec } from '../shared/filter';
import { directionLabel, type Direction } from '../shared/model';
import type { InspectorMode } from '../shared/protocol';
import { host } from './host';
import { $ } from './markup';
import { persist, state } from './state';

/** Typing pauses this long before the filter is applied. */
const FILTER_DELAY_MS = 200;

/** The directions a panel's filter offers: a connection's, an observer's, or those an opened file holds. */
export function directionsForMode(mode: InspectorMode, fileDirections?: readonly Direction[]): readonly Direction[] {
  if (fileDirections && fileDirections.length > 0) return fileDirections;
  return mode === 'peer' ? ['sent', 'received'] : ['to-server', 'to-client'];
}

/** Whether a spec narrows (or marks) anything: only then does the bar say "n of m". */
function isActive(spec: FilterSpec): boolean {
  return (spec.directions?.length ?? 0) > 0 || !!spec.text || !!spec.hex?.trim() || spec.minSize !== undefined
    || spec.maxSize !== undefined || spec.events === false;
}

/** What the filter bar asks of the list. */
export interface MatchNavigation {
  next(): void;
  previous(): void;
}

function sizeValue(input: HTMLInputElement): number | undefined {
  return input.value.trim() === '' ? undefined : Number(input.value);
}

export class Filters {
  private readonly text = $<HTMLInputElement>('filterText');
  private readonly hex = $<HTMLInputElement>('filterHex');
  private readonly min = $<HTMLInputElement>('filterMin');
  private readonly max = $<HTMLInputElement>('filterMax');
  private readonly events = $<HTMLInputElement>('filterEvents');
  private readonly highlight = $<HTMLInputElement>('filterHighlight');
  private readonly fields = $<HTMLInputElement>('filterFields');
  private readonly directions = $('directionFilters');
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(navigation: MatchNavigation) {
    const spec = state.filter;
    this.highlight.checked = spec.highlight === true;
    this.highlight.addEventListener('change', () => this.schedule());
    $('matchNext').addEventListener('click', () => navigation.next());
    $('matchPrevious').addEventListener('click', () => navigation.previous());
    // Enter in a filter box goes to the next match (Shift+Enter: the previous one), as in the editor's find.
    for (const input of [this.text, this.hex]) {
      input.addEventListener('keydown', (e) => {
        if (e.key !== 'Enter') return;
        e.preventDefault();
        if (e.shiftKey) navigation.previous();
        else navigation.next();
      });
    }
    this.text.value = spec.text ?? '';
    this.hex.value = spec.hex ?? '';
    this.min.value = spec.minSize === undefined ? '' : String(spec.minSize);
    this.max.value = spec.maxSize === undefined ? '' : String(spec.maxSize);
    this.events.checked = spec.events !== false;
    this.fields.value = spec.fields ?? '';
    for (const input of [this.text, this.hex, this.min, this.max, this.fields]) input.addEventListener('input', () => this.schedule());
    this.events.addEventListener('change', () => this.schedule());
  }

  focus(): void {
    this.text.focus();
  }

  /** The field filter is offered when the channel has a schema. */
  showFieldFilter(visible: boolean): void {
    this.fields.hidden = !visible;
  }

  /** Draws the direction boxes of a mode (peer: sent/received; observer: both directions of the channel). */
  renderDirections(mode: InspectorMode, fileDirections?: readonly Direction[]): void {
    const container = this.directions;
    container.textContent = '';
    const chosen = state.filter.directions ?? [];
    for (const dir of directionsForMode(mode, fileDirections)) {
      const label = document.createElement('label');
      label.className = 'check';
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.value = dir;
      box.checked = chosen.length === 0 || chosen.includes(dir);
      box.addEventListener('change', () => {
        // An empty direction set would mean "all"; keep at least one direction ticked instead.
        if (![...container.querySelectorAll<HTMLInputElement>('input')].some((b) => b.checked)) box.checked = true;
        this.schedule();
      });
      label.append(box, ` ${directionLabel(dir)}`);
      container.appendChild(label);
    }
  }

  /** "n of m" while a filter is in effect: how many of the retained entries match it. */
  showCount(matches: number, retained: number): void {
    const active = isActive(state.filter);
    const count = $('filterCount');
    count.textContent = active ? `${matches.toLocaleString()} of ${retained.toLocaleString()}` : '';
    count.title = active ? `${matches} of the ${retained} retained entries match the filter` : '';
    for (const id of ['matchNext', 'matchPrevious']) ($(id) as HTMLButtonElement).disabled = !active || matches === 0;
  }

  /** Sends a filter to the host and shows why it was refused, if it was. */
  async apply(spec: FilterSpec): Promise<void> {
    const reply = await host.request({ type: 'filter', spec });
    $('filterError').textContent = reply.error ?? '';
    this.hex.classList.toggle('invalid', reply.error !== undefined && !spec.fields);
    this.fields.classList.toggle('invalid', reply.error !== undefined && !!spec.fields);
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.applyInputs(), FILTER_DELAY_MS);
  }

  private applyInputs(): Promise<void> {
    const boxes = [...this.directions.querySelectorAll<HTMLInputElement>('input')];
    const checked = boxes.filter((b) => b.checked).map((b) => b.value as Direction);
    state.filter = {
      directions: checked.length === boxes.length ? [] : checked,
      text: this.text.value,
      hex: this.hex.value,
      minSize: sizeValue(this.min),
      maxSize: sizeValue(this.max),
      events: this.events.checked,
      highlight: this.highlight.checked,
      ...(this.fields.value.trim() ? { fields: this.fields.value } : {}),
    };
    persist();
    return this.apply(state.filter);
  }
}
