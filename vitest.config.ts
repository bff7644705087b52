import { defineConfig } from "vitest/config";

/**
 * Two projects: `fast` (unit tests, seconds) and `slow` (the CLI end to end, gRPC servers, Chromium,
 * property tests over random clusters, and the few unit files that take more than a few seconds).
 * `npx vitest run --project fast` runs only the fast ones; `npm test` runs both.
 */
const SLOW_UNIT = [
  "test/unit/calico-fast-path.test.ts",
  "test/unit/ingest-workers.test.ts",
  "test/unit/wave-safety.property.test.ts",
];

export default defineConfig({
  test: {
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    restoreMocks: true,
    projects: [
      { extends: true, test: { name: "fast", include: ["test/unit/**/*.test.ts"], exclude: SLOW_UNIT } },
      {
        extends: true,
        test: {
          name: "slow",
          include: ["test/e2e/**/*.test.ts", "test/property/**/*.test.ts", "test/torture/**/*.test.ts", ...SLOW_UNIT],
        },
      },
    ],
  },
});
