/** Reading the documentation as a user does: its fenced blocks. */

/** The fenced block of `language` in `doc` whose text contains `marker`. */
export function fencedBlock(doc: string, language: string, marker: string): string {
  const blocks = [...doc.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].filter(([, lang]) => lang === language);
  const block = blocks.find(([, , body]) => body.includes(marker));
  if (!block) throw new Error(`no \`\`\`${language} block containing ${JSON.stringify(marker)}`);
  return block[2];
}
