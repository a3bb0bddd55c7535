/** An attestor's decode step, recorded on the check log as `<type>.evidence` or `<type>.answer`. */
import type { CheckLog } from './checks.ts'

const WELL_FORMED = () => 'well-formed, within size bounds'

export function decoded<T>(log: CheckLog, name: string, decode: () => T): T {
  return log.runSync(name, decode as () => Exclude<T, PromiseLike<unknown>>, undefined, WELL_FORMED)
}
