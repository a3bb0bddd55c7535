/**
 * The agent registry: one row per SPIFFE ID with the attestor type, the attributes of its latest
 * attestation, first/last attestation times, an attestation count, the latest SVID's serial and
 * expiry, and the banned flag. Every write is one statement or one transaction (SQLite makes each
 * atomic and durable with synchronous=FULL), so a crash mid-attestation leaves either the old row
 * or the new one. The server commits attestation records in batches (commitAttestation).
 */
import { MIGRATIONS_TABLE, pendingMigrations } from './migrations.ts'
import type { ClaimedWrite } from './use-once.ts'
import type { SqlDatabase, SqlValue } from './sql.ts'
import { type SqlWriteBatch, writeBatchFor } from './write-batch.ts'

export interface AgentRecord {
  readonly spiffeId: string
  readonly attestorType: string
  readonly attributes: Readonly<Record<string, string>>
  /** ms since the epoch */
  readonly firstAttestedAt: number
  readonly lastAttestedAt: number
  readonly attestations: number
  readonly banned: boolean
  readonly svidSerial: string | null
  readonly svidExpiresAt: number | null
  /** the agent selectors of its latest attestation (`type:value`, e.g. `tpm_devid:subject:cn:...`) */
  readonly selectors: readonly string[]
}

export interface AttestationRecord {
  readonly spiffeId: string
  readonly attestorType: string
  readonly attributes: Readonly<Record<string, string>>
  readonly at: number
  readonly svidSerial?: string
  readonly svidExpiresAt?: number
  /** agent selectors (`type:value`) */
  readonly selectors?: readonly string[]
}

/** An agents row as a record (shared by the SQLite and PostgreSQL registries). */
export function toRecord(row: Record<string, SqlValue>): AgentRecord {
  return {
    spiffeId: String(row.spiffe_id),
    attestorType: String(row.attestor_type),
    attributes: JSON.parse(String(row.attributes)) as Record<string, string>,
    firstAttestedAt: Number(row.first_attested_at),
    lastAttestedAt: Number(row.last_attested_at),
    attestations: Number(row.attestations),
    banned: Number(row.banned) !== 0,
    svidSerial: row.svid_serial === null || row.svid_serial === undefined ? null : String(row.svid_serial),
    svidExpiresAt: row.svid_expires_at === null || row.svid_expires_at === undefined ? null : Number(row.svid_expires_at),
    selectors: row.selectors === null || row.selectors === undefined ? [] : (JSON.parse(String(row.selectors)) as string[]),
  }
}

/**
 * Applies the pending schema migrations (server/registry/migrations.ts) in one BEGIN IMMEDIATE
 * transaction: SQLite's write lock serializes processes opening the file together, and a failed
 * migration leaves the previous schema.
 */
export function migrateSqlite(db: SqlDatabase, now: number = Date.now()): void {
  db.exec('BEGIN IMMEDIATE')
  try {
    db.exec(MIGRATIONS_TABLE)
    const applied = db.all('SELECT version FROM schema_migrations').map((r) => Number(r.version))
    for (const m of pendingMigrations(applied)) {
      const present = m.addsColumn && db.all(`PRAGMA table_info(${m.addsColumn.table})`).some((c) => c.name === m.addsColumn!.column)
      if (!present) db.exec(m.sql)
      db.run('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)', [m.version, now])
    }
    db.exec('COMMIT')
  } catch (e) {
    db.exec('ROLLBACK')
    throw e
  }
}

/** The agents row's columns, for an INSERT of attestation records (SQLite and PostgreSQL). */
export const INSERT_AGENT =
  'INSERT INTO agents (spiffe_id, attestor_type, attributes, first_attested_at, last_attested_at, attestations, banned, svid_serial, svid_expires_at, selectors)'

/**
 * An agent's row meeting new attestations: the latest's columns, the count grown by theirs, the
 * first time and the banned flag kept. Followed by `WHERE agents.banned = 0`, a banned row is left.
 */
export const ON_AGENT_CONFLICT = `ON CONFLICT(spiffe_id) DO UPDATE SET attestor_type = excluded.attestor_type, attributes = excluded.attributes,
  last_attested_at = excluded.last_attested_at, attestations = agents.attestations + excluded.attestations,
  svid_serial = excluded.svid_serial, svid_expires_at = excluded.svid_expires_at, selectors = excluded.selectors`

/** One attestation record as its agent's row (upsertParams). */
export const UPSERT_AGENT = `${INSERT_AGENT} VALUES (?, ?, ?, ?, ?, 1, 0, ?, ?, ?) ${ON_AGENT_CONFLICT}`

/**
 * UPSERT_AGENT as the write after a use-once claim in one transaction (use-once.ts claimAnd): its
 * row only when the statement just before it, the claim, inserted one (`changes() = 1`).
 */
const UPSERT_AFTER_CLAIM = `${INSERT_AGENT} SELECT ?, ?, ?, ?, ?, 1, 0, ?, ?, ? WHERE changes() = 1 ${ON_AGENT_CONFLICT}
  WHERE agents.banned = 0 RETURNING spiffe_id`

/** UPSERT_AGENT's parameters for a record. */
export function upsertParams(a: AttestationRecord): SqlValue[] {
  return [
    a.spiffeId,
    a.attestorType,
    JSON.stringify(a.attributes),
    a.at,
    a.at,
    a.svidSerial ?? null,
    a.svidExpiresAt ?? null,
    JSON.stringify(a.selectors ?? []),
  ]
}

/** The SQLite registry (synchronous); it satisfies AgentStore (server/registry/store.ts). */
export class AgentRegistry {
  private readonly writes: SqlWriteBatch

  constructor(private readonly db: SqlDatabase) {
    db.exec('PRAGMA synchronous = FULL;')
    migrateSqlite(db)
    this.writes = writeBatchFor(db)
  }

  get(spiffeId: string): AgentRecord | undefined {
    const row = this.db.get('SELECT * FROM agents WHERE spiffe_id = ?', [spiffeId])
    return row ? toRecord(row) : undefined
  }

  list(): AgentRecord[] {
    return this.db.all('SELECT * FROM agents ORDER BY spiffe_id').map(toRecord)
  }

  isBanned(spiffeId: string): boolean {
    const row = this.db.get('SELECT banned FROM agents WHERE spiffe_id = ?', [spiffeId])
    return row !== undefined && Number(row.banned) !== 0
  }

  /**
   * Records a successful attestation unless the agent is banned, and resolves once that is
   * committed: 'recorded', or 'banned' (nothing written). Records that arrive while a commit is
   * pending share it, with the use-once claims on the same connection (write-batch.ts): one
   * transaction (one lock, one set of fsyncs with synchronous=FULL) per batch for the ban checks
   * and the writes, not two statements per attestation; nothing is acknowledged before it is
   * durable. A failed batch is rolled back and every caller in it rejected.
   */
  commitAttestation(a: AttestationRecord): Promise<'recorded' | 'banned'> {
    return this.writes.run<'recorded' | 'banned'>({
      run: () => {
        if (this.isBanned(a.spiffeId)) return 'banned'
        this.recordAttestation(a)
        return 'recorded'
      },
      // the same as one statement (for the driver's writer connection): the upsert skips a banned
      // row, and RETURNING yields a row only when something was written
      statements: [{ sql: `${UPSERT_AGENT} WHERE agents.banned = 0 RETURNING spiffe_id`, params: upsertParams(a) }],
      fromRows: ([row]) => (row === undefined ? 'banned' : 'recorded'),
    })
  }

  /**
   * commitAttestation as the write that follows a won use-once claim in the same transaction
   * (SqlUseOnceStore.claimAnd): recorded unless the agent is banned.
   */
  attestationAfterClaim(a: AttestationRecord): ClaimedWrite<'recorded' | 'banned'> {
    return {
      run: () => {
        if (this.isBanned(a.spiffeId)) return 'banned'
        this.recordAttestation(a)
        return 'recorded'
      },
      statement: { sql: UPSERT_AFTER_CLAIM, params: upsertParams(a) },
      fromRow: (row) => (row === undefined ? 'banned' : 'recorded'),
    }
  }

  /** Records a successful attestation (insert, or update keeping first time and banned flag). */
  recordAttestation(a: AttestationRecord): void {
    this.db.run(UPSERT_AGENT, upsertParams(a))
  }

  /** Sets the banned flag; false when there is no such agent. */
  setBanned(spiffeId: string, banned: boolean): boolean {
    if (!this.get(spiffeId)) return false
    this.db.run('UPDATE agents SET banned = ? WHERE spiffe_id = ?', [banned ? 1 : 0, spiffeId])
    return true
  }

  /** A persistent counter's value (0 when never incremented). */
  sequence(key: string): number {
    const row = this.db.get('SELECT value FROM meta WHERE key = ?', [key])
    return row ? Number(row.value) : 0
  }

  /** A persistent counter (the bundle's spiffe_sequence), incremented and returned. */
  nextSequence(key: string): number {
    const row = this.db.get('SELECT value FROM meta WHERE key = ?', [key])
    const next = (row ? Number(row.value) : 0) + 1
    this.db.run('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value', [key, String(next)])
    return next
  }

  /** A cheap query that fails when the database is closed or broken (readiness). */
  ping(): boolean {
    try {
      this.db.get('SELECT 1 AS ok')
      return true
    } catch {
      return false
    }
  }

  close(): void {
    this.db.close()
  }
}
