import type { CommandEntry } from '../command.ts'

// The command table: one entry per command, sorted by path. It imports no command module: each
// loads when its command runs or shows its --help (test/cli/main.test.ts holds it to that).
export const commands: CommandEntry[] = [
  {
    path: ['agent'],
    summary: 'run the node agent: TPM attestation to the vouch server, SVID on disk; the Workload API (workloadApi)',
    load: async () => (await import('./agent.ts')).agentCommand,
  },
  {
    path: ['agent', 'ban'],
    summary: 'ban an agent: its next attestation is refused',
    load: async () => (await import('./agent-registry.ts')).agentBan,
  },
  {
    path: ['agent', 'build-native'],
    summary: 'build the optional native TCTI bridge (libtss2-tctildr) in this installation',
    load: async () => (await import('./agent-build-native.ts')).agentBuildNative,
  },
  {
    path: ['agent', 'list'],
    summary: 'list attested agents from the registry',
    load: async () => (await import('./agent-registry.ts')).agentList,
  },
  {
    path: ['agent', 'show'],
    summary: 'show one agent of the registry',
    load: async () => (await import('./agent-registry.ts')).agentShow,
  },
  {
    path: ['agent', 'unban'],
    summary: 'lift an agent ban',
    load: async () => (await import('./agent-registry.ts')).agentUnban,
  },
  {
    path: ['bundle', 'show'],
    summary: "print a SPIFFE bundle's X.509 and JWT authorities",
    load: async () => (await import('./bundle-show.ts')).bundleShow,
  },
  {
    path: ['conformance', 'limbo'],
    summary: 'run x509-limbo testcases through the chain verifier and write a results file',
    load: async () => (await import('./conformance-limbo.ts')).conformanceLimbo,
  },
  {
    path: ['credential', 'make'],
    summary: 'make a TPM2 credential (MakeCredential) for an EK and AK name, as a tpm2-tools credential file',
    load: async () => (await import('./credential-make.ts')).credentialMake,
  },
  {
    path: ['devid', 'provision'],
    summary: 'create a DevID key in the TPM and issue its certificate (or a CSR)',
    load: async () => (await import('./devid-provision.ts')).devidProvision,
  },
  {
    path: ['ek', 'hash'],
    summary: 'print the EK public hash (SHA-256 of the EK SubjectPublicKeyInfo)',
    load: async () => (await import('./ek-hash.ts')).ekHash,
  },
  {
    path: ['entry', 'create'],
    summary: 'create a registration entry (a workload SPIFFE ID under an agent)',
    load: async () => (await import('./entry-registry.ts')).entryCreate,
  },
  {
    path: ['entry', 'delete'],
    summary: 'delete a registration entry',
    load: async () => (await import('./entry-registry.ts')).entryDelete,
  },
  {
    path: ['entry', 'list'],
    summary: 'list registration entries',
    load: async () => (await import('./entry-registry.ts')).entryList,
  },
  {
    path: ['entry', 'show'],
    summary: 'show one registration entry',
    load: async () => (await import('./entry-registry.ts')).entryShow,
  },
  {
    path: ['policy', 'check'],
    summary: 'validate an AgentAttestation policy document and print every error with its path',
    load: async () => (await import('./policy-check.ts')).policyCheck,
  },
  {
    path: ['server'],
    summary: 'run the attestation server (HTTP protocol v1, SVID issuance, bundle, registry, metrics)',
    load: async () => (await import('./server.ts')).serverCommand,
  },
  {
    path: ['eventlog', 'replay'],
    summary: 'replay a TCG event log: the PCR values of every bank',
    load: async () => (await import('./eventlog-replay.ts')).eventlogReplay,
  },
  {
    path: ['eventlog', 'show'],
    summary: 'print the events of a TCG event log and the boot state they describe',
    load: async () => (await import('./eventlog-show.ts')).eventlogShow,
  },
  {
    path: ['verify', 'chain'],
    summary: 'verify an X.509 certificate chain up to trust anchors (RFC 5280 path validation)',
    load: async () => (await import('./verify-chain.ts')).verifyChainCommand,
  },
  {
    path: ['verify', 'jwt-svid'],
    summary: 'verify a JWT-SVID against the JWT bundle of its trust domain',
    load: async () => (await import('./verify-jwt-svid.ts')).verifyJwtSvidCommand,
  },
  {
    path: ['verify', 'quote'],
    summary: 'verify a TPM2_Quote: AK signature, nonce and PCR digest',
    load: async () => (await import('./verify-quote.ts')).verifyQuoteCommand,
  },
  {
    path: ['verify', 'x509-svid'],
    summary: 'verify an X.509-SVID chain against the bundle of its trust domain',
    load: async () => (await import('./verify-x509-svid.ts')).verifyX509SvidCommand,
  },
]
