// Package conformance is the suite every Kite driver must pass: the judge of
// the promises of backend.Backend. It checks round-trips of sizes, content
// types and metadata under a shared table of tricky keys, byte ranges,
// listing order, prefixes, delimiters, pagination and early break, Copy,
// idempotent Delete, IfNotExists under concurrent writers, IfMatch, the error
// kinds (errors.Is with the backend sentinels and their io/fs twins, exactly
// one kind per error, a *backend.Error naming the operation), the key rules,
// a key beside the keys below it ("a" and "a/b"), atomic writes, streaming
// of an object larger than a part, cancellation, Health, Close, the document
// key schema, and every promise of presigned URLs,
// fetched with a separate plain HTTP client that holds no credentials:
// expiry, tampering, another key or method, signed Content-Type and size, the
// public host.
//
// A driver proves itself by calling Run from its own tests with a Harness
// that makes a fresh, empty backend for each check:
//
//	func TestConformance(t *testing.T) {
//		conformance.Run(t, conformance.Harness{
//			New: func(t conformance.T) backend.Backend {
//				b, err := mydriver.New(mydriver.Options{Bucket: newBucket(t)})
//				if err != nil {
//					t.Fatal(err)
//				}
//				return b // the suite closes it
//			},
//			StreamSize: 16<<20 + 1, // more than one part
//			PublicHost: "files.example.test:9000",
//			NoSizeCheck: "the store does not enforce a signed length",
//		})
//	}
//
// Each check is a Check with a stable name ("Put/RoundTrip", "List/Order",
// "Presign/Expiry", …) and runs as a parallel subtest of that name, so
// `go test -run 'TestConformance/List/'` selects a group. What a store cannot
// honour is declared in the Harness with a reason; the checks that need it
// are then skips carrying the reason, never passes. A store that keeps
// objects as files and cannot hold "a" and "a/b" at once declares
// NoParentKeys: every check then stores only sets without such pairs and
// still checks the rest.
//
// RunChecks runs the very same checks outside go test (the `kite conformance
// URL` command) and returns one Result per check.
//
// The checks write only the keys they name, on the backend New returned, and
// they bound every wait: the only sleep waits out a presigned URL's expiry.
package conformance
