/**
 * The integration project's default test and hook timeout. Hooks and tests talk to cards through pcscd,
 * and under load (2 cores, one JVM per card) a card set-up hook took over jest's 5 s default in a loaded
 * run; the hook then went on in the background holding card 0 exclusively and failed every later file.
 * (A project's `testTimeout` is ignored by jest: only the global one counts, hence this file.)
 */
import { jest } from '@jest/globals';

jest.setTimeout(30_000);
