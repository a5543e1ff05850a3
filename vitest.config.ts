import { defineConfig } from 'vitest/config';

/**
 * Two projects (run both: `npx vitest run`; one: `npx vitest run --project unit`):
 * - unit: library code in this process (an ISO reader tool may check a result), seconds each;
 * - e2e:  the built CLI as a user runs it, several processes, network namespaces, moto, and the
 *         4.5 GiB multi-extent ISO read by every reader tool.
 * A test file belongs to e2e when it runs the CLI (test/support/cli.ts, nodes.ts), moto or a
 * namespace: those helpers refuse to load in the unit project, so a misfiled test fails at once.
 */
const E2E = [
  'test/cli/**/*.test.ts',
  'test/scan/**/*.test.ts',
  'test/network/loopback.test.ts',
  'test/network/hostile-member.test.ts',
  'test/network/{inbound,strangers}.test.ts',
  'test/network/membership.test.ts',
  'test/network/log-sync.test.ts',
  'test/network/netns-*.test.ts',
  'test/iso/{bigfile,cli,kill,progress}.test.ts',
  'test/crypto/init.test.ts',
  'test/objects/{disk-full,kill-pending,merkle-backends,odd-names,restore-cli,staging,tamper}.test.ts',
  'test/tiers/{cost,flow,flow-file,gcloud-auth,gdrive-cli,s3,s3-cli,jobs,open-tier}.test.ts',
  'test/cost/{seed-scenario,wire}.test.ts',
  'test/catalog/release-fixture.test.ts',
  'test/jobs/local-jobs.test.ts',
  'test/lomob/{import-cli,lomob-names,archives-cli}.test.ts',
  'test/restore/**/*.test.ts',
  'test/sitelog/{rebuild,kill,recover}.test.ts',
  'test/peerstore/disk-full.test.ts',
  'test/network/chunk-disk-full.test.ts',
  'test/network/hosted-quota.test.ts',
  'test/replication/{placement,replan,resume,resume-receiver,drill,corrupt-holder,disk-full}.test.ts',
];

export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores: heavier suites (ISO, scan kill loops) would starve each other beyond two forks.
    // (A test must never block its fork's event loop for a minute — see test/support/cli.ts.)
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    setupFiles: ['test/support/setup.ts'],
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: E2E, env: { LOMO_TEST_PROJECT: 'unit' }, sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        // After the unit tests, so their CPU-bound work does not compete with the CLI's children.
        test: { name: 'e2e', include: E2E, env: { LOMO_TEST_PROJECT: 'e2e' }, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
