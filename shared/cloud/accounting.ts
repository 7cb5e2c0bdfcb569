// Call accounting: every attempt counted by action, retries and failures (by code) separately.
// Call counts are deterministic, so benchmarks and tests assert on them.

export interface CallSnapshot {
  /** attempts by action, retries included */
  calls: Record<string, number>;
  /** retries by action */
  retries: Record<string, number>;
  /** failed attempts by error code */
  failures: Record<string, number>;
  totalCalls: number;
  totalRetries: number;
}

const bump = (m: Record<string, number>, k: string) => {
  m[k] = (m[k] ?? 0) + 1;
};

export class CallAccounting {
  private s: CallSnapshot = CallAccounting.empty();

  private static empty(): CallSnapshot {
    return { calls: {}, retries: {}, failures: {}, totalCalls: 0, totalRetries: 0 };
  }

  attempt(action: string, isRetry: boolean): void {
    bump(this.s.calls, action);
    this.s.totalCalls++;
    if (isRetry) {
      bump(this.s.retries, action);
      this.s.totalRetries++;
    }
  }

  failure(code: string): void {
    bump(this.s.failures, code);
  }

  snapshot(): CallSnapshot {
    return structuredClone(this.s);
  }

  reset(): void {
    this.s = CallAccounting.empty();
  }
}

/** The process-wide accounting every client shares unless given its own. */
export const DEFAULT_ACCOUNTING = new CallAccounting();
