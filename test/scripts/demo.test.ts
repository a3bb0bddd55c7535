/**
 * `npm run demo` (scripts/demo.ts) against a fresh swtpm: every step must print VALID, none
 * INVALID, the verdict, SPIFFE ID and attributes must be printed, and the process must exit 0.
 */
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { FIXTURE_DIR, run } from '../support/swtpm.ts'

const REPO = join(FIXTURE_DIR, '..', '..', '..')

describe('scripts/demo.ts', () => {
  it('verifies a fresh TPM end to end and exits 0', async () => {
    const { stdout } = await run(join(REPO, 'node_modules', '.bin', 'tsx'), [join(REPO, 'scripts', 'demo.ts')], { cwd: REPO })
    expect(stdout).toMatch(/VALID\s+EK certificate chain \(TCG profile\)\s+CN=unknown <- CN=swtpm-localca <- CN=swtpm-localca-rootca/)
    expect(stdout).toMatch(/VALID\s+TPM2_Quote over a fresh nonce .*another nonce -> ERR_QUOTE_NONCE_MISMATCH/)
    expect(stdout).toMatch(/VALID\s+tpm_devid\.certify\s+signed by the AK/)
    expect(stdout).toMatch(/VALID\s+tpm_devid\.credential_activation/)
    expect(stdout).toMatch(/SPIFFE ID: spiffe:\/\/example\.org\/agents\/tpm-devid\/[0-9a-f]{40}\n/)
    expect(stdout).toMatch(/tpm_devid\.ek\.manufacturer\s+id:00001014/)
    expect(stdout).not.toMatch(/INVALID/)
    expect(stdout).toMatch(/all verified: \d+ valid, 0 invalid/)
  }, 120_000)
})
