// Package reliability holds the tests that show Kite keeps working under
// network faults, a killed and restarted server, cancellation and concurrent
// load, and loses nothing. It has no code of its own and exports nothing:
// there is nothing to call, only tests to run.
//
// What the tests prove:
//
//   - TestNetworkFaults (minio and s3 drivers, MinIO behind
//     internal/faultproxy): an idempotent call whose first two connections
//     are reset or closed succeeds through the SDK's retries with exactly two
//     more requests; a Get body cut mid-stream fails its Read after a strict
//     prefix of the object, never as a silently short object; a Put whose
//     body is cut once succeeds with the new bytes, and cut on every attempt
//     fails and leaves the old object (or none) with no multipart upload
//     left behind; a stalled connection only slows a call, and a cancelled
//     call on it returns promptly with the context's error, committing
//     nothing.
//   - TestCancel (every driver): a 64 MiB Put, of known and of unknown size,
//     and a 64 MiB Get cancelled mid-transfer return promptly with an error
//     matching context.Canceled, store nothing and leak no goroutine.
//   - TestLoad (memory, local, minio, s3): 64 goroutines of mixed
//     Put/Get/Stat/List/Delete/Copy on one Backend fail no call unexpectedly,
//     and afterwards every object that should exist holds the bytes written.
//   - TestStressServerCrash (minio and s3): MinIO killed with SIGKILL during
//     a 256 MiB upload of unknown size and started again on the same
//     directory and port: the upload fails, no partial object is visible,
//     Health fails while the server is down and passes after, and later calls
//     succeed, on objects from before included.
//   - TestStressCancel and TestStressLoad: TestCancel at 256 MiB and TestLoad
//     for 30 seconds a store.
//
// How to run them: the fast tests run in `make test`, or alone with
//
//	./scripts/servers.sh go test -race -count=1 ./internal/reliability
//
// which starts MinIO, versitygw and fake-gcs-server on loopback; without the
// servers the tests that need them skip (fail under KITE_REQUIRE_SERVERS=1).
// The TestStress… tests run only with KITE_STRESS=1 (`make stress`, or
//
//	KITE_STRESS=1 ./scripts/servers.sh go test -race -count=1 -run Stress -timeout 10m ./internal/reliability
//
// for this package alone); the crash test starts a MinIO of its own from
// KITE_MINIO_BIN, which scripts/servers.sh sets, so that it can kill it.
package reliability
