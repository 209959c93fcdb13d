package reliability_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/gcs"
	"github.com/kitehq/kite/internal/testenv"
	"github.com/kitehq/kite/local"
	"github.com/kitehq/kite/memory"
)

// Each cancellation is tried cancelTrials times. The fastest trial must
// return within cancelLimit of the cancel, the promise: a driver
// that ignores the cancel, or does slow work before it looks, is slow every
// time. Every trial must return within cancelCeiling: a machine busy with
// other tests may delay one, a driver that hangs delays it more.
const (
	cancelTrials  = 3
	cancelLimit   = 100 * time.Millisecond
	cancelCeiling = time.Second
)

// cancelCase is the size of what a cancelled Put or Get moves and how many
// bytes have gone through the reader when ctx is cancelled.
type cancelCase struct{ size, at int64 }

var (
	// fastCancel, in make test: the cancel falls while the second 16 MiB
	// part is read, the first one sent.
	fastCancel = cancelCase{size: 64 << 20, at: 24 << 20}
	// stressCancel is the 256 MiB.
	stressCancel = cancelCase{size: 256 << 20, at: 64 << 20}
)

// store is a driver under test and how to release its connections, so that
// a goroutine left behind is a leak and not an idle connection.
type store struct {
	name string
	open func(t *testing.T) (b backend.Backend, closeIdle func())
}

// allStores are every driver: memory, local, minio and s3 on MinIO, gcs on
// fake-gcs-server.
var allStores = []store{
	{"memory", openMemory},
	{"local", openLocal},
	{"minio", openRemote("minio")},
	{"s3", openRemote("s3")},
	{"gcs", openGCS},
}

func openMemory(t *testing.T) (backend.Backend, func()) {
	b, err := memory.New(memory.Options{})
	require.NoError(t, err)
	return b, func() { _ = b.Close() }
}

func openLocal(t *testing.T) (backend.Backend, func()) {
	b, err := local.New(t.TempDir(), local.Options{})
	require.NoError(t, err)
	return b, func() { _ = b.Close() }
}

func openRemote(driver string) func(t *testing.T) (backend.Backend, func()) {
	return func(t *testing.T) (backend.Backend, func()) {
		srv := testenv.MinIO(t)
		admin := adminClient(t, srv.Endpoint, srv)
		r := openDriver(t, driver, srv.Endpoint, srv, newBucket(t, admin, false), clientOpts{keepAlive: true})
		return r, r.closeIdle
	}
}

// openGCS opens the gcs driver on a new bucket of fake-gcs-server, through
// a transport of the test's own.
func openGCS(t *testing.T) (backend.Backend, func()) {
	endpoint := testenv.GCSEmulator(t)
	tr := newTransport(true)
	client, err := storage.NewClient(context.Background(),
		option.WithEndpoint("http://"+endpoint+"/storage/v1/"),
		option.WithoutAuthentication(),
		option.WithHTTPClient(&http.Client{Transport: tr}))
	require.NoError(t, err)
	name := randomName("kite-rel-")
	require.NoError(t, client.Bucket(name).Create(context.Background(), "kite-test", nil))
	t.Cleanup(func() {
		ctx := context.Background()
		bkt := client.Bucket(name)
		it := bkt.Objects(ctx, nil)
		for {
			a, err := it.Next()
			if errors.Is(err, iterator.Done) {
				break
			}
			if err != nil {
				t.Errorf("cleanup of bucket %s: %v", name, err)
				break
			}
			_ = bkt.Object(a.Name).Delete(ctx)
		}
		if err := bkt.Delete(ctx); err != nil {
			t.Errorf("cleanup of bucket %s: %v", name, err)
		}
		_ = client.Close()
		tr.CloseIdleConnections()
	})
	b, err := gcs.New(client, name, gcs.Options{})
	require.NoError(t, err)
	return b, func() {
		_ = b.Close()
		tr.CloseIdleConnections()
	}
}

// TestCancel cancels a 64 MiB Put (of unknown and of known size) and a
// 64 MiB Get while it reads the body, on every driver: each returns within
// 100 ms of the cancel with an error matching context.Canceled, stores
// nothing, and leaves no goroutine behind once idle connections are closed.
// Not parallel: goleak needs the process to itself.
func TestCancel(t *testing.T) { testCancel(t, fastCancel) }

// TestStressCancel is TestCancel at the 256 MiB, cancelled after
// 64 MiB.
func TestStressCancel(t *testing.T) {
	stress(t)
	testCancel(t, stressCancel)
}

func testCancel(t *testing.T, c cancelCase) {
	for _, s := range allStores {
		t.Run(s.name, func(t *testing.T) {
			b, closeIdle := s.open(t)
			// Goroutines from before this driver's calls (the bucket's set
			// up, other tests' idle connections) are not its leaks.
			before := goleak.IgnoreCurrent()
			for _, size := range []int64{0, c.size} {
				what := fmt.Sprintf("%s: Put of %d MiB (Size %d) cancelled after %d MiB", s.name, c.size>>20, size, c.at>>20)
				checkTrials(t, what, func() (time.Duration, error) {
					took, err := cancelPut(t, b, "cancel/put", size, c)
					_, serr := b.Stat(t.Context(), "cancel/put")
					assert.ErrorIs(t, serr, backend.ErrNotFound, "%s: it stored something", what)
					return took, err
				})
			}

			_, err := b.Put(t.Context(), "cancel/get", newPattern(8, c.size), backend.PutOptions{Size: c.size})
			require.NoError(t, err, "Put of the object to Get")
			what := fmt.Sprintf("%s: Get of %d MiB cancelled after %d MiB read (to the failed Read and Close)", s.name, c.size>>20, c.at>>20)
			checkTrials(t, what, func() (time.Duration, error) {
				took, n, err := cancelGet(t, b, "cancel/get", c)
				assert.Less(t, n, c.size, "%s: the whole object was read despite the cancel", what)
				return took, err
			})

			closeIdle()
			goleak.VerifyNone(t, before)
		})
	}
}

// checkTrials runs a cancellation cancelTrials times: each error must match
// context.Canceled, the fastest return within cancelLimit of its cancel and
// every one within cancelCeiling.
func checkTrials(t *testing.T, what string, trial func() (time.Duration, error)) {
	t.Helper()
	var took []time.Duration
	for range cancelTrials {
		d, err := trial()
		assert.ErrorIs(t, err, context.Canceled, what)
		assert.Less(t, d, cancelCeiling, "%s: returned %v after cancel", what, d)
		took = append(took, d)
	}
	assert.Less(t, slices.Min(took), cancelLimit, "%s: the fastest of %d trials", what, cancelTrials)
	t.Logf("%s: returned %v after cancel", what, took)
}

// cancelOnce returns a callback for pattern.onRead that cancels ctx from
// another goroutine once the reader has delivered after bytes, and a
// function returning when that happened (zero if it did not).
func cancelOnce(cancel context.CancelFunc, after int64) (onRead func(int64), at func() time.Time) {
	var once sync.Once
	var mu sync.Mutex
	var when time.Time
	onRead = func(total int64) {
		if total < after {
			return
		}
		once.Do(func() {
			go func() {
				mu.Lock()
				when = time.Now()
				mu.Unlock()
				cancel()
			}()
		})
	}
	at = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return when
	}
	return onRead, at
}

// cancelPut puts c.size bytes of a stream (declaring size), cancels ctx
// from another goroutine once the driver has read c.at bytes, and returns
// how long after the cancel Put returned, with its error.
func cancelPut(t *testing.T, b backend.Backend, key string, size int64, c cancelCase) (time.Duration, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	src := newPattern(7, c.size)
	var at func() time.Time
	src.onRead, at = cancelOnce(cancel, c.at)
	_, err := b.Put(ctx, key, src, backend.PutOptions{Size: size})
	returned := time.Now()
	<-ctx.Done()
	cancelled := at()
	require.False(t, cancelled.IsZero(), "Put returned before the cancel: %v", err)
	return returned.Sub(cancelled), err
}

// cancelGet reads key and cancels ctx from another goroutine once c.at
// bytes are read, reading on without pause: it returns how long after the
// cancel a Read failed and Close returned, the bytes read and the error.
func cancelGet(t *testing.T, b backend.Backend, key string, c cancelCase) (time.Duration, int64, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	rc, _, err := b.Get(ctx, key, backend.GetOptions{})
	require.NoError(t, err)
	onRead, at := cancelOnce(cancel, c.at)
	buf := make([]byte, 1<<20)
	var n int64
	for {
		k, err := rc.Read(buf)
		n += int64(k)
		onRead(n)
		if err == io.EOF {
			rc.Close()
			t.Fatalf("read all %d bytes: the cancel at %d MiB was not seen", n, c.at>>20)
		}
		if err != nil {
			rc.Close()
			returned := time.Now()
			cancelled := at()
			require.False(t, cancelled.IsZero(), "Read failed before the cancel: %v", err)
			return returned.Sub(cancelled), n, err
		}
	}
}
