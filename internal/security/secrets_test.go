package security_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
	"google.golang.org/api/option"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/gcs"
	"github.com/kitehq/kite/internal/testenv"
	"github.com/kitehq/kite/local"
	"github.com/kitehq/kite/memory"
	"github.com/kitehq/kite/s3"
)

// Distinctive secrets, so that a substring check means something.
const (
	secretHMAC    = "SECRETxxxx1234-hmac-0123456789abcdef"
	secretParam   = "SECRETxxxx5678-param"
	secretPass    = "SECRETxxxx9012-pass"
	secretNested  = "SECRETxxxx3456-nested"
	secretWrongSK = "SECRETxxxx7890-wrong-secret-key"
	secretWrongAK = "AKIDSECRETxxxx2468"
	secretToken   = "SECRETxxxx1357-bearer-token"
)

// leaks collects errors and checks that none shows a secret in Error(), %v,
// %+v or a slog record (JSON and text).
type leaks struct {
	t       *testing.T
	secrets []string
	buf     bytes.Buffer
	logs    []*slog.Logger
	n       int
}

func newLeaks(t *testing.T, secrets ...string) *leaks {
	l := &leaks{t: t, secrets: secrets}
	l.logs = []*slog.Logger{slog.New(slog.NewJSONHandler(&l.buf, nil)), slog.New(slog.NewTextHandler(&l.buf, nil))}
	t.Cleanup(l.done)
	return l
}

// hide adds secrets, skipping empty ones.
func (l *leaks) hide(secrets ...string) {
	for _, s := range secrets {
		if s != "" {
			l.secrets = append(l.secrets, s)
		}
	}
}

// signatures presigns a GET and a PUT with b and hides their signatures.
func (l *leaks) signatures(b backend.Backend) {
	l.t.Helper()
	ctx := l.t.Context()
	g, err := b.PresignGet(ctx, "sig/get", backend.PresignOptions{})
	require.NoError(l.t, err)
	p, err := b.PresignPut(ctx, "sig/put", backend.PresignOptions{ContentType: "text/plain", Size: 3})
	require.NoError(l.t, err)
	for _, pr := range []*backend.PresignedRequest{g, p} {
		u, err := url.Parse(pr.URL)
		require.NoError(l.t, err)
		found := false
		for name, v := range u.Query() {
			if strings.EqualFold(name, "X-Amz-Signature") || strings.EqualFold(name, "X-Goog-Signature") || strings.EqualFold(name, "X-Kite-Signature") {
				l.hide(v...)
				found = true
			}
		}
		require.True(l.t, found, "no signature in %s", pr.URL)
	}
}

// check records err, which must be an error matching want (when want is set).
func (l *leaks) check(what string, err error, want error) {
	l.t.Helper()
	if !assert.Error(l.t, err, what) {
		return
	}
	l.n++
	if want != nil {
		assert.ErrorIs(l.t, err, want, "%s: %v", what, err)
	}
	for _, form := range []string{err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err)} {
		if s := l.shown(form); s != "" {
			l.t.Errorf("%s: the error shows secret %q: %s", what, s, form)
			return
		}
	}
	for _, log := range l.logs {
		log.Error("call failed", "op", what, "err", err)
		log.Error("call failed", slog.Any("error", err), slog.String("text", fmt.Sprintf("%+v", err)))
	}
}

// shown returns the first secret that s contains, or "".
func (l *leaks) shown(s string) string {
	for _, secret := range l.secrets {
		if strings.Contains(s, secret) {
			return secret
		}
	}
	return ""
}

func (l *leaks) done() {
	for _, line := range strings.Split(l.buf.String(), "\n") {
		for _, s := range l.secrets {
			if strings.Contains(line, s) {
				l.t.Errorf("a slog record shows a secret: %s", line)
			}
		}
	}
	l.t.Logf("%d errors checked against %d secrets", l.n, len(l.secrets))
}

// openCases opens each bad URL in a subtest: Open fails (matching want when
// set) and its error shows none of secrets.
func openCases(t *testing.T, secrets []string, cases map[string]string, want error) {
	t.Helper()
	for name, raw := range cases {
		t.Run("Open "+name, func(t *testing.T) {
			l := newLeaks(t, secrets...)
			err := openErr(t.Context(), raw)
			l.check("Open "+name, err, want)
		})
	}
}

// openErr is backend.Open for an URL that must fail.
func openErr(ctx context.Context, raw string) error {
	b, err := backend.Open(ctx, raw)
	if err == nil {
		_ = b.Close()
		return errors.New("Open succeeded")
	}
	return err
}

// sentinels produces each error of the sentinel table that b can produce.
// b must be empty and writable.
func sentinels(t *testing.T, l *leaks, b backend.Backend) {
	ctx := t.Context()
	_, err := b.Stat(ctx, "missing")
	l.check("Stat missing", err, backend.ErrNotFound)
	_, _, err = b.Get(ctx, "missing", backend.GetOptions{})
	l.check("Get missing", err, backend.ErrNotFound)
	_, err = b.Copy(ctx, "dst", "missing")
	l.check("Copy missing", err, backend.ErrNotFound)
	o, err := b.Put(ctx, "exists", strings.NewReader("abc"), backend.PutOptions{})
	require.NoError(t, err)
	_, err = b.Put(ctx, "exists", strings.NewReader("abc"), backend.PutOptions{IfNotExists: true})
	l.check("Put IfNotExists", err, backend.ErrExists)
	_, err = b.Put(ctx, "exists", strings.NewReader("abc"), backend.PutOptions{IfMatch: o.ETag + "0"})
	l.check("Put IfMatch", err, backend.ErrPrecondition)
	_, err = b.Stat(ctx, "../escape")
	l.check("Stat invalid key", err, backend.ErrInvalidKey)
	_, err = b.Put(ctx, "a//b", strings.NewReader("x"), backend.PutOptions{})
	l.check("Put invalid key", err, backend.ErrInvalidKey)
	_, _, err = b.Get(ctx, "exists", backend.GetOptions{Offset: 10})
	l.check("Get offset past end", err, backend.ErrInvalidArgument)
	_, err = b.PresignGet(ctx, "exists", backend.PresignOptions{Expires: 8 * 24 * time.Hour})
	l.check("PresignGet expiry too long", err, backend.ErrInvalidArgument)
	_, err = b.Put(ctx, "meta", strings.NewReader("x"), backend.PutOptions{Metadata: map[string]string{"Bad Name": secretParam}})
	l.check("Put bad metadata", err, backend.ErrInvalidArgument)
}

func TestSecretsMemory(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	l := newLeaks(t, secretHMAC, secretParam, secretPass, secretNested)
	base := "http://127.0.0.1:1/files/"
	b, err := memory.New(memory.Options{BaseURL: base, Secret: secretHMAC})
	require.NoError(t, err)
	l.signatures(b)
	sentinels(t, l, b)
	plain, err := memory.New(memory.Options{})
	require.NoError(t, err)
	_, err = plain.PresignGet(ctx, "k", backend.PresignOptions{})
	l.check("PresignGet without secret", err, backend.ErrUnsupported)
	_, err = memory.New(memory.Options{BaseURL: "http://u:" + secretPass + "@127.0.0.1/files/", Secret: secretHMAC})
	l.check("New base URL with password", err, backend.ErrInvalidArgument)
	_, err = memory.New(memory.Options{Secret: secretHMAC})
	l.check("New secret without base URL", err, backend.ErrInvalidArgument)
	_, err = memory.New(memory.Options{BaseURL: base, Secret: secretParam})
	l.check("New short secret", err, backend.ErrInvalidArgument)
	openCases(t, l.secrets, map[string]string{
		"unknown parameter":     "mem://?base_url=" + url.QueryEscape(base) + "&secret=" + secretHMAC + "&sekret=" + secretParam,
		"parameter twice":       "mem://?secret=" + secretHMAC + "&secret=" + secretParam,
		"short secret":          "mem://?base_url=" + url.QueryEscape(base) + "&secret=" + secretParam,
		"password in base_url":  "mem://?secret=" + secretHMAC + "&base_url=" + url.QueryEscape("http://u:"+secretNested+"@127.0.0.1/files/"),
		"malformed":             "mem://u:" + secretPass + "@%zz/?secret=" + secretHMAC,
		"malformed query":       "mem://?secret=" + secretHMAC + "&x=%zz" + secretParam,
		"user information":      "mem://u:" + secretPass + "@/?secret=" + secretHMAC,
		"unknown scheme":        "memory://u:" + secretPass + "@/?secret=" + secretHMAC,
		"no scheme":             "//u:" + secretPass + "@host/?secret=" + secretHMAC,
		"secret-looking value":  "mem://?kite_token=" + secretParam,
		"nested URL, bad param": "mem://?endpoint=" + url.QueryEscape("http://u:"+secretNested+"@127.0.0.1:1/"),
	}, nil)
}

func TestSecretsLocal(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()
	l := newLeaks(t, secretHMAC, secretParam, secretPass, secretNested)
	base := "http://127.0.0.1:1/files/"
	b, err := local.New(dir, local.Options{BaseURL: base, Secret: secretHMAC, NoSync: true})
	require.NoError(t, err)
	l.signatures(b)
	sentinels(t, l, b)
	plain, err := local.New(dir, local.Options{})
	require.NoError(t, err)
	_, err = plain.PresignPut(ctx, "k", backend.PresignOptions{})
	l.check("PresignPut without secret", err, backend.ErrUnsupported)
	if os.Geteuid() != 0 {
		ro := filepath.Join(t.TempDir(), "ro")
		require.NoError(t, os.Mkdir(ro, 0o500))
		rb, err := local.New(ro, local.Options{})
		require.NoError(t, err)
		_, err = rb.Put(ctx, "k", strings.NewReader("x"), backend.PutOptions{})
		l.check("Put in a read-only directory", err, backend.ErrPermission)
	} else {
		t.Log("running as root: no ErrPermission from a read-only directory")
	}
	d := url.PathEscape(dir)
	openCases(t, l.secrets, map[string]string{
		"unknown parameter":    "file://" + d + "?secret=" + secretHMAC + "&base_url=" + url.QueryEscape(base) + "&sekret=" + secretParam,
		"short secret":         "file://" + d + "?base_url=" + url.QueryEscape(base) + "&secret=" + secretParam,
		"password in base_url": "file://" + d + "?secret=" + secretHMAC + "&base_url=" + url.QueryEscape("http://u:"+secretNested+"@127.0.0.1/files/"),
		"user information":     "file://u:" + secretPass + "@localhost" + d + "?secret=" + secretHMAC,
		"malformed":            "file://u:" + secretPass + "@%zz" + d,
		"missing directory":    "file:///nonexistent-kite-dir?secret=" + secretHMAC + "&base_url=" + url.QueryEscape(base),
		"relative path":        "file:relative?secret=" + secretHMAC,
		"bad boolean":          "file://" + d + "?nosync=" + secretParam,
		"nested URL":           "file://" + d + "?endpoint=" + url.QueryEscape("http://u:"+secretNested+"@127.0.0.1:1/"),
	}, nil)
}

// s3Secrets runs the credential and server checks of one S3 driver against
// MinIO and versitygw; open makes a Backend of the driver for a bucket.
func s3Secrets(t *testing.T, open func(t *testing.T, l *leaks, endpoint, ak, sk, bucket string) backend.Backend) {
	s3Servers(t, func(t *testing.T, s s3Server) {
		l := newLeaks(t, secretWrongSK, secretWrongAK, s.srv.SecretKey, s.srv.AccessKey)
		bucket := newBucket(t, awsClient(s.srv.Endpoint, s.srv.AccessKey, s.srv.SecretKey))
		good := open(t, l, s.srv.Endpoint, s.srv.AccessKey, s.srv.SecretKey, bucket)
		l.signatures(good)
		sentinels(t, l, good)
		for _, c := range []struct{ name, ak, sk, endpoint string }{
			{"wrong secret", s.srv.AccessKey, secretWrongSK, s.srv.Endpoint},
			{"unknown access key", secretWrongAK, secretWrongSK, s.srv.Endpoint},
			{"unreachable endpoint", s.srv.AccessKey, s.srv.SecretKey, "127.0.0.1:1"},
		} {
			b := open(t, l, c.endpoint, c.ak, c.sk, bucket)
			l.signatures(b)
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			_, err := b.Put(ctx, "k", strings.NewReader("x"), backend.PutOptions{})
			l.check(c.name+": Put", err, nil)
			_, err = b.Put(ctx, "k", io.MultiReader(strings.NewReader("x")), backend.PutOptions{})
			l.check(c.name+": Put unknown size", err, nil)
			_, err = b.Stat(ctx, "exists")
			l.check(c.name+": Stat", err, nil)
			_, _, err = b.Get(ctx, "exists", backend.GetOptions{})
			l.check(c.name+": Get", err, nil)
			_, err = b.Copy(ctx, "k2", "exists")
			l.check(c.name+": Copy", err, nil)
			l.check(c.name+": Delete", b.Delete(ctx, "exists"), nil)
			l.check(c.name+": Health", b.Health(ctx), nil)
			for _, err := range b.List(ctx, backend.ListOptions{}) {
				l.check(c.name+": List", err, nil)
				break
			}
			cancel()
		}
	})
}

func TestSecretsMinIO(t *testing.T) {
	openCases(t, []string{secretPass, secretParam, secretNested}, map[string]string{
		"unknown parameter":  "minio://AK:" + secretPass + "@127.0.0.1:1/bucket?secure=false&sekret=" + secretParam,
		"malformed":          "minio://AK:" + secretPass + "@127.0.0.1:%zz/bucket",
		"bad port":           "minio://AK:" + secretPass + "@127.0.0.1:port/bucket",
		"no access key":      "minio://:" + secretPass + "@127.0.0.1:1/bucket",
		"path not a bucket":  "minio://AK:" + secretPass + "@127.0.0.1:1/a/b",
		"bad boolean":        "minio://AK:" + secretPass + "@127.0.0.1:1/bucket?secure=" + secretParam,
		"nested public URL":  "minio://AK:" + secretPass + "@127.0.0.1:1/bucket?public_endpoint=" + url.QueryEscape("http://u:"+secretNested+"@files.example.com/"),
		"nested public path": "minio://AK:" + secretPass + "@127.0.0.1:1/bucket?public_endpoint=" + url.QueryEscape("http://files.example.com/"+secretNested),
		"bad part size":      "minio://AK:" + secretPass + "@127.0.0.1:1/bucket?part_size=" + secretParam,
		"fragment":           "minio://AK:" + secretPass + "@127.0.0.1:1/bucket#" + secretParam,
	}, backend.ErrInvalidArgument)
	// Through Open, as an application does: the credentials are in the URL.
	s3Secrets(t, func(t *testing.T, l *leaks, endpoint, ak, sk, bucket string) backend.Backend {
		u := url.URL{Scheme: "minio", User: url.UserPassword(ak, sk), Host: endpoint, Path: "/" + bucket, RawQuery: "secure=false"}
		l.hide(u.String(), u.User.String())
		b, err := backend.Open(t.Context(), u.String())
		require.NoError(t, err)
		t.Cleanup(func() { _ = b.Close() })
		return b
	})
}

func TestSecretsS3(t *testing.T) {
	openCases(t, []string{secretPass, secretParam, secretNested}, map[string]string{
		"user information":   "s3://AK:" + secretPass + "@bucket?endpoint=http://127.0.0.1:1",
		"unknown parameter":  "s3://bucket?endpoint=http://127.0.0.1:1&sekret=" + secretParam,
		"malformed":          "s3://AK:" + secretPass + "@bu%zzcket",
		"nested endpoint":    "s3://bucket?endpoint=" + url.QueryEscape("http://u:"+secretNested+"@127.0.0.1:1"),
		"nested public URL":  "s3://bucket?endpoint=http://127.0.0.1:1&public_endpoint=" + url.QueryEscape("http://u:"+secretNested+"@127.0.0.1:2"),
		"endpoint with path": "s3://bucket?endpoint=" + url.QueryEscape("http://127.0.0.1:1/"+secretNested),
		"bad part size":      "s3://bucket?part_size=" + secretParam,
	}, backend.ErrInvalidArgument)
	s3Secrets(t, func(t *testing.T, l *leaks, endpoint, ak, sk, bucket string) backend.Backend {
		b, err := s3.New(awsClient(endpoint, ak, sk), bucket, s3.Options{})
		require.NoError(t, err)
		return b
	})
}

// rsaPEM is a throwaway signing key.
func rsaPEM(t *testing.T) []byte {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
}

// keyParts are pieces of a PEM key's base64 body, any of which in a message
// would be a leak.
func keyParts(key []byte) []string {
	var parts []string
	for _, line := range strings.Split(string(key), "\n") {
		if len(line) >= 40 && !strings.HasPrefix(line, "-----") {
			parts = append(parts, line[:40])
		}
	}
	return parts[:4]
}

func TestSecretsGCS(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	key := rsaPEM(t)
	l := newLeaks(t, append(keyParts(key), secretPass, secretParam, secretNested, secretToken)...)
	keyFile := filepath.Join(t.TempDir(), "key.pem")
	require.NoError(t, os.WriteFile(keyFile, key, 0o600))
	garbage := filepath.Join(t.TempDir(), "garbage.pem")
	require.NoError(t, os.WriteFile(garbage, []byte("-----BEGIN RSA PRIVATE KEY-----\n"+secretParam+"\n-----END RSA PRIVATE KEY-----\n"), 0o600))
	openCases(t, l.secrets, map[string]string{
		"user information":  "gs://AK:" + secretPass + "@bucket?anonymous=true",
		"unknown parameter": "gs://bucket?anonymous=true&sekret=" + secretParam,
		"malformed":         "gs://AK:" + secretPass + "@bu%zzcket",
		"nested endpoint":   "gs://bucket?anonymous=true&endpoint=" + url.QueryEscape("http://u:"+secretNested+"@127.0.0.1:1"),
		"endpoint query":    "gs://bucket?anonymous=true&endpoint=" + url.QueryEscape("http://127.0.0.1:1/?token="+secretNested),
		"garbage key":       "gs://bucket?anonymous=true&access_id=a@x&private_key_path=" + garbage,
		"bad chunk size":    "gs://bucket?anonymous=true&chunk_size=" + secretParam,
	}, backend.ErrInvalidArgument)

	// A server that refuses the bearer token: the token is never shown.
	refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"error":{"code":401,"message":"Invalid Credentials","errors":[{"message":"Invalid Credentials","domain":"global","reason":"authError"}]}}`)
	}))
	t.Cleanup(refuse.Close)
	opts := gcs.Options{PrivateKey: key, GoogleAccessID: "kite-test@kite-test.iam.gserviceaccount.com", ChunkSize: 256 << 10, PublicEndpoint: refuse.URL}
	for name, endpoint := range map[string]string{"wrong credentials": refuse.URL, "unreachable endpoint": "http://127.0.0.1:1"} {
		client, err := storage.NewClient(ctx, option.WithEndpoint(endpoint+"/storage/v1/"),
			option.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: secretToken})))
		require.NoError(t, err)
		t.Cleanup(func() { _ = client.Close() })
		client.SetRetry(storage.WithPolicy(storage.RetryNever))
		b, err := gcs.New(client, "kite-bucket", opts)
		require.NoError(t, err)
		l.signatures(b)
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err = b.Put(cctx, "k", strings.NewReader("x"), backend.PutOptions{})
		l.check(name+": Put", err, nil)
		_, err = b.Stat(cctx, "k")
		l.check(name+": Stat", err, nil)
		_, _, err = b.Get(cctx, "k", backend.GetOptions{})
		l.check(name+": Get", err, nil)
		_, err = b.Copy(cctx, "k2", "k")
		l.check(name+": Copy", err, nil)
		l.check(name+": Delete", b.Delete(cctx, "k"), nil)
		l.check(name+": Health", b.Health(cctx), nil)
		for _, err := range b.List(cctx, backend.ListOptions{}) {
			l.check(name+": List", err, nil)
			break
		}
		cancel()
		if name == "wrong credentials" {
			_, err = b.Stat(ctx, "k")
			l.check("401 is a permission error", err, backend.ErrPermission)
		}
	}
	unsigned, err := gcs.New(mustClient(t, "http://127.0.0.1:1"), "kite-bucket", gcs.Options{})
	require.NoError(t, err)
	_, err = unsigned.PresignGet(ctx, "k", backend.PresignOptions{})
	l.check("PresignGet without key", err, backend.ErrUnsupported)

	t.Run("emulator", testSecretsGCSEmulator)
}

// testSecretsGCSEmulator produces the sentinel table on fake-gcs-server.
func testSecretsGCSEmulator(t *testing.T) {
	ctx := t.Context()
	key := rsaPEM(t)
	l := newLeaks(t, keyParts(key)...)
	endpoint := testenv.GCSEmulator(t)
	client := mustClient(t, "http://"+endpoint)
	var p [8]byte
	_, _ = rand.Read(p[:])
	bucket := fmt.Sprintf("kite-sec-%x", p)
	require.NoError(t, client.Bucket(bucket).Create(ctx, "kite-test", nil))
	t.Cleanup(func() {
		it := client.Bucket(bucket).Objects(context.Background(), nil)
		for {
			a, err := it.Next()
			if err != nil {
				break
			}
			_ = client.Bucket(bucket).Object(a.Name).Delete(context.Background())
		}
		_ = client.Bucket(bucket).Delete(context.Background())
	})
	b, err := gcs.New(client, bucket, gcs.Options{PrivateKey: key, GoogleAccessID: "kite-test@kite-test.iam.gserviceaccount.com", PublicEndpoint: "http://" + endpoint})
	require.NoError(t, err)
	l.signatures(b)
	sentinels(t, l, b)
}

func mustClient(t *testing.T, endpoint string) *storage.Client {
	t.Helper()
	c, err := storage.NewClient(t.Context(), option.WithEndpoint(endpoint+"/storage/v1/"), option.WithoutAuthentication())
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}
