package reliability_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"

	mc "github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/internal/faultproxy"
	"github.com/kitehq/kite/internal/testenv"
)

// faultAttempts is the SDK attempts per call in the fault tests (the first
// included): enough to get past two faults, few enough that a call cut on
// every attempt fails fast.
const faultAttempts = 3

// faultPartSize is S3's smallest part, so that multipart Puts stay small.
const faultPartSize = 5 << 20

// faultEnv is a driver reaching MinIO through a fault proxy, with keep-alives
// off so that each HTTP request has a connection of its own, and the
// counts the note reports.
type faultEnv struct {
	driver string
	p      *faultproxy.Proxy
	b      *remote
	admin  *mc.Client // straight to MinIO: what the server really holds
	bucket string

	calls   atomic.Int64 // driver calls made through the proxy
	retried atomic.Int64 // calls that took more requests than without faults
	retries atomic.Int64 // the extra requests of those calls
}

func TestNetworkFaults(t *testing.T) {
	srv := testenv.MinIO(t)
	for _, driver := range remoteDrivers {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			p, err := faultproxy.New(srv.Endpoint)
			require.NoError(t, err)
			t.Cleanup(func() { _ = p.Close() })
			admin := adminClient(t, srv.Endpoint, srv)
			bucket := newBucket(t, admin, false)
			e := &faultEnv{
				driver: driver, p: p, admin: admin, bucket: bucket,
				b: openDriver(t, driver, p.Addr(), srv, bucket, clientOpts{attempts: faultAttempts, partSize: faultPartSize}),
			}
			t.Run("IdempotentCallsSurviveResets", e.idempotent)
			t.Run("GetCutMidBody", e.getCut)
			t.Run("PutCutMidStream", e.putCut)
			t.Run("Stall", e.stall)
			s := p.Stats()
			t.Logf("%s through the fault proxy: %d faults struck (%d resets, %d cuts, %d stalls) on %d connections; "+
				"%d driver calls sent %d HTTP requests; %d calls retried with %d extra requests",
				driver, s.Faults(), s.Resets, s.Cuts, s.Stalls, s.Conns,
				e.calls.Load(), e.b.requests.n.Load(), e.retried.Load(), e.retries.Load())
		})
	}
}

// measure runs one driver call and returns the HTTP requests it sent and
// the proxy counters it moved. Keep-alives are off, so each request is a
// connection: the proxy must have seen exactly as many.
func (e *faultEnv) measure(t *testing.T, call func() error) (requests int64, s faultproxy.Stats, err error) {
	t.Helper()
	r0, s0 := e.b.requests.n.Load(), e.p.Stats()
	err = call()
	e.calls.Add(1)
	requests, s = e.b.requests.n.Load()-r0, e.p.Stats().Sub(s0)
	assert.Equal(t, requests, s.Conns, "HTTP requests vs connections the proxy saw (keep-alives are off)")
	e.p.Clear()
	return requests, s, err
}

// countRetries records a call that took extra requests.
func (e *faultEnv) countRetries(extra int64) {
	if extra > 0 {
		e.retried.Add(1)
		e.retries.Add(extra)
	}
}

func (e *faultEnv) put(t *testing.T, key string, data []byte) {
	t.Helper()
	_, err := e.admin.PutObject(t.Context(), e.bucket, key, bytes.NewReader(data), int64(len(data)), mc.PutObjectOptions{})
	require.NoError(t, err, "admin Put %s", key)
}

// stored returns what MinIO holds under key, straight from it; nil when
// there is no such object.
func (e *faultEnv) stored(t *testing.T, key string) []byte {
	t.Helper()
	o, err := e.admin.GetObject(t.Context(), e.bucket, key, mc.GetObjectOptions{})
	require.NoError(t, err)
	defer o.Close()
	data, err := io.ReadAll(o)
	if mc.ToErrorResponse(err).Code == "NoSuchKey" {
		return nil
	}
	require.NoError(t, err, "admin Get %s", key)
	return data
}

// assertStored checks the object under key against want (nil: no object)
// by SHA-256, straight from MinIO.
func (e *faultEnv) assertStored(t *testing.T, key string, want []byte, what string) {
	t.Helper()
	got := e.stored(t, key)
	if want == nil {
		assert.Nil(t, got, "%s: %s exists (%d bytes), want no object", what, key, len(got))
		return
	}
	assert.Equal(t, sha256.Sum256(want), sha256.Sum256(got), "%s: %s holds %d bytes, not the %d expected", what, key, len(got), len(want))
}

// connFaults are the faults an idempotent call must get past: the
// connection reset, or closed, before or during the exchange.
var connFaults = []struct {
	name string
	f    faultproxy.Fault
}{
	{"reset on connect", faultproxy.Fault{Action: faultproxy.Reset, Dir: faultproxy.Upstream}},
	{"reset mid-request", faultproxy.Fault{Action: faultproxy.Reset, Dir: faultproxy.Upstream, After: 100}},
	{"reset mid-response", faultproxy.Fault{Action: faultproxy.Reset, Dir: faultproxy.Downstream, After: 50}},
	{"closed mid-response", faultproxy.Fault{Action: faultproxy.Cut, Dir: faultproxy.Downstream, After: 50}},
}

// idempotent: each idempotent call, with its first two connections reset
// (or closed) at some point, succeeds through the SDK's own retries, with
// exactly two more requests than without faults, and does what it should.
func (e *faultEnv) idempotent(t *testing.T) {
	ctx := t.Context()
	data := patternBytes(1, 1<<20)
	e.put(t, "f/obj", data)
	fresh := patternBytes(2, 300<<10)
	calls := []struct {
		name  string
		setup func(t *testing.T)
		call  func() error
		check func(t *testing.T)
	}{
		{name: "Stat", call: func() error {
			o, err := e.b.Stat(ctx, "f/obj")
			if err == nil && o.Size != int64(len(data)) {
				t.Errorf("Stat: size %d, want %d", o.Size, len(data))
			}
			return err
		}},
		{name: "Get", call: func() error {
			return readBack(ctx, e.b, "f/obj", backend.GetOptions{}, data)
		}},
		{name: "GetRange", call: func() error {
			return readBack(ctx, e.b, "f/obj", backend.GetOptions{Offset: 1000, Length: 5000}, data[1000:6000])
		}},
		{name: "List", call: func() error {
			var keys []string
			for o, err := range e.b.List(ctx, backend.ListOptions{Prefix: "f/o"}) {
				if err != nil {
					return err
				}
				keys = append(keys, o.Key)
			}
			assert.Equal(t, []string{"f/obj"}, keys, "List")
			return nil
		}},
		{
			name:  "Delete",
			setup: func(t *testing.T) { e.put(t, "f/del", []byte("doomed")) },
			call:  func() error { return e.b.Delete(ctx, "f/del") },
			check: func(t *testing.T) { e.assertStored(t, "f/del", nil, "after Delete") },
		},
		{
			name:  "PutSeekable",
			setup: func(t *testing.T) { e.put(t, "f/put", []byte("old")) },
			call: func() error {
				_, err := e.b.Put(ctx, "f/put", bytes.NewReader(fresh), backend.PutOptions{})
				return err
			},
			check: func(t *testing.T) { e.assertStored(t, "f/put", fresh, "after Put") },
		},
		{
			name: "Copy",
			setup: func(t *testing.T) {
				require.NoError(t, e.admin.RemoveObject(ctx, e.bucket, "f/copy", mc.RemoveObjectOptions{}))
			},
			call: func() error {
				_, err := e.b.Copy(ctx, "f/copy", "f/obj")
				return err
			},
			check: func(t *testing.T) { e.assertStored(t, "f/copy", data, "after Copy") },
		},
		{name: "Health", call: func() error { return e.b.Health(ctx) }},
	}
	for i, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			run := func(faults ...faultproxy.Fault) int64 {
				t.Helper()
				if c.setup != nil {
					c.setup(t)
				}
				for _, f := range faults {
					e.p.Inject(1, f)
				}
				n, s, err := e.measure(t, c.call)
				require.NoError(t, err, "%s with %d faults", c.name, len(faults))
				assert.EqualValues(t, len(faults), s.Faults(), "faults that struck")
				if c.check != nil {
					c.check(t)
				}
				return n
			}
			clean := run()
			// Two different faults on the first two connections.
			a, b := connFaults[i%len(connFaults)], connFaults[(i+1)%len(connFaults)]
			faulty := run(a.f, b.f)
			assert.Equal(t, clean+2, faulty, "requests with %s then %s, against %d without faults: each fault costs one retry", a.name, b.name, clean)
			e.countRetries(faulty - clean)
		})
	}
}

// getCut: a response body cut or reset mid-stream fails the Read; the
// bytes before are a strict prefix of the object, never a silently short
// object. The SDKs cannot retry a body already handed to the caller.
func (e *faultEnv) getCut(t *testing.T) {
	ctx := t.Context()
	data := patternBytes(3, 1<<20)
	e.put(t, "f/big", data)
	for _, a := range []faultproxy.Action{faultproxy.Cut, faultproxy.Reset} {
		t.Run(a.String(), func(t *testing.T) {
			const after = 256 << 10 // well past the response headers
			e.p.Inject(1, faultproxy.Fault{Action: a, Dir: faultproxy.Downstream, After: after})
			var got []byte
			var readErr error
			n, s, err := e.measure(t, func() error {
				rc, _, err := e.b.Get(ctx, "f/big", backend.GetOptions{})
				if err != nil {
					return err
				}
				defer rc.Close()
				got, readErr = io.ReadAll(rc)
				return nil
			})
			require.NoError(t, err, "Get: the headers came through")
			require.Error(t, readErr, "io.ReadAll of a body %s after %d bytes returned %d bytes and no error", a, after, len(got))
			if a == faultproxy.Cut {
				assert.ErrorIs(t, readErr, io.ErrUnexpectedEOF, "a body closed early")
			}
			assert.Less(t, len(got), len(data))
			assert.Less(t, len(got), after, "more bytes than the proxy forwarded")
			assert.True(t, bytes.Equal(data[:len(got)], got), "the %d bytes read are not a prefix of the object", len(got))
			assert.EqualValues(t, 1, s.Faults())
			assert.EqualValues(t, 1, n, "requests")
			t.Logf("%s: body %s after %d bytes on the wire: read %d bytes, then %v", e.driver, a, after, len(got), readErr)
			// The next Get, without a fault, is whole.
			require.NoError(t, readBack(ctx, e.b, "f/big", backend.GetOptions{}, data))
		})
	}
}

// putCut: a Put whose request body is cut mid-stream. The drivers buffer a
// part before sending it, so even a stream they cannot seek is retried by
// the SDK from that buffer: cut once, the Put succeeds and stores exactly
// the new bytes. Cut on every attempt, it fails and leaves the old object
// (or none), and a multipart upload is aborted.
func (e *faultEnv) putCut(t *testing.T) {
	ctx := t.Context()
	old := []byte("the old content")
	small := patternBytes(4, 1<<20)              // one request
	large := patternBytes(5, 2*faultPartSize+77) // three parts
	cut := faultproxy.Fault{Action: faultproxy.Cut, Dir: faultproxy.Upstream, After: 64 << 10}
	cases := []struct {
		name     string
		existing bool
		data     []byte
		every    bool // cut every attempt, not only one
	}{
		{"single request, cut once", true, small, false},
		{"single request, cut every attempt, existing key", true, small, true},
		{"single request, cut every attempt, new key", false, small, true},
		{"multipart, one part cut once", true, large, false},
		{"multipart, cut every attempt, existing key", true, large, true},
		{"multipart, cut every attempt, new key", false, large, true},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			key := "f/cut" + string(rune('a'+i))
			if c.existing {
				e.put(t, key, old)
			}
			if c.every {
				e.p.Inject(100, cut) // requests without a 64 KiB body (Create, Abort) pass
			} else {
				if len(c.data) > faultPartSize {
					// minio: the upload is created on the first connection,
					// without a body; the cut falls on a part's.
					e.p.Inject(1, faultproxy.Fault{})
				}
				e.p.Inject(1, cut)
			}
			n, s, err := e.measure(t, func() error {
				_, err := e.b.Put(ctx, key, opaque{bytes.NewReader(c.data)}, backend.PutOptions{})
				return err
			})
			if !c.every {
				require.NoError(t, err, "a Put cut once is retried from the driver's buffer")
				assert.EqualValues(t, 1, s.Cuts)
				e.assertStored(t, key, c.data, "after a Put cut once")
				e.countRetries(1)
				return
			}
			require.Error(t, err, "a Put cut on every attempt")
			assert.False(t, errors.Is(err, backend.ErrNotFound), "%v", err)
			assert.GreaterOrEqual(t, s.Cuts, int64(faultAttempts), "the SDK gave up before %d attempts", faultAttempts)
			want := []byte(nil)
			if c.existing {
				want = old
			}
			e.assertStored(t, key, want, "after a failed Put")
			for u := range e.admin.ListIncompleteUploads(ctx, e.bucket, key, true) {
				t.Errorf("the failed Put left its upload %q incomplete (err %v)", u.Key, u.Err)
			}
			t.Logf("%s: %s: %d requests, %d cut, then %v", e.driver, c.name, n, s.Cuts, err)
		})
	}
}

// stall: a connection that stops for a while is only slower; a cancelled
// or timed-out call on a stalled connection returns promptly with the
// context's error and commits nothing.
func (e *faultEnv) stall(t *testing.T) {
	ctx := t.Context()
	data := patternBytes(6, 1<<20)
	e.put(t, "f/stall", data)

	t.Run("BriefStall", func(t *testing.T) {
		const d = 400 * time.Millisecond
		e.p.Inject(1, faultproxy.Fault{Action: faultproxy.Stall, Dir: faultproxy.Downstream, Stall: d})
		start := time.Now()
		n, s, err := e.measure(t, func() error { return readBack(ctx, e.b, "f/stall", backend.GetOptions{}, data) })
		require.NoError(t, err)
		assert.GreaterOrEqual(t, time.Since(start), d)
		assert.EqualValues(t, 1, s.Stalls)
		assert.EqualValues(t, 1, n, "a stall shorter than the client's timeouts is no failure to retry")
	})

	t.Run("CancelGetWhileStalled", func(t *testing.T) {
		e.p.Inject(1, faultproxy.Fault{Action: faultproxy.Stall, Dir: faultproxy.Downstream, After: 256 << 10, Stall: time.Minute})
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		rc, _, err := e.b.Get(cctx, "f/stall", backend.GetOptions{})
		require.NoError(t, err)
		defer rc.Close()
		read := make(chan error, 1)
		var n atomic.Int64
		go func() {
			buf := make([]byte, 32<<10)
			for {
				k, err := rc.Read(buf)
				n.Add(int64(k))
				if err != nil {
					read <- err
					return
				}
			}
		}()
		require.Eventually(t, func() bool { return e.p.Stats().Stalls > 0 }, 10*time.Second, time.Millisecond)
		// Let the reader drain what came before the stall and block.
		time.Sleep(100 * time.Millisecond)
		select {
		case err := <-read:
			t.Fatalf("the read ended during the stall, after %d bytes: %v", n.Load(), err)
		default:
		}
		cancelled := time.Now()
		cancel()
		err = <-read
		took := time.Since(cancelled)
		assert.ErrorIs(t, err, context.Canceled)
		assert.Less(t, took, time.Second, "a Read blocked on a stalled connection returned %v after cancel", took)
		assert.Less(t, n.Load(), int64(len(data)))
		t.Logf("%s: Read blocked on a stalled body returned %v after cancel", e.driver, took)
		e.p.Clear()
	})

	t.Run("PutTimesOutWhileStalled", func(t *testing.T) {
		e.put(t, "f/stalled-put", []byte("old"))
		e.p.Inject(100, faultproxy.Fault{Action: faultproxy.Stall, Dir: faultproxy.Upstream, After: 64 << 10, Stall: time.Minute})
		const timeout = 500 * time.Millisecond
		tctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		start := time.Now()
		_, err := e.b.Put(tctx, "f/stalled-put", opaque{bytes.NewReader(data)}, backend.PutOptions{})
		took := time.Since(start)
		e.p.Clear()
		require.Error(t, err)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Less(t, took, timeout+time.Second, "Put on a stalled connection with a %v timeout", timeout)
		e.assertStored(t, "f/stalled-put", []byte("old"), "after a timed-out Put")
		t.Logf("%s: Put on a stalled connection returned %v after start (timeout %v)", e.driver, took, timeout)
	})
}
