import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { isVerifyError } from '../../../core/errors.ts'
import { openSqliteWasm } from '../../../server/entry/sqlite-wasm.ts'
import { checkEntryInput } from '../../../server/entries/validate.ts'
import { AgentRegistry } from '../../../server/registry/registry.ts'
import { EntryStore } from '../../../server/registry/entries.ts'

const TD = 'example.org'
const dbPath = () => join(mkdtempSync(join(tmpdir(), 'vouch-entries-')), 'agents.db')

describe('EntryStore', () => {
  it('creates, gets, lists, deletes; survives reopening; lists per agent by ID and by selector subset', () => {
    const path = dbPath()
    const store = new EntryStore(openSqliteWasm(path))
    const a = store.create(
      checkEntryInput({ spiffeId: 'spiffe://example.org/a', parentId: 'spiffe://example.org/agent/1', selectors: ['unix:uid:1'] }, TD),
      1000,
    )
    const b = store.create(
      checkEntryInput(
        {
          spiffeId: 'spiffe://example.org/b',
          parentSelectors: ['tpm_devid:subject:cn:h1'],
          selectors: ['unix:uid:2'],
          dnsNames: ['b.example.org'],
        },
        TD,
      ),
      2000,
    )
    expect(a.id).toMatch(/^[0-9a-f]{32}$/)
    expect(a.id).not.toBe(b.id)
    expect(store.get(a.id)).toEqual(a)
    expect(store.get('not-an-id')).toBeUndefined()
    const reopened = new EntryStore(openSqliteWasm(path))
    expect(reopened.list()).toEqual([a, b])
    expect(reopened.listForAgent('spiffe://example.org/agent/1', []).map((e) => e.id)).toEqual([a.id])
    expect(reopened.listForAgent('spiffe://example.org/agent/2', ['tpm_devid:subject:cn:h1', 'tpm:pub_hash:x']).map((e) => e.id)).toEqual([
      b.id,
    ])
    expect(reopened.listForAgent('spiffe://example.org/agent/1', ['tpm_devid:subject:cn:h1']).map((e) => e.id)).toEqual([a.id, b.id])
    expect(reopened.listForAgent('spiffe://example.org/agent/3', ['tpm_devid:subject:cn:h2'])).toEqual([])
    expect(reopened.delete(a.id)).toBe(true)
    expect(reopened.delete(a.id)).toBe(false)
    expect(reopened.list()).toEqual([b])
  })

  it('refuses a duplicate (same SPIFFE ID, parent, selectors), the entry past the per-parent bound and past the total bound', () => {
    const store = new EntryStore(openSqliteWasm(dbPath()), { maxEntriesPerParent: 5, maxEntries: 7 })
    const spec = checkEntryInput(
      { spiffeId: 'spiffe://example.org/a', parentId: 'spiffe://example.org/agent/1', selectors: ['unix:uid:1'] },
      TD,
    )
    const first = store.create(spec, 0)
    try {
      store.create(spec, 0)
      expect.unreachable()
    } catch (e) {
      expect(isVerifyError(e) && e.code).toBe('ERR_ENTRY_EXISTS')
      expect((e as Error).message).toBe(`entry ${first.id} has the same spiffeId, parent and selectors`)
    }
    for (let i = 1; i < 5; i++) store.create({ ...spec, selectors: [`unix:uid:${i + 1}`] }, 0)
    try {
      store.create({ ...spec, selectors: ['unix:gid:1'] }, 0)
      expect.unreachable()
    } catch (e) {
      expect(isVerifyError(e) && e.code).toBe('ERR_ENTRY_LIMIT')
      expect((e as Error).message).toBe('parent: already has 5 entries, at most 5')
    }
    // another parent is not bounded by the first one's entries
    expect(store.create({ ...spec, parentId: 'spiffe://example.org/agent/2' }, 0).parentId).toBe('spiffe://example.org/agent/2')
    store.create({ ...spec, parentId: 'spiffe://example.org/agent/3' }, 0)
    expect(() => store.create({ ...spec, parentId: 'spiffe://example.org/agent/4' }, 0)).toThrow('the registry holds 7 entries, at most 7')
    expect(store.list()).toHaveLength(7)
  })

  it('the agents table gains the selectors column on an older database, and records them', () => {
    const path = dbPath()
    const db = openSqliteWasm(path)
    db.exec(
      'CREATE TABLE agents (spiffe_id TEXT PRIMARY KEY, attestor_type TEXT NOT NULL, attributes TEXT NOT NULL, first_attested_at INTEGER NOT NULL, last_attested_at INTEGER NOT NULL, attestations INTEGER NOT NULL DEFAULT 1, banned INTEGER NOT NULL DEFAULT 0, svid_serial TEXT, svid_expires_at INTEGER)',
    )
    db.run(
      "INSERT INTO agents (spiffe_id, attestor_type, attributes, first_attested_at, last_attested_at) VALUES ('spiffe://example.org/old', 'tpm_devid', '{}', 1, 1)",
    )
    const registry = new AgentRegistry(db)
    expect(registry.get('spiffe://example.org/old')?.selectors).toEqual([])
    registry.recordAttestation({
      spiffeId: 'spiffe://example.org/new',
      attestorType: 'tpm_devid',
      attributes: {},
      at: 2,
      selectors: ['tpm_devid:subject:cn:x'],
    })
    expect(registry.get('spiffe://example.org/new')?.selectors).toEqual(['tpm_devid:subject:cn:x'])
    registry.close()
  })
})
