/**
 * Parquet rows as stored, for copying kept rows out bit for bit (prune): every leaf column read as its physical
 * values — bytes as bytes (never decoded as UTF-8), integers as integers, no time, date, decimal, JSON or UUID
 * conversion — and what tells whether a file's rows can be written back exactly: the columns no writer here can
 * store (INT96, VARIANT), and a digest per column of the rows, compared between what was meant to be written and
 * what the written file holds.
 */
import { createHash, type Hash } from 'node:crypto';
import type { AsyncBuffer, Compressors, FileMetaData, ParquetParsers, SchemaElement } from 'hyparquet';

const asStored = <T>(value: T): T => value;
/** hyparquet's conversions switched off: each parser hands back the stored value. */
const STORED_VALUES: ParquetParsers = {
  timestampFromMilliseconds: asStored,
  timestampFromMicroseconds: asStored,
  timestampFromNanoseconds: asStored,
  dateFromDays: asStored,
  stringFromBytes: asStored,
  jsonFromBytes: asStored,
  geometryFromBytes: asStored,
  geographyFromBytes: asStored,
  uuidFromBytes: asStored,
};

/**
 * The schema with its leaf columns' annotations (converted and logical types) removed, so that a reader returns
 * and a writer takes the physical values. Groups keep theirs: LIST and MAP decide how rows nest.
 */
export function physicalSchema(schema: readonly SchemaElement[]): SchemaElement[] {
  return schema.map((element) => {
    if (element.num_children) return element;
    const { converted_type: _converted, logical_type: _logical, ...physical } = element;
    return physical;
  });
}

/** The first column whose values cannot be written back exactly, and why; undefined when every one can. */
export function uncopyableColumn(schema: readonly SchemaElement[]): { column: string; why: string } | undefined {
  for (const element of schema.slice(1)) {
    if (element.type === 'INT96') {
      return { column: element.name, why: 'INT96 (legacy timestamp) values cannot be written by this version' };
    }
    if (element.logical_type?.type === 'VARIANT') {
      return { column: element.name, why: 'VARIANT columns cannot be written back exactly by this version' };
    }
  }
  return undefined;
}

/** Rows `rowStart` to `rowEnd` as stored (see the module comment). */
export async function readStoredRows(
  file: AsyncBuffer,
  metadata: FileMetaData,
  rowStart: number,
  rowEnd: number,
  compressors: Compressors,
): Promise<Record<string, unknown>[]> {
  const { parquetReadObjects } = await import('hyparquet');
  const physical = { ...metadata, schema: physicalSchema(metadata.schema) };
  return parquetReadObjects({
    file,
    metadata: physical,
    rowStart,
    rowEnd,
    compressors,
    utf8: false,
    parsers: STORED_VALUES,
  });
}

/** The digests of a Parquet file's rows as stored, row group by row group. */
export async function storedDigests(path: string, columns: readonly string[]): Promise<ColumnDigests> {
  const { asyncBufferFromFile, parquetMetadataAsync } = await import('hyparquet');
  const { compressors } = await import('hyparquet-compressors');
  const file = await asyncBufferFromFile(path);
  const metadata = await parquetMetadataAsync(file);
  const digests = new ColumnDigests(columns);
  let rowStart = 0;
  for (const group of metadata.row_groups) {
    const rowEnd = rowStart + Number(group.num_rows);
    for (const row of await readStoredRows(file, metadata, rowStart, rowEnd, compressors)) digests.add(row);
    rowStart = rowEnd;
  }
  return digests;
}

/** A digest per top-level column of stored rows, in order: equal digests, equal values (typed, byte for byte). */
export class ColumnDigests {
  private readonly hashes: Hash[];

  constructor(readonly columns: readonly string[]) {
    this.hashes = columns.map(() => createHash('sha256'));
  }

  add(row: Record<string, unknown>): void {
    for (let c = 0; c < this.columns.length; c++) feed(this.hashes[c], row[this.columns[c]]);
  }

  /** The first column whose digest differs from `other`'s. */
  differingColumn(other: ColumnDigests): string | undefined {
    const mine = this.hashes.map((hash) => hash.copy().digest('hex'));
    const theirs = other.hashes.map((hash) => hash.copy().digest('hex'));
    return this.columns.find((_, c) => mine[c] !== theirs[c]);
  }
}

const float = Buffer.alloc(8);

/** A value into a hash, tagged by type so that no two different values feed the same bytes. */
function feed(hash: Hash, value: unknown): void {
  if (value === null || value === undefined) hash.update('n');
  else if (value instanceof Uint8Array) hash.update(`b${value.length}:`).update(value);
  else if (typeof value === 'bigint') hash.update(`i${value};`);
  else if (typeof value === 'number') {
    float.writeDoubleLE(value);
    hash.update('f').update(float);
  } else if (typeof value === 'boolean') hash.update(value ? 'T' : 'F');
  else if (typeof value === 'string') hash.update(`s${Buffer.byteLength(value)}:`).update(value);
  else if (Array.isArray(value) || ArrayBuffer.isView(value)) {
    const items = value as ArrayLike<unknown>;
    hash.update(`a${items.length}[`);
    for (let i = 0; i < items.length; i++) feed(hash, items[i]);
  } else if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    hash.update(`o${entries.length}{`);
    for (const [key, item] of entries) {
      hash.update(`${key.length}:${key}`);
      feed(hash, item);
    }
  } else hash.update(`?${String(value)};`);
}
