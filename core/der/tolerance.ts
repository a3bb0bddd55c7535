/**
 * Named leniencies. vouch parses DER and X.509 strictly (X.690 DER, RFC 5280); real TPM EK
 * certificates break a few rules (see the real-TPM MANIFEST §11), so each known break has a name
 * and is accepted only when the caller lists it in `tolerate`. Nothing is tolerated by default.
 */
export type Tolerance =
  /** bytes after the outer certificate SEQUENCE (EK NV-index reads padded with 0xFF, STMicro) */
  | 'trailing-data'
  /** a SET OF (multi-valued RDN) whose elements are not in DER order (Nuvoton EKs and roots) */
  | 'unsorted-set'
  /** a DEFAULT value encoded explicitly: `critical FALSE`, `cA FALSE`, version v1 (Intel PTT EK) */
  | 'explicit-default'
  /** a named-bit BIT STRING with trailing zero bits not removed, e.g. keyUsage `03 02 00 20` (Infineon, Intel) */
  | 'untrimmed-bit-string'
  /** ecdsa-with-SHA* AlgorithmIdentifier carrying NULL parameters (Intel OnDie CA root) */
  | 'ecdsa-null-parameters'
  /** an INTEGER with non-minimal leading 00/FF octets, e.g. serial `00 00 00 01` (old STMicro CAs) */
  | 'non-minimal-integer'
  /** GeneralizedTime for a date before 2050 (RFC 5280 §4.1.2.5 says UTCTime) (AMD fTPM roots, Alibaba) */
  | 'generalized-time-before-2050'
  /** RFC 5280 §4.2.1.1/§4.2.1.2: authorityKeyIdentifier missing on a non-self-signed certificate, or
   * subjectKeyIdentifier missing on a CA (many vendor EK leaves and CAs) */
  | 'missing-key-identifier'
  /** RFC 5280 §4.2.1.9: a CA's basicConstraints not marked critical (some vendor EK roots) */
  | 'non-critical-basic-constraints'
  /** RFC 5280 §4.1.2.2: serial number zero, negative or longer than 20 octets */
  | 'serial-number-range'

/** Every tolerance, in one list (documentation, CLI help). */
export const ALL_TOLERANCES: readonly Tolerance[] = Object.freeze([
  'trailing-data',
  'unsorted-set',
  'explicit-default',
  'untrimmed-bit-string',
  'ecdsa-null-parameters',
  'non-minimal-integer',
  'generalized-time-before-2050',
  'missing-key-identifier',
  'non-critical-basic-constraints',
  'serial-number-range',
])

/**
 * What real EK certificates and vendor EK CAs need (MANIFEST §11). The `ek` profile of
 * verifyChain parses with these unless the caller passes its own list.
 */
export const EK_TOLERANCES: readonly Tolerance[] = ALL_TOLERANCES

export interface ToleranceOptions {
  readonly tolerate?: readonly Tolerance[]
}

export function tolerates(options: ToleranceOptions | undefined, t: Tolerance): boolean {
  return options?.tolerate?.includes(t) ?? false
}
