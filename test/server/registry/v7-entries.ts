/**
 * The entries the schema-version-7 upgrade tests write before migration 8 runs (migrations.test.ts
 * on both backends, test/server/entry/sqlite-bun.test.ts on bun:sqlite): three selector-parented
 * entries over the parent selectors S(1)..S(3), overlapping, and one parented by an agent's ID.
 */
import { checkEntryInput, type RegistrationEntry } from '../../../server/entries/validate.ts'

/** the n-th parent selector of these tests */
export const S = (n: number): string => `tpm_devid:subject:cn:h${n}`

/** [S(1)], [S(1), S(2)], [S(2), S(3)], then parent ID spiffe://td/agent/1; IDs '000…', '111…', …; created at 0..3 */
export function v7Entries(): RegistrationEntry[] {
  return [
    { parentSelectors: [S(1)] },
    { parentSelectors: [S(1), S(2)] },
    { parentSelectors: [S(2), S(3)] },
    { parentId: 'spiffe://td/agent/1' },
  ].map(
    (parent, i): RegistrationEntry => ({
      ...checkEntryInput({ spiffeId: `spiffe://td/w/${i}`, ...parent, selectors: ['unix:uid:1'] }, 'td'),
      id: String(i).repeat(32),
      createdAt: i,
    }),
  )
}
