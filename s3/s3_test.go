package s3

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/conformance"
	"github.com/kitehq/kite/internal/testenv"
)

// testPartSize is S3's smallest part size, so streaming tests stay small.
const testPartSize = MinPartSize

// tb is what the helpers need from *testing.T and conformance.T alike.
type tb interface {
	Helper()
	Cleanup(func())
	Fatalf(format string, args ...any)
	Errorf(format string, args ...any)
}

// countingTransport counts the requests that reach it and refuses them all.
type countingTransport struct{ n atomic.Int64 }

func (c *countingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	c.n.Add(1)
	return nil, errors.New("countingTransport: no request may be sent")
}

// server is one S3-compatible test server.
type server struct {
	name string
	testenv.S3Server
}

// eachServer runs f as a subtest per S3-compatible test server, in parallel
// unless the test sets environment variables. A server that is not
// configured skips its subtest (fails it with KITE_REQUIRE_SERVERS=1).
func eachServer(t *testing.T, parallel bool, f func(t *testing.T, s server)) {
	for _, s := range []struct {
		name string
		get  func(testing.TB) testenv.S3Server
	}{{"minio", testenv.MinIO}, {"versitygw", testenv.VersityGW}} {
		t.Run(s.name, func(t *testing.T) {
			if parallel {
				t.Parallel()
			}
			f(t, server{s.name, s.get(t)})
		})
	}
}

func newClient(endpoint, accessKey, secretKey string, hc awss3.HTTPClient) *awss3.Client {
	return awss3.New(awss3.Options{
		Region:                     "us-east-1",
		BaseEndpoint:               aws.String("http://" + endpoint),
		UsePathStyle:               true,
		Credentials:                credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		HTTPClient:                 hc,
	})
}

func (s server) client() *awss3.Client { return newClient(s.Endpoint, s.AccessKey, s.SecretKey, nil) }

// port returns the port of the server's endpoint.
func (s server) port(t tb) string {
	_, port, err := net.SplitHostPort(s.Endpoint)
	if err != nil {
		t.Fatalf("endpoint %q: %v", s.Endpoint, err)
	}
	return port
}

func randomBucket() string {
	var p [8]byte
	_, _ = rand.Read(p[:])
	return "kite-" + hex.EncodeToString(p[:])
}

// newBucket creates a fresh bucket and removes it, objects and unfinished
// uploads first, at cleanup.
func newBucket(t tb, c *awss3.Client) string {
	t.Helper()
	name := randomBucket()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: &name}); err != nil {
		t.Fatalf("CreateBucket %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := removeBucket(ctx, c, name); err != nil {
			t.Errorf("removing bucket %s: %v", name, err)
		}
	})
	return name
}

func removeBucket(ctx context.Context, c *awss3.Client, name string) error {
	pages := awss3.NewListObjectsV2Paginator(c, &awss3.ListObjectsV2Input{Bucket: &name})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, o := range page.Contents {
			if _, err := c.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: &name, Key: o.Key}); err != nil {
				return err
			}
		}
	}
	if ups, err := c.ListMultipartUploads(ctx, &awss3.ListMultipartUploadsInput{Bucket: &name}); err == nil {
		for _, u := range ups.Uploads {
			_, _ = c.AbortMultipartUpload(ctx, &awss3.AbortMultipartUploadInput{Bucket: &name, Key: u.Key, UploadId: u.UploadId})
		}
	}
	_, err := c.DeleteBucket(ctx, &awss3.DeleteBucketInput{Bucket: &name})
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "BucketNotEmpty" {
		// MinIO keeps "a/b" but hides it from listings once "a" exists, so
		// the loop above cannot see it: MinIO's own force delete can.
		_, err = c.DeleteBucket(ctx, &awss3.DeleteBucketInput{Bucket: &name}, awss3.WithAPIOptions(
			smithyhttp.AddHeaderValue("X-Minio-Force-Delete", "true")))
	}
	return err
}

// newBackend returns a Backend on a fresh bucket of s.
func (s server) newBackend(t tb, opts Options) *Backend {
	t.Helper()
	c := s.client()
	bucket := newBucket(t, c)
	if opts.PartSize == 0 {
		opts.PartSize = testPartSize
	}
	b, err := New(c, bucket, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b
}

func TestConformance(t *testing.T) {
	eachServer(t, true, func(t *testing.T, s server) {
		public := "localhost:" + s.port(t)
		conformance.Run(t, conformance.Harness{
			New: func(t conformance.T) backend.Backend {
				return s.newBackend(t, Options{PublicEndpoint: "http://" + public})
			},
			StreamSize: 2*testPartSize + 1<<20 + 3, // three parts, the last short
			PublicHost: public,
			NoParentKeys: map[string]string{
				"minio":     "MinIO on a file system accepts \"a/b\" beside \"a\" but leaves it out of every listing (and DeleteBucket then fails BucketNotEmpty)",
				"versitygw": "versitygw on a file system refuses \"a/b\" beside \"a\" (409 ObjectParentIsFile) and \"a\" beside \"a/b\" (409 ExistingObjectIsDirectory)",
			}[s.name],
			NoLongKeyReplace: map[string]string{
				"versitygw": "versitygw v1.8.0 answers 409 ExistingObjectIsDirectory to a PUT or copy onto an existing key whose last segment is 240+ bytes (creating it works)",
			}[s.name],
		})
	})
}

// TestPublicEndpoint: the store is reached at 127.0.0.1:PORT, URLs are made
// for localhost:PORT, name that host, work there and nowhere else.
func TestPublicEndpoint(t *testing.T) {
	eachServer(t, true, func(t *testing.T, s server) {
		public := "localhost:" + s.port(t)
		b := s.newBackend(t, Options{PublicEndpoint: "http://" + public})
		ctx := t.Context()
		const key = "public/a b+c?d"
		_, err := b.Put(ctx, key, strings.NewReader("hello"), backend.PutOptions{ContentType: "text/plain"})
		require.NoError(t, err)

		get, err := b.PresignGet(ctx, key, backend.PresignOptions{ContentDisposition: `attachment; filename="x.txt"`})
		require.NoError(t, err)
		put, err := b.PresignPut(ctx, "public/uploaded", backend.PresignOptions{ContentType: "text/csv", Size: 3})
		require.NoError(t, err)
		for _, pr := range []*backend.PresignedRequest{get, put} {
			u, err := url.Parse(pr.URL)
			require.NoError(t, err)
			assert.Equal(t, public, u.Host, "%s URL %s", pr.Method, pr.URL)
		}

		res := do(t, get.Method, get.URL, get.Header, nil)
		assert.Equal(t, http.StatusOK, res.status, res.body)
		assert.Equal(t, "hello", res.body)
		assert.Equal(t, `attachment; filename="x.txt"`, res.header.Get("Content-Disposition"))

		res = do(t, put.Method, put.URL, put.Header, []byte("a,b"))
		assert.Equal(t, http.StatusOK, res.status, res.body)
		st, err := b.Stat(ctx, "public/uploaded")
		require.NoError(t, err)
		assert.Equal(t, "text/csv", st.ContentType)
		assert.Equal(t, int64(3), st.Size)

		// Signed for localhost: the same URL on 127.0.0.1 is refused,
		// which proves the host is signed rather than rewritten.
		internal := strings.Replace(get.URL, public, s.Endpoint, 1)
		res = do(t, http.MethodGet, internal, nil, nil)
		assert.Contains(t, []int{http.StatusForbidden, http.StatusBadRequest}, res.status, "URL signed for %s fetched on %s: %s", public, s.Endpoint, res.body)
	})
}

type response struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, method, rawURL string, h http.Header, body []byte) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, rawURL, rd)
	require.NoError(t, err)
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	require.NoError(t, err)
	return response{resp.StatusCode, resp.Header, string(data)}
}

// TestPresignOffline: presigning sends no request, even with the public
// endpoint unreachable, and signs Content-Type (and Content-Length).
func TestPresignOffline(t *testing.T) {
	t.Parallel()
	for _, public := range []string{"", "http://127.0.0.1:1", "127.0.0.1:1", "https://files.example.com"} {
		t.Run(public, func(t *testing.T) {
			t.Parallel()
			tr := &countingTransport{}
			c := newClient("127.0.0.1:1", "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", &http.Client{Transport: tr})
			b, err := New(c, "bucket", Options{PublicEndpoint: public})
			require.NoError(t, err)
			ctx := t.Context()
			wantHost := "127.0.0.1:1"
			if public != "" {
				u, err := url.Parse(public)
				if err != nil || u.Host == "" {
					u = &url.URL{Host: public}
				}
				wantHost = u.Host
			}

			cases := []struct {
				name       string
				opts       backend.PresignOptions
				wantSigned []string
				wantCT     string
			}{
				{"type and size", backend.PresignOptions{ContentType: "application/pdf", Size: 1234}, []string{"content-length", "content-type", "host"}, "application/pdf"},
				{"type only", backend.PresignOptions{ContentType: "text/plain; charset=utf-8"}, []string{"content-type", "host"}, "text/plain; charset=utf-8"},
				{"size only", backend.PresignOptions{Size: 77}, []string{"content-length", "content-type", "host"}, backend.DefaultContentType},
				{"neither", backend.PresignOptions{}, []string{"content-type", "host"}, backend.DefaultContentType},
			}
			for _, c := range cases {
				pr, err := b.PresignPut(ctx, "a b/ü+x?y", c.opts)
				require.NoError(t, err, c.name)
				u, err := url.Parse(pr.URL)
				require.NoError(t, err)
				assert.Equal(t, wantHost, u.Host, c.name)
				assert.Equal(t, "/bucket/a%20b/%C3%BC%2Bx%3Fy", u.EscapedPath(), c.name)
				assert.Equal(t, strings.Join(c.wantSigned, ";"), u.Query().Get("X-Amz-SignedHeaders"), c.name)
				assert.Equal(t, c.wantCT, pr.Header.Get("Content-Type"), c.name)
				assert.Empty(t, pr.Header.Get("Host"), c.name)
				assert.Equal(t, http.MethodPut, pr.Method)
				assert.WithinDuration(t, time.Now().Add(backend.DefaultPresignExpiry), pr.Expires, 2*time.Second)
			}
			pr, err := b.PresignGet(ctx, "k", backend.PresignOptions{ContentDisposition: "inline", Expires: time.Hour})
			require.NoError(t, err)
			assert.Empty(t, pr.Header, "a presigned GET needs no header")
			q := mustQuery(t, pr.URL)
			assert.Equal(t, "host", q.Get("X-Amz-SignedHeaders"))
			assert.Equal(t, "inline", q.Get("response-content-disposition"))
			assert.Equal(t, "3600", q.Get("X-Amz-Expires"))
			assert.Equal(t, int64(0), tr.n.Load(), "presigning sent requests")
		})
	}
}

func mustQuery(t *testing.T, raw string) url.Values {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err)
	return u.Query()
}

func TestCopySource(t *testing.T) {
	t.Parallel()
	for key, want := range map[string]string{
		"plain":   "b/plain",
		"q?a=1#f": "b/q%3Fa%3D1%23f",
		"100%":    "b/100%25",
		"ü/日本":    "b/%C3%BC/%E6%97%A5%E6%9C%AC",
		"a b":     "b/a%20b",
		"x+y":     "b/x%2By",
		"a/b.c~_": "b/a/b.c~_",
	} {
		assert.Equal(t, want, copySource("b", key), "key %q", key)
		dec, err := url.PathUnescape(copySource("b", key))
		assert.NoError(t, err)
		assert.Equal(t, "b/"+key, dec)
	}
}

// TestCopy: server-side copy of the tricky keys, and the multipart copy used
// above 5 GiB, here with the limit lowered.
func TestCopy(t *testing.T) {
	eachServer(t, true, func(t *testing.T, s server) {
		b := s.newBackend(t, Options{})
		ctx := t.Context()
		meta := map[string]string{"a": "1", "b-c": "x y"}
		for i, key := range []string{"q?a=1#f", "100%", "ü/日本", "a b", "x+y", "%2e%2e", "a%2Fb"} {
			data := []byte(fmt.Sprint("copy ", i, key))
			_, err := b.Put(ctx, key, bytes.NewReader(data), backend.PutOptions{ContentType: "text/x-kite", Metadata: meta})
			require.NoError(t, err, key)
			dst := "copy/" + key
			obj, err := b.Copy(ctx, dst, key)
			require.NoError(t, err, "Copy of %q", key)
			assert.Equal(t, int64(len(data)), obj.Size)
			got := readAll(t, b, dst)
			assert.Equal(t, data, got, key)
			st, err := b.Stat(ctx, dst)
			require.NoError(t, err)
			assert.Equal(t, "text/x-kite", st.ContentType)
			assert.Equal(t, meta, st.Metadata)
			assert.Equal(t, st.ETag, obj.ETag)
		}

		b.copyLimit, b.copyPart = testPartSize, testPartSize
		data := bytes.Repeat([]byte("0123456789abcdef"), (2*testPartSize+12345)/16)
		_, err := b.Put(ctx, "big src", bytes.NewReader(data), backend.PutOptions{ContentType: "application/x-big", Metadata: meta})
		require.NoError(t, err)
		obj, err := b.Copy(ctx, "big/dst", "big src")
		require.NoError(t, err, "multipart copy")
		assert.Equal(t, int64(len(data)), obj.Size)
		assert.True(t, bytes.Equal(data, readAll(t, b, "big/dst")), "multipart copy content")
		st, err := b.Stat(ctx, "big/dst")
		require.NoError(t, err)
		assert.Equal(t, "application/x-big", st.ContentType)
		assert.Equal(t, meta, st.Metadata)
		assert.Equal(t, st.ETag, obj.ETag)

		_, err = b.Copy(ctx, "big/none", "missing")
		assert.ErrorIs(t, err, backend.ErrNotFound)
	})
}

func readAll(t *testing.T, b *Backend, key string) []byte {
	t.Helper()
	rc, _, err := b.Get(t.Context(), key, backend.GetOptions{})
	require.NoError(t, err, "Get %q", key)
	defer rc.Close()
	data, err := io.ReadAll(rc)
	require.NoError(t, err)
	return data
}

// plainReader hides everything but Read.
type plainReader struct{ r io.Reader }

func (p plainReader) Read(b []byte) (int, error) { return p.r.Read(b) }

// TestMultipartConditions: IfNotExists and IfMatch hold for uploads that go
// multipart too (they are sent on CompleteMultipartUpload).
func TestMultipartConditions(t *testing.T) {
	eachServer(t, true, func(t *testing.T, s server) {
		b := s.newBackend(t, Options{})
		ctx := t.Context()
		big := func(c byte) io.Reader { return plainReader{bytes.NewReader(bytes.Repeat([]byte{c}, testPartSize+100))} }
		v1, err := b.Put(ctx, "k", big('1'), backend.PutOptions{IfNotExists: true})
		require.NoError(t, err)
		assert.Contains(t, v1.ETag, "-", "a multipart ETag")
		assert.Equal(t, int64(testPartSize+100), v1.Size)

		_, err = b.Put(ctx, "k", big('2'), backend.PutOptions{IfNotExists: true})
		assert.ErrorIs(t, err, backend.ErrExists)
		_, err = b.Put(ctx, "k", big('3'), backend.PutOptions{IfMatch: "0123456789abcdef0123456789abcdef-2"})
		assert.ErrorIs(t, err, backend.ErrPrecondition)
		_, err = b.Put(ctx, "missing", big('3'), backend.PutOptions{IfMatch: v1.ETag})
		assert.ErrorIs(t, err, backend.ErrPrecondition)
		v4, err := b.Put(ctx, "k", big('4'), backend.PutOptions{IfMatch: v1.ETag})
		require.NoError(t, err)
		got := readAll(t, b, "k")
		assert.Equal(t, byte('4'), got[0])
		assert.Len(t, got, testPartSize+100)
		st, err := b.Stat(ctx, "k")
		require.NoError(t, err)
		assert.Equal(t, v4.ETag, st.ETag)
	})
}

func TestWrongCredentials(t *testing.T) {
	eachServer(t, true, func(t *testing.T, s server) {
		bucket := newBucket(t, s.client())
		const wrongKey, wrongSecret = "KITEWRONGACCESSKEY", "kite-wrong-secret-key-0123456789"
		for _, c := range []struct {
			name, ak, sk string
			// statKind: HEAD has no body, so no code; versitygw answers an
			// unknown access key with a bare 404, like a missing key.
			statKind error
		}{
			{"unknown access key", wrongKey, wrongSecret, map[string]error{"versitygw": backend.ErrNotFound}[s.name]},
			{"wrong secret", s.AccessKey, wrongSecret, nil},
		} {
			b, err := New(newClient(s.Endpoint, c.ak, c.sk, nil), bucket, Options{})
			require.NoError(t, err)
			ctx := t.Context()
			_, err = b.Put(ctx, "k", strings.NewReader("x"), backend.PutOptions{})
			errs := []error{err}
			_, err = b.Put(ctx, "k", plainReader{strings.NewReader("x")}, backend.PutOptions{})
			errs = append(errs, err)
			_, err = b.Stat(ctx, "k")
			errs = append(errs, err)
			_, _, err = b.Get(ctx, "k", backend.GetOptions{})
			errs = append(errs, err)
			errs = append(errs, b.Health(ctx))
			for o, err := range b.List(ctx, backend.ListOptions{}) {
				assert.Nil(t, o)
				errs = append(errs, err)
			}
			_, err = b.Copy(ctx, "k2", "k")
			errs = append(errs, err)
			for i, err := range errs {
				require.Error(t, err, "%s: call %d", c.name, i)
				want := backend.ErrPermission
				if (i == 2 || i == 6) && c.statKind != nil { // Stat and Copy start with a HEAD
					want = c.statKind
				}
				assert.ErrorIs(t, err, want, "%s: call %d: %v", c.name, i, err)
				for _, secret := range []string{c.sk, wrongKey, s.SecretKey} {
					assert.NotContains(t, err.Error(), secret, "%s: call %d", c.name, i)
					assert.NotContains(t, fmt.Sprintf("%+v", err), secret, "%s: call %d", c.name, i)
				}
			}
		}
	})
}

func TestHealthMissingBucket(t *testing.T) {
	eachServer(t, true, func(t *testing.T, s server) {
		name := randomBucket()
		b, err := New(s.client(), name, Options{})
		require.NoError(t, err)
		err = b.Health(t.Context())
		require.Error(t, err)
		assert.Contains(t, err.Error(), name)
		assert.ErrorIs(t, err, backend.ErrNotFound)
		assert.NotContains(t, err.Error(), s.SecretKey)

		ok := s.newBackend(t, Options{})
		assert.NoError(t, ok.Health(t.Context()))
	})
}

// isolateAWSEnv points the default chain at the given credentials and at
// nothing else: no shared files, no instance metadata.
func isolateAWSEnv(t *testing.T, accessKey, secretKey string) {
	dir := t.TempDir()
	empty := dir + "/empty"
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           accessKey,
		"AWS_SECRET_ACCESS_KEY":       secretKey,
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_REGION":                  "",
		"AWS_DEFAULT_REGION":          "",
		"AWS_CONFIG_FILE":             empty,
		"AWS_SHARED_CREDENTIALS_FILE": empty,
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_ENDPOINT_URL":            "",
		"AWS_ENDPOINT_URL_S3":         "",
	} {
		t.Setenv(k, v)
	}
}

func TestOpenParsing(t *testing.T) {
	const secret = "open-test-secret-value-0123456789"
	isolateAWSEnv(t, "OPENTESTACCESSKEY", secret)
	ctx := t.Context()
	good := []struct {
		url       string
		partSize  int64
		pathStyle bool
		endpoint  string
		region    string
	}{
		{"s3://bucket", DefaultPartSize, false, "", defaultRegion},
		{"s3://bucket/?region=eu-west-1", DefaultPartSize, false, "", "eu-west-1"},
		{"s3://bucket?endpoint=http://127.0.0.1:9000", DefaultPartSize, true, "http://127.0.0.1:9000", defaultRegion},
		{"s3://bucket?endpoint=127.0.0.1:9000&path_style=false&part_size=32MiB", 32 << 20, false, "https://127.0.0.1:9000", defaultRegion},
		{"s3://bucket?endpoint=http://127.0.0.1:9000&public_endpoint=localhost:9000&part_size=5242880", 5 << 20, true, "http://127.0.0.1:9000", defaultRegion},
	}
	for _, c := range good {
		bk, err := backend.Open(ctx, c.url)
		require.NoError(t, err, c.url)
		b, ok := bk.(*Backend)
		require.True(t, ok, "%s: Open returned %T", c.url, bk)
		assert.Equal(t, "bucket", b.Bucket())
		assert.Equal(t, c.partSize, b.partSize, c.url)
		o := b.Client().Options()
		assert.Equal(t, c.pathStyle, o.UsePathStyle, c.url)
		assert.Equal(t, c.endpoint, aws.ToString(o.BaseEndpoint), c.url)
		assert.Equal(t, c.region, o.Region, c.url)
		assert.Equal(t, aws.RequestChecksumCalculationWhenRequired, o.RequestChecksumCalculation)
		assert.Equal(t, aws.ResponseChecksumValidationWhenRequired, o.ResponseChecksumValidation)
	}
	bad := []string{
		"s3://",
		"s3://bucket/path",
		"s3://bucket?regoin=eu-west-1",
		"s3://bucket?part_size=1MiB",
		"s3://bucket?part_size=6GiB",
		"s3://bucket?part_size=lots",
		"s3://bucket?path_style=maybe",
		"s3://bucket?endpoint=ftp://host",
		"s3://bucket?endpoint=http://host/path",
		"s3://bucket?public_endpoint=http://host/path",
		"s3://bucket?region=a&region=b",
		"s3://AKID:" + secret + "@bucket",
		"s3://bucket?secret_key=" + secret,
		"s3://bucket?endpoint=http://u:" + secret + "@127.0.0.1:9000",
	}
	for _, raw := range bad {
		_, err := backend.Open(ctx, raw)
		require.Error(t, err, raw)
		assert.ErrorIs(t, err, backend.ErrInvalidArgument, "%s: %v", raw, err)
		assert.NotContains(t, err.Error(), secret, raw)
		var be *backend.Error
		assert.True(t, errors.As(err, &be), "%s: %T", raw, err)
	}
}

// TestOpenDefaultChain opens by URL with credentials from the environment
// and uses the store.
func TestOpenDefaultChain(t *testing.T) {
	eachServer(t, false, func(t *testing.T, s server) {
		bucket := newBucket(t, s.client())
		isolateAWSEnv(t, s.AccessKey, s.SecretKey)
		ctx := t.Context()
		bk, err := backend.Open(ctx, "s3://"+bucket+"?endpoint=http://"+s.Endpoint+"&public_endpoint=http://localhost:"+s.port(t)+"&part_size=5MiB")
		require.NoError(t, err)
		require.NoError(t, bk.Health(ctx))
		_, err = bk.Put(ctx, "k", plainReader{strings.NewReader("via the default chain")}, backend.PutOptions{ContentType: "text/plain", Metadata: map[string]string{"m": "v"}})
		require.NoError(t, err)
		st, err := bk.Stat(ctx, "k")
		require.NoError(t, err)
		assert.Equal(t, "text/plain", st.ContentType)
		assert.Equal(t, map[string]string{"m": "v"}, st.Metadata)
		pr, err := bk.PresignGet(ctx, "k", backend.PresignOptions{})
		require.NoError(t, err)
		res := do(t, pr.Method, pr.URL, pr.Header, nil)
		assert.Equal(t, "via the default chain", res.body)
		assert.Contains(t, pr.URL, "localhost:"+s.port(t))
	})
}

// TestStandardLayout: what the driver stores reads back through the bare SDK
// as plain S3: Content-Type and lower-case x-amz-meta-* metadata.
func TestStandardLayout(t *testing.T) {
	eachServer(t, true, func(t *testing.T, s server) {
		b := s.newBackend(t, Options{})
		ctx := t.Context()
		for _, r := range []io.Reader{strings.NewReader("seekable"), plainReader{strings.NewReader("plain")}} {
			_, err := b.Put(ctx, "layout", r, backend.PutOptions{ContentType: "text/markdown", Metadata: map[string]string{"owner-id": "42"}})
			require.NoError(t, err)
			out, err := b.Client().HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String(b.Bucket()), Key: aws.String("layout")})
			require.NoError(t, err)
			assert.Equal(t, "text/markdown", aws.ToString(out.ContentType))
			assert.Equal(t, map[string]string{"owner-id": "42"}, out.Metadata)
		}
	})
}

func TestNewOptions(t *testing.T) {
	t.Parallel()
	c := newClient("127.0.0.1:1", "a", "b", nil)
	for _, c := range []struct {
		name   string
		client *awss3.Client
		bucket string
		opts   Options
	}{
		{"nil client", nil, "b", Options{}},
		{"no bucket", c, "", Options{}},
		{"part size too small", c, "b", Options{PartSize: MinPartSize - 1}},
		{"part size too large", c, "b", Options{PartSize: MaxPartSize + 1}},
		{"negative concurrency", c, "b", Options{Concurrency: -1}},
		{"bad public endpoint", c, "b", Options{PublicEndpoint: "http://h/p"}},
	} {
		_, err := New(c.client, c.bucket, c.opts)
		assert.ErrorIs(t, err, backend.ErrInvalidArgument, c.name)
	}
}

// TestRefusedBeforeIO: a size mismatch of a seekable body, a cancelled
// context and a closed backend fail without a request.
func TestRefusedBeforeIO(t *testing.T) {
	t.Parallel()
	tr := &countingTransport{}
	b, err := New(newClient("127.0.0.1:1", "a", "b", &http.Client{Transport: tr}), "bucket", Options{})
	require.NoError(t, err)
	dead, cancel := context.WithCancel(t.Context())
	cancel()
	cases := []struct {
		name string
		ctx  context.Context
		r    io.Reader
		opts backend.PutOptions
		want error
	}{
		{"seekable, declared longer", t.Context(), strings.NewReader("12345"), backend.PutOptions{Size: 6}, backend.ErrInvalidArgument},
		{"seekable, declared shorter", t.Context(), strings.NewReader("12345"), backend.PutOptions{Size: 4}, backend.ErrInvalidArgument},
		{"plain, declared longer", t.Context(), plainReader{strings.NewReader("12345")}, backend.PutOptions{Size: 6}, backend.ErrInvalidArgument},
		{"plain, declared shorter", t.Context(), plainReader{strings.NewReader("12345")}, backend.PutOptions{Size: 4}, backend.ErrInvalidArgument},
		{"cancelled", dead, strings.NewReader("x"), backend.PutOptions{}, context.Canceled},
	}
	for _, c := range cases {
		_, err := b.Put(c.ctx, "k", c.r, c.opts)
		assert.ErrorIs(t, err, c.want, c.name)
	}
	require.NoError(t, b.Close())
	_, err = b.Stat(t.Context(), "k")
	assert.ErrorIs(t, err, backend.ErrClosed)
	assert.Equal(t, int64(0), tr.n.Load(), "requests sent")
}

// TestGetRangeOfEmpty: a range from offset 0 of an empty object reads it as
// empty (S3 answers 416 to that range); offset 1 is ErrInvalidArgument.
func TestGetRangeOfEmpty(t *testing.T) {
	eachServer(t, true, func(t *testing.T, s server) {
		b := s.newBackend(t, Options{})
		ctx := t.Context()
		_, err := b.Put(ctx, "empty", strings.NewReader(""), backend.PutOptions{})
		require.NoError(t, err)
		rc, obj, err := b.Get(ctx, "empty", backend.GetOptions{Length: 5})
		require.NoError(t, err)
		data, err := io.ReadAll(rc)
		rc.Close()
		require.NoError(t, err)
		assert.Empty(t, data)
		assert.Equal(t, int64(0), obj.Size)
		_, _, err = b.Get(ctx, "empty", backend.GetOptions{Offset: 1})
		assert.ErrorIs(t, err, backend.ErrInvalidArgument)
	})
}

// cancelAfter yields n bytes, then cancels and fails like a request body.
type cancelAfter struct {
	n      int
	cancel context.CancelFunc
	ctx    context.Context
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	if c.n <= 0 {
		c.cancel()
		<-c.ctx.Done()
		return 0, c.ctx.Err()
	}
	k := min(len(p), c.n)
	clear(p[:k])
	c.n -= k
	return k, nil
}

// TestCancelAbortsMultipart: a multipart upload cancelled after its first
// parts is aborted, leaving no upload behind, and reports context.Canceled.
func TestCancelAbortsMultipart(t *testing.T) {
	eachServer(t, true, func(t *testing.T, s server) {
		b := s.newBackend(t, Options{})
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		const key = "cancelled/multipart"
		_, err := b.Put(ctx, key, &cancelAfter{n: 2*testPartSize + 10, cancel: cancel, ctx: ctx}, backend.PutOptions{})
		require.ErrorIs(t, err, context.Canceled)
		var be *backend.Error
		require.ErrorAs(t, err, &be)
		assert.Equal(t, "Put", be.Op)
		ups, err := b.Client().ListMultipartUploads(t.Context(), &awss3.ListMultipartUploadsInput{Bucket: aws.String(b.Bucket()), Prefix: aws.String(key)})
		require.NoError(t, err)
		assert.Empty(t, ups.Uploads, "uploads left behind")
		_, err = b.Stat(t.Context(), key)
		assert.ErrorIs(t, err, backend.ErrNotFound)
	})
}
