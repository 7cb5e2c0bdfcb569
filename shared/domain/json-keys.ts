// Duplicate keys in JSON: JSON.parse keeps the last one silently, so `{"command":"toPrimary",
// "command":"toStandby"}` means whatever the last parser in a chain decides. Bodies are refused instead,
// as the YAML parser refuses them. JSON is YAML 1.2, so the maintained `yaml` parser reads the same
// text into an AST (keys unescaped: "\u0061" and "a" are one key) and we walk it for the path.

import { isMap, isScalar, isSeq, parseDocument } from 'yaml';

/** The path of the first repeated key (`loadBalancers[0].listeners[1].port`), or undefined. */
export function findDuplicateJsonKey(text: string): string | undefined {
  const doc = parseDocument(text, { uniqueKeys: false, strict: true });
  // JSON.parse is the authority on syntax; this only looks for repeated keys in what parses.
  if (doc.errors.length > 0) return undefined;
  const walk = (node: unknown, path: string): string | undefined => {
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        const at = path ? `${path}.${key}` : key;
        if (seen.has(key)) return at;
        seen.add(key);
        const inner = walk(pair.value, at);
        if (inner) return inner;
      }
    } else if (isSeq(node)) {
      for (const [i, item] of node.items.entries()) {
        const inner = walk(item, `${path}[${i}]`);
        if (inner) return inner;
      }
    }
    return undefined;
  };
  return walk(doc.contents, '');
}
