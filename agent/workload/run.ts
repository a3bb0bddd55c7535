/**
 * `vouch agent` with agent.workloadApi: after each attestation the node SVID it wrote is handed to
 * the workload identity manager (which re-syncs with it), and after the first one the Workload API
 * and SDS server starts on the configured unix socket, reading the manager. The node SVID files
 * are the ones the agent already writes (svidDir); workload keys are never written anywhere.
 */
import { readFile } from 'node:fs/promises'
import type { AttestSummary } from '../attest.ts'
import type { AgentConfig, WorkloadApiConfig } from '../config.ts'
import type { Logger } from '../log.ts'
import { WorkloadManager } from './manager.ts'
import type { NodeCredentials } from './server-client.ts'
import type { WorkloadIdentitySource } from './source.ts'

/** A running Workload API server (agent/workload/api/). */
export interface WorkloadApiHandle {
  close(): Promise<void>
}

export type StartWorkloadApi = (o: { socketPath: string; source: WorkloadIdentitySource; logger: Logger }) => Promise<WorkloadApiHandle>

/** The node credentials of an attestation: its SVID files, and the roots the server's TLS chains to. */
export async function nodeCredentialsOf(cfg: AgentConfig, s: AttestSummary): Promise<NodeCredentials> {
  const [certificatePem, privateKeyPem, bundlePem, trustPem] = await Promise.all([
    readFile(s.svidPath, 'utf8'),
    readFile(s.keyPath, 'utf8'),
    readFile(s.bundlePath, 'utf8'),
    cfg.trustBundlePath ? readFile(cfg.trustBundlePath, 'utf8') : Promise.resolve(''),
  ])
  const serverCaPem = [trustPem, bundlePem]
    .filter((t) => t !== '')
    .map((t) => (t.endsWith('\n') ? t : `${t}\n`))
    .join('')
  return { spiffeId: s.spiffeId, certificatePem, privateKeyPem, serverCaPem }
}

export class WorkloadServices {
  readonly manager: WorkloadManager
  private api: WorkloadApiHandle | undefined
  private starting: Promise<void> | undefined

  constructor(
    private readonly cfg: AgentConfig & { readonly workloadApi: WorkloadApiConfig },
    private readonly log: Logger,
    private readonly startApi: StartWorkloadApi,
  ) {
    const w = cfg.workloadApi
    this.manager = new WorkloadManager({
      server: cfg.server, // until an attestation names the replica that answered
      log,
      refreshIntervalMs: w.refreshIntervalSeconds * 1000,
      maxEntries: w.maxEntries,
      maxJwtCache: w.maxJwtSvids,
    })
  }

  /** After every successful attestation: the new node SVID to the manager; the first time, the API server. */
  async afterAttestation(s: AttestSummary): Promise<void> {
    const node = await nodeCredentialsOf(this.cfg, s)
    // failures are logged by the manager's loop, which retries with backoff
    this.manager.setNodeCredentials(node, s.server).catch(() => undefined)
    this.manager.start()
    if (!this.starting)
      this.starting = this.startApi({ socketPath: this.cfg.workloadApi.socketPath, source: this.manager, logger: this.log }).then((api) => {
        this.api = api
        this.log.log('info', 'Workload API listening', { socketPath: this.cfg.workloadApi.socketPath })
      })
    await this.starting
  }

  async close(): Promise<void> {
    this.manager.stop()
    await this.starting?.catch(() => undefined)
    await this.api?.close()
  }
}
