// Runs in every test file: no test may leave a fidelity warning behind in a local cloud it started
// (the local cloud checks every request and answer against the official API description).
import { afterEach } from 'vitest';
import { assertNoFidelityWarnings } from './fidelity';

afterEach(() => {
  assertNoFidelityWarnings();
});
