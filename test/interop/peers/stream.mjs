// The interoperability matrix's message streams (see stream.h: the same bytes in every language).
export class Stream {
  constructor(seed, max, noNewline) {
    this.x = (Math.imul(seed, 2654435761) + 1) >>> 0 || 1;
    this.max = max;
    this.small = Math.min(max, 2048);
    this.poolSize = max + 1024;
    this.pool = Buffer.alloc(this.poolSize);
    for (let i = 0; i < this.poolSize; i++) {
      const b = this.next() & 0xff;
      this.pool[i] = noNewline && b === 0x0a ? 0x0b : b;
    }
  }

  next() {
    let x = this.x;
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    this.x = x;
    return x;
  }

  /** The next message (a view into the pool: copy it before changing it). */
  message() {
    const r = this.next();
    const size = r % 32 === 0 ? this.next() % (this.max + 1) : this.next() % (this.small + 1);
    const offset = this.next() % (this.poolSize - size + 1);
    return this.pool.subarray(offset, offset + size);
  }
}
