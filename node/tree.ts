import { displayPath, type ByteString } from '../storage/util/bytes-path.js';

/**
 * lomob's tree views (`iso dump`, `list dirs --tree`, `list gdrive`): a root line, then one line per
 * path segment, `├── [label] name`, children sorted by name. `label` gets the item recorded at that
 * exact path (undefined for a folder only implied by deeper paths) and whether the node is a folder.
 */
export function renderTree<T extends { path: ByteString }>(root: string, items: T[], label: (item: T | undefined, isDir: boolean) => string, isDirItem: (item: T) => boolean = () => false): string {
  interface Node { name: ByteString; item?: T; kids: Map<ByteString, Node> }
  const top: Node = { name: '', kids: new Map() };
  for (const it of items) {
    let n = top;
    for (const part of it.path.split('/').filter(Boolean)) {
      let k = n.kids.get(part);
      if (!k) n.kids.set(part, (k = { name: part, kids: new Map() }));
      n = k;
    }
    n.item = it;
  }
  const lines = [root];
  const walk = (n: Node, indent: string) => {
    const kids = [...n.kids.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    kids.forEach((k, i) => {
      const last = i === kids.length - 1;
      const isDir = !k.item || isDirItem(k.item) || k.kids.size > 0;
      lines.push(`${indent}${last ? '└── ' : '├── '}${label(k.item, isDir)} ${displayPath(k.name)}`);
      walk(k, indent + (last ? '    ' : '│   '));
    });
  };
  walk(top, '');
  return lines.join('\n') + '\n';
}
