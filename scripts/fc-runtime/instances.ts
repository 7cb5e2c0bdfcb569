// The instances of one function: worker_threads running worker.mjs, each serving one invocation at a time
// (FC's instance concurrency 1). An idle instance is reused (warm start: module state survives, as on FC)
// until it has been idle for `idleMs`, or the bundle on disk changes. A timed-out invocation terminates its
// instance, which is how FC enforces `timeout`; so does a crash. Reserved concurrency is a FIFO gate in
// front of the instances: with `reservedConcurrency: 1` a second invocation waits for the first.

import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { FcContext } from '../../shared/runtime/fc-events';
import type { HandlerOutput } from './http-event';
import type { FunctionSpec } from './s-yaml';

const WORKER_URL = new URL('./worker.mjs', import.meta.url);

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** The context fields that cross into the worker; the worker adds `logger`. */
export type ContextData = Omit<FcContext, 'logger'>;

export interface RunRequest {
  requestId: string;
  event: Buffer;
  context: ContextData;
  /** ALIYUN_FC_LOG_LEVEL: context.logger drops lines below it */
  logLevel: LogLevel;
}

export type RunOutcome = (
  | { ok: true; output: HandlerOutput }
  | { ok: false; errorType: string; errorMessage: string; timedOut?: boolean }
) & {
  /** `<ISO time> <requestId> [LEVEL] message`, secrets redacted */
  logs: string[];
  durationMs: number;
  /** true when a new instance had to load the bundle */
  coldStart: boolean;
};

export interface InstancesOptions {
  /** the instance environment (process.env inside the worker) */
  env: Record<string, string>;
  /** the bundle file now (<codeDir>/<file>.js|.mjs|.cjs); read per invocation so a rebuild is picked up */
  bundleFile: () => string;
  /** every log line, as it happens */
  onLog?: (line: string) => void;
  /** removes secrets from a log line */
  redact?: (text: string) => string;
  /** reclaim an instance idle this long; default 5 minutes */
  idleMs?: number;
}

export class ConcurrencyGate {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  get queued(): number {
    return this.waiting.length;
  }

  get running(): number {
    return this.active;
  }

  async acquire(): Promise<() => void> {
    if (this.active < this.limit) this.active++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    };
  }
}

interface Instance {
  worker: Worker;
  file: string;
  bundleMtimeMs: number;
  busy: boolean;
  alive: boolean;
  idleTimer?: NodeJS.Timeout;
  /** set while serving */
  settle?: (message: WorkerMessage | { type: 'exit'; code: number }) => void;
}

type WorkerMessage =
  | { type: 'log'; requestId: string; level: LogLevel; message: string }
  | { type: 'result'; requestId: string; kind: 'json' | 'text' | 'buffer' | 'empty'; body: Uint8Array }
  | { type: 'error'; requestId: string; errorType: string; errorMessage: string; crashed?: boolean };

function mtimeOf(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return -1;
  }
}

function decodeOutput(kind: string, body: Uint8Array): HandlerOutput {
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (kind === 'empty') return { kind: 'empty' };
  if (kind === 'buffer') return { kind: 'buffer', value: buf };
  if (kind === 'json') return { kind: 'json', value: JSON.parse(buf.toString('utf8')) };
  return { kind: 'text', value: buf.toString('utf8') };
}

export class FunctionInstances {
  private readonly instances = new Set<Instance>();
  private readonly gate: ConcurrencyGate | undefined;
  private closed = false;

  constructor(
    readonly spec: FunctionSpec,
    private readonly options: InstancesOptions,
  ) {
    this.gate =
      spec.reservedConcurrency === undefined ? undefined : new ConcurrencyGate(spec.reservedConcurrency);
  }

  /** instances alive now (busy or idle) */
  get size(): number {
    return this.instances.size;
  }

  get queued(): number {
    return this.gate?.queued ?? 0;
  }

  async run(req: RunRequest): Promise<RunOutcome> {
    const release = this.gate ? await this.gate.acquire() : () => {};
    try {
      return await this.runOnInstance(req);
    } finally {
      release();
    }
  }

  private takeInstance(): { instance: Instance; cold: boolean } {
    const file = this.options.bundleFile();
    const mtime = mtimeOf(file);
    for (const inst of this.instances) {
      if (inst.busy || !inst.alive) continue;
      if (inst.file !== file || inst.bundleMtimeMs !== mtime) {
        this.discard(inst);
        continue;
      }
      clearTimeout(inst.idleTimer);
      return { instance: inst, cold: false };
    }
    const worker = new Worker(WORKER_URL, {
      workerData: {
        codeDir: this.spec.codeDir,
        file,
        exportName: this.spec.handler.slice(this.spec.handler.lastIndexOf('.') + 1),
      },
      env: { ...this.options.env, FC_INSTANCE_ID: `c-${randomBytes(12).toString('hex')}` },
      resourceLimits: { maxOldGenerationSizeMb: this.spec.memorySize },
    });
    const inst: Instance = { worker, file, bundleMtimeMs: mtime, busy: false, alive: true };
    worker.on('message', (m: WorkerMessage) => {
      if (inst.settle) inst.settle(m);
      // a line logged after the handler returned (a timer it left behind) still reaches the log
      else if (m.type === 'log') this.options.onLog?.(this.logLine(m.requestId, m.level, m.message));
    });
    worker.on('error', (err: Error) =>
      inst.settle?.({
        type: 'error',
        requestId: '',
        errorType: err.name,
        errorMessage: err.message,
        crashed: true,
      }),
    );
    worker.on('exit', (code) => {
      inst.alive = false;
      this.instances.delete(inst);
      inst.settle?.({ type: 'exit', code });
    });
    this.instances.add(inst);
    return { instance: inst, cold: true };
  }

  /**
   * FC's Node.js log format: `<ISO time> <requestId> [LEVEL] message`, secrets masked. Line breaks in a
   * message are escaped: one call is one line, so text a function logs cannot forge a record.
   */
  private logLine(requestId: string, level: LogLevel, message: string): string {
    const oneLine = message.replace(/\r/g, '\\r').replace(/\n/g, '\\n');
    const line = `${new Date().toISOString()} ${requestId} [${level.toUpperCase()}] ${oneLine}`;
    return this.options.redact ? this.options.redact(line) : line;
  }

  private discard(inst: Instance): void {
    inst.alive = false;
    clearTimeout(inst.idleTimer);
    this.instances.delete(inst);
    void inst.worker.terminate();
  }

  private runOnInstance(req: RunRequest): Promise<RunOutcome> {
    if (this.closed) return Promise.reject(new Error(`${this.spec.name}: the runtime is closed`));
    const { instance: inst, cold } = this.takeInstance();
    inst.busy = true;
    inst.worker.ref();
    const started = Date.now();
    const logs: string[] = [];
    const redact = this.options.redact ?? ((t: string) => t);
    const timeoutMs = this.spec.timeout * 1000;
    return new Promise<RunOutcome>((resolve) => {
      const finish = (
        result:
          | { ok: true; output: HandlerOutput }
          | { ok: false; errorType: string; errorMessage: string; timedOut?: boolean },
        keep: boolean,
      ) => {
        clearTimeout(timer);
        inst.settle = undefined;
        inst.busy = false;
        if (keep && inst.alive && !this.closed) {
          inst.worker.unref();
          inst.idleTimer = setTimeout(() => this.discard(inst), this.options.idleMs ?? 300_000);
          inst.idleTimer.unref();
        } else if (inst.alive) this.discard(inst);
        resolve({ ...result, logs, durationMs: Date.now() - started, coldStart: cold });
      };
      const timer = setTimeout(() => {
        finish(
          {
            ok: false,
            errorType: 'FunctionTimeout',
            errorMessage: `Function timed out after ${this.spec.timeout} seconds`,
            timedOut: true,
          },
          false,
        );
      }, timeoutMs);
      inst.settle = (m) => {
        if (m.type === 'log') {
          // a logger kept from an earlier invocation still logs under its own request id
          const line = this.logLine(m.requestId || req.requestId, m.level, m.message);
          logs.push(line);
          this.options.onLog?.(line);
        } else if (m.type === 'result') {
          let output: HandlerOutput;
          try {
            output = decodeOutput(m.kind, m.body);
          } catch (err) {
            finish({ ok: false, errorType: 'InvalidResult', errorMessage: (err as Error).message }, true);
            return;
          }
          finish({ ok: true, output }, true);
        } else if (m.type === 'error') {
          finish({ ok: false, errorType: m.errorType, errorMessage: redact(m.errorMessage) }, !m.crashed);
        } else {
          finish(
            {
              ok: false,
              errorType: 'ProcessExited',
              errorMessage: `Process exited unexpectedly before completing request (exit code ${m.code})`,
            },
            false,
          );
        }
      };
      inst.worker.postMessage({
        type: 'invoke',
        requestId: req.requestId,
        event: new Uint8Array(req.event),
        context: req.context,
        logLevel: req.logLevel,
      });
    });
  }

  /** Terminates every instance; queued and running invocations end as ProcessExited. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(
      [...this.instances].map((inst) => {
        clearTimeout(inst.idleTimer);
        return inst.worker.terminate();
      }),
    );
    this.instances.clear();
  }
}
