// The list's Fields column: decoded fields the user picked in the field tree, shown as `path=value` for every row
// (the host decodes the rows it sends). Kept in the page state; asked for again when the schema (re)loads.
import { MAX_PLOTTED_FIELDS } from '../shared/protocol';
import { host } from './host';
import { $ } from './markup';
import { persist, state } from './state';

export class FieldColumns {
  get shown(): readonly string[] {
    return state.columnPaths ?? [];
  }

  toggle(path: string): void {
    const current = this.shown;
    void this.set(current.includes(path) ? current.filter((p) => p !== path) : [...current, path].slice(-MAX_PLOTTED_FIELDS));
  }

  /** Asks the host to add these fields to the rows (none: no column). */
  async set(paths: readonly string[]): Promise<void> {
    state.columnPaths = [...paths];
    persist();
    const reply = await host.request({ type: 'columns', paths: [...paths] });
    const showing = paths.length > 0 && reply.error === undefined;
    document.querySelector('.list')?.classList.toggle('with-fields', showing);
    $('fieldsHeader').textContent = showing ? 'Fields' : '';
  }
}
