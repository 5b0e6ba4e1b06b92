import type { ChannelInfo, ChannelState, Role } from './api';

/** 65536 -> "64 KiB", 1536 -> "1.5 KiB", 12 -> "12 bytes". */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} ${bytes === 1 ? 'byte' : 'bytes'}`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = -1;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const text = Number.isInteger(value) ? String(value) : value.toFixed(1).replace(/\.0$/, '');
  return `${text} ${units[unit]}`;
}

/**
 * Parses a size as people type it: "65536", "64k", "64 KiB", "1M", "1.5MB". Units are binary (k = 1024).
 * Returns undefined for anything else, including fractions of a byte.
 */
export function parseSize(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(?:(k|m|g)(?:i?b)?|b|bytes?)?\s*$/i.exec(text);
  if (!match) return undefined;
  const scale = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(match[2] ?? '').toLowerCase() as 'k' | 'm' | 'g'] ?? 1;
  const value = Number(match[1]) * scale;
  return Number.isSafeInteger(value) ? value : undefined;
}

export function describeRole(role: Role): string {
  return role === 'server' ? 'server' : 'client';
}

/** How this window sees its own connection, e.g. "waiting for a client". */
export function describeConnectionState(state: ChannelState, role: Role): string {
  switch (state) {
    case 'waiting':
      return role === 'server' ? 'waiting for a client' : 'waiting for the server';
    case 'connected':
      return 'connected';
    case 'peer-gone':
      return role === 'server' ? 'client gone, waiting for the next' : 'server gone';
    case 'closed':
      return 'closed';
  }
}

/** How the channel looks from outside, for the channels view. */
export function describeChannelState(state: ChannelInfo['state']): string {
  switch (state) {
    case 'waiting':
      return 'waiting for a client';
    case 'connected':
      return 'connected';
    case 'peer-gone':
      return 'peer gone';
    case 'stale':
      return 'stale (nobody attached)';
    case 'empty':
      return 'being created';
  }
}

/**
 * "created <local date and time>", or what is known when the segment holds no creation time (its creator died
 * before initialising it, or is still at it): never the 1970 epoch that a zero would give.
 */
export function describeCreated(created: Date | undefined): string {
  return created ? `created ${created.toLocaleString()}` : 'creation time unknown (never initialised)';
}
