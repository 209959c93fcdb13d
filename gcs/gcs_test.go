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
	"io"
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
	"github.com/stretchr/testify/assert"
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

// newEmulatorBackend is a Backend on a new bucket of the emulator, signing
// for the emulator's own host.
func newEmulatorBackend(t *testing.T) (*gcs.Backend, *storage.Client, string) {
	t.Helper()
	endpoint := testenv.GCSEmulator(t)
	client := emulatorClient(t, endpoint)
	b, err := gcs.New(client, newBucket(t, client), gcs.Options{
		PublicEndpoint: "http://" + endpoint,
		GoogleAccessID: testAccessID,
		PrivateKey:     testKey(),
		ChunkSize:      testChunkSize,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return b, client, endpoint
}

func fetch(t *testing.T, method, rawURL string, header http.Header, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, rawURL, rd)
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	require.NoError(t, err)
	return resp.StatusCode, string(data)
}

func setQuery(t *testing.T, rawURL string, set map[string]string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	require.NoError(t, err)
	q := u.Query()
	for k, v := range set {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// TestEmulatorLimits records what fake-gcs-server does not enforce, the
// reasons the conformance Harness gives for its skips. If this test fails,
// the server has started to enforce something: drop the matching No* reason.
func TestEmulatorLimits(t *testing.T) {
	t.Parallel()
	b, _, _ := newEmulatorBackend(t)
	ctx := t.Context()
	_, err := b.Put(ctx, "limits/obj", strings.NewReader("original"), backend.PutOptions{ContentType: "text/plain"})
	require.NoError(t, err)

	get, err := b.PresignGet(ctx, "limits/obj", backend.PresignOptions{})
	require.NoError(t, err)
	status, body := fetch(t, http.MethodGet, get.URL, nil, "")
	require.Equal(t, http.StatusOK, status, "the genuine URL")
	require.Equal(t, "original", body)

	// NoSignatureCheck: a forged signature, and an expired URL, are served.
	forged := setQuery(t, get.URL, map[string]string{"X-Goog-Signature": strings.Repeat("00", 256)})
	status, body = fetch(t, http.MethodGet, forged, nil, "")
	assert.Equal(t, http.StatusOK, status, "forged signature: fake-gcs-server now checks signatures; drop NoSignatureCheck")
	assert.Equal(t, "original", body)
	expired := setQuery(t, forged, map[string]string{"X-Goog-Date": "20200101T000000Z", "X-Goog-Expires": "1"})
	status, _ = fetch(t, http.MethodGet, expired, nil, "")
	assert.Equal(t, http.StatusOK, status, "expired in 2020: fake-gcs-server now checks expiry; drop NoSignatureCheck")
	status, _ = fetch(t, http.MethodPut, get.URL, http.Header{"Content-Type": {"text/plain"}}, "evil")
	assert.True(t, status >= 200 && status < 300, "PUT to a GET URL (%d): fake-gcs-server now checks the method; drop NoSignatureCheck", status)

	// NoContentTypeCheck: another Content-Type than the signed one is stored.
	put, err := b.PresignPut(ctx, "limits/ct", backend.PresignOptions{ContentType: "image/png"})
	require.NoError(t, err)
	status, _ = fetch(t, put.Method, put.URL, http.Header{"Content-Type": {"text/html"}}, "<script>")
	assert.True(t, status >= 200 && status < 300, "PUT with another Content-Type (%d): drop NoContentTypeCheck", status)
	if st, err := b.Stat(ctx, "limits/ct"); assert.NoError(t, err) {
		assert.Equal(t, "text/html", st.ContentType)
	}

	// NoSizeCheck: X-Goog-Content-Length-Range is ignored.
	put, err = b.PresignPut(ctx, "limits/size", backend.PresignOptions{Size: 100})
	require.NoError(t, err)
	require.Equal(t, "100,100", put.Header.Get("X-Goog-Content-Length-Range"))
	status, _ = fetch(t, put.Method, put.URL, put.Header, "short")
	assert.True(t, status >= 200 && status < 300, "PUT of 5 bytes signed for 100 (%d): drop NoSizeCheck", status)
	if st, err := b.Stat(ctx, "limits/size"); assert.NoError(t, err) {
		assert.Equal(t, int64(5), st.Size)
	}
}

func TestHealthMissingBucket(t *testing.T) {
	t.Parallel()
	client := emulatorClient(t, testenv.GCSEmulator(t))
	name := randomBucket()
	b, err := gcs.New(client, name, gcs.Options{})
	require.NoError(t, err)
	err = b.Health(t.Context())
	require.Error(t, err)
	assert.ErrorIs(t, err, backend.ErrNotFound)
	assert.ErrorIs(t, err, storage.ErrBucketNotExist)
	assert.Contains(t, err.Error(), name)
	var be *backend.Error
	require.ErrorAs(t, err, &be)
	assert.Equal(t, "Health", be.Op)
}

// TestPutMultiChunkMismatch: a declared size that the reader misses by one
// byte, past several chunks of a resumable upload, commits nothing.
func TestPutMultiChunkMismatch(t *testing.T) {
	t.Parallel()
	endpoint := testenv.GCSEmulator(t)
	rec := &recordingTransport{}
	client, err := storage.NewClient(t.Context(),
		option.WithEndpoint("http://"+endpoint+"/storage/v1/"),
		option.WithoutAuthentication(),
		option.WithHTTPClient(&http.Client{Transport: rec}))
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Close() })
	b, err := gcs.New(client, newBucket(t, client), gcs.Options{ChunkSize: testChunkSize})
	require.NoError(t, err)
	ctx := t.Context()
	const n = 3*testChunkSize + 1
	old, err := b.Put(ctx, "mm/existing", strings.NewReader("old"), backend.PutOptions{})
	require.NoError(t, err)
	for _, c := range []struct {
		name     string
		declared int64
	}{{"short", n + 1}, {"long", n - 1}} {
		for _, key := range []string{"mm/new", "mm/existing"} {
			r := io.LimitReader(zeros{}, n)
			_, err := b.Put(ctx, key, r, backend.PutOptions{Size: c.declared})
			require.Error(t, err, "%s %s", c.name, key)
			assert.ErrorIs(t, err, backend.ErrInvalidArgument, "%s %s", c.name, key)
			st, err := b.Stat(ctx, key)
			if key == "mm/new" {
				assert.ErrorIs(t, err, backend.ErrNotFound, "%s: %s was committed", c.name, key)
			} else if assert.NoError(t, err) {
				assert.Equal(t, old.ETag, st.ETag, "%s: %s was replaced", c.name, key)
			}
		}
	}
	// The uploads were resumable and sent whole chunks before they failed.
	assert.Equal(t, int64(4), rec.sessions.Load(), "resumable upload sessions started")
	// Short: 3 whole chunks each; long: 2, the third withheld by xio.Exact.
	assert.GreaterOrEqual(t, rec.chunks.Load(), int64(3+3+2+2), "chunks sent")
}

// recordingTransport counts resumable upload sessions and chunk uploads.
type recordingTransport struct{ sessions, chunks atomic.Int64 }

func (r *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	switch q := req.URL.Query(); {
	case q.Get("uploadType") != "resumable":
	case q.Get("upload_id") == "":
		r.sessions.Add(1)
	default:
		r.chunks.Add(1)
	}
	return http.DefaultTransport.RoundTrip(req)
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
