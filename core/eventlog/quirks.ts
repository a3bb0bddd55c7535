// Firmware quirks seen in real logs. Each is tolerated only when the caller's policy names it, and
// a verdict that relied on one says so (ReplayCheck.quirksUsed).
import { utf8 } from '../bytes/encoding.ts'

/**
 * `exit-boot-services-missing`: the firmware extended PCR 5 with the two EV_EFI_ACTION events of
 * ExitBootServices (TCG PC Client PFP §8.2.4, "Exit Boot Services Invocation" and "Exit Boot
 * Services Returned with Success") after the log was handed over, so they are missing from the
 * log: PCR 5 replays only once both are appended (go-attestation's ebs_event_missing_eventlog).
 *
 * `shim-authority-size`: shim 15.x logs some EV_EFI_VARIABLE_AUTHORITY events (its built-in
 * certificate, db entries) one byte longer than it hashed: the digest is H(data without its last
 * byte), and UEFI_VARIABLE_DATA is followed by zero padding. Replay is unaffected (it uses the
 * logged digest); without the quirk those authorities do not count.
 */
export const QUIRKS = ['exit-boot-services-missing', 'shim-authority-size'] as const

export type QuirkName = (typeof QUIRKS)[number]

export function isQuirkName(name: string): name is QuirkName {
  return (QUIRKS as readonly string[]).includes(name)
}

/** The PCR a quirk applies to and the event data whose digests it appends there, in order. */
export const QUIRK_EXTENSIONS: Readonly<Partial<Record<QuirkName, { pcr: number; data: readonly Uint8Array[] }>>> = {
  'exit-boot-services-missing': {
    pcr: 5,
    data: [utf8('Exit Boot Services Invocation'), utf8('Exit Boot Services Returned with Success')],
  },
}
