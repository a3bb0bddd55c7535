/**
 * The answer ledger on PostgreSQL (answer-ledger.ts): the settlements arriving in one turn of the
 * event loop are one statement, so one round trip and one commit hold their use-once claims and the
 * records of the answers that passed, as SQLite's one transaction does:
 *
 *   WITH claimed AS (INSERT INTO used_sessions ... WHERE expires_at >= cutoff
 *                    ON CONFLICT (id) DO NOTHING RETURNING id),
 *        rec AS (VALUES (claim id, order, the record's columns), ...),
 *        folded AS (the records whose claim came back, one row per agent: the last to arrive's
 *                   columns, the first time, the count),
 *        up AS (INSERT INTO agents ... SELECT FROM folded ON CONFLICT (spiffe_id) DO UPDATE ...
 *               WHERE agents.banned = 0 RETURNING spiffe_id)
 *   SELECT the claims won and the agents recorded
 *
 * A record is written only when its claim came back from this statement, so of two replicas
 * settling one session at once exactly one records (the other's claim waits for the first
 * transaction, then does nothing). A banned agent's row is left as it is; its answer is 'banned'.
 * Claims go in id order and agents in spiffe_id order, so two batches touching the same rows take
 * their locks in one order. The same session twice in one batch: the first settlement is sent, the
 * later ones are not claimed. Records past expiry + grace are purged through the use-once store.
 * The cutoff is the use-once store's clock minus the grace, read when the statement is sent (so a
 * batch held up is judged when it goes): a session expiring before it is not claimed, and its
 * settlement rejects with ERR_SESSION_EXPIRED, since the purge may have deleted its first record
 * (use-once.ts).
 */
import { type AttestationRecord, INSERT_AGENT, ON_AGENT_CONFLICT } from './registry.ts'
import type { AnswerLedger, AnswerSettled, AnswerSettlement } from './answer-ledger.ts'
import type { AsyncSqlQueries, SqlValue } from './sql.ts'
import { useOnceClaimTooLate } from '../../core/session/use-once.ts'
import { type AsyncSqlUseOnceStore, claimsStatement, PREPARED_BATCH_ROWS } from './use-once.ts'
import { defer } from './write-batch.ts'

/** most settlements in one statement (2 + 9 parameters each, and the cutoff) */
const MAX_SETTLEMENTS_PER_STATEMENT = 500

interface Pending {
  readonly settlement: AnswerSettlement
  /** its place in the batch: of one agent's records in a statement the last to arrive makes its row (as registry-pg.ts folds) */
  readonly seq: number
  readonly resolve: (s: AnswerSettled) => void
  readonly reject: (e: unknown) => void
}

const REC_ROW =
  '(CAST(? AS TEXT), CAST(? AS INTEGER), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS TEXT))'

const SETTLE = (claims: number, records: number) => `WITH claimed AS (${claimsStatement(claims)}),
rec (claim_id, seq, spiffe_id, attestor_type, attributes, at, svid_serial, svid_expires_at, selectors) AS (
  VALUES ${Array.from({ length: records }, () => REC_ROW).join(', ')}
),
folded AS (
  SELECT DISTINCT ON (r.spiffe_id) r.spiffe_id, r.attestor_type, r.attributes, min(r.at) OVER w AS first_at, r.at AS last_at,
    count(*) OVER w AS n, r.svid_serial, r.svid_expires_at, r.selectors
  FROM rec r JOIN claimed c ON c.id = r.claim_id
  WINDOW w AS (PARTITION BY r.spiffe_id)
  ORDER BY r.spiffe_id, r.seq DESC
),
up AS (
  ${INSERT_AGENT}
  SELECT spiffe_id, attestor_type, attributes, first_at, last_at, n, 0, svid_serial, svid_expires_at, selectors FROM folded ORDER BY spiffe_id
  ${ON_AGENT_CONFLICT}
  WHERE agents.banned = 0
  RETURNING spiffe_id
)
SELECT 'claim' AS kind, id AS value FROM claimed UNION ALL SELECT 'agent' AS kind, spiffe_id AS value FROM up`

function recordParams(claimId: string, seq: number, a: AttestationRecord): SqlValue[] {
  return [
    claimId,
    seq,
    a.spiffeId,
    a.attestorType,
    JSON.stringify(a.attributes),
    a.at,
    a.svidSerial ?? null,
    a.svidExpiresAt ?? null,
    JSON.stringify(a.selectors ?? []),
  ]
}

export function pgAnswerLedger(db: AsyncSqlQueries, useOnce: AsyncSqlUseOnceStore): AnswerLedger {
  let queue: Pending[] = []

  async function send(part: Pending[]): Promise<void> {
    const records = part.filter((p) => p.settlement.record !== undefined)
    const claimParams = part.flatMap((p) => [p.settlement.claim.id, p.settlement.claim.expiresAt])
    const won = new Set<string>()
    const recorded = new Set<string>()
    // judged now, as the statement goes
    const cutoff = useOnce.claimCutoff()
    if (records.length === 0) {
      for (const r of await db.all(claimsStatement(part.length), [...claimParams, cutoff], { prepare: part.length <= PREPARED_BATCH_ROWS }))
        won.add(String(r.id))
    } else {
      const rows = await db.all(
        SETTLE(part.length, records.length),
        [...claimParams, cutoff, ...records.flatMap((p) => recordParams(p.settlement.claim.id, p.seq, p.settlement.record!))],
        // small batches, the common ones, as prepared statements (one text per batch shape)
        { prepare: part.length <= PREPARED_BATCH_ROWS && records.length <= PREPARED_BATCH_ROWS },
      )
      for (const r of rows) (r.kind === 'claim' ? won : recorded).add(String(r.value))
    }
    for (const p of part) {
      const { claim, record } = p.settlement
      if (claim.expiresAt < cutoff) {
        p.reject(useOnceClaimTooLate(claim.expiresAt))
        continue
      }
      useOnce.noteClaimed(claim.id, claim.expiresAt)
      if (!won.has(claim.id)) p.resolve({ claimed: false })
      else if (record) p.resolve({ claimed: true, recorded: recorded.has(record.spiffeId) ? 'recorded' : 'banned' })
      else p.resolve({ claimed: true })
    }
  }

  async function flush(): Promise<void> {
    const batch = queue
    queue = []
    const first = new Map<string, Pending>()
    for (const p of batch) {
      if (first.has(p.settlement.claim.id)) p.resolve({ claimed: false })
      else first.set(p.settlement.claim.id, p)
    }
    const unique = [...first.values()].sort((x, y) => (x.settlement.claim.id < y.settlement.claim.id ? -1 : 1))
    // the purge rides beside the batch, not in front of it
    void useOnce.purgeIfDue().catch(() => undefined)
    for (let i = 0; i < unique.length; i += MAX_SETTLEMENTS_PER_STATEMENT) {
      const part = unique.slice(i, i + MAX_SETTLEMENTS_PER_STATEMENT)
      try {
        await send(part)
      } catch (e) {
        for (const p of part) p.reject(e)
      }
    }
  }

  return {
    settle(settlement) {
      return new Promise((resolve, reject) => {
        queue.push({ settlement, seq: queue.length, resolve, reject })
        // the database commits elsewhere: send at the end of this turn (write-batch.ts `defer`)
        if (queue.length === 1) defer(() => void flush())
      })
    },
  }
}
