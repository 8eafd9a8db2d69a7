/**
 * Turning the command line's inputs (files, folders, globs) into the ordered list of input files the pipeline reads.
 * The order is part of the output's meaning (records come out in input order, shards and resumes count positions
 * in it), so it must be the same on every machine: arguments in the order given, folder and glob matches sorted.
 */
import { existsSync, readdirSync, type Stats, statSync } from 'node:fs';
import { basename, join, relative, resolve, sep } from 'node:path';
import picomatch from 'picomatch';
import { InfopruneError } from '../errors.js';
import { invalidParameterError } from '../util/validate.js';
import { STDIN_ARGUMENT, spooledStdin } from './stdin.js';

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
  /** Modification time when listed (a resume refuses an input changed since its run started). */
  modifiedMs: number;
  /** The file to open when it is not `source`: standard input (`-`) spooled to a temporary file (src/corpus/stdin.ts). */
  path?: string;
}

export interface ListInputsOptions {
  /** Force a format instead of telling it from the file name. Default `auto`. */
  format?: InputFormat | 'auto';
  /** Told about each file a folder or glob holds that is not read (unknown or unsupported format), with why. */
  onSkipped?: (skipped: SkippedInput) => void;
}

/** A file found in a folder or glob that is not read. */
export interface SkippedInput {
  path: string;
  reason: string;
}

const COMPRESSION_SUFFIXES: Record<string, InputCompression> = { '.gz': 'gzip', '.zst': 'zstd', '.zstd': 'zstd' };
const FORMAT_SUFFIXES: Record<string, InputFormat> = {
  '.jsonl': 'jsonl',
  '.jsonlines': 'jsonl',
  '.ndjson': 'jsonl',
  '.json': 'jsonl',
  '.parquet': 'parquet',
  '.txt': 'text',
  '.text': 'text',
  '.md': 'text',
};

/** Compressions infoprune recognises but does not read (Node has no decoder for them). */
const UNREAD_COMPRESSIONS: Record<string, string> = {
  '.xz': 'xz -d',
  '.lzma': 'xz -d',
  '.bz2': 'bzip2 -d',
  '.lz4': 'lz4 -d',
  '.br': 'brotli -d',
  '.zip': 'unzip',
  '.7z': '7z x',
  '.tar': 'tar -x',
  '.tgz': 'tar -xz',
};

/** Why a file of this name is not read: its compression is not supported, or its format is unknown. */
export function unreadReason(name: string): string {
  const lower = name.toLowerCase();
  const dot = lower.lastIndexOf('.');
  const extension = dot >= 0 ? lower.slice(dot) : '';
  const decompress = UNREAD_COMPRESSIONS[extension];
  if (decompress) {
    return `not read: ${extension.slice(1)} files are not supported (decompress it with ${decompress}, or recompress it with gzip or zstd)`;
  }
  return `not read: unknown format${extension ? ` (${extension})` : ' (no extension)'}; known names: ${KNOWN_NAMES}`;
}

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

const KNOWN_NAMES = `${Object.keys(FORMAT_SUFFIXES).join(' ')}, optionally .gz or .zst`;

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
      // Folders and globs hold other files too (READMEs, checksums): those are left out, and each is reported.
      if (fromListing) {
        options.onSkipped?.({ path, reason: unreadReason(path) });
        return;
      }
      throw new InfopruneError(
        'INPUT_UNSUPPORTED',
        (name) =>
          `Cannot tell the format of ${path} from its name: set ${name('format')} to jsonl, parquet or text ` +
          `(known names: ${KNOWN_NAMES})`,
      );
    }
    if (format === 'parquet' && described.compression !== 'none') {
      throw new InfopruneError(
        'INPUT_UNSUPPORTED',
        `${path}: Parquet files compress their pages themselves; a compressed Parquet file is not supported`,
      );
    }
    seen.add(absolute);
    files.push({
      source: path,
      key,
      format,
      compression: described.compression,
      sizeBytes: stats.size,
      modifiedMs: stats.mtimeMs,
    });
  };

  for (const arg of args) {
    if (typeof arg !== 'string' || arg.length === 0) throw invalidParameterError('input', 'non-empty string', arg);
    if (arg === STDIN_ARGUMENT) {
      files.push(stdinInput(forced, seen));
      continue;
    }
    let stats: Stats | undefined;
    try {
      stats = statSync(arg);
    } catch {
      stats = undefined;
    }
    if (stats?.isFile()) {
      add(arg, basename(arg), stats, false);
    } else if (stats?.isDirectory()) {
      const found = walk(arg, () => true, options.onSkipped);
      for (const path of found) add(path, toKey(relative(arg, path)), statSync(path), true);
    } else if (stats === undefined && isGlob(arg)) {
      const { base, matches } = parseGlob(arg);
      const matching = (path: string) => matches(toKey(relative(base, path)));
      const found = existsSync(base) ? walk(base, matching, options.onSkipped) : [];
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

/** `-`: standard input, as the CLI spooled it (a file named `-` is `./-`). */
function stdinInput(forced: InputFormat | undefined, seen: Set<string>): InputFile {
  const spooled = spooledStdin();
  if (spooled === undefined) {
    throw new InfopruneError(
      'INPUT_NOT_FOUND',
      'Input - (standard input) is read by the command line only: pass files to the library (or ./- for a file named -)',
    );
  }
  if (seen.has(spooled.path)) throw invalidParameterError('input', 'standard input (-) once', STDIN_ARGUMENT);
  seen.add(spooled.path);
  const { path, compression, sizeBytes } = spooled;
  return {
    source: STDIN_ARGUMENT,
    key: STDIN_ARGUMENT,
    format: forced ?? spooled.format,
    compression,
    sizeBytes,
    modifiedMs: statSync(path).mtimeMs,
    path,
  };
}

function toKey(path: string): string {
  return path.split(sep).join('/');
}

/**
 * All regular files under a folder (recursively), sorted by path, hidden files and folders left out. Kept entries
 * that are not regular files (FIFOs, sockets, devices: reading one could block forever) or are broken links go to
 * `onSkipped`, with why.
 */
function walk(folder: string, keep: (path: string) => boolean, onSkipped?: (skipped: SkippedInput) => void): string[] {
  const found: string[] = [];
  const visit = (dir: string): void => {
    const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) visit(path);
      else if (keep(path)) {
        const target = entry.isSymbolicLink() ? statSync(path, { throwIfNoEntry: false }) : entry;
        if (target?.isFile()) found.push(path);
        else if (!target?.isDirectory()) {
          onSkipped?.({ path, reason: target ? 'not read: not a regular file' : 'not read: a broken symbolic link' });
        }
      }
    }
  };
  visit(folder);
  return found;
}

/**
 * A glob as its fixed folder and a matcher of paths relative to it (`data/train-*.jsonl` → `data` and
 * `train-*.jsonl`), through picomatch: `*` and `?` stay within a segment, `**` spans segments, `[abc]`, `{a,b}`
 * and extglobs (`!(x)`, `@(a|b)`) as in bash. The matches are found by the sorted folder walk, which leaves hidden files out.
 */
export function parseGlob(pattern: string): { base: string; matches: (relativePath: string) => boolean } {
  const scanned = picomatch.scan(portable(pattern));
  const base = scanned.base === '' ? '.' : scanned.base;
  return { base, matches: picomatch(scanned.glob, { dot: false }) };
}

/** Whether an argument is a glob pattern rather than a path. */
export function isGlob(argument: string): boolean {
  return picomatch.scan(portable(argument)).isGlob;
}

/** On Windows a backslash separates folders; elsewhere it escapes a glob character, as in the shell. */
function portable(pattern: string): string {
  return sep === '\\' ? pattern.replace(/\\/g, '/') : pattern;
}
