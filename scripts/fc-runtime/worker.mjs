// One FC instance of one function, run in a worker_thread by scripts/fc-runtime/instances.ts: it loads the
// bundle once (cold start), then serves one invocation at a time (instance concurrency 1), calling the
// handler as the FC 3.0 Node.js runtime does: `handler(event: Buffer, context)`, async or callback style.
// Plain JavaScript on purpose: a worker must start without a TypeScript loader. The worker's process.env
// is its own copy (the function's environment), set by the parent.
//
// Bundle format, as on FC: `<file>.mjs` is ESM, `<file>.cjs` CommonJS, and `<file>.js` is CommonJS unless
// a package.json in the code directory says `"type": "module"` (a parent package.json is not deployed, so
// it does not count; that is why a CommonJS bundle under this repo's `"type": "module"` loads here).
//
// Messages in:  {type: 'invoke', requestId, event: Uint8Array, context: {...without logger}, logLevel}
// Messages out: {type: 'log', requestId, level, message}
//               {type: 'result', requestId, kind: 'json'|'text'|'buffer'|'empty', body: Uint8Array}
//               {type: 'error', requestId, errorType, errorMessage, crashed?: true}

import { existsSync, readFileSync } from 'node:fs';
import { Module } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { format } from 'node:util';
import { parentPort, workerData } from 'node:worker_threads';

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 };
/** @type {{codeDir: string, file: string, exportName: string}} the parent resolved the bundle file */
const { codeDir, file, exportName } = workerData;

/** @type {string | undefined} the request being served, for console output and crashes */
let current;

function post(message) {
  parentPort.postMessage(message);
}

function logLine(requestId, level, args) {
  post({ type: 'log', requestId, level, message: format(...args) });
}

// console.* inside the function goes to the invocation's log, as FC attaches the request id to it.
for (const [method, level] of [
  ['log', 'info'],
  ['info', 'info'],
  ['debug', 'debug'],
  ['warn', 'warn'],
  ['error', 'error'],
  ['trace', 'debug'],
]) {
  console[method] = (...args) => logLine(current ?? '', level, args);
}

function isEsmPackage() {
  const pkg = join(codeDir, 'package.json');
  if (!existsSync(pkg)) return false;
  try {
    return JSON.parse(readFileSync(pkg, 'utf8')).type === 'module';
  } catch {
    return false;
  }
}

function loadCommonJs(file) {
  const mod = new Module(file);
  mod.filename = file;
  mod.paths = Module._nodeModulePaths(dirname(file));
  mod._compile(readFileSync(file, 'utf8'), file);
  return mod.exports;
}

async function loadHandler() {
  if (!existsSync(file)) {
    const err = new Error(`Cannot find module ${file}`);
    err.name = 'ModuleNotFound';
    throw err;
  }
  const esm = file.endsWith('.mjs') || (file.endsWith('.js') && isEsmPackage());
  const exports = esm ? await import(pathToFileURL(file).href) : loadCommonJs(file);
  let fn = exports?.[exportName];
  // An ESM namespace of a CommonJS module keeps module.exports under `default`.
  if (typeof fn !== 'function' && exports?.default) fn = exports.default[exportName];
  if (typeof fn !== 'function') {
    const err = new Error(`Handler '${exportName}' is missing on module '${basename(file)}'`);
    err.name = 'HandlerNotFound';
    throw err;
  }
  return fn;
}

let handlerPromise;

function encodeResult(value) {
  if (value === undefined || value === null) return { kind: 'empty', body: new Uint8Array(0) };
  if (Buffer.isBuffer(value) || value instanceof Uint8Array)
    return { kind: 'buffer', body: Uint8Array.from(value) };
  if (typeof value === 'string') return { kind: 'text', body: Buffer.from(value) };
  if (typeof value === 'object') return { kind: 'json', body: Buffer.from(JSON.stringify(value)) };
  return { kind: 'text', body: Buffer.from(String(value)) };
}

function errorOf(err) {
  if (err instanceof Error) return { errorType: err.name || 'Error', errorMessage: err.message };
  return { errorType: 'Error', errorMessage: typeof err === 'string' ? err : format(err) };
}

function makeLogger(requestId, minLevel) {
  const at = (level) => (LEVELS[level] >= minLevel ? (...args) => logLine(requestId, level, args) : () => {});
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

async function invoke(message) {
  const { requestId, event, context, logLevel } = message;
  current = requestId;
  try {
    handlerPromise ??= loadHandler();
    const fn = await handlerPromise;
    const ctx = { ...context, logger: makeLogger(requestId, LEVELS[logLevel] ?? LEVELS.debug) };
    const buf = Buffer.from(event.buffer, event.byteOffset, event.byteLength);
    const value =
      fn.length >= 3
        ? await new Promise((resolveCb, rejectCb) => {
            const maybe = fn(buf, ctx, (err, result) => (err ? rejectCb(err) : resolveCb(result)));
            if (maybe && typeof maybe.then === 'function') maybe.then(resolveCb, rejectCb);
          })
        : await fn(buf, ctx);
    post({ type: 'result', requestId, ...encodeResult(value) });
  } catch (err) {
    post({ type: 'error', requestId, ...errorOf(err) });
  } finally {
    current = undefined;
  }
}

// A crash of the instance fails the request it was serving; the parent then discards this worker.
function crash(err) {
  if (current) post({ type: 'error', requestId: current, crashed: true, ...errorOf(err) });
  process.exit(1);
}
process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);

parentPort.on('message', (message) => {
  if (message?.type === 'invoke') void invoke(message);
});
