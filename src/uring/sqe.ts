/**
 * Writing SQEs straight into the mapped SQE array. Fields are written as
 * 32-bit words (ABI layout of struct io_uring_sqe, 64 bytes):
 *   w0 opcode | flags<<8 | ioprio<<16   w1 fd         w2-3 off/addr2
 *   w4-5 addr/splice_off_in             w6 len        w7 op flags
 *   w8-9 user_data                      w10 buf_index | personality<<16
 *   w11 splice_fd_in/file_index/addr_len w12-13 addr3  w14-15 pad
 */

const TWO32 = 4294967296;

/** Low and high 32 bits of a (possibly negative) integer below 2^53. */
export function lo32(x: number): number {
  return x >>> 0;
}
export function hi32(x: number): number {
  return Math.floor(x / TWO32) >>> 0;
}

/** The plain fields of one SQE, as a submission describes them. */
export interface SqeFields {
  opcode: number;
  flags: number;
  ioprio: number;
  fd: number;
  off: number;
  addr: number;
  len: number;
  opFlags: number;
  bufIndex: number;
  personality: number;
  spliceFdIn: number;
  addr3: number;
}

/** A cursor on one SQE of the mapped array. */
export class SqeWriter {
  /** word index of the current SQE */
  base = 0;
  constructor(readonly w: Uint32Array, readonly words: number) {}

  at(index: number): this {
    this.base = index * this.words;
    return this;
  }

  /** Writes every field (and zeroes the rest) from a description. */
  fill(f: SqeFields): void {
    const w = this.w;
    const b = this.base;
    w[b] = (f.opcode & 0xff) | ((f.flags & 0xff) << 8) | ((f.ioprio & 0xffff) << 16);
    w[b + 1] = f.fd;
    w[b + 2] = lo32(f.off);
    w[b + 3] = hi32(f.off);
    w[b + 4] = lo32(f.addr);
    w[b + 5] = hi32(f.addr);
    w[b + 6] = f.len;
    w[b + 7] = f.opFlags;
    w[b + 10] = (f.bufIndex & 0xffff) | ((f.personality & 0xffff) << 16);
    w[b + 11] = f.spliceFdIn;
    w[b + 12] = lo32(f.addr3);
    w[b + 13] = hi32(f.addr3);
    w[b + 14] = 0;
    w[b + 15] = 0;
  }

  /** For custom submissions: the common five fields, the rest zeroed. */
  prep(opcode: number, fd: number, addr: number, len: number, off: number): void {
    const w = this.w;
    const b = this.base;
    w[b] = opcode & 0xff;
    w[b + 1] = fd;
    w[b + 2] = lo32(off);
    w[b + 3] = hi32(off);
    w[b + 4] = lo32(addr);
    w[b + 5] = hi32(addr);
    w[b + 6] = len;
    for (let i = 7; i < 16; i++) if (i !== 8 && i !== 9) w[b + i] = 0;
  }

  get opcode(): number {
    return this.w[this.base]! & 0xff;
  }
  get flags(): number {
    return (this.w[this.base]! >>> 8) & 0xff;
  }
  set flags(v: number) {
    const b = this.base;
    this.w[b] = (this.w[b]! & 0xffff00ff) | ((v & 0xff) << 8);
  }
  set ioprio(v: number) {
    const b = this.base;
    this.w[b] = (this.w[b]! & 0x0000ffff) | ((v & 0xffff) << 16);
  }
  set opFlags(v: number) {
    this.w[this.base + 7] = v;
  }
  get opFlags(): number {
    return this.w[this.base + 7]!;
  }
  set bufIndex(v: number) {
    const i = this.base + 10;
    this.w[i] = (this.w[i]! & 0xffff0000) | (v & 0xffff);
  }
  set personality(v: number) {
    const i = this.base + 10;
    this.w[i] = (this.w[i]! & 0x0000ffff) | ((v & 0xffff) << 16);
  }
  set spliceFdIn(v: number) {
    this.w[this.base + 11] = v;
  }
  set addr3(v: number) {
    this.w[this.base + 12] = lo32(v);
    this.w[this.base + 13] = hi32(v);
  }
  setUserData(lo: number, hi: number): void {
    this.w[this.base + 8] = lo;
    this.w[this.base + 9] = hi;
  }
}
