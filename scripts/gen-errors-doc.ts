// Writes docs/errors.md from core/errors.ts (ERROR_CODES). test/core/errors.test.ts fails when
// the committed file drifts from the code: run `npm run docs:errors` after adding a code.
import { writeFileSync } from 'node:fs'
import { ERROR_CODES } from '../core/errors.ts'

export function renderErrorsDoc(): string {
  const rows = Object.entries(ERROR_CODES).map(([code, meaning]) => `| \`${code}\` | ${meaning} |`)
  return [
    '# Error codes',
    '',
    'Every failure vouch reports is a `VerifyError` (or a family subclass) with a stable `code` and a',
    'lowercase human `message`. Codes are API: adding one is a minor change, renaming or removing one a',
    'major change. Messages never carry secrets, nonces, keys or whole certificates. Where the seed',
    'documents name a message (SPIRE / Defakto `tpm_devid`), vouch quotes it exactly.',
    '',
    'Generated from `core/errors.ts` by `npm run docs:errors`.',
    '',
    '| code | meaning |',
    '|---|---|',
    ...rows,
    '',
  ].join('\n')
}

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(new URL('../docs/errors.md', import.meta.url), renderErrorsDoc())
}
