import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // swtpm-backed suites start real TPMs; give them room on a shared 2-core machine
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // the JSON report is what .ci/run counts (vitest's own summary line is not read by CI)
    reporters: ['default', 'json'],
    outputFile: { json: '.tmp/test-report.json' },
  },
})
