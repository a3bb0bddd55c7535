/**
 * What an answer writes, settled in one step (core AnswerOptions.settle): the sealed session's
 * use-once claim and, when the answer passed, the agent's attestation record. The verifier checks
 * the answer first and calls settle once; the verdict is released only after this resolves.
 *
 * - SQLite (`sqliteAnswerLedger`): the claim and the record are one transaction of the connection's
 *   write batch (use-once.ts claimAnd), so an answer costs one durable commit, shared with the
 *   answers arriving with it, where claiming before the checks cost two.
 * - PostgreSQL (answer-ledger-pg.ts): the settlements of one turn are one statement.
 */
import type { UseOnceClaim } from '../../core/session/use-once.ts'
import type { AgentRegistry, AttestationRecord } from './registry.ts'
import type { SqlUseOnceStore } from './use-once.ts'

export interface AnswerSettlement {
  readonly claim: UseOnceClaim
  /** the agent's record, for an answer that passed */
  readonly record?: AttestationRecord
}

export interface AnswerSettled {
  /** false: the session had been used already, and nothing was written */
  readonly claimed: boolean
  /** with a record and a won claim: 'banned' when the agent is banned (nothing recorded) */
  readonly recorded?: 'recorded' | 'banned'
}

export interface AnswerLedger {
  /**
   * Claims and records in one commit. Rejects with ERR_SESSION_EXPIRED, writing nothing, when the
   * claim is committed once the session's expiry plus the use-once grace is past: its first record
   * may have been purged, so a claim won then could be the session's second (use-once.ts).
   */
  settle(s: AnswerSettlement): Promise<AnswerSettled>
}

export function sqliteAnswerLedger(useOnce: SqlUseOnceStore, registry: AgentRegistry): AnswerLedger {
  return {
    async settle({ claim, record }) {
      if (!record) return { claimed: await useOnce.claim(claim.id, claim.expiresAt) }
      const r = await useOnce.claimAnd(claim.id, claim.expiresAt, registry.attestationAfterClaim(record))
      return r.claimed ? { claimed: true, recorded: r.result! } : { claimed: false }
    },
  }
}
