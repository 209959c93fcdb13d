package reliability_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	mc "github.com/minio/minio-go/v7"
	mccreds "github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/internal/testenv"
	"github.com/kitehq/kite/minio"
	"github.com/kitehq/kite/s3"
)

// stressEnv turns the long TestStress… tests on (`make stress` sets it).
const stressEnv = "KITE_STRESS"

// stress skips a long test unless KITE_STRESS=1.
func stress(t *testing.T) {
	t.Helper()
	if os.Getenv(stressEnv) != "1" {
		t.Skipf("a long test: run `make stress` (%s=1)", stressEnv)
	}
}

// ---------------------------------------------------------------- data

// block is the random material of pattern streams, made once.
var block = func() []byte {
	b := make([]byte, 1<<20)
	_, _ = rand.Read(b)
	return b
}()

// pattern is a cheap non-seekable stream of n bytes, the same for the same
// seed within a test binary: the bytes of block from an offset chosen by
// seed, over and over. It has no
// Len, Seek or Stat, so a driver sees a stream of unknown size, and like a
// network stream it returns at most patternChunk bytes a Read.
type pattern struct {
	start, n, off int64
	onRead        func(total int64) // called after each Read with the bytes delivered so far
}

const patternChunk = 1 << 20

func newPattern(seed, n int64) *pattern {
	return &pattern{start: seed * 4099 % int64(len(block)), n: n}
}

func (p *pattern) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), p.n-p.off, patternChunk)]
	done := 0
	for done < len(b) {
		i := (p.start + p.off + int64(done)) % int64(len(block))
		done += copy(b[done:], block[i:])
	}
	p.off += int64(done)
	if p.onRead != nil {
		p.onRead(p.off)
	}
	return done, nil
}

// patternBytes is what newPattern(seed, n) yields.
func patternBytes(seed, n int64) []byte {
	b, _ := io.ReadAll(newPattern(seed, n))
	return b
}

// opaque hides every method of r but Read (Len, Seek, WriteTo…), so the
// driver must treat it as a stream it cannot rewind.
type opaque struct{ r io.Reader }

func (o opaque) Read(p []byte) (int, error) { return o.r.Read(p) }

// readBack reads key (the range of opts) and compares it with want.
func readBack(ctx context.Context, b backend.Backend, key string, opts backend.GetOptions, want []byte) error {
	rc, _, err := b.Get(ctx, key, opts)
	if err != nil {
		return err
	}
	defer rc.Close()
	var got bytes.Buffer
	if _, err := got.ReadFrom(rc); err != nil {
		return err
	}
	if !bytes.Equal(want, got.Bytes()) {
		return fmt.Errorf("%s: read %d bytes that differ from the %d written", key, got.Len(), len(want))
	}
	return nil
}

// ---------------------------------------------------------------- MinIO

func randomName(prefix string) string {
	var p [6]byte
	_, _ = rand.Read(p[:])
	return prefix + hex.EncodeToString(p[:])
}

// adminClient is a minio-go client straight to endpoint (no proxy), for
// setting up and for checking what the server really holds.
func adminClient(t testing.TB, endpoint string, srv testenv.S3Server) *mc.Client {
	t.Helper()
	c, err := mc.New(endpoint, &mc.Options{
		Creds:        mccreds.NewStaticV4(srv.AccessKey, srv.SecretKey, ""),
		Region:       minio.DefaultRegion,
		BucketLookup: mc.BucketLookupPath,
		Transport:    newTransport(true),
	})
	require.NoError(t, err)
	return c
}

// newBucket makes a bucket and removes it at cleanup. Unless orphansOK, an
// incomplete multipart upload left in it fails the test: a failed Put must
// abort its upload.
func newBucket(t *testing.T, admin *mc.Client, orphansOK bool) string {
	t.Helper()
	name := randomName("kite-rel-")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, admin.MakeBucket(ctx, name, mc.MakeBucketOptions{Region: minio.DefaultRegion}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		for u := range admin.ListIncompleteUploads(ctx, name, "", true) {
			if u.Err != nil {
				t.Errorf("bucket %s: listing incomplete uploads: %v", name, u.Err)
				break
			}
			if !orphansOK {
				t.Errorf("bucket %s: the upload of %q was left incomplete (a failed Put must abort it)", name, u.Key)
			}
			_ = admin.RemoveIncompleteUpload(ctx, name, u.Key)
		}
		if err := admin.RemoveBucketWithOptions(ctx, name, mc.RemoveBucketOptions{ForceDelete: true}); err != nil {
			t.Errorf("removing bucket %s: %v", name, err)
		}
	})
	return name
}

// ---------------------------------------------------------------- drivers

// counting counts the HTTP requests (attempts, retries included) that an
// SDK sends through it.
type counting struct {
	rt http.RoundTripper
	n  atomic.Int64
}

func (c *counting) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.rt.RoundTrip(r)
}

// newTransport is a transport of the test's own, so that it can close its
// idle connections. Without keep-alives every request dials a connection
// of its own: to a fault proxy, "the next connection" is "the next attempt".
func newTransport(keepAlive bool) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // loopback only, whatever the environment says
	tr.DisableKeepAlives = !keepAlive
	tr.MaxIdleConns = 256
	tr.MaxIdleConnsPerHost = 128 // the load tests run 64 goroutines
	return tr
}

// clientOpts shape the SDK client under a driver.
type clientOpts struct {
	keepAlive bool
	attempts  int   // attempts per call, first included; 0: the SDK's default
	partSize  int64 // 0: the driver's default (16 MiB)
}

// remote is a minio or s3 driver on a MinIO bucket, with its transport and
// the count of the HTTP requests it sent.
type remote struct {
	backend.Backend
	tr       *http.Transport
	requests *counting
}

// closeIdle closes the backend and the idle connections of its transport.
func (r *remote) closeIdle() {
	_ = r.Close()
	r.tr.CloseIdleConnections()
}

// openDriver opens driver ("minio" or "s3") on bucket at endpoint (MinIO,
// or a proxy in front of it) with the credentials of srv.
func openDriver(t *testing.T, driver, endpoint string, srv testenv.S3Server, bucket string, o clientOpts) *remote {
	t.Helper()
	r := &remote{tr: newTransport(o.keepAlive)}
	r.requests = &counting{rt: r.tr}
	switch driver {
	case "minio":
		c, err := mc.New(endpoint, &mc.Options{
			Creds:        mccreds.NewStaticV4(srv.AccessKey, srv.SecretKey, ""),
			Region:       minio.DefaultRegion,
			BucketLookup: mc.BucketLookupPath,
			Transport:    r.requests,
			MaxRetries:   o.attempts, // minio-go: attempts, the first included; 0: 10
		})
		require.NoError(t, err)
		b, err := minio.New(c, bucket, minio.Options{PartSize: o.partSize})
		require.NoError(t, err)
		r.Backend = b
	case "s3":
		opts := awss3.Options{
			Region:                     minio.DefaultRegion,
			BaseEndpoint:               aws.String("http://" + endpoint),
			UsePathStyle:               true,
			Credentials:                credentials.NewStaticCredentialsProvider(srv.AccessKey, srv.SecretKey, ""),
			RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
			ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
			HTTPClient:                 &http.Client{Transport: r.requests},
		}
		if o.attempts > 0 {
			// The SDK's standard retryer, with short waits and no retry
			// quota, so that a count of retries is the count of faults.
			opts.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
				so.MaxAttempts = o.attempts
				so.MaxBackoff = 200 * time.Millisecond
				so.RateLimiter = ratelimit.None
			})
		}
		b, err := s3.New(awss3.New(opts), bucket, s3.Options{PartSize: o.partSize})
		require.NoError(t, err)
		r.Backend = b
	default:
		t.Fatalf("unknown driver %q", driver)
	}
	t.Cleanup(r.closeIdle)
	return r
}

// remoteDrivers are the drivers tested on MinIO.
var remoteDrivers = []string{"minio", "s3"}

// firstErrors reports at most a few errors of many concurrent goroutines,
// and counts them all.
type firstErrors struct {
	t  *testing.T
	mu sync.Mutex
	n  int
}

func (f *firstErrors) errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	if f.n <= 10 {
		f.t.Errorf(format, args...)
	}
}

func (f *firstErrors) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}
