/**
 * XXH64 (seed 0), streamed: the content checksum of zstd frames (its low 32 bits). 64-bit arithmetic on pairs of
 * 32-bit halves, exact in doubles (products are split into 16-bit limbs), because BigInt would be ~20x slower and
 * every byte of a .zst corpus goes through here. Checked against zstd's own checksums in the tests.
 */

// The primes as [high, low] halves.
const P1 = [0x9e3779b1, 0x85ebca87] as const;
const P2 = [0xc2b2ae3d, 0x27d4eb4f] as const;
const P3 = [0x165667b1, 0x9e3779f9] as const;
const P4 = [0x85ebca77, 0xc2b2ae63] as const;
const P5 = [0x27d4eb2f, 0x165667c5] as const;

/** The result of the last operation: high and low halves (module-level, so no pair is allocated per operation). */
let hi = 0;
let lo = 0;

function add(aHi: number, aLo: number, bHi: number, bLo: number): void {
  const low = aLo + bLo;
  lo = low >>> 0;
  hi = (aHi + bHi + (low > 0xffffffff ? 1 : 0)) >>> 0;
}

function multiply(aHi: number, aLo: number, bHi: number, bLo: number): void {
  // The high half of aLo·bLo from 16-bit limbs (every partial product below 2^32, so the shifts are exact).
  const a0 = aLo & 0xffff;
  const a1 = aLo >>> 16;
  const b0 = bLo & 0xffff;
  const b1 = bLo >>> 16;
  const m1 = a1 * b0;
  const m2 = a0 * b1;
  const carry = (((a0 * b0) >>> 16) + (m1 & 0xffff) + (m2 & 0xffff)) >>> 16;
  hi = (a1 * b1 + (m1 >>> 16) + (m2 >>> 16) + carry + Math.imul(aHi, bLo) + Math.imul(aLo, bHi)) >>> 0;
  lo = Math.imul(aLo, bLo) >>> 0;
}

function rotateLeft(aHi: number, aLo: number, bits: number): void {
  if (bits >= 32) {
    const swap = aHi;
    aHi = aLo;
    aLo = swap;
    bits -= 32;
  }
  if (bits === 0) {
    hi = aHi;
    lo = aLo;
    return;
  }
  hi = ((aHi << bits) | (aLo >>> (32 - bits))) >>> 0;
  lo = ((aLo << bits) | (aHi >>> (32 - bits))) >>> 0;
}

/** round(acc, input) = rotl(acc + input·P2, 31)·P1, into hi/lo. */
function round(accHi: number, accLo: number, inHi: number, inLo: number): void {
  multiply(inHi, inLo, P2[0], P2[1]);
  add(accHi, accLo, hi, lo);
  rotateLeft(hi, lo, 31);
  multiply(hi, lo, P1[0], P1[1]);
}

export class Xxh64 {
  /** The four lanes' accumulators, [hi, lo] each. */
  private readonly lanes = new Uint32Array(8);
  /** Bytes of a stripe not yet complete. */
  private readonly partial = new Uint8Array(32);
  private partialLength = 0;
  private total = 0;

  constructor() {
    add(P1[0], P1[1], P2[0], P2[1]);
    this.lanes.set([hi, lo, P2[0], P2[1], 0, 0]);
    add(0, 0, ~P1[0] >>> 0, ~P1[1] >>> 0); // -P1 = ~P1 + 1
    add(hi, lo, 0, 1);
    this.lanes[6] = hi;
    this.lanes[7] = lo;
  }

  update(data: Uint8Array): void {
    this.total += data.length;
    let at = 0;
    if (this.partialLength > 0) {
      const take = Math.min(32 - this.partialLength, data.length);
      this.partial.set(data.subarray(0, take), this.partialLength);
      this.partialLength += take;
      at = take;
      if (this.partialLength < 32) return;
      this.stripes(this.partial, 0, 32);
      this.partialLength = 0;
    }
    const whole = at + Math.floor((data.length - at) / 32) * 32;
    this.stripes(data, at, whole);
    at = whole;
    this.partial.set(data.subarray(at), 0);
    this.partialLength = data.length - at;
  }

  /** The 32-byte stripes of data[at, end): round(lane, input) for each lane, inlined (this is the hot loop). */
  private stripes(data: Uint8Array, at: number, end: number): void {
    const lanes = this.lanes;
    const p2Lo = P2[1];
    const p2Hi = P2[0];
    const p20 = p2Lo & 0xffff;
    const p21 = p2Lo >>> 16;
    const p1Lo = P1[1];
    const p1Hi = P1[0];
    const p10 = p1Lo & 0xffff;
    const p11 = p1Lo >>> 16;
    for (let p = at; p + 32 <= end; p += 32) {
      for (let lane = 0; lane < 4; lane++) {
        const q = p + lane * 8;
        const inLo = (data[q] | (data[q + 1] << 8) | (data[q + 2] << 16) | (data[q + 3] << 24)) >>> 0;
        const inHi = (data[q + 4] | (data[q + 5] << 8) | (data[q + 6] << 16) | (data[q + 7] << 24)) >>> 0;
        // x = input · P2
        let a0 = inLo & 0xffff;
        let a1 = inLo >>> 16;
        let m1 = a1 * p20;
        let m2 = a0 * p21;
        let carry = (((a0 * p20) >>> 16) + (m1 & 0xffff) + (m2 & 0xffff)) >>> 16;
        const xHi =
          (a1 * p21 + (m1 >>> 16) + (m2 >>> 16) + carry + Math.imul(inHi, p2Lo) + Math.imul(inLo, p2Hi)) >>> 0;
        const xLo = Math.imul(inLo, p2Lo) >>> 0;
        // s = lane + x
        const sum = lanes[lane * 2 + 1] + xLo;
        const sLo = sum >>> 0;
        const sHi = (lanes[lane * 2] + xHi + (sum > 0xffffffff ? 1 : 0)) >>> 0;
        // r = rotl(s, 31)
        const rHi = ((sHi << 31) | (sLo >>> 1)) >>> 0;
        const rLo = ((sLo << 31) | (sHi >>> 1)) >>> 0;
        // lane = r · P1
        a0 = rLo & 0xffff;
        a1 = rLo >>> 16;
        m1 = a1 * p10;
        m2 = a0 * p11;
        carry = (((a0 * p10) >>> 16) + (m1 & 0xffff) + (m2 & 0xffff)) >>> 16;
        lanes[lane * 2] =
          (a1 * p11 + (m1 >>> 16) + (m2 >>> 16) + carry + Math.imul(rHi, p1Lo) + Math.imul(rLo, p1Hi)) >>> 0;
        lanes[lane * 2 + 1] = Math.imul(rLo, p1Lo) >>> 0;
      }
    }
  }

  /** The low 32 bits of the digest (what a zstd frame stores). */
  digestLow32(): number {
    return Number(this.digest() & 0xffffffffn);
  }

  /** The 64-bit digest of everything added so far. */
  digest(): bigint {
    const lanes = this.lanes;
    let hHi: number;
    let hLo: number;
    if (this.total >= 32) {
      rotateLeft(lanes[0], lanes[1], 1);
      let sHi = hi;
      let sLo = lo;
      for (const [lane, bits] of [
        [1, 7],
        [2, 12],
        [3, 18],
      ]) {
        rotateLeft(lanes[lane * 2], lanes[lane * 2 + 1], bits);
        add(sHi, sLo, hi, lo);
        sHi = hi;
        sLo = lo;
      }
      for (let lane = 0; lane < 4; lane++) {
        // mergeRound(acc, v) = (acc ^ round(0, v))·P1 + P4
        round(0, 0, lanes[lane * 2], lanes[lane * 2 + 1]);
        multiply((sHi ^ hi) >>> 0, (sLo ^ lo) >>> 0, P1[0], P1[1]);
        add(hi, lo, P4[0], P4[1]);
        sHi = hi;
        sLo = lo;
      }
      hHi = sHi;
      hLo = sLo;
    } else {
      hHi = P5[0];
      hLo = P5[1];
    }
    add(hHi, hLo, Math.floor(this.total / 4294967296), this.total >>> 0);
    return finish(hi, lo, this.partial.subarray(0, this.partialLength));
  }
}

/** The tail (fewer than 32 bytes) and the avalanche. */
function finish(startHi: number, startLo: number, tail: Uint8Array): bigint {
  let hHi = startHi;
  let hLo = startLo;
  let p = 0;
  const u32 = (at: number): number =>
    (tail[at] | (tail[at + 1] << 8) | (tail[at + 2] << 16) | (tail[at + 3] << 24)) >>> 0;
  for (; p + 8 <= tail.length; p += 8) {
    round(0, 0, u32(p + 4), u32(p));
    rotateLeft((hHi ^ hi) >>> 0, (hLo ^ lo) >>> 0, 27);
    multiply(hi, lo, P1[0], P1[1]);
    add(hi, lo, P4[0], P4[1]);
    hHi = hi;
    hLo = lo;
  }
  if (p + 4 <= tail.length) {
    multiply(0, u32(p), P1[0], P1[1]);
    rotateLeft((hHi ^ hi) >>> 0, (hLo ^ lo) >>> 0, 23);
    multiply(hi, lo, P2[0], P2[1]);
    add(hi, lo, P3[0], P3[1]);
    hHi = hi;
    hLo = lo;
    p += 4;
  }
  for (; p < tail.length; p++) {
    multiply(0, tail[p], P5[0], P5[1]);
    rotateLeft((hHi ^ hi) >>> 0, (hLo ^ lo) >>> 0, 11);
    multiply(hi, lo, P1[0], P1[1]);
    hHi = hi;
    hLo = lo;
  }
  // Avalanche: h ^= h >> 33; h *= P2; h ^= h >> 29; h *= P3; h ^= h >> 32.
  hLo = (hLo ^ (hHi >>> 1)) >>> 0;
  multiply(hHi, hLo, P2[0], P2[1]);
  hHi = hi;
  hLo = (lo ^ (((hi << 3) | (lo >>> 29)) >>> 0)) >>> 0;
  hHi = (hi ^ (hi >>> 29)) >>> 0;
  multiply(hHi, hLo, P3[0], P3[1]);
  hHi = hi;
  hLo = (lo ^ hi) >>> 0;
  return (BigInt(hHi) << 32n) | BigInt(hLo);
}
