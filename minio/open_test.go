package minio

import (
	"context"
	"fmt"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
)

const (
	testAccess = "AKIAKITEOPENTEST"
	testSecret = "s3cr3t-Kite-0pen/Value"
)

func TestOpenURLs(t *testing.T) {
	t.Parallel()
	userinfo := url.UserPassword(testAccess, testSecret).String() + "@"
	good := []struct {
		url                       string
		endpoint, presign, region string
		bucket                    string
		partSize                  int64
	}{
		{"minio://" + userinfo + "127.0.0.1:9000/bucket?secure=false", "http://127.0.0.1:9000", "http://127.0.0.1:9000", "us-east-1", "bucket", DefaultPartSize},
		{"minio://" + userinfo + "127.0.0.1:9000/bucket/", "https://127.0.0.1:9000", "https://127.0.0.1:9000", "us-east-1", "bucket", DefaultPartSize},
		{"minio://" + userinfo + "minio.internal:9000/docs?secure=true&region=eu-west-1&part_size=32MiB&public_endpoint=https://files.example.com",
			"https://minio.internal:9000", "https://files.example.com", "eu-west-1", "docs", 32 << 20},
		{"minio://" + userinfo + "127.0.0.1:9000/b-1.x?secure=false&public_endpoint=localhost:9001&part_size=5242880",
			"http://127.0.0.1:9000", "http://localhost:9001", "us-east-1", "b-1.x", 5 << 20},
		{"minio://" + userinfo + "[::1]:9000/bucket?secure=false&public_endpoint=https://[::1]:9443&part_size=5GiB",
			"http://[::1]:9000", "https://[::1]:9443", "us-east-1", "bucket", 5 << 30},
	}
	for _, c := range good {
		t.Run(backend.RedactURL(c.url), func(t *testing.T) {
			t.Parallel()
			bk, err := backend.Open(context.Background(), c.url)
			require.NoError(t, err)
			b, ok := bk.(*Backend)
			require.True(t, ok, "Open returns *minio.Backend, got %T", bk)
			defer b.Close()
			assert.Equal(t, c.endpoint, b.Client().EndpointURL().String())
			assert.Equal(t, c.presign, b.presigner.EndpointURL().String())
			assert.Equal(t, c.bucket, b.Bucket())
			assert.Equal(t, c.partSize, b.partSize)
			pr, err := b.PresignGet(context.Background(), "k", backend.PresignOptions{})
			require.NoError(t, err)
			assert.Contains(t, pr.URL, "%2F"+c.region+"%2Fs3%2F", "signed for the region")
			assert.Contains(t, pr.URL, "/"+c.bucket+"/k?", "path-style")
		})
	}

	bad := []struct{ name, url string }{
		{"no bucket", "minio://" + userinfo + "host:9000"},
		{"root path", "minio://" + userinfo + "host:9000/"},
		{"nested path", "minio://" + userinfo + "host:9000/bucket/dir"},
		{"bad bucket name", "minio://" + userinfo + "host:9000/Bad_Bucket"},
		{"no host", "minio://" + userinfo + "/bucket"},
		{"unknown parameter", "minio://" + userinfo + "host:9000/bucket?regoin=us-east-1"},
		{"secret-looking unknown parameter", "minio://" + userinfo + "host:9000/bucket?secret_key=" + url.QueryEscape(testSecret)},
		{"parameter twice", "minio://" + userinfo + "host:9000/bucket?secure=false&secure=true"},
		{"bad secure", "minio://" + userinfo + "host:9000/bucket?secure=maybe"},
		{"part size too small", "minio://" + userinfo + "host:9000/bucket?part_size=1MiB"},
		{"part size too large", "minio://" + userinfo + "host:9000/bucket?part_size=6GiB"},
		{"part size not a size", "minio://" + userinfo + "host:9000/bucket?part_size=big"},
		{"public endpoint with a path", "minio://" + userinfo + "host:9000/bucket?public_endpoint=https://files.example.com/x"},
		{"public endpoint with credentials", "minio://" + userinfo + "host:9000/bucket?public_endpoint=https://" + userinfo + "files.example.com"},
		{"public endpoint of another scheme", "minio://" + userinfo + "host:9000/bucket?public_endpoint=ftp://files.example.com"},
		{"access key without secret", "minio://" + testAccess + "@host:9000/bucket"},
		{"secret without access key", "minio://:" + url.PathEscape(testSecret) + "@host:9000/bucket"},
		{"fragment", "minio://" + userinfo + "host:9000/bucket#frag"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b, err := backend.Open(context.Background(), c.url)
			require.Error(t, err)
			assert.Nil(t, b)
			assert.ErrorIs(t, err, backend.ErrInvalidArgument)
			msg := fmt.Sprintf("%v %+v", err, err)
			assert.NotContains(t, msg, testSecret, "the secret key is redacted")
			assert.NotContains(t, msg, url.PathEscape(testSecret))
			assert.NotContains(t, msg, testAccess, "the access key is redacted")
		})
	}
}

func TestOpenCredentialsFromEnvironment(t *testing.T) {
	// t.Setenv: not parallel.
	t.Setenv(AccessKeyEnv, "")
	t.Setenv(SecretKeyEnv, "")
	_, err := backend.Open(context.Background(), "minio://127.0.0.1:9000/bucket?secure=false")
	require.Error(t, err, "no credentials anywhere")
	assert.ErrorIs(t, err, backend.ErrInvalidArgument)
	assert.Contains(t, err.Error(), AccessKeyEnv)

	t.Setenv(AccessKeyEnv, "AKFROMENV")
	t.Setenv(SecretKeyEnv, "secret-from-env")
	bk, err := backend.Open(context.Background(), "minio://127.0.0.1:9000/bucket?secure=false")
	require.NoError(t, err)
	b := bk.(*Backend)
	defer b.Close()
	v, err := b.Client().GetCreds()
	require.NoError(t, err)
	assert.Equal(t, "AKFROMENV", v.AccessKeyID)
	assert.Equal(t, "secret-from-env", v.SecretAccessKey)

	// Credentials in the URL win over the environment.
	bk, err = backend.Open(context.Background(), "minio://AKURL:secret-url@127.0.0.1:9000/bucket?secure=false")
	require.NoError(t, err)
	defer bk.Close()
	v, err = bk.(*Backend).Client().GetCreds()
	require.NoError(t, err)
	assert.Equal(t, "AKURL", v.AccessKeyID)
}

func TestNewRejectsBadOptions(t *testing.T) {
	t.Parallel()
	_, err := New(nil, "bucket", Options{})
	assert.ErrorIs(t, err, backend.ErrInvalidArgument)
	bk, err := backend.Open(context.Background(), "minio://AK:SK@127.0.0.1:9000/bucket?secure=false")
	require.NoError(t, err)
	defer bk.Close()
	client := bk.(*Backend).Client()
	for _, o := range []Options{{PartSize: 1}, {PartSize: 6 << 30}, {PublicEndpoint: "https://x/path"}, {PublicEndpoint: "gopher://x"}, {Concurrency: -1}} {
		_, err := New(client, "bucket", o)
		assert.ErrorIs(t, err, backend.ErrInvalidArgument, "%+v", o)
	}
	_, err = New(client, "Bad_Bucket", Options{})
	assert.ErrorIs(t, err, backend.ErrInvalidArgument)
	b, err := New(client, "bucket", Options{})
	require.NoError(t, err)
	assert.Equal(t, int64(DefaultPartSize), b.partSize)
	assert.Equal(t, DefaultConcurrency, b.concurrency)
	assert.Same(t, client, b.Client())
}
