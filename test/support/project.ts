/** Helpers that start processes call this: such tests belong to the e2e project (vitest.config.ts). */
export function requireE2e(helper: string): void {
  if (process.env.LOMO_TEST_PROJECT === 'unit') {
    throw new Error(`${helper} starts processes: list this test file under E2E in vitest.config.ts`);
  }
}
