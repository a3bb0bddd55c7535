/**
 * The tpm_devid policy config: `devIDCACerts` (PEM, required), EK trust (`endorsementCACerts`
 * and/or `allowedEKHashes`), and through the policy layer `tolerate` (EK and DevID profile
 * tolerances) and `boot`.
 */
import {
  type ConfigContext,
  type ConfigObject,
  EK_TRUST_KEYS,
  type EkTrustConfig,
  expectString,
  joinPath,
  parseCertificateBundle,
  parseEkTrustConfig,
  splitAnchors,
  type ToleranceGroup,
} from '../../attestor/config.ts'
import type { AttestorConfigBody } from '../../attestor/attestor.ts'
import { DEVID_PROFILE_TOLERANCES } from '../../devid/certificate.ts'
import { EK_PROFILE_TOLERANCES } from '../../ek/certificate.ts'
import { DEVID_CA_NO_PEM, DEVID_CA_REQUIRED } from '../../messages.ts'
import type { Certificate } from '../../x509/certificate.ts'

export interface TpmDevidAttestorConfig extends EkTrustConfig {
  readonly type: 'tpm_devid'
  /** anchors: the self-issued certificates of devIDCACerts (all of them when none is self-issued) */
  readonly devIDAnchors: readonly Certificate[]
  /** the other certificates of devIDCACerts, offered as intermediates */
  readonly devIDIntermediates: readonly Certificate[]
}

export const TPM_DEVID_CONFIG_KEYS = ['devIDCACerts', ...EK_TRUST_KEYS] as const

/** The EK's tolerances, and the DevID leaf's. */
export const TPM_DEVID_TOLERANCES: readonly ToleranceGroup[] = [
  { of: 'the EK certificate', names: EK_PROFILE_TOLERANCES },
  { of: 'the DevID certificate', names: DEVID_PROFILE_TOLERANCES },
]

export function parseTpmDevidConfig(
  c: ConfigContext,
  path: string,
  cfg: ConfigObject,
): AttestorConfigBody<TpmDevidAttestorConfig> | undefined {
  let devid: { anchors: Certificate[]; intermediates: Certificate[] } | undefined
  if (cfg.devIDCACerts === undefined) c.add(path, DEVID_CA_REQUIRED)
  else {
    const p = joinPath(path, 'devIDCACerts')
    const text = expectString(c, p, cfg.devIDCACerts)
    const certs = text === undefined ? undefined : parseCertificateBundle(c, p, text, DEVID_CA_NO_PEM, false)
    if (certs) devid = splitAnchors(certs)
  }
  const ek = parseEkTrustConfig(c, path, cfg)
  if (!devid) return undefined
  return { devIDAnchors: devid.anchors, devIDIntermediates: devid.intermediates, ...ek }
}
