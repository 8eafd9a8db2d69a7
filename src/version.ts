import { readFileSync } from 'node:fs';

/** infoprune's version, from package.json (one place). */
export const packageVersion: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
