/** The path-validation tolerances: strict rejects, tolerant accepts (certificates built in the test). */
import { describe, expect, it } from 'vitest'
import { OID } from '../../../core/der/oid.ts'
import { encodeSequence } from '../../../core/der/writer.ts'
import { VerifyError } from '../../../core/errors.ts'
import { verifyChain } from '../../../core/x509/verify.ts'
import type { Tolerance } from '../../../core/der/tolerance.ts'
import { buildCert, cn, ext, keyUsage, makeKey, T0 } from '../../support/x509-builder.ts'

const rootKey = makeKey()
const leafKey = makeKey()
const issuer = { subject: cn('Root'), key: rootKey }

async function code(leaf: Uint8Array, root: Uint8Array, tolerate: Tolerance[]): Promise<string> {
  try {
    await verifyChain({ leaf, anchors: [root], at: T0 }, { tolerate })
    return 'ok'
  } catch (e) {
    if (e instanceof VerifyError) return e.code
    throw e
  }
}

const caBc = (critical: boolean) => ext(OID.basicConstraints, encodeSequence(Uint8Array.of(0x01, 0x01, 0xff)), critical)
const root = buildCert({ subject: cn('Root'), key: rootKey, extensions: [caBc(true), keyUsage([5])] })

describe('path-validation tolerances', () => {
  it('missing-key-identifier: a leaf without AKI and a CA without SKI', async () => {
    const noKeyIdRoot = buildCert({ subject: cn('Root'), key: rootKey, extensions: [caBc(true), keyUsage([5])], keyIds: false })
    const noAkiLeaf = buildCert({ subject: cn('Leaf'), key: leafKey, issuer, keyIds: false })
    const leaf = buildCert({ subject: cn('Leaf'), key: leafKey, issuer })
    expect(await code(leaf, root, [])).toBe('ok')
    expect(await code(noAkiLeaf, root, [])).toBe('ERR_X509_MALFORMED')
    expect(await code(noAkiLeaf, root, ['missing-key-identifier'])).toBe('ok')
    expect(await code(leaf, noKeyIdRoot, [])).toBe('ERR_X509_MALFORMED')
    expect(await code(leaf, noKeyIdRoot, ['missing-key-identifier'])).toBe('ok')
  })

  it('non-critical-basic-constraints: a CA whose basicConstraints is not critical', async () => {
    const softRoot = buildCert({ subject: cn('Root'), key: rootKey, extensions: [caBc(false), keyUsage([5])] })
    const leaf = buildCert({ subject: cn('Leaf'), key: leafKey, issuer })
    expect(await code(leaf, softRoot, [])).toBe('ERR_X509_MALFORMED')
    expect(await code(leaf, softRoot, ['non-critical-basic-constraints'])).toBe('ok')
  })

  it('serial-number-range: serial zero', async () => {
    const zero = buildCert({ subject: cn('Leaf'), key: leafKey, issuer, serial: 0 })
    expect(await code(zero, root, [])).toBe('ERR_X509_MALFORMED')
    expect(await code(zero, root, ['serial-number-range'])).toBe('ok')
  })
})
