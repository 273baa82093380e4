/** Reading the documentation as a user does: its fenced blocks. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './wrangler-dev.ts';

/** The documents a user reads: the README and every page of docs/, as paths from the repository root. */
export const DOC_FILES = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

/** The fenced block of `language` in `doc` whose text contains `marker`. */
export function fencedBlock(doc: string, language: string, marker: string): string {
  const blocks = [...doc.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].filter(([, lang]) => lang === language);
  const block = blocks.find(([, , body]) => body.includes(marker));
  if (!block) throw new Error(`no \`\`\`${language} block containing ${JSON.stringify(marker)}`);
  return block[2];
}
