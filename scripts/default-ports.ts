// The ports `npm start` prefers, so the printed URLs stay the same from one run to the next for a human.
// Each falls back to a free port when taken; SLB_AUTOPILOT_PORT (0 = any) replaces them all. Tests never
// use them: they bind port 0, and run with these taken (test/support/taken-default-ports.ts).
export const PREFERRED_PORTS = { cloud: 8787, status: 8786, control: 8785 } as const;
