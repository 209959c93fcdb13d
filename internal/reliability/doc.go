// Package reliability holds the tests that show Kite keeps working under
// network faults (through internal/faultproxy), a killed and restarted
// server, cancellation and concurrent load, and loses nothing. It has no
// code of its own.
//
// The fast tests run in `make test` against the servers of
// scripts/servers.sh. The long ones are named TestStress… and run only with
// KITE_STRESS=1 (`make stress`); the crash test starts a MinIO of its own
// from KITE_MINIO_BIN, so that it can kill it.
package reliability
