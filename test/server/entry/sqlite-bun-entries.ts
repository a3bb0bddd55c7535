// Run by Bun for test/server/entry/sqlite-bun.test.ts: opens the registry file named by argv[2]
// with bun:sqlite (server/entry/sqlite-bun.ts) through the entry store, which applies the pending
// migrations (8: the links, their triggers and the backfill), then creates an entry, deletes the
// one named by argv[3], and prints what it sees as one JSON line.
import { openSqliteBun } from '../../../server/entry/sqlite-bun.ts'
import { checkEntryInput } from '../../../server/entries/validate.ts'
import { SqliteEntryStore } from '../../../server/registry/entries.ts'

const db = openSqliteBun(process.argv[2]!)
const store = new SqliteEntryStore(db)
const S = (n: number) => `tpm_devid:subject:cn:h${n}`
const made = store.create(checkEntryInput({ spiffeId: 'spiffe://td/w/bun', parentSelectors: [S(3)], selectors: ['unix:uid:1'] }, 'td'), 100)
store.delete(process.argv[3]!)
const list = (agent: string, selectors: string[]) => store.listForAgent(agent, selectors).map((e) => e.spiffeId)
console.log(
  JSON.stringify({
    version: db.get('SELECT max(version) AS v FROM schema_migrations')?.v,
    made: made.id,
    links: db.all('SELECT selector, entry_id, selector_count FROM entry_parent_selectors ORDER BY entry_id, selector'),
    agent1: list('spiffe://td/agent/1', [S(1), S(2)]),
    agent2: list('spiffe://td/agent/2', [S(3), S(2), S(1)]),
  }),
)
db.close()
