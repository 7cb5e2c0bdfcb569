// Named constants whose values are their own names (`ACME_ERRORS.noZone === 'noZone'`): the reasons an
// error carries, written once as a list instead of as an object that repeats every name.

export function namedConstants<const T extends readonly string[]>(
  ...names: T
): { readonly [K in T[number]]: K } {
  return Object.freeze(Object.fromEntries(names.map((n) => [n, n]))) as { readonly [K in T[number]]: K };
}
