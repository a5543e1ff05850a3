/** Loaded before every test file (vitest.config.ts setupFiles): a failing test names the seed that replays it. */
import { afterEach } from 'vitest';
import { SEED } from './random.js';

afterEach((ctx) => {
  if (ctx.task.result?.state === 'fail') console.error(`[${ctx.task.name}] failed with test data seed ${SEED}: replay with LOMO_TEST_SEED=${SEED}`);
});
