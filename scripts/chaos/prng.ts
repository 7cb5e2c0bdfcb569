// The chaos suite's randomness: every choice of a run comes from one seeded generator (mulberry32, the
// same as the local cloud's faults), so a seed replays the same sequence of steps and faults.

import { mulberry32 } from '../local-cloud/faults';

export class Prng {
  private readonly next: () => number;

  constructor(seed: number) {
    this.next = mulberry32(seed);
  }

  /** [0, 1) */
  float(): number {
    return this.next();
  }

  /** an integer in [min, max] */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick: nothing to pick from');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** picks by weight: [[item, weight], ...] */
  weighted<T>(items: readonly (readonly [T, number])[]): T {
    const total = items.reduce((s, [, w]) => s + w, 0);
    let r = this.next() * total;
    for (const [item, w] of items) {
      r -= w;
      if (r < 0) return item;
    }
    return (items.at(-1) as readonly [T, number])[0];
  }

  /** a 32-bit seed for a sub-generator (e.g. the local cloud's faults of one step) */
  seed(): number {
    return Math.floor(this.next() * 2 ** 31);
  }
}
