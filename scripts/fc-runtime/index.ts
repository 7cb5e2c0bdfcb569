// The local Function Compute 3.0 runtime: runs the functions an s.yaml declares from their bundles
// (dist/<name>/index.js, the esbuild output that deploys), with their triggers, on 127.0.0.1.
//
//   const runtime = await startFcRuntime({
//     sYamlPath: 's.yaml',                       // or sYamlText + baseDir
//     accountId: '1234567890123456', region: 'cn-hangzhou',
//     credentials: { accessKeyId: 'STS.x', accessKeySecret: '...', securityToken: '...' }, // default: fakes
//     accessKeys: [{ accessKeyId, accessKeySecret }],   // also accepted by the invoke API
//     env: { SLB_AUTOPILOT_LOCAL_CLOUD: localCloud.url }, // over s.yaml's environmentVariables
//     httpPorts: { provision: 9100 },            // default 0: any free port
//     timers: 'auto',                            // 'manual': only fireTimer()
//     log: (line) => console.log(line),          // false: silent
//   });
//   runtime.functions();        // [{ name, resource, built, bundle, triggers, httpUrl?, ... }]
//   await runtime.invoke('provision', { a: 1 });            // InvocationResult {ok, result, error, logs}
//   await runtime.invoke('failover', event, { async: true }); // AsyncInvocationRecord (202 semantics)
//   await runtime.fireTimer('health-audit', 'every-minute');
//   await runtime.deliverEvent('failover', cloudEvent);     // through the EventBridge trigger
//   runtime.asyncRecords(); await runtime.waitForAsync(id); await runtime.idle();
//   await runtime.close();      // every server, timer and instance
//
// What runs where:
// - Each function runs in worker_threads instances (instances.ts): `handler(event: Buffer, context)` with
//   context {requestId, credentials, function{name, handler, memory, timeout}, region, accountId, logger};
//   the s.yaml timeout terminates the instance; reserved concurrency queues invocations (FIFO).
// - Environment of a function: PATH/HOME, SLB_AUTOPILOT_FC_ENDPOINT (this runtime's URL, for
//   @alicloud/fc2), s.yaml environmentVariables, `env`, then FC's system variables (FC_FUNCTION_NAME,
//   FC_FUNCTION_HANDLER, FC_FUNCTION_MEMORY_SIZE, FC_FUNC_CODE_PATH, FC_REGION, FC_ACCOUNT_ID,
//   FC_INSTANCE_ID, ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET/SECURITY_TOKEN). Not the parent's environment.
// - Log lines (`<time> <requestId> [LEVEL] message`, console.* included) come back in each result and go
//   to `log` as `[<resource>] <line>`; credential secrets and secret-named env values are masked.
// - A function whose bundle is missing is listed with `built: false`; invoking it fails with
//   FunctionNotFound ("declared in s.yaml but not built"); its HTTP trigger answers 503.
//
// Served on `url` (the invoke API, fc2-signed):
//   POST /2023-03-30/functions/{name}/invocations   sync: 200 + result; function error: 200 with
//        x-fc-error-type: UnhandledInvocationError and {errorMessage, errorType};
//        x-fc-invocation-type: Async -> 202, empty body, x-fc-request-id; retried per asyncInvokeConfig.
//        (fc2 reaches it as the fc3 component does: client.version = '2023-03-30', then
//        client.request('POST', `/functions/${name}/invocations`, null, body, headers);
//        fc2's invokeFunction() builds 2016-08-15 service paths, also accepted here with the service ignored.)
//   GET  /_runtime/functions                      functions() as JSON
//   GET  /_runtime/async-invocations              asyncRecords() as JSON
//   POST /_runtime/functions/{name}/events[?async=true|false]   a CloudEvents envelope (400 names the field)
//   POST /_runtime/functions/{name}/timers/{trigger}            fires a timer trigger now
//   GET  /_runtime/timers                         the timer schedule: {paused, timers: [{function, trigger, nextRun}]}
//   POST /_runtime/timers  {"paused": true|false, "step": "<function>"}   pause/resume the schedule; fire a
//        function's next scheduled runs now (their trigger time; the schedule moves past them)
// and each HTTP trigger on its own port (functions()[i].httpUrl), as the FC 3.0 HTTP event.

export { nextRuns, parseSchedule, type Schedule, triggerTimeOf } from './cron';
export type { AccessKey } from './fc-signature';
export {
  bundleCandidates,
  DEFAULT_ACCOUNT_ID,
  DEFAULT_REGION,
  FC_API_VERSION,
  FC_ENDPOINT_ENV,
  type FcRuntime,
  type FcRuntimeOptions,
  startFcRuntime,
} from './runtime';
export { type FunctionSpec, readSYaml, type SYamlApp, SYamlError, type TriggerSpec } from './s-yaml';
export {
  type AsyncInvocationRecord,
  type AsyncStatus,
  type Clock,
  FcRuntimeError,
  type FunctionInfo,
  type InvocationError,
  type InvocationResult,
  SYSTEM_CLOCK,
  type TriggerInfo,
} from './types';
