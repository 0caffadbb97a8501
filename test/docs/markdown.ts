import fs from 'node:fs';
import path from 'node:path';

/** What the documentation tests read: the README and every Markdown file under docs/. */

export const ROOT = path.resolve(import.meta.dirname, '../..');

export interface QuickStartBlock {
  kind: 'setup' | 'server' | 'client';
  code: string;
}

/**
 * The README's quick-start shell blocks, in order: each fenced `sh` block right after a
 * `<!-- quick-start:setup|server|client -->` marker.
 */
export function quickStartBlocks(readme: string): QuickStartBlock[] {
  const marked = /<!--\s*quick-start:(setup|server|client)\s*-->\s*```(?:sh|bash)\n([\s\S]*?)```/g;
  return [...readme.matchAll(marked)].map((m) => ({
    kind: m[1] as QuickStartBlock['kind'],
    code: m[2]!,
  }));
}

/** README.md and docs/**\/*.md, as paths relative to the root. */
export function documentationFiles(): string[] {
  const files = ['README.md'];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const relative = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(relative);
      else if (entry.name.endsWith('.md')) files.push(relative);
    }
  };
  if (fs.existsSync(path.join(ROOT, 'docs'))) walk('docs');
  return files.sort();
}

export const read = (relative: string) => fs.readFileSync(path.join(ROOT, relative), 'utf8');

/** The text outside fenced code blocks (where links are links). */
export function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
}

/**
 * Relative link targets of a Markdown file: `[text](target)` and `[label]: target`, without
 * external URLs, pure fragments or mail links; a target's own `#fragment` is dropped.
 */
export function relativeLinks(markdown: string): string[] {
  const text = prose(markdown);
  const inline = [...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!);
  const reference = [...text.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)].map((m) => m[1]!);
  return [...inline, ...reference]
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith('#'))
    .map((target) => decodeURI(target.split('#')[0]!));
}

/** The scripts `npm run X` names (and `npm start`, `npm test`) in a Markdown file. */
export function npmRunNames(markdown: string): string[] {
  const named = [...markdown.matchAll(/\bnpm run ([A-Za-z0-9:_-]+)/g)].map((m) => m[1]!);
  const short = [...markdown.matchAll(/\bnpm (start|test)\b/g)].map((m) => m[1]!);
  return [...named, ...short];
}
