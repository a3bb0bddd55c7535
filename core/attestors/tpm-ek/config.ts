/** The tpm_ek policy config: EK trust (`endorsementCACerts` and/or `allowedEKHashes`), and through the policy layer `tolerate` (EK profile tolerances) and `boot`. */
import type { AttestorConfigBody } from '../../attestor/attestor.ts'
import {
  type ConfigContext,
  type ConfigObject,
  EK_TRUST_KEYS,
  type EkTrustConfig,
  parseEkTrustConfig,
  type ToleranceGroup,
} from '../../attestor/config.ts'
import { EK_PROFILE_TOLERANCES } from '../../ek/certificate.ts'

export interface TpmEkAttestorConfig extends EkTrustConfig {
  readonly type: 'tpm_ek'
}

export const TPM_EK_CONFIG_KEYS = EK_TRUST_KEYS

export const TPM_EK_TOLERANCES: readonly ToleranceGroup[] = [{ of: 'the EK certificate', names: EK_PROFILE_TOLERANCES }]

export function parseTpmEkConfig(c: ConfigContext, path: string, cfg: ConfigObject): AttestorConfigBody<TpmEkAttestorConfig> {
  return parseEkTrustConfig(c, path, cfg)
}
