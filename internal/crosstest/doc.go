// Package crosstest holds tests that use several drivers at once. It has no
// code of its own and exports nothing: there is nothing to call, only tests
// to run.
//
// TestMinIOAndS3Portability proves that the minio and s3 drivers store
// objects the same standard S3 way, so that an application can switch from
// one to the other on the same bucket: on one MinIO bucket, each of the
// conformance suite's tricky keys (conformance.TrickyKeys, those MinIO can
// hold) written through one driver reads back through the other with the
// same bytes, content type and metadata (and the same ETag from its Stat and
// its Get), and the other driver lists exactly the keys written, in both
// directions.
//
// It needs MinIO: run it with `make test`, or alone with
//
//	./scripts/servers.sh go test -race -count=1 ./internal/crosstest
//
// Without the server it skips, or fails under KITE_REQUIRE_SERVERS=1.
package crosstest
