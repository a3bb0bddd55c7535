/** tpm_ek attributes (public_hash always, the rest only with an EK certificate) and SPIRE's EK-only `tpm` plugin selector. */
import type { Selector } from '../../attestor/attributes.ts'

export const TPM_EK_ATTRIBUTE_KEYS = [
  'tpm_ek.public_hash',
  'tpm_ek.serial_number',
  'tpm_ek.manufacturer',
  'tpm_ek.model',
  'tpm_ek.version',
] as const

export const TPM_EK_DEFAULT_SPIFFE_ID_TEMPLATE = '/agents/tpm-ek/{{tpm_ek.public_hash}}'

/** The selector type: SPIRE's EK-only plugin is `tpm`. */
export const TPM_EK_SELECTOR_TYPE = 'tpm'

/** A registration entry's `tpm:` selector: `pub_hash:<64 lowercase hex digits>`. */
export function checkTpmEkSelectorValue(value: string): string | undefined {
  return value.startsWith('pub_hash:') && /^[0-9a-f]{64}$/.test(value.slice(9))
    ? undefined
    : 'tpm selectors are pub_hash:<64 lowercase hex digits> (SHA-256 of the EK public key)'
}

/** Type `tpm`, value `pub_hash:<hash>`. */
export function tpmEkSelectors(publicHash: string): Selector[] {
  return [{ type: TPM_EK_SELECTOR_TYPE, value: `pub_hash:${publicHash}` }]
}
