/** The seed's policy validation messages, verbatim (issue 3 "Policy"). */
export const DEVID_CA_REQUIRED = 'devIDCACerts is required'
export const EK_TRUST_REQUIRED = 'at least one of endorsementCACerts or allowedEKHashes must be set'
export const DEVID_CA_NO_PEM = 'devIDCACerts: could not parse any PEM certificates'
export const EK_CA_NO_PEM = 'endorsementCACerts: could not parse any PEM certificates'
export const NO_POLICY_AUTHORIZES = 'no cluster policy authorizes the provided attestors'

/** `allowedEKHashes[N]: expected 64-char hex SHA-256 hash` */
export function badEkHash(index: number): string {
  return `allowedEKHashes[${index}]: expected 64-char hex SHA-256 hash`
}
