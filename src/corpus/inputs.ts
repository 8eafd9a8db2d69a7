/**
 * Turning the command line's inputs (files, folders, globs) into the ordered list of input files the pipeline reads.
 * The order is part of the output's meaning (records come out in input order, shards and resumes count positions
 * in it), so it must be the same on every machine: arguments in the order given, folder and glob matches sorted.
 */
import { readdirSync, type Stats, statSync } from 'node:fs';
import { basename, join, relative, resolve, sep } from 'node:path';
import { InfopruneError } from '../errors.js';
import { invalidParameterError } from '../util/validate.js';

export type InputFormat = 'jsonl' | 'parquet' | 'text';
export type InputCompression = 'none' | 'gzip' | 'zstd';

export interface InputFile {
  /** The path as the record's `source` shows it: the argument, or the argument joined with the path found under it. */
  source: string;
  /**
   * The file's name relative to the argument it came from (its base name for a file argument), with `/` separators:
   * what shard assignment and `merge` compare, so that a corpus mounted at different paths on different machines
   * is still partitioned the same way.
   */
  key: string;
  format: InputFormat;
  compression: InputCompression;
  sizeBytes: number;
}

export interface ListInputsOptions {
  /** Force a format instead of telling it from the file name. Default `auto`. */
  format?: InputFormat | 'auto';
}

const COMPRESSION_SUFFIXES: Record<string, InputCompression> = { '.gz': 'gzip', '.zst': 'zstd', '.zstd': 'zstd' };
const FORMAT_SUFFIXES: Record<string, InputFormat> = {
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.json': 'jsonl',
  '.parquet': 'parquet',
  '.txt': 'text',
  '.text': 'text',
  '.md': 'text',
};

/** Compression and format from a file name (`a.jsonl.gz` → jsonl, gzip); format undefined when unknown. */
export function describeFileName(name: string): { format: InputFormat | undefined; compression: InputCompression } {
  let lower = name.toLowerCase();
  let compression: InputCompression = 'none';
  for (const [suffix, kind] of Object.entries(COMPRESSION_SUFFIXES)) {
    if (lower.endsWith(suffix)) {
      compression = kind;
      lower = lower.slice(0, -suffix.length);
      break;
    }
  }
  const dot = lower.lastIndexOf('.');
  const format = dot >= 0 ? FORMAT_SUFFIXES[lower.slice(dot)] : undefined;
  return { format, compression };
}

const GLOB_CHARACTERS = /[*?[\]{}]/;

/**
 * Expands the inputs. Throws (the run cannot start) when an argument matches nothing or names a file whose format
 * cannot be told; files that exist but cannot be read are not checked here: reading reports them per file.
 */
export function listInputs(args: readonly string[], options: ListInputsOptions = {}): InputFile[] {
  const forced = options.format && options.format !== 'auto' ? options.format : undefined;
  const files: InputFile[] = [];
  const seen = new Set<string>();
  const add = (path: string, key: string, stats: Stats, fromListing: boolean): void => {
    const absolute = resolve(path);
    if (seen.has(absolute)) return; // a file matched by two arguments is read once, at its first place
    const described = describeFileName(path);
    const format = forced ?? described.format;
    if (format === undefined) {
      if (fromListing) return; // folders and globs hold other files too (READMEs, checksums): only known formats
      throw new InfopruneError(
        'INPUT_UNSUPPORTED',
        (name) =>
          `Cannot tell the format of ${path} from its name: set ${name('format')} to jsonl, parquet or text ` +
          '(known names: .jsonl .ndjson .json .parquet .txt .text .md, optionally .gz or .zst)',
      );
    }
    if (format === 'parquet' && described.compression !== 'none') {
      throw new InfopruneError(
        'INPUT_UNSUPPORTED',
        `${path}: Parquet files compress their pages themselves; a compressed Parquet file is not supported`,
      );
    }
    seen.add(absolute);
    files.push({ source: path, key, format, compression: described.compression, sizeBytes: stats.size });
  };

  for (const arg of args) {
    if (typeof arg !== 'string' || arg.length === 0) throw invalidParameterError('input', 'non-empty string', arg);
    let stats: Stats | undefined;
    try {
      stats = statSync(arg);
    } catch {
      stats = undefined;
    }
    if (stats?.isFile()) {
      add(arg, basename(arg), stats, false);
    } else if (stats?.isDirectory()) {
      const found = walk(arg, () => true);
      for (const path of found) add(path, toKey(relative(arg, path)), statSync(path), true);
    } else if (stats === undefined && GLOB_CHARACTERS.test(arg)) {
      const base = globBase(arg);
      const rest = base === '.' && !arg.startsWith('.') ? arg : arg.slice(base.length).replace(/^[/\\]/, '');
      const pattern = globToRegExp(rest);
      const found = walk(base, (path) => pattern.test(toKey(relative(base, path))));
      if (found.length === 0) throw new InfopruneError('INPUT_NOT_FOUND', `No file matches ${arg}`);
      for (const path of found) add(path, toKey(relative(base, path)), statSync(path), true);
    } else if (stats === undefined) {
      throw new InfopruneError('INPUT_NOT_FOUND', `Input not found: ${arg}`);
    } else {
      throw new InfopruneError('INPUT_NOT_FOUND', `Input is neither a file nor a folder: ${arg}`);
    }
  }
  if (files.length === 0) {
    throw new InfopruneError('INPUT_NOT_FOUND', `No input file of a known format in ${args.join(', ')}`);
  }
  return files;
}

function toKey(path: string): string {
  return path.split(sep).join('/');
}

/** All regular files under a folder (recursively), sorted by path, hidden files and folders left out. */
function walk(folder: string, keep: (path: string) => boolean): string[] {
  const found: string[] = [];
  const visit = (dir: string): void => {
    const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) visit(path);
      else if ((entry.isFile() || (entry.isSymbolicLink() && statSync(path).isFile())) && keep(path)) found.push(path);
    }
  };
  visit(folder);
  return found;
}

/** The folder before the first path segment holding a glob character (`data/train/*.jsonl` → `data/train`). */
export function globBase(pattern: string): string {
  const segments = pattern.split(/[/\\]/);
  const fixed: string[] = [];
  for (const segment of segments) {
    if (GLOB_CHARACTERS.test(segment)) break;
    fixed.push(segment);
  }
  if (fixed.length === 0) return '.';
  const base = fixed.join('/');
  return base === '' ? '/' : base;
}

/**
 * A glob as a regular expression over `/`-separated relative paths: `*` and `?` stay within a segment, `**` spans
 * segments, `[abc]` and `{a,b}` as in the shell. Written here (a few lines) because Node 20 has no fs.glob.
 */
export function globToRegExp(glob: string): RegExp {
  let out = '';
  let braces = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') {
      if (glob[i + 1] === '*') {
        const slash = glob[i + 2] === '/';
        out += slash ? '(?:.*/)?' : '.*';
        i += slash ? 2 : 1;
      } else out += '[^/]*';
    } else if (c === '?') out += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) out += '\\[';
      else {
        const body = glob
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\');
        out += `[${body}]`;
        i = end;
      }
    } else if (c === '{') {
      braces++;
      out += '(?:';
    } else if (c === '}' && braces > 0) {
      braces--;
      out += ')';
    } else if (c === ',' && braces > 0) out += '|';
    else if (c === '\\' || c === '/') out += '/';
    else out += c.replace(/[.+^$()|]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}
