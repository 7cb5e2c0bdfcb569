// Typed access to an RPC request's parameters (already decoded from the query and form body).
// Every accessor names the wire field in its error, as the real service does.

import { ApiError, invalidParameter, missingParameter } from './errors';

export class Params {
  constructor(private readonly raw: Readonly<Record<string, string>>) {}

  has(name: string): boolean {
    return this.raw[name] !== undefined && this.raw[name] !== '';
  }

  /** every raw key, e.g. to find `Tag.N.Key` entries */
  keys(): string[] {
    return Object.keys(this.raw);
  }

  str(name: string): string | undefined {
    const v = this.raw[name];
    return v === undefined || v === '' ? undefined : v;
  }

  requiredStr(name: string): string {
    const v = this.str(name);
    if (v === undefined) throw missingParameter(name);
    return v;
  }

  int(name: string, range?: { min?: number; max?: number }): number | undefined {
    const v = this.str(name);
    if (v === undefined) return undefined;
    if (!/^-?\d+$/.test(v)) throw invalidParameter(name, `is not a valid integer: ${v}`);
    const n = Number(v);
    if ((range?.min !== undefined && n < range.min) || (range?.max !== undefined && n > range.max)) {
      throw invalidParameter(name, `must be in [${range?.min ?? '-inf'}, ${range?.max ?? 'inf'}], got ${v}`);
    }
    return n;
  }

  requiredInt(name: string, range?: { min?: number; max?: number }): number {
    const n = this.int(name, range);
    if (n === undefined) throw missingParameter(name);
    return n;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[]): T | undefined {
    const v = this.str(name);
    if (v === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(v)) {
      throw invalidParameter(name, `must be one of ${allowed.join(', ')}, got ${v}`);
    }
    return v as T;
  }

  requiredOneOf<T extends string>(name: string, allowed: readonly T[]): T {
    const v = this.oneOf(name, allowed);
    if (v === undefined) throw missingParameter(name);
    return v;
  }

  bool(name: string): boolean | undefined {
    const v = this.str(name);
    if (v === undefined) return undefined;
    if (v !== 'true' && v !== 'false') throw invalidParameter(name, `must be true or false, got ${v}`);
    return v === 'true';
  }

  /** a JSON-string parameter (BackendServers, RuleList, RuleIds, Tags) */
  json(name: string, malformedCode = 'InvalidParameter'): unknown {
    const v = this.str(name);
    if (v === undefined) return undefined;
    try {
      return JSON.parse(v);
    } catch {
      throw new ApiError(malformedCode, `The specified parameter "${name}" is not valid JSON.`);
    }
  }

  /** `Name.1`, `Name.2`, ... (1-based, in order) */
  list(name: string): string[] {
    const out: string[] = [];
    for (let i = 1; ; i++) {
      const v = this.raw[`${name}.${i}`];
      if (v === undefined) break;
      out.push(v);
    }
    return out;
  }

  /** `Tag.N.Key` / `Tag.N.Value` pairs */
  tags(name = 'Tag'): { key: string; value: string | undefined }[] {
    const out: { key: string; value: string | undefined }[] = [];
    for (let i = 1; i <= 20; i++) {
      const key = this.raw[`${name}.${i}.Key`];
      const value = this.raw[`${name}.${i}.Value`];
      if (key === undefined && value === undefined) continue;
      if (key === undefined || key === '') throw missingParameter(`${name}.${i}.Key`);
      out.push({ key, value });
    }
    return out;
  }
}
