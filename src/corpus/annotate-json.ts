/**
 * A JSONL record with one key added, every other byte as it was: the key and its value go in before the object's
 * closing brace, so the other fields keep their exact text (number spellings, escapes, key order, spacing). A key the
 * record has already (an earlier annotation) is taken out first, with its comma, so the record holds it once.
 */

/** `line` (one JSON object, without its newline) with `"key": value` (value: JSON text) as its last member. */
export function annotateJsonLine(line: Buffer, key: string, value: string): Buffer {
  const text = line.toString('utf8');
  const withoutKey = text.includes(JSON.stringify(key).slice(0, -1)) ? removeMember(text, key) : text;
  const close = withoutKey.lastIndexOf('}');
  if (close < 0) throw new Error('not a JSON object');
  const before = withoutKey.slice(0, close);
  const empty = /^\s*\{\s*$/.test(before);
  const member = `${empty ? '' : ','}${JSON.stringify(key)}:${value}`;
  return Buffer.from(`${before.trimEnd()}${member}${withoutKey.slice(close)}`, 'utf8');
}

/** The object's text without its top-level member `key` (and the comma that separated it). */
function removeMember(text: string, key: string): string {
  const members = topLevelMembers(text);
  const index = members.findIndex((member) => member.key === key);
  if (index < 0) return text;
  const member = members[index];
  // Take out the member and the comma before it (or, for the first member, the comma after it).
  const start = index > 0 ? members[index - 1].end : member.start;
  const end = index > 0 ? member.end : (members[index + 1]?.start ?? member.end);
  return text.slice(0, start) + text.slice(end);
}

interface MemberSpan {
  key: string;
  /** From the key's opening quote to the value's last character. */
  start: number;
  end: number;
}

/** The top-level members of a JSON object's text (which is known to parse), by a scan that skips strings and nesting. */
function topLevelMembers(text: string): MemberSpan[] {
  const members: MemberSpan[] = [];
  let i = text.indexOf('{') + 1;
  const skipSpace = (): void => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const skipString = (): void => {
    i++; // opening quote
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++; // closing quote
  };
  for (;;) {
    skipSpace();
    if (text[i] !== '"') return members;
    const start = i;
    skipString();
    const key = JSON.parse(text.slice(start, i)) as string;
    skipSpace();
    i++; // colon
    skipSpace();
    let depth = 0;
    while (i < text.length) {
      const c = text[i];
      if (c === '"') {
        skipString();
        continue;
      }
      if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        if (depth === 0) break;
        depth--;
      } else if (c === ',' && depth === 0) break;
      i++;
    }
    let end = i;
    while (end > start && /\s/.test(text[end - 1])) end--;
    members.push({ key, start, end });
    if (text[i] === ',') i++;
  }
}
