// The statistics footer (per direction: counts, rates, queue fill; the pids; what the panel keeps), the state badge
// and the "oldest messages dropped" notice.
import { formatBytes } from '../../format';
import { directionLabel, isOutbound } from '../shared/model';
import type { StatsSnapshot } from '../shared/protocol';
import { peersText } from '../shared/stats';
import { directionIcon } from './format';
import { $ } from './markup';

export class StatsBar {
  private maxMessages: number | undefined;

  render(stats: StatsSnapshot): void {
    this.maxMessages = stats.maxMessages;
    const footer = $('stats');
    footer.textContent = '';
    const add = (className: string, icon: string | undefined, text: string): void => {
      const span = document.createElement('span');
      span.className = className;
      if (icon) {
        const i = document.createElement('span');
        i.className = `codicon ${icon}`;
        span.append(i, ' ');
      }
      span.append(text);
      footer.appendChild(span);
    };
    for (const d of stats.directions) {
      const queue = d.capacity !== undefined ? ` · queue ${d.queued ?? 0}/${d.capacity}` : '';
      add(`stat ${isOutbound(d.direction) ? 'out' : 'in'}`, directionIcon(d.direction),
        `${directionLabel(d.direction)}: ${d.messages.toLocaleString()} msgs, ${formatBytes(d.bytes)} · ${d.messagesPerSecond.toFixed(0)} msg/s, ${formatBytes(Math.round(d.bytesPerSecond))}/s${queue}`);
    }
    // "server 4242 node · paused in debugger": the holder's name, and why it is silent when it is halted; an opened
    // file names itself instead.
    add(stats.halted ? 'stat halted' : 'stat', stats.halted ? 'codicon-debug-pause' : stats.file ? 'codicon-file' : 'codicon-server-process',
      peersText(stats));
    add('stat', 'codicon-list-flat', `kept ${stats.retained.toLocaleString()}/${stats.maxMessages.toLocaleString()} (${formatBytes(stats.retainedBytes)})${stats.dropped > 0 ? `, dropped ${stats.dropped.toLocaleString()}` : ''}`);
    const stateBadge = $('state');
    // A halted peer is why nothing moves: the badge says so rather than "connected".
    stateBadge.textContent = stats.halted ?? stats.state;
    stateBadge.className = stats.halted ? 'badge state-halted' : `badge state-${stats.state}`;
    this.showDropped(stats.dropped);
  }

  /** Says how many of the oldest messages the retention limit dropped (hidden when none). */
  showDropped(dropped: number): void {
    const box = $('dropped');
    box.hidden = dropped === 0;
    if (dropped > 0) {
      const limit = this.maxMessages !== undefined ? ` to keep the last ${this.maxMessages.toLocaleString()}` : '';
      $('droppedText').textContent = `${dropped.toLocaleString()} oldest messages dropped${limit} (setting sipc.inspector.retainedMessages).`;
    }
  }
}
