/** The errors of registration entries and workload SVID issuance: the `entry` family of core/errors.ts. */
import { type CodeOf, VerifyError } from '../../core/errors.ts'

/** An ERR_ENTRY_* failure (or a general code): a bad entry, an unknown one, a caller it is not for. */
export class EntryError extends VerifyError<CodeOf<'entry'>> {
  static override readonly family = 'entry'
}
