/**
 * The layout's rules, checked so they cannot regress: files and functions stay readable, imports point one way
 * (each folder imports only from folders below it; `pipeline` (score) and `select` (prune) side by side, neither
 * importing the other), and the package entry stays small.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');

const MAX_FILE_LINES = 450;
const MAX_FUNCTION_LINES = 80;
const MAX_ENTRY_KEYS = 30;

/** Each folder of src/ (or top-level file) and its layer: a module imports only from lower layers or its own folder. */
const LAYERS: Record<string, number> = {
  util: 0,
  'errors.ts': 0,
  text: 1,
  gguf: 1,
  engine: 2,
  corpus: 2,
  scores: 3,
  train: 3,
  pipeline: 4,
  select: 4,
  experiment: 5,
  cli: 6,
  'index.ts': 7,
  'testing.ts': 7,
};

function sourceFiles(folder: string): string[] {
  return readdirSync(folder).flatMap((name) => {
    const path = join(folder, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

function parse(path: string): ts.SourceFile {
  return ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
}

function lineCount(text: string): number {
  return text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
}

/** The folder (or top-level file) of src/ a path belongs to. */
function areaOf(path: string): string {
  return relative(src, path).split(/[/\\]/)[0].replace(/\.js$/, '.ts');
}

const files = sourceFiles(src);

/** The files of src/ a file imports (type-only imports included). */
function localImports(path: string): string[] {
  return parse(path)
    .statements.filter((statement) => ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement))
    .map((statement) => (statement as ts.ImportDeclaration | ts.ExportDeclaration).moduleSpecifier)
    .filter((specifier): specifier is ts.StringLiteral => specifier !== undefined && ts.isStringLiteral(specifier))
    .filter((specifier) => specifier.text.startsWith('.'))
    .map((specifier) => resolve(dirname(path), specifier.text).replace(/\.js$/, '.ts'));
}

describe('layout', () => {
  it(`keeps every file under src/ within ${MAX_FILE_LINES} lines`, () => {
    const long = files
      .map((path) => ({ path: relative(root, path), lines: lineCount(readFileSync(path, 'utf8')) }))
      .filter((file) => file.lines > MAX_FILE_LINES);
    expect(long).toEqual([]);
  });

  it(`keeps every function under src/ within ${MAX_FUNCTION_LINES} lines`, () => {
    const long: string[] = [];
    for (const path of files) {
      const source = parse(path);
      const visit = (node: ts.Node): void => {
        if (ts.isFunctionLike(node) && 'body' in node && node.body) {
          const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
          const last = source.getLineAndCharacterOfPosition(node.end).line;
          if (last - first + 1 > MAX_FUNCTION_LINES) {
            const name = node.name?.getText(source) ?? '(anonymous)';
            long.push(`${relative(root, path)}:${first + 1} ${name} (${last - first + 1} lines)`);
          }
        }
        ts.forEachChild(node, visit);
      };
      visit(source);
    }
    expect(long).toEqual([]);
  });

  it('imports point down the layers: score (pipeline) and prune (select) side by side', () => {
    const wrong: string[] = [];
    for (const path of files) {
      const from = areaOf(path);
      expect(LAYERS[from], `${relative(root, path)} is in no layer`).toBeDefined();
      for (const statement of parse(path).statements) {
        if (!ts.isImportDeclaration(statement) && !ts.isExportDeclaration(statement)) continue;
        const specifier = statement.moduleSpecifier;
        if (!specifier || !ts.isStringLiteral(specifier) || !specifier.text.startsWith('.')) continue;
        const to = areaOf(resolve(dirname(path), specifier.text));
        const allowed = to === from || LAYERS[to] < LAYERS[from] || (LAYERS[to] === 0 && LAYERS[from] === 0);
        if (!allowed) wrong.push(`${relative(root, path)} imports ${specifier.text}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('has no import cycle between files', () => {
    const imports = new Map(files.map((path) => [path, localImports(path)]));
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (path: string, stack: string[]): void => {
      state.set(path, 'open');
      for (const next of imports.get(path) ?? []) {
        if (state.get(next) === 'open')
          cycles.push([...stack.slice(stack.indexOf(next)), path, next].map((p) => relative(src, p)).join(' → '));
        else if (!state.has(next)) visit(next, [...stack, path]);
      }
      state.set(path, 'done');
    };
    for (const path of files) if (!state.has(path)) visit(path, []);
    expect(cycles).toEqual([]);
  });

  it(`keeps the package entry to at most ${MAX_ENTRY_KEYS} values, model generation behind infoprune/testing`, async () => {
    const entry = await import('../src/index.js');
    expect(Object.keys(entry).length).toBeLessThanOrEqual(MAX_ENTRY_KEYS);
    expect(entry).not.toHaveProperty('writeRandomModel');
    const testing = await import('../src/testing.js');
    expect(testing).toHaveProperty('writeRandomModel');
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    expect(Object.keys(manifest.exports)).toEqual(['.', './testing', './package.json']);
    expect(manifest.files).not.toContain('dev');
  });

  it("documents every error code in the README's table, and no code that does not exist", async () => {
    const { ERROR_CODES } = await import('../src/errors.js');
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const documented = [...readme.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((match) => match[1]);
    const raised = Object.keys(ERROR_CODES).filter((code) => code !== 'INVALID_OPTION'); // the prose names that one
    expect(documented.sort()).toEqual(raised.sort());
  });
});
