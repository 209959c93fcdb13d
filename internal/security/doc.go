// Package security holds only tests: the checks behind SECURITY.md that span
// several drivers.
//
//   - hostile_test.go sends hostile presigned requests (tampered, expired,
//     re-targeted, traversing, padded, signed with another secret, replayed
//     with another body, stripped) to the memory and local Handlers and, through
//     the minio and s3 drivers, to MinIO and versitygw, and checks that each is
//     refused and nothing is stored, inside the store or outside it.
//   - secrets_test.go produces the errors of every driver (wrong credentials,
//     unreachable endpoints, bad URLs, every sentinel) and checks that no
//     message, %+v form or slog record shows a secret key, a password from a
//     URL or a signature.
//
// The server tests need scripts/servers.sh (make test starts it); without it
// they skip, or fail under KITE_REQUIRE_SERVERS=1.
package security
