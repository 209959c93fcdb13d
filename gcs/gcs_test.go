package gcs_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"cloud.google.com/go/storage"
	"github.com/stretchr/testify/require"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/conformance"
	"github.com/kitehq/kite/gcs"
	"github.com/kitehq/kite/internal/testenv"
)

const (
	testAccessID  = "kite-test@kite-test.iam.gserviceaccount.com"
	testChunkSize = 1 << 20 // 4 units of 256 KiB: StreamSize below spans several chunks
)

// testKey is a throwaway RSA key, PEM (PKCS#1), generated once per test binary.
var testKey = sync.OnceValue(func() []byte {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
})

// writeKey writes data to a file in t's temp dir and returns its path.
func writeKey(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, data, 0o600))
	return path
}

// serviceAccountJSON is a service-account key file around the test key.
func serviceAccountJSON(t *testing.T) []byte {
	t.Helper()
	data, err := json.Marshal(map[string]string{
		"type":         "service_account",
		"project_id":   "kite-test",
		"client_email": testAccessID,
		"private_key":  string(testKey()),
	})
	require.NoError(t, err)
	return data
}

// countingTransport counts the requests that reach it and fails them all.
type countingTransport struct{ n atomic.Int64 }

func (c *countingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	c.n.Add(1)
	return nil, errors.New("countingTransport: no request may be sent")
}

// offlineClient is an SDK client that must never send a request: every
// request it sends is counted and fails.
func offlineClient(t *testing.T) (*storage.Client, *countingTransport) {
	t.Helper()
	ct := &countingTransport{}
	c, err := storage.NewClient(t.Context(),
		option.WithEndpoint("http://127.0.0.1:1/storage/v1/"),
		option.WithoutAuthentication(),
		option.WithHTTPClient(&http.Client{Transport: ct}))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c, ct
}

// emulatorClient is an SDK client of the fake-gcs-server from testenv.
func emulatorClient(t testing.TB, endpoint string) *storage.Client {
	t.Helper()
	c, err := storage.NewClient(context.Background(),
		option.WithEndpoint("http://"+endpoint+"/storage/v1/"),
		option.WithoutAuthentication())
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func randomBucket() string {
	var p [8]byte
	_, _ = rand.Read(p[:])
	return "kite-" + hex.EncodeToString(p[:])
}

// newBucket creates an empty bucket and removes it, objects first, at cleanup.
func newBucket(t conformance.T, c *storage.Client) string {
	t.Helper()
	name := randomBucket()
	if err := c.Bucket(name).Create(t.Context(), "kite-test", nil); err != nil {
		t.Fatalf("creating bucket %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		bkt := c.Bucket(name)
		it := bkt.Objects(ctx, nil)
		for range 100_000 {
			a, err := it.Next()
			if errors.Is(err, iterator.Done) {
				break
			}
			if err != nil {
				t.Errorf("cleanup of bucket %s: listing: %v", name, err)
				return
			}
			if err := bkt.Object(a.Name).Delete(ctx); err != nil && !errors.Is(err, storage.ErrObjectNotExist) {
				t.Errorf("cleanup of bucket %s: deleting %q: %v", name, a.Name, err)
			}
		}
		if err := bkt.Delete(ctx); err != nil {
			t.Errorf("cleanup of bucket %s: %v", name, err)
		}
	})
	return name
}

// publicProxy serves the emulator on another 127.0.0.1 port, keeping the Host
// header the client sent: a signed URL for the proxy's host proves it was
// signed for the public host, not rewritten. fake-gcs-server's -public-host
// 127.0.0.1 matches 127.0.0.1 on any port.
func publicProxy(t *testing.T, endpoint string) string {
	t.Helper()
	target := &url.URL{Scheme: "http", Host: endpoint}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.Host = r.In.Host
	}}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func TestConformance(t *testing.T) {
	endpoint := testenv.GCSEmulator(t)
	client := emulatorClient(t, endpoint)
	public := publicProxy(t, endpoint)
	conformance.Run(t, conformance.Harness{
		New: func(t conformance.T) backend.Backend {
			b, err := gcs.New(client, newBucket(t, client), gcs.Options{
				PublicEndpoint: "http://" + public,
				GoogleAccessID: testAccessID,
				PrivateKey:     testKey(),
				ChunkSize:      testChunkSize,
			})
			if err != nil {
				t.Fatalf("gcs.New: %v", err)
			}
			return b
		},
		StreamSize: 3*testChunkSize + 1,
		PublicHost: public,
		// Seen on fake-gcs-server v1.56.1 (TestEmulatorLimits): a URL with a
		// forged signature, an expired one and one for another method succeed.
		NoSignatureCheck: "fake-gcs-server v1.56.1 checks neither the signature nor the expiry of a signed URL",
		// Seen: a PUT with another Content-Type than the signed one is stored.
		NoContentTypeCheck: "fake-gcs-server v1.56.1 does not check the signed Content-Type (it checks no signature)",
		// Seen: a PUT of another length than X-Goog-Content-Length-Range is stored.
		NoSizeCheck: "fake-gcs-server v1.56.1 ignores X-Goog-Content-Length-Range",
	})
}
