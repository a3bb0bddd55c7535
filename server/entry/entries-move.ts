/**
 * Registration entries a replica kept in its own dataDir/agents.db, before they moved to the
 * shared PostgreSQL database (migration 5), are moved there once, at start (not by workers: their
 * primary did it). Each keeps its ID and creation time; one already there under the same ID (a
 * move cut short and run again) or the same SPIFFE ID, parent and selectors (the same entry made on
 * another replica, which moved first) is not added twice, one deleted from the shared database since
 * (moved by another replica first, then deleted by an operator) does not come back, and the bounds
 * hold as for `vouch entry create`. Then, in one SQLite transaction, the rows read are copied to the table `entries_moved`
 * and deleted from `entries`: a later start finds nothing to move, and an operator can still read
 * what was there (an entry refused by a bound is only there).
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { RegistrationEntry } from '../entries/validate.ts'
import type { Logger } from '../logging.ts'
import { toEntry } from '../registry/entry-store.ts'
import type { SqlDatabase } from '../registry/sql.ts'

export type AdoptOutcome = 'added' | 'present' | 'exists' | 'limit' | 'deleted'

export interface MovedEntries extends Record<AdoptOutcome, number> {
  /** rows that are not an entry (a JSON column that does not parse); left in place */
  readonly unreadable: number
}

/** Moves the entries of a SQLite registry into `into` (PgEntryStore.adopt); undefined when there were none. */
export async function moveSqliteEntries(
  db: SqlDatabase,
  into: { adopt(entry: RegistrationEntry): Promise<AdoptOutcome> },
): Promise<MovedEntries | undefined> {
  if (!db.get("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'entries'")) return undefined
  const rows = db.all('SELECT * FROM entries ORDER BY created_at, id')
  if (rows.length === 0) return undefined
  const counts = { added: 0, present: 0, exists: 0, limit: 0, deleted: 0, unreadable: 0 }
  const moved: string[] = []
  for (const row of rows) {
    let entry: RegistrationEntry
    try {
      entry = toEntry(row)
    } catch {
      counts.unreadable++
      continue
    }
    counts[await into.adopt(entry)]++
    moved.push(entry.id)
  }
  db.exec('BEGIN IMMEDIATE')
  try {
    db.exec('CREATE TABLE IF NOT EXISTS entries_moved AS SELECT * FROM entries WHERE 0')
    for (const id of moved) {
      db.run('INSERT INTO entries_moved SELECT * FROM entries WHERE id = ?', [id])
      db.run('DELETE FROM entries WHERE id = ?', [id])
    }
    db.exec('COMMIT')
  } catch (e) {
    db.exec('ROLLBACK')
    throw e
  }
  return counts
}

/** At start with PostgreSQL: moves the entries of dataDir/agents.db, if the file exists, and logs what it did. */
export async function moveLocalEntries(
  dataDir: string,
  open: (path: string) => SqlDatabase,
  into: { adopt(entry: RegistrationEntry): Promise<AdoptOutcome> },
  logger: Logger,
): Promise<void> {
  const path = join(dataDir, 'agents.db')
  if (!existsSync(path)) return
  const db = open(path)
  try {
    const moved = await moveSqliteEntries(db, into)
    if (!moved) return
    logger.warn('Registration entries moved to the shared database', {
      from: path,
      ...moved,
      detail:
        moved.limit > 0
          ? `${moved.limit} refused by the entry bounds: they remain only in the table entries_moved of ${path}`
          : 'copies remain in the table entries_moved',
    })
  } finally {
    db.close()
  }
}
