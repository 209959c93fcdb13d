package minio_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	mc "github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/minio"
)

// TestPresignMatchesMinioGo: the driver's URLs (signed by internal/sigv4)
// are those minio-go's presigner writes for the same request, byte for byte,
// through Open and through New, with a session token, a public endpoint,
// a Content-Disposition and signed PUT headers. Each pair is signed within
// one second, so that both carry the same X-Amz-Date.
func TestPresignMatchesMinioGo(t *testing.T) {
	ctx := context.Background()
	opened, err := backend.Open(ctx, "minio://AKOPEN:open-secret%2Fx@127.0.0.1:1/bucket?secure=false&region=eu-west-3&public_endpoint=https://files.example.com:443")
	require.NoError(t, err)
	t.Cleanup(func() { opened.Close() })
	client, err := mc.New("127.0.0.1:1", &mc.Options{Creds: credentials.NewStaticV4("ASIANEW", "new-secret", "session/token+=="), Region: "us-east-1", BucketLookup: mc.BucketLookupPath})
	require.NoError(t, err)
	viaNew, err := minio.New(client, "bucket", minio.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { viaNew.Close() })

	cd := `attachment; filename="R sum 2026.pdf"; filename*=UTF-8''R%C3%A9sum%C3%A9%202026.pdf`
	for name, b := range map[string]*minio.Backend{"Open": opened.(*minio.Backend), "New": viaNew} {
		for _, key := range []string{"user/doc/0f8fad5b-d9cb-469f-a165-70867728950e.pdf", "a b/100%/x+y&z=1", "ünï/日本/🙂", "q?x#y~"} {
			t.Run(name+" GET "+key, func(t *testing.T) {
				same(t, func() (string, error) {
					p, err := b.PresignGet(ctx, key, backend.PresignOptions{Expires: time.Hour, ContentDisposition: cd})
					if err != nil {
						return "", err
					}
					assert.Empty(t, p.Header)
					return p.URL, err
				}, func() (string, error) {
					u, err := minio.PresignSDK(b, http.MethodGet, key, time.Hour, url.Values{"response-content-disposition": {cd}}, nil)
					return u.String(), err
				})
			})
			t.Run(name+" PUT "+key, func(t *testing.T) {
				same(t, func() (string, error) {
					p, err := b.PresignPut(ctx, key, backend.PresignOptions{Expires: 15 * time.Minute, ContentType: "application/pdf", Size: 2109497})
					if err != nil {
						return "", err
					}
					assert.Equal(t, http.Header{"Content-Type": {"application/pdf"}, "Content-Length": {"2109497"}}, p.Header)
					return p.URL, err
				}, func() (string, error) {
					h := http.Header{"Content-Type": {"application/pdf"}, "Content-Length": {"2109497"}}
					u, err := minio.PresignSDK(b, http.MethodPut, key, 15*time.Minute, nil, h)
					return u.String(), err
				})
			})
		}
	}
}

// same asserts that kite and sdk return the same URL, retrying when the
// two were signed in different seconds.
func same(t *testing.T, kite, sdk func() (string, error)) {
	t.Helper()
	for range 5 {
		k, err := kite()
		require.NoError(t, err)
		s, err := sdk()
		require.NoError(t, err)
		if amzDateOf(t, k) != amzDateOf(t, s) {
			continue
		}
		assert.Equal(t, s, k)
		return
	}
	t.Fatal("could not sign both within one second in 5 tries")
}

func amzDateOf(t *testing.T, raw string) string {
	u, err := url.Parse(raw)
	require.NoError(t, err)
	d := u.Query().Get("X-Amz-Date")
	require.NotEmpty(t, d, raw)
	return d
}

// TestPresignV2Credentials: credentials of signer type V2, which sigv4 does
// not write, are still signed, by minio-go.
func TestPresignV2Credentials(t *testing.T) {
	client, err := mc.New("127.0.0.1:1", &mc.Options{Creds: credentials.NewStaticV2("AKV2", "v2-secret", ""), Region: "us-east-1", BucketLookup: mc.BucketLookupPath})
	require.NoError(t, err)
	b, err := minio.New(client, "bucket", minio.Options{})
	require.NoError(t, err)
	p, err := b.PresignGet(context.Background(), "k", backend.PresignOptions{})
	require.NoError(t, err)
	assert.Contains(t, p.URL, "AWSAccessKeyId=AKV2")
	assert.Contains(t, p.URL, "Signature=")
	assert.False(t, strings.Contains(p.URL, "X-Amz-Signature"), p.URL)
	assert.WithinDuration(t, time.Now().Add(backend.DefaultPresignExpiry), p.Expires, 2*time.Second)
}
