/** The integrity check that runs ahead of the reader over a compressed file (see `IntegrityCheck`). */
import { decodeFile, describeError } from './decompress.js';
import type { InputFile } from './inputs.js';

/** Where a file is damaged: the compressed byte offset, why, and how many decompressed bytes before it are intact. */
export interface Damage {
  offset: number;
  reason: string;
  intactBytes: number;
  /** The file ends inside a member or frame: what was decoded of it is kept. */
  truncated?: boolean;
}

/**
 * A second decoder run ahead of the reader over a compressed file, discarding the data, so that the reader hands on
 * a record only once the member or frame holding it has passed its checks: a flipped bit is caught by the CRC or
 * checksum at the end of its member or frame, after its records were decoded. Costs a second decompression.
 */
export class IntegrityCheck {
  /** Decompressed bytes known intact. */
  private verified = 0;
  private finished = false;
  damage: Damage | undefined;
  private waiters: (() => void)[] = [];
  private stopped = false;

  private constructor() {}

  static start(input: InputFile): IntegrityCheck {
    const check = new IntegrityCheck();
    void check.run(input);
    return check;
  }

  private async run(input: InputFile): Promise<void> {
    let decoded = 0;
    try {
      for await (const piece of decodeFile(input)) {
        if (this.stopped) break;
        if (piece.kind === 'data') decoded += piece.data.length;
        else if (piece.kind === 'verified') {
          this.verified = decoded;
          this.wake();
        } else if (piece.kind === 'damaged') {
          if (piece.truncated) this.verified = decoded;
          this.damage = { offset: piece.offset, reason: piece.reason, intactBytes: this.verified };
          this.damage.truncated = piece.truncated === true;
          break;
        }
      }
    } catch (error) {
      this.damage = { offset: 0, reason: `cannot read: ${describeError(error)}`, intactBytes: this.verified };
    }
    this.finished = true;
    this.wake();
  }

  private wake(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }

  /** Whether the first `end` decompressed bytes are intact: waits for the check to get there (or to stop short). */
  async reach(end: number): Promise<boolean> {
    while (this.verified < end && !this.finished) await new Promise<void>((resolve) => this.waiters.push(resolve));
    return this.verified >= end;
  }

  stop(): void {
    this.stopped = true;
  }
}
