package testenv_test

import (
	"context"
	"net/url"
	"testing"

	"cloud.google.com/go/storage"
	mc "github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/stretchr/testify/require"
	"google.golang.org/api/option"

	"github.com/kitehq/kite/backend"
	_ "github.com/kitehq/kite/gcs"
	"github.com/kitehq/kite/internal/testenv"
	_ "github.com/kitehq/kite/minio"
)

// A test of a driver against the MinIO of scripts/servers.sh: MinIO skips the
// test when that server is not configured, or fails it under
// KITE_REQUIRE_SERVERS=1. Run it with `./scripts/servers.sh go test ./pkg`.
// The function literal is what go test runs as func TestWithMinIO(t
// *testing.T) in a _test.go file.
func ExampleMinIO() {
	TestWithMinIO := func(t *testing.T) {
		srv := testenv.MinIO(t)

		// A bucket of the test's own, made with the SDK: path-style, plain http.
		admin, err := mc.New(srv.Endpoint, &mc.Options{
			Creds:        credentials.NewStaticV4(srv.AccessKey, srv.SecretKey, ""),
			Region:       "us-east-1",
			BucketLookup: mc.BucketLookupPath,
		})
		require.NoError(t, err)
		const bucket = "kite-example"
		require.NoError(t, admin.MakeBucket(t.Context(), bucket, mc.MakeBucketOptions{Region: "us-east-1"}))
		t.Cleanup(func() { _ = admin.RemoveBucket(context.Background(), bucket) })

		u := url.URL{Scheme: "minio", User: url.UserPassword(srv.AccessKey, srv.SecretKey),
			Host: srv.Endpoint, Path: "/" + bucket, RawQuery: "secure=false"}
		b, err := backend.Open(t.Context(), u.String())
		require.NoError(t, err)
		t.Cleanup(func() { _ = b.Close() })
		require.NoError(t, b.Health(t.Context()))
	}
	_ = TestWithMinIO // a top-level func in a _test.go file, go test runs it
}

// A test against fake-gcs-server: GCSEmulator returns its host:port, which
// the storage SDK and the gs driver take as their endpoint, without
// credentials.
func ExampleGCSEmulator() {
	TestWithGCS := func(t *testing.T) {
		endpoint := testenv.GCSEmulator(t)

		client, err := storage.NewClient(t.Context(),
			option.WithEndpoint("http://"+endpoint+"/storage/v1/"), option.WithoutAuthentication())
		require.NoError(t, err)
		t.Cleanup(func() { _ = client.Close() })
		const bucket = "kite-example"
		require.NoError(t, client.Bucket(bucket).Create(t.Context(), "kite-test", nil))
		t.Cleanup(func() { _ = client.Bucket(bucket).Delete(context.Background()) })

		b, err := backend.Open(t.Context(), "gs://"+bucket+"?anonymous=true&endpoint=http://"+endpoint)
		require.NoError(t, err)
		t.Cleanup(func() { _ = b.Close() })
		require.NoError(t, b.Health(t.Context()))
	}
	_ = TestWithGCS // a top-level func in a _test.go file, go test runs it
}
