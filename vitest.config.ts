import { configDefaults, defineConfig } from 'vitest/config';

// The demo's test (about 45 s of real time) runs as its own command, `npm run test:demo`, and CI runs
// `npm run demo` itself after `npm test`: the unit suite stays independent of the machine's load.
const DEMO_TEST = 'test/e2e/demo.test.ts';
const demoOnly = process.env.SLB_AUTOPILOT_TEST_DEMO === '1';

export default defineConfig({
  test: {
    include: demoOnly ? [DEMO_TEST] : ['test/**/*.test.ts'],
    exclude: demoOnly ? configDefaults.exclude : [...configDefaults.exclude, DEMO_TEST],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    // The suite runs with `npm start`'s default ports taken: no test may depend on them being free.
    globalSetup: ['test/support/taken-default-ports.ts'],
    setupFiles: ['test/support/setup.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
