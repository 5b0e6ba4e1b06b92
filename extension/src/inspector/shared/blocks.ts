// Small messages copied into shared blocks of memory, for what keeps many of them (the capture). Pure.
//
// Why: a capture keeps up to 100,000 messages. Kept as they arrive, each is an ArrayBuffer of its own (the Node API
// hands every message out in memory of its own), and during a 100k-message flood the garbage collector's pauses over
// those buffers were the extension host's longest tasks (young-generation scavenges and mark-compacts of 50–200 ms on
// the 2-vCPU VM). Copied into blocks, a kept message is a view, and the buffers the API handed out die young.

/** Messages up to this size are copied into a block; larger ones are kept as they are (one copy would cost more). */
export const BLOCK_COPY_MAX_BYTES = 1024;
/** Bytes per block: 64 messages of the largest copied size, thousands of small ones. */
export const BLOCK_BYTES = 64 * 1024;

/**
 * Hands out copies of small messages as views into the current block, filled in arrival order; a new block starts
 * when the next copy does not fit. A block's memory is freed once no view into it is kept. A keeper that drops its
 * oldest messages first (the capture's retention ring) therefore holds at most the blocks of what it keeps plus part
 * of one block more at each end.
 */
export class BlockCopier {
  private block = new Uint8Array(0);
  private used = 0;

  constructor(
    private readonly blockBytes = BLOCK_BYTES,
    private readonly copyMaxBytes = BLOCK_COPY_MAX_BYTES,
  ) {
    if (!(copyMaxBytes >= 0 && blockBytes >= copyMaxBytes && blockBytes >= 1)) {
      throw new RangeError('a block must hold at least one copy of the largest size copied');
    }
  }

  /**
   * A copy of `bytes` in a shared block; a larger message is kept as it is when it fills its memory alone, else
   * copied into memory of its own (a view kept as it is would keep the larger buffer behind it alive).
   */
  keep(bytes: Uint8Array): Uint8Array {
    const length = bytes.byteLength;
    if (length > this.copyMaxBytes) {
      return bytes.byteOffset === 0 && length === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes);
    }
    if (this.used + length > this.block.byteLength) {
      this.block = new Uint8Array(this.blockBytes);
      this.used = 0;
    }
    const copy = this.block.subarray(this.used, this.used + length);
    copy.set(bytes);
    this.used += length;
    return copy;
  }
}
