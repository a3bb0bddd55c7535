/**
 * EK checks shared by tpm_devid and tpm_ek (protocol §3 step 6c/6d, §3.1 items 7-8, §10):
 * the EK public (TPMT_PUBLIC) equals the EK certificate key; the certificate meets the TCG EK
 * credential profile; the EK is trusted through endorsementCACerts (intermediates from the
 * configuration or from NV), through allowedEKHashes, or either when both are set. Without a
 * certificate only the hash allow-list can trust the EK.
 */
import { EK_TOLERANCES } from '../der/tolerance.ts'
import { evaluateEkCertificateProfile, type EkProfileResult } from '../ek/certificate.ts'
import { ekPublicHashOfKey } from '../ek/public-hash.ts'
import type { Platform } from '../platform.ts'
import type { EkTrustConfig } from './config.ts'
import type { Certificate } from '../x509/certificate.ts'
import { parseCertificateCached } from '../x509/certificate-cache.ts'
import { verifyChain } from '../x509/verify.ts'
import { VerifyError } from '../errors.ts'
import type { EkFacts } from './attributes.ts'
import type { CheckLog, ToleranceUse } from './checks.ts'
import { EK_CERT_MISSING, EK_PUBLIC_KEY_MISMATCH, EK_VALIDATION_FAILED } from '../messages.ts'
import { publicKeysMatch, type TpmKey } from './tpm.ts'
import { parseTpmKeyCached } from './tpm-key-cache.ts'

export interface EkEvidence {
  readonly ekPub: Uint8Array
  readonly ekCert?: Uint8Array
  readonly ekIntermediates: readonly Uint8Array[]
}

export interface CheckedEk extends EkFacts {
  readonly key: TpmKey
  /** EK profile tolerances this certificate needed */
  readonly tolerated: readonly ToleranceUse[]
}

const EK_FAILED = { code: 'ERR_EK_UNTRUSTED', message: EK_VALIDATION_FAILED } as const

function profileSummary(r: EkProfileResult): string {
  const id = r.identity
  const idText = id ? `manufacturer ${id.manufacturer}, model ${id.model}, version ${id.version}` : 'no TPM identity'
  return `TCG EK credential profile; ${idText}${r.tolerated.length > 0 ? `; tolerated: ${r.tolerated.join(', ')}` : ''}`
}

export async function checkEk(
  log: CheckLog,
  prefix: string,
  ev: EkEvidence,
  config: EkTrustConfig,
  platform: Platform,
): Promise<CheckedEk> {
  const key = log.runSync(
    `${prefix}.ek.public`,
    () => parseTpmKeyCached(ev.ekPub, 'EK public', platform),
    undefined,
    (k) => k.summary,
  )
  const publicHash = await ekPublicHashOfKey(key.publicKey, platform)
  log.identify({ ekHash: publicHash })
  const hashes = config.allowedEKHashes
  const anchors = config.endorsementAnchors

  if (ev.ekCert === undefined) {
    if (hashes === undefined) {
      throw log.fail(
        `${prefix}.ek.certificate`,
        'ERR_EK_MISSING_CERTIFICATE',
        EK_CERT_MISSING,
        'no EK certificate in the evidence and no allowedEKHashes configured',
      )
    }
    log.pass(`${prefix}.ek.certificate`, 'absent; the EK can only be trusted by hash')
    if (!hashes.includes(publicHash)) {
      throw log.fail(
        `${prefix}.ek.trust`,
        'ERR_EK_UNTRUSTED',
        EK_VALIDATION_FAILED,
        `EK public hash ${publicHash} is not in allowedEKHashes`,
      )
    }
    log.pass(`${prefix}.ek.trust`, `EK public hash ${publicHash} is in allowedEKHashes`)
    return { key, publicHash, tolerated: [] }
  }

  const cert = log.runSync(
    `${prefix}.ek.certificate`,
    () => parseCertificateCached(ev.ekCert!, { tolerate: EK_TOLERANCES }, platform),
    EK_FAILED,
    (c) => `parsed, serial ${c.serialNumber.length} bytes`,
  )
  if (!publicKeysMatch(key.publicKey, cert.publicKey)) {
    throw log.fail(`${prefix}.ek.key_match`, 'ERR_EK_MISMATCH', EK_PUBLIC_KEY_MISMATCH, 'the EK certificate key is not the EKPub key')
  }
  log.pass(`${prefix}.ek.key_match`, `EK certificate key equals EKPub (${key.publicKey.kty})`)
  const profileCheck = `${prefix}.ek.profile`
  const profile = log.runSync(
    profileCheck,
    () => evaluateEkCertificateProfile(cert, { tolerate: config.tolerate ?? [] }),
    { code: 'ERR_EK_PROFILE' },
    (r) => profileSummary(r),
  )
  const { identity } = profile
  const tolerated = profile.tolerated.map((tolerance) => ({ check: profileCheck, tolerance }))

  const byHash = hashes !== undefined && hashes.includes(publicHash)
  let byCa = false
  let caWhy = 'no endorsementCACerts configured'
  let caError: VerifyError | undefined
  if (anchors !== undefined && anchors.length > 0) {
    try {
      const nvIntermediates = ev.ekIntermediates.map((d) => parseCertificateCached(d, { tolerate: EK_TOLERANCES }, platform))
      const intermediates: Certificate[] = [...(config.endorsementIntermediates ?? []), ...nvIntermediates]
      const chain = await verifyChain({ leaf: cert, intermediates, anchors, at: platform.now(), profile: 'ek' }, { platform })
      byCa = true
      caWhy = `chains to ${chain.path.length - 1} CA certificate(s) of endorsementCACerts`
    } catch (e) {
      if (!(e instanceof VerifyError)) throw e
      caError = e
      caWhy = `chain to endorsementCACerts failed: ${e.code}: ${e.message}`
    }
  }
  if (!byCa && !byHash) {
    const why = hashes === undefined ? caWhy : `${caWhy}; EK public hash ${publicHash} is not in allowedEKHashes`
    throw log.fail(`${prefix}.ek.trust`, 'ERR_EK_UNTRUSTED', EK_VALIDATION_FAILED, why, caError)
  }
  log.pass(`${prefix}.ek.trust`, byCa ? `trusted by CA: ${caWhy}` : `trusted by hash: ${publicHash} is in allowedEKHashes`)
  return identity ? { key, publicHash, certificate: cert, identity, tolerated } : { key, publicHash, certificate: cert, tolerated }
}
