// Writes docs/errors.md from core/errors.ts (ERROR_CATALOGUE). test/core/errors.test.ts fails when
// the committed file drifts from the code: run `npm run docs:errors` after adding a code.
import { writeFileSync } from 'node:fs'
import { ERROR_CATALOGUE, type ErrorEntry } from '../core/errors.ts'

const CLASS: Record<keyof typeof ERROR_CATALOGUE, string> = {
  general: 'any family',
  encoding: '`EncodingError`',
  der: '`DerError`',
  x509: '`X509Error`',
  tpm2: '`Tpm2Error`',
  quote: '`QuoteError`',
  credential: '`CredentialError`',
  ek: '`EkError`',
  devid: '`DevIdError`',
  workloadApi: '`WorkloadApiError`',
  attestation: '`AttestationError`',
  policy: '`PolicyError`',
  spiffe: '`SpiffeError`',
  eventlog: '`EventLogError`',
  entry: 'server `EntryError`',
  workload: '`WorkloadError`',
  request: 'server `RequestError`',
}

export function renderErrorsDoc(): string {
  const rows: string[] = []
  for (const [family, codes] of Object.entries(ERROR_CATALOGUE) as [keyof typeof ERROR_CATALOGUE, Record<string, ErrorEntry>][]) {
    for (const [code, e] of Object.entries(codes)) rows.push(`| \`${code}\` | ${family} (${CLASS[family]}) | ${e.status} | ${e.meaning} |`)
  }
  return [
    '# Error codes',
    '',
    'Every failure vouch reports is a `VerifyError` (or a family subclass) with a stable `code` and a',
    'lowercase human `message`. Codes are API: adding one is a minor change, renaming or removing one a',
    'major change. Messages never carry secrets, nonces, keys or whole certificates. Where the seed',
    'documents name a message (SPIRE / Defakto `tpm_devid`), vouch quotes it exactly; every fixed',
    'message text is defined once, in `core/messages.ts`.',
    '',
    'Each code belongs to one family, and the family class accepts only its own codes and the general',
    'ones (`new DevIdError("ERR_X509_EXPIRED", …)` does not compile). The verifier reports a failed',
    'check as an `AttestationFailure`, which carries the code of the check that failed, whatever its',
    'family. The HTTP status is the one the server answers the code with; it is declared per code.',
    '',
    'Generated from `core/errors.ts` by `npm run docs:errors`.',
    '',
    '| code | family | HTTP status | meaning |',
    '|---|---|---|---|',
    ...rows,
    '',
  ].join('\n')
}

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(new URL('../docs/errors.md', import.meta.url), renderErrorsDoc())
}
