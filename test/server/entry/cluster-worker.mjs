// A stand-in worker for test/server/entry/cluster.test.ts: tells the primary it listens, then dies
// (exit 3) after CLUSTER_TEST_CRASH_MS, as a worker with a fatal bug would.
process.send({ vouch: 'listening', url: 'http://127.0.0.1:9' })
setTimeout(() => process.exit(3), Number(process.env.CLUSTER_TEST_CRASH_MS ?? 30))
