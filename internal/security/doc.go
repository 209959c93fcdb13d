// Package security holds only tests: the checks behind SECURITY.md that span
// several drivers. It exports nothing: there is nothing to call, only tests
// to run.
//
//   - hostile_test.go (TestHostileMemory, TestHostileLocal,
//     TestHostileMinIODriver, TestHostileS3Driver) sends hostile presigned
//     requests (tampered, expired, re-targeted, traversing, padded, signed
//     with another secret, replayed with another body, stripped) to the
//     memory and local Handlers and, through the minio and s3 drivers, to
//     MinIO and versitygw, and checks that each is refused and nothing is
//     stored, inside the store or outside it.
//   - secrets_test.go (TestSecretsMemory, TestSecretsLocal, TestSecretsMinIO,
//     TestSecretsS3, TestSecretsGCS) produces the errors of every driver
//     (wrong credentials, unreachable endpoints, bad URLs, every sentinel)
//     and checks that no message, %+v form or slog record shows a secret key,
//     a password from a URL or a signature.
//
// The memory and local tests need nothing; the others need the servers of
// scripts/servers.sh for their parts against a live store. Run them with `make test`, or alone with
//
//	./scripts/servers.sh go test -race -count=1 ./internal/security
//
// Without the servers those tests skip, or fail under KITE_REQUIRE_SERVERS=1.
package security
