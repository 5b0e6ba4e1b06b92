// The schema parsers read files as they meet them (#include "...", protobuf imports) through a synchronous
// TextReader: they stay pure and synchronous (the CLI and the tests use them as they are). The extension host must
// not read a file synchronously on its main thread (issue #10: it never blocks), so it runs them through
// withFilesReadAhead: every file is read asynchronously before a parse that needs it.
import type { TextReader } from './mapping';
import { SchemaError } from './types';

/** Reads a file's text asynchronously, or undefined when it does not exist or cannot be read. */
export type AsyncTextReader = (path: string) => Promise<string | undefined>;

/**
 * More rounds than any real tree of headers needs (a round per level of #include): a bound, so a reader that keeps
 * naming new files cannot keep the parse going for ever.
 */
export const MAX_READ_AHEAD_ROUNDS = 64;

/**
 * Runs `parse` (which reads files through the TextReader it is given) with every file it reads read before,
 * asynchronously. A round that asks for a file not read yet gets '' for it, so the same round goes on and names
 * the other files it needs (the siblings of a missing #include); those are read (concurrently) and the parse runs
 * again. Only a round that asked for nothing new counts: its result or its error is the answer. Files that cannot
 * be read are undefined to the parser, as with a synchronous reader. The parse is pure and cheap next to a read,
 * so a round per level of nested includes costs little.
 */
export async function withFilesReadAhead<T>(parse: (read: TextReader) => T, readAsync: AsyncTextReader): Promise<T> {
  const files = new Map<string, string | undefined>();
  for (let round = 1; ; round++) {
    const missing = new Set<string>();
    const read: TextReader = (path) => {
      if (files.has(path)) return files.get(path);
      missing.add(path);
      return '';
    };
    let outcome: { value: T } | { error: unknown };
    try {
      outcome = { value: parse(read) };
    } catch (error) {
      outcome = { error };
    }
    if (missing.size === 0) {
      if ('error' in outcome) throw outcome.error;
      return outcome.value;
    }
    if (round === MAX_READ_AHEAD_ROUNDS) {
      throw new SchemaError('INCLUDE', `the schema still named files not read yet after ${round} rounds of reading ahead: ${[...missing].join(', ')}`);
    }
    const texts = await Promise.all([...missing].map((path) => readAsync(path)));
    [...missing].forEach((path, i) => files.set(path, texts[i]));
  }
}
