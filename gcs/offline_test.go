package gcs_test

// Tests that need no server: presigning, URL parsing, keys, error mapping.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	"cloud.google.com/go/storage"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/gcs"
)

// TestPresignOffline: with the public endpoint on an unreachable host:port,
// presigning succeeds, names that host and sends no request.
func TestPresignOffline(t *testing.T) {
	t.Parallel()
	client, ct := offlineClient(t)
	const public = "127.0.0.1:9" // discard: nothing listens
	b, err := gcs.New(client, "kite-bucket", gcs.Options{
		PublicEndpoint: "http://" + public,
		GoogleAccessID: testAccessID,
		PrivateKey:     testKey(),
	})
	require.NoError(t, err)
	ctx := t.Context()
	cases := []struct {
		name       string
		presign    func() (*backend.PresignedRequest, error)
		method     string
		signed     string // X-Goog-SignedHeaders
		header     http.Header
		queryParam string
	}{
		{"GET", func() (*backend.PresignedRequest, error) {
			return b.PresignGet(ctx, "dir/a b+c?.pdf", backend.PresignOptions{})
		}, http.MethodGet, "host", nil, ""},
		{"GET with ContentDisposition", func() (*backend.PresignedRequest, error) {
			return b.PresignGet(ctx, "dir/a b+c?.pdf", backend.PresignOptions{ContentDisposition: `attachment; filename="a b.pdf"`})
		}, http.MethodGet, "host", nil, "response-content-disposition"},
		{"PUT", func() (*backend.PresignedRequest, error) {
			return b.PresignPut(ctx, "dir/a b+c?.pdf", backend.PresignOptions{})
		}, http.MethodPut, "host", nil, ""},
		{"PUT with ContentType and Size", func() (*backend.PresignedRequest, error) {
			return b.PresignPut(ctx, "dir/a b+c?.pdf", backend.PresignOptions{ContentType: "application/pdf", Size: 1234, Expires: time.Hour})
		}, http.MethodPut, "content-type;host;x-goog-content-length-range",
			http.Header{"Content-Type": {"application/pdf"}, "X-Goog-Content-Length-Range": {"1234,1234"}}, ""},
	}
	for _, c := range cases {
		start := time.Now()
		pr, err := c.presign()
		require.NoError(t, err, c.name)
		assert.Equal(t, c.method, pr.Method, c.name)
		u, err := url.Parse(pr.URL)
		require.NoError(t, err, c.name)
		assert.Equal(t, "http", u.Scheme, c.name)
		assert.Equal(t, public, u.Host, c.name)
		assert.Equal(t, "/kite-bucket/dir/a b+c?.pdf", u.Path, c.name)
		assert.Equal(t, "/kite-bucket/dir/a%20b%2Bc%3F.pdf", u.EscapedPath(), c.name)
		q := u.Query()
		assert.Equal(t, "GOOG4-RSA-SHA256", q.Get("X-Goog-Algorithm"), c.name)
		assert.True(t, strings.HasPrefix(q.Get("X-Goog-Credential"), testAccessID+"/"), c.name)
		assert.Equal(t, c.signed, q.Get("X-Goog-SignedHeaders"), c.name)
		assert.NotEmpty(t, q.Get("X-Goog-Signature"), c.name)
		if c.queryParam != "" {
			assert.True(t, q.Has(c.queryParam), "%s: %s in the query", c.name, c.queryParam)
		}
		assert.Equal(t, c.header, pr.Header, c.name)
		exp := backend.DefaultPresignExpiry
		if c.name == "PUT with ContentType and Size" {
			exp = time.Hour
		}
		assert.Equal(t, strconv.Itoa(int(exp.Seconds())), q.Get("X-Goog-Expires"), "%s: X-Goog-Expires", c.name)
		assert.WithinRange(t, pr.Expires, start.Add(exp-time.Second), time.Now().Add(exp), c.name)
	}
	assert.Zero(t, ct.n.Load(), "requests sent while presigning")
}

// TestPresignWithoutKey: no signing key is ErrUnsupported naming the
// parameters to set, before any I/O.
func TestPresignWithoutKey(t *testing.T) {
	t.Parallel()
	client, ct := offlineClient(t)
	b, err := gcs.New(client, "kite-bucket", gcs.Options{})
	require.NoError(t, err)
	for _, op := range []func() (*backend.PresignedRequest, error){
		func() (*backend.PresignedRequest, error) {
			return b.PresignGet(t.Context(), "k", backend.PresignOptions{})
		},
		func() (*backend.PresignedRequest, error) {
			return b.PresignPut(t.Context(), "k", backend.PresignOptions{})
		},
	} {
		_, err := op()
		require.Error(t, err)
		assert.ErrorIs(t, err, backend.ErrUnsupported)
		assert.ErrorIs(t, err, errors.ErrUnsupported)
		assert.Contains(t, err.Error(), "access_id")
		assert.Contains(t, err.Error(), "private_key_path")
	}
	_, err = b.PresignGet(t.Context(), "/bad", backend.PresignOptions{})
	assert.ErrorIs(t, err, backend.ErrInvalidKey)
	assert.Zero(t, ct.n.Load())
}

func TestNew(t *testing.T) {
	t.Parallel()
	client, ct := offlineClient(t)
	pkcs8 := func() []byte {
		k, err := x509.ParsePKCS1PrivateKey(mustPEM(t, testKey()))
		require.NoError(t, err)
		der, err := x509.MarshalPKCS8PrivateKey(k)
		require.NoError(t, err)
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}()
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	ecDER, err := x509.MarshalPKCS8PrivateKey(ec)
	require.NoError(t, err)
	ecPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER})

	good := []struct {
		name       string
		opts       gcs.Options
		credential string // the access ID the URLs carry
	}{
		{"PKCS#1 PEM", gcs.Options{GoogleAccessID: "a@x", PrivateKey: testKey()}, "a@x"},
		{"PKCS#8 PEM", gcs.Options{GoogleAccessID: "a@x", PrivateKey: pkcs8}, "a@x"},
		{"DER", gcs.Options{GoogleAccessID: "a@x", PrivateKey: mustPEM(t, testKey())}, "a@x"},
		{"service-account JSON", gcs.Options{PrivateKey: serviceAccountJSON(t)}, testAccessID},
		{"service-account JSON, access ID given", gcs.Options{GoogleAccessID: "b@x", PrivateKey: serviceAccountJSON(t)}, "b@x"},
		{"chunk size 256KiB", gcs.Options{GoogleAccessID: "a@x", PrivateKey: testKey(), ChunkSize: 256 << 10}, "a@x"},
	}
	for _, c := range good {
		b, err := gcs.New(client, "kite-bucket", c.opts)
		require.NoError(t, err, c.name)
		assert.Same(t, client, b.Client(), c.name)
		assert.Equal(t, "kite-bucket", b.Bucket(), c.name)
		pr, err := b.PresignGet(t.Context(), "k", backend.PresignOptions{})
		require.NoError(t, err, c.name)
		u, err := url.Parse(pr.URL)
		require.NoError(t, err, c.name)
		assert.True(t, strings.HasPrefix(u.Query().Get("X-Goog-Credential"), c.credential+"/"), "%s: %s", c.name, pr.URL)
		if os.Getenv("STORAGE_EMULATOR_HOST") == "" {
			// No public endpoint: the client's own host, https.
			assert.Equal(t, "https://127.0.0.1:1/kite-bucket/k", u.Scheme+"://"+u.Host+u.Path, c.name)
		}
		require.NoError(t, b.Close(), c.name)
	}

	const secretPEM = "-----BEGIN RSA PRIVATE KEY-----\nU0VDUkVUS0VZTUFURVJJQUw=\n-----END RSA PRIVATE KEY-----\n"
	bad := []struct {
		name   string
		client *storage.Client
		bucket string
		opts   gcs.Options
	}{
		{"nil client", nil, "kite-bucket", gcs.Options{}},
		{"empty bucket", client, "", gcs.Options{}},
		{"bucket with a slash", client, "kite/bucket", gcs.Options{}},
		{"upper-case bucket", client, "Kite", gcs.Options{}},
		{"chunk size not a multiple of 256KiB", client, "kite-bucket", gcs.Options{ChunkSize: 1000}},
		{"negative chunk size", client, "kite-bucket", gcs.Options{ChunkSize: -256 << 10}},
		{"chunk size over 1GiB", client, "kite-bucket", gcs.Options{ChunkSize: 1<<30 + 256<<10}},
		{"access ID without key", client, "kite-bucket", gcs.Options{GoogleAccessID: "a@x"}},
		{"PEM key without access ID", client, "kite-bucket", gcs.Options{PrivateKey: testKey()}},
		{"broken PEM key", client, "kite-bucket", gcs.Options{GoogleAccessID: "a@x", PrivateKey: []byte(secretPEM)}},
		{"EC key", client, "kite-bucket", gcs.Options{GoogleAccessID: "a@x", PrivateKey: ecPEM}},
		{"JSON without private_key", client, "kite-bucket", gcs.Options{PrivateKey: []byte(`{"type":"authorized_user","refresh_token":"SECRETKEYMATERIAL"}`)}},
		{"broken JSON", client, "kite-bucket", gcs.Options{PrivateKey: []byte(`{"private_key": "SECRETKEYMATERIAL`)}},
		{"public endpoint with a path", client, "kite-bucket", gcs.Options{PublicEndpoint: "https://files.example.com/x"}},
	}
	for _, c := range bad {
		_, err := gcs.New(c.client, c.bucket, c.opts)
		require.Error(t, err, c.name)
		assert.ErrorIs(t, err, backend.ErrInvalidArgument, c.name)
		var be *backend.Error
		if assert.ErrorAs(t, err, &be, c.name) {
			assert.Equal(t, "Open", be.Op, c.name)
			assert.Equal(t, "gs", be.Driver, c.name)
		}
		assertNoSecret(t, err, c.name)
	}
	assert.Zero(t, ct.n.Load())
}

func mustPEM(t *testing.T, data []byte) []byte {
	t.Helper()
	block, _ := pem.Decode(data)
	require.NotNil(t, block)
	return block.Bytes
}

// assertNoSecret checks that err says nothing of the test key or of the
// secrets the bad inputs carry.
func assertNoSecret(t *testing.T, err error, what string) {
	t.Helper()
	msg := err.Error()
	for _, s := range []string{"SECRETKEYMATERIAL", "U0VDUkVU", "BEGIN", "MII", string(mustPEM(t, testKey())[:16])} {
		assert.NotContains(t, msg, s, "%s: the error shows a secret", what)
	}
}

func TestOpen(t *testing.T) {
	t.Parallel()
	keyFile := writeKey(t, "key.pem", testKey())
	saFile := writeKey(t, "sa.json", serviceAccountJSON(t))
	good := []struct {
		name, url  string
		signedHost string // the host presigned URLs name, "" = presigning unsupported
		scheme     string
	}{
		{"anonymous, emulator endpoint", "gs://kite-bucket?anonymous=true&endpoint=http://127.0.0.1:1", "", ""},
		{"endpoint with /storage/v1/", "gs://kite-bucket?anonymous=true&endpoint=http://127.0.0.1:1/storage/v1/&access_id=a@x&private_key_path=" + keyFile, "127.0.0.1:1", "http"},
		{"host:port endpoint is https", "gs://kite-bucket?anonymous=true&endpoint=127.0.0.1:1&private_key_path=" + saFile, "127.0.0.1:1", "https"},
		{"public endpoint", "gs://kite-bucket?anonymous=true&endpoint=http://127.0.0.1:1&public_endpoint=https://files.example.com&private_key_path=" + saFile, "files.example.com", "https"},
		{"public endpoint with a port, http", "gs://kite-bucket/?anonymous=true&endpoint=http://127.0.0.1:1&public_endpoint=http://localhost:8080/&private_key_path=" + saFile + "&chunk_size=512KiB", "localhost:8080", "http"},
		{"no endpoint", "gs://kite-bucket?anonymous=true&private_key_path=" + saFile + "&chunk_size=16MiB", "storage.googleapis.com", "https"},
	}
	for _, c := range good {
		b, err := backend.Open(t.Context(), c.url)
		require.NoError(t, err, c.name)
		gb, ok := b.(*gcs.Backend)
		require.True(t, ok, "%s: Open returned %T", c.name, b)
		assert.Equal(t, "kite-bucket", gb.Bucket(), c.name)
		assert.NotNil(t, gb.Client(), c.name)
		pr, err := b.PresignPut(t.Context(), "k", backend.PresignOptions{})
		if c.signedHost == "storage.googleapis.com" && os.Getenv("STORAGE_EMULATOR_HOST") != "" {
			c.signedHost, c.scheme = os.Getenv("STORAGE_EMULATOR_HOST"), "http"
		}
		if c.signedHost == "" {
			assert.ErrorIs(t, err, backend.ErrUnsupported, c.name)
		} else if assert.NoError(t, err, c.name) {
			u, err := url.Parse(pr.URL)
			require.NoError(t, err)
			assert.Equal(t, c.signedHost, u.Host, c.name)
			assert.Equal(t, c.scheme, u.Scheme, c.name)
		}
		require.NoError(t, b.Close(), c.name)
		_, err = b.Stat(t.Context(), "k")
		assert.ErrorIs(t, err, backend.ErrClosed, c.name)
	}

	garbage := writeKey(t, "garbage.pem", []byte("-----BEGIN RSA PRIVATE KEY-----\nU0VDUkVUS0VZTUFURVJJQUw=\n-----END RSA PRIVATE KEY-----\n"))
	notSA := writeKey(t, "user.json", []byte(`{"type":"authorized_user","client_secret":"SECRETKEYMATERIAL","refresh_token":"SECRETKEYMATERIAL"}`))
	bad := []struct{ name, url, want string }{
		{"unknown parameter", "gs://kite-bucket?anonymous=true&endpiont=http://127.0.0.1:1", `"endpiont"`},
		{"parameter twice", "gs://kite-bucket?anonymous=true&anonymous=false", "anonymous"},
		{"no bucket", "gs://?anonymous=true", "bucket"},
		{"a path", "gs://kite-bucket/dir?anonymous=true", "path"},
		{"user information", "gs://AKIDUSER:SECRETKEYMATERIAL@kite-bucket?anonymous=true", "user"},
		{"bad bucket", "gs://Kite_Bucket?anonymous=true", "bucket"},
		{"chunk size 0", "gs://kite-bucket?anonymous=true&chunk_size=0", "chunk_size"},
		{"chunk size not a multiple of 256KiB", "gs://kite-bucket?anonymous=true&chunk_size=1000", "chunk_size"},
		{"chunk size over 1GiB", "gs://kite-bucket?anonymous=true&chunk_size=2GiB", "chunk_size"},
		{"chunk size not a number", "gs://kite-bucket?anonymous=true&chunk_size=big", "chunk_size"},
		{"anonymous not a boolean", "gs://kite-bucket?anonymous=yes", "anonymous"},
		{"endpoint with a query", "gs://kite-bucket?anonymous=true&endpoint=" + url.QueryEscape("http://127.0.0.1:1/?token=SECRETKEYMATERIAL"), "endpoint"},
		{"endpoint of another scheme", "gs://kite-bucket?anonymous=true&endpoint=ftp://127.0.0.1:1", "endpoint"},
		{"public endpoint with a path", "gs://kite-bucket?anonymous=true&public_endpoint=https://files.example.com/x", "public_endpoint"},
		{"access_id without key", "gs://kite-bucket?anonymous=true&access_id=a@x", "private_key_path"},
		{"PEM key without access_id", "gs://kite-bucket?anonymous=true&private_key_path=" + keyFile, "access_id"},
		{"missing key file", "gs://kite-bucket?anonymous=true&private_key_path=/nonexistent/key.json", "key.json"},
		{"garbage key file", "gs://kite-bucket?anonymous=true&access_id=a@x&private_key_path=" + garbage, "garbage.pem"},
		{"JSON that is no service-account key", "gs://kite-bucket?anonymous=true&private_key_path=" + notSA, "user.json"},
	}
	for _, c := range bad {
		_, err := backend.Open(t.Context(), c.url)
		require.Error(t, err, c.name)
		assert.ErrorIs(t, err, backend.ErrInvalidArgument, c.name)
		assert.Contains(t, err.Error(), c.want, c.name)
		assert.NotContains(t, err.Error(), "AKIDUSER", c.name)
		assertNoSecret(t, err, c.name)
	}
}

// TestOpenEmulatorHost: under STORAGE_EMULATOR_HOST the SDK uses no
// credentials and presigned URLs name the emulator over http.
func TestOpenEmulatorHost(t *testing.T) {
	t.Setenv("STORAGE_EMULATOR_HOST", "127.0.0.1:1")
	b, err := backend.Open(t.Context(), "gs://kite-bucket?access_id=a@x&private_key_path="+writeKey(t, "k.pem", testKey()))
	require.NoError(t, err)
	defer b.Close()
	pr, err := b.PresignGet(t.Context(), "k", backend.PresignOptions{})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(pr.URL, "http://127.0.0.1:1/kite-bucket/k?"), pr.URL)
}

// TestOpenADCKey: a service-account key file in GOOGLE_APPLICATION_CREDENTIALS
// both authenticates (lazily: no request is made here) and signs URLs.
func TestOpenADCKey(t *testing.T) {
	t.Setenv("STORAGE_EMULATOR_HOST", "")
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", writeKey(t, "sa.json", serviceAccountJSON(t)))
	b, err := backend.Open(t.Context(), "gs://kite-bucket?endpoint=http://127.0.0.1:1")
	require.NoError(t, err)
	defer b.Close()
	pr, err := b.PresignGet(t.Context(), "k", backend.PresignOptions{})
	require.NoError(t, err)
	u, err := url.Parse(pr.URL)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(u.Query().Get("X-Goog-Credential"), testAccessID+"/"), pr.URL)
}

// TestForbidden: a 403 in the JSON API's error format (and the XML API's,
// for reads) is ErrPermission with the *googleapi.Error reachable. The
// emulator has no authentication, so wrong credentials cannot be tried on it.
func TestForbidden(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if strings.HasPrefix(r.URL.Path, "/storage/v1/") || strings.HasPrefix(r.URL.Path, "/upload/") {
			w.Header().Set("Content-Type", "application/json; charset=UTF-8")
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `{"error":{"code":403,"message":"kite-test@x.iam.gserviceaccount.com does not have storage.objects.get access to the Google Cloud Storage object.","errors":[{"message":"kite-test@x.iam.gserviceaccount.com does not have storage.objects.get access to the Google Cloud Storage object.","domain":"global","reason":"forbidden"}]}}`)
			return
		}
		w.Header().Set("Content-Type", "application/xml; charset=UTF-8")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `<?xml version='1.0' encoding='UTF-8'?><Error><Code>AccessDenied</Code><Message>Access denied.</Message></Error>`)
	}))
	t.Cleanup(srv.Close)
	client, err := storage.NewClient(t.Context(), option.WithEndpoint(srv.URL+"/storage/v1/"), option.WithoutAuthentication())
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Close() })
	b, err := gcs.New(client, "kite-bucket", gcs.Options{ChunkSize: 256 << 10})
	require.NoError(t, err)
	ctx := t.Context()

	ops := map[string]func() error{
		"Stat": func() error { _, err := b.Stat(ctx, "k"); return err },
		"Get": func() error {
			rc, _, err := b.Get(ctx, "k", backend.GetOptions{})
			if rc != nil {
				rc.Close()
			}
			return err
		},
		"Put":    func() error { _, err := b.Put(ctx, "k", strings.NewReader("x"), backend.PutOptions{}); return err },
		"Delete": func() error { return b.Delete(ctx, "k") },
		"Copy":   func() error { _, err := b.Copy(ctx, "k2", "k"); return err },
		"List": func() error {
			for _, err := range b.List(ctx, backend.ListOptions{}) {
				if err != nil {
					return err
				}
			}
			return nil
		},
		"Health": func() error { return b.Health(ctx) },
	}
	for op, f := range ops {
		err := f()
		require.Error(t, err, op)
		assert.ErrorIs(t, err, backend.ErrPermission, op)
		for _, other := range []error{backend.ErrNotFound, backend.ErrInvalidArgument, backend.ErrPrecondition, backend.ErrExists} {
			assert.NotErrorIs(t, err, other, op)
		}
		var ge *googleapi.Error
		if assert.ErrorAs(t, err, &ge, op) {
			assert.Equal(t, http.StatusForbidden, ge.Code, op)
		}
		var be *backend.Error
		if assert.ErrorAs(t, err, &be, op) {
			assert.Equal(t, op, be.Op)
		}
	}
}

// TestGetOffsetPastEndIgnoredRange: a server that ignores Range and answers
// 200 makes the SDK fail with an error of no kind; an offset past the end is
// still ErrInvalidArgument.
func TestGetOffsetPastEndIgnoredRange(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/storage/v1/") {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"kind":"storage#object","name":"k","bucket":"kite-bucket","size":"3","generation":"7","contentType":"text/plain"}`)
			return
		}
		w.Header().Set("X-Goog-Generation", "7")
		_, _ = io.WriteString(w, "abc") // the whole object, Range or not
	}))
	t.Cleanup(srv.Close)
	client, err := storage.NewClient(t.Context(), option.WithEndpoint(srv.URL+"/storage/v1/"), option.WithoutAuthentication())
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Close() })
	b, err := gcs.New(client, "kite-bucket", gcs.Options{})
	require.NoError(t, err)
	for _, o := range []backend.GetOptions{{Offset: 3}, {Offset: 5, Length: 1}} {
		rc, _, err := b.Get(t.Context(), "k", o)
		if rc != nil {
			rc.Close()
		}
		assert.ErrorIs(t, err, backend.ErrInvalidArgument, "%+v", o)
	}
	rc, obj, err := b.Get(t.Context(), "k", backend.GetOptions{})
	require.NoError(t, err)
	data, err := io.ReadAll(rc)
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	assert.Equal(t, "abc", string(data))
	assert.Equal(t, "7", obj.ETag)
}
