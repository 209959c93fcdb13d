package faultproxy_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/internal/faultproxy"
)

// echo is a TCP server that reads each connection to its end (the client's
// half-close), then writes everything back and closes. Replying only after
// the whole request has arrived means the proxy holds no unread bytes of
// the client when a downstream fault strikes, so a Cut is a clean FIN.
// received gets what each connection delivered, in order.
type echo struct {
	ln       net.Listener
	mu       sync.Mutex
	received [][]byte
	wg       sync.WaitGroup
}

func newEcho(t *testing.T) *echo {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	e := &echo{ln: ln}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			e.wg.Add(1)
			go func() {
				defer e.wg.Done()
				defer c.Close()
				data, _ := io.ReadAll(c)
				e.mu.Lock()
				e.received = append(e.received, data)
				e.mu.Unlock()
				_, _ = c.Write(data)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		e.wg.Wait()
	})
	return e
}

func (e *echo) got() [][]byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([][]byte(nil), e.received...)
}

func newProxy(t *testing.T, target string) *faultproxy.Proxy {
	t.Helper()
	p, err := faultproxy.New(target)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, p.Close()) })
	return p
}

// roundTrip sends msg through addr, half-closes, and returns what came back
// and the error that ended the exchange (nil for a clean end). A reset can
// come so early that the dial itself fails with it.
func roundTrip(t *testing.T, addr string, msg []byte) ([]byte, error) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	if _, err := c.Write(msg); err != nil {
		return nil, err
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return nil, err
	}
	return io.ReadAll(c)
}

func message(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func TestPassThrough(t *testing.T) {
	t.Parallel()
	e := newEcho(t)
	p := newProxy(t, e.ln.Addr().String())
	msg := message(1 << 20)
	for range 3 {
		got, err := roundTrip(t, p.Addr(), msg)
		require.NoError(t, err)
		require.True(t, bytes.Equal(msg, got), "echoed %d bytes, want the %d sent", len(got), len(msg))
	}
	s := p.Stats()
	assert.Equal(t, faultproxy.Stats{Conns: 3, Up: 3 << 20, Down: 3 << 20}, s)
	assert.Zero(t, s.Faults())
}

func TestResetNextConnections(t *testing.T) {
	t.Parallel()
	e := newEcho(t)
	p := newProxy(t, e.ln.Addr().String())
	p.Inject(2, faultproxy.Fault{Action: faultproxy.Reset, Dir: faultproxy.Downstream})
	assert.Equal(t, 2, p.Pending())
	msg := message(4096)
	for i := range 2 {
		got, err := roundTrip(t, p.Addr(), msg)
		require.Error(t, err, "connection %d was to be reset", i+1)
		assert.True(t, errors.Is(err, syscall.ECONNRESET), "connection %d: %v, want ECONNRESET", i+1, err)
		assert.Empty(t, got, "connection %d", i+1)
	}
	got, err := roundTrip(t, p.Addr(), msg)
	require.NoError(t, err, "the third connection carries no fault")
	assert.Equal(t, msg, got)
	s := p.Stats()
	assert.EqualValues(t, 3, s.Conns)
	assert.EqualValues(t, 2, s.Resets)
	assert.EqualValues(t, 2, s.Faults())
	assert.Zero(t, p.Pending())
}

func TestZeroFaultPassesAConnection(t *testing.T) {
	t.Parallel()
	e := newEcho(t)
	p := newProxy(t, e.ln.Addr().String())
	p.Inject(1, faultproxy.Fault{})
	p.Inject(1, faultproxy.Fault{Action: faultproxy.Reset})
	msg := message(4096)
	got, err := roundTrip(t, p.Addr(), msg)
	require.NoError(t, err, "the zero Fault leaves its connection alone")
	assert.Equal(t, msg, got)
	_, err = roundTrip(t, p.Addr(), msg)
	assert.Error(t, err, "the second connection gets the reset")
	assert.Equal(t, faultproxy.Stats{Conns: 2, Resets: 1, Up: 4096, Down: 4096}, p.Stats())
}

func TestResetAfterBytes(t *testing.T) {
	t.Parallel()
	e := newEcho(t)
	p := newProxy(t, e.ln.Addr().String())
	p.Inject(1, faultproxy.Fault{Action: faultproxy.Reset, Dir: faultproxy.Upstream, After: 1000})
	_, err := roundTrip(t, p.Addr(), message(1<<20))
	require.Error(t, err)
	require.Eventually(t, func() bool { return len(e.got()) == 1 }, 5*time.Second, time.Millisecond)
	assert.LessOrEqual(t, len(e.got()[0]), 1000, "the server got more than the 1000 bytes before the reset")
	assert.EqualValues(t, 1, p.Stats().Resets)
}

func TestCutDownstream(t *testing.T) {
	t.Parallel()
	e := newEcho(t)
	p := newProxy(t, e.ln.Addr().String())
	const after = 10_000
	p.Inject(1, faultproxy.Fault{Action: faultproxy.Cut, Dir: faultproxy.Downstream, After: after})
	msg := message(100_000)
	got, err := roundTrip(t, p.Addr(), msg)
	require.NoError(t, err, "a cut is a clean end of the stream (FIN), not a reset")
	assert.Equal(t, msg[:after], got, "the client gets exactly the bytes before the cut")
	s := p.Stats()
	assert.EqualValues(t, 1, s.Cuts)
	assert.EqualValues(t, after, s.Down)
	assert.EqualValues(t, len(msg), s.Up)
}

func TestCutUpstream(t *testing.T) {
	t.Parallel()
	e := newEcho(t)
	p := newProxy(t, e.ln.Addr().String())
	const after = 12_345
	p.Inject(1, faultproxy.Fault{Action: faultproxy.Cut, Dir: faultproxy.Upstream, After: after})
	msg := message(100_000)
	_, _ = roundTrip(t, p.Addr(), msg) // the proxy may reset the client: it holds unread bytes
	require.Eventually(t, func() bool { return len(e.got()) == 1 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, msg[:after], e.got()[0], "the server gets exactly the bytes before the cut")
	assert.EqualValues(t, 1, p.Stats().Cuts)
}

func TestFaultThatNeverStrikes(t *testing.T) {
	t.Parallel()
	e := newEcho(t)
	p := newProxy(t, e.ln.Addr().String())
	p.Inject(1, faultproxy.Fault{Action: faultproxy.Cut, Dir: faultproxy.Downstream, After: 1 << 20})
	msg := message(1000)
	got, err := roundTrip(t, p.Addr(), msg)
	require.NoError(t, err)
	assert.Equal(t, msg, got, "a connection shorter than After is left alone")
	assert.Zero(t, p.Stats().Faults(), "a fault that did not strike is not counted")
	assert.Zero(t, p.Pending(), "the connection took its fault all the same")
}

func TestStall(t *testing.T) {
	t.Parallel()
	e := newEcho(t)
	p := newProxy(t, e.ln.Addr().String())
	const stall = 300 * time.Millisecond
	p.Inject(1, faultproxy.Fault{Action: faultproxy.Stall, Dir: faultproxy.Downstream, After: 100, Stall: stall})
	msg := message(5000)
	start := time.Now()
	got, err := roundTrip(t, p.Addr(), msg)
	elapsed := time.Since(start)
	require.NoError(t, err)
	assert.Equal(t, msg, got, "a stall delays the bytes, it loses none")
	assert.GreaterOrEqual(t, elapsed, stall)
	assert.EqualValues(t, 1, p.Stats().Stalls)

	// The bytes before the stall arrive at once, the rest only after it.
	p.Inject(1, faultproxy.Fault{Action: faultproxy.Stall, Dir: faultproxy.Downstream, After: 100, Stall: stall})
	c, err := net.Dial("tcp", p.Addr())
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write(msg)
	require.NoError(t, err)
	require.NoError(t, c.(*net.TCPConn).CloseWrite())
	require.NoError(t, c.SetReadDeadline(time.Now().Add(stall/2)))
	first, err := io.ReadAll(c)
	var ne net.Error
	require.True(t, errors.As(err, &ne) && ne.Timeout(), "reading during the stall: %v, want a timeout", err)
	assert.Equal(t, msg[:100], first)
}

func TestCloseEndsStallsAndConnections(t *testing.T) {
	t.Parallel()
	e := newEcho(t)
	p, err := faultproxy.New(e.ln.Addr().String())
	require.NoError(t, err)
	p.Inject(1, faultproxy.Fault{Action: faultproxy.Stall, Dir: faultproxy.Downstream, Stall: time.Hour})
	c, err := net.Dial("tcp", p.Addr())
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write([]byte("hello"))
	require.NoError(t, err)
	require.NoError(t, c.(*net.TCPConn).CloseWrite())
	require.Eventually(t, func() bool { return p.Stats().Stalls == 1 }, 5*time.Second, time.Millisecond)

	start := time.Now()
	require.NoError(t, p.Close(), "Close")
	assert.Less(t, time.Since(start), 5*time.Second, "Close waits for an hour-long stall")
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	got, _ := io.ReadAll(c)
	assert.Empty(t, got, "the stalled bytes were forwarded after Close")
	_, err = net.DialTimeout("tcp", p.Addr(), time.Second)
	assert.Error(t, err, "the proxy still accepts after Close")
	assert.NoError(t, p.Close(), "a second Close")
}

func TestClearAndTargetDown(t *testing.T) {
	t.Parallel()
	e := newEcho(t)
	p := newProxy(t, e.ln.Addr().String())
	p.Inject(5, faultproxy.Fault{Action: faultproxy.Reset})
	p.Clear()
	assert.Zero(t, p.Pending())
	got, err := roundTrip(t, p.Addr(), []byte("x"))
	require.NoError(t, err, "Clear dropped the faults")
	assert.Equal(t, "x", string(got))

	// A target that refuses connections: the client's connection is reset.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := ln.Addr().String()
	ln.Close()
	q := newProxy(t, dead)
	_, err = roundTrip(t, q.Addr(), []byte("x"))
	assert.Error(t, err)
}
