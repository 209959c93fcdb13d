package main

import (
	"context"
	"io"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// cpuTime returns the CPU time (user + system) this process has used so far,
// from getrusage(RUSAGE_SELF): every goroutine, the SDK's and the runtime's
// (GC) included. The servers are other processes and are not counted.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// window is the outcome of one timed run of one client.
type window struct {
	ops     int64
	bytes   int64
	elapsed time.Duration
	cpu     time.Duration
	err     error
}

func (w window) opsPerSec() float64 { return float64(w.ops) / w.elapsed.Seconds() }
func (w window) mbPerSec() float64  { return float64(w.bytes) / 1e6 / w.elapsed.Seconds() }
func (w window) cpuPerOp() time.Duration {
	if w.ops == 0 {
		return 0
	}
	return w.cpu / time.Duration(w.ops)
}

// opFunc is one operation of worker w (0..conc-1), its i-th; it returns the
// payload bytes moved.
type opFunc func(ctx context.Context, w, i int) (int64, error)

// run runs op on conc workers until d has passed (each worker at least one
// op), or, with d == 0, n ops per worker. The heap is collected first, so
// that one client's garbage is not collected on the next one's time.
func run(ctx context.Context, conc int, d time.Duration, n int, op opFunc) window {
	runtime.GC()
	var (
		ops, bytes atomic.Int64
		firstErr   atomic.Value
		wg         sync.WaitGroup
		start      = make(chan struct{})
	)
	deadline := time.Time{}
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := 0; ; i++ {
				if d > 0 && i > 0 && time.Now().After(deadline) {
					return
				}
				if d == 0 && i >= n {
					return
				}
				b, err := op(ctx, w, i)
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				ops.Add(1)
				bytes.Add(b)
			}
		}()
	}
	c0 := cpuTime()
	t0 := time.Now()
	deadline = t0.Add(d)
	close(start)
	wg.Wait()
	res := window{ops: ops.Load(), bytes: bytes.Load(), elapsed: time.Since(t0), cpu: cpuTime() - c0}
	if e, ok := firstErr.Load().(error); ok {
		res.err = e
	}
	return res
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// drain reads r to its end through buf (never io.Copy: io.Discard's
// ReadFrom has an 8 KiB buffer of its own) and returns the bytes read.
func drain(r io.Reader, buf []byte) (int64, error) {
	var n int64
	for {
		m, err := r.Read(buf)
		n += int64(m)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// genReader yields n bytes of a fixed pattern and hides every method but
// Read, so the size is unknown to the consumer: the streaming case.
type genReader struct {
	pat  []byte
	left int64
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > g.left {
		p = p[:g.left]
	}
	n := 0
	for n < len(p) {
		n += copy(p[n:], g.pat)
	}
	g.left -= int64(n)
	return n, nil
}

func pattern(n int) []byte {
	p := make([]byte, n)
	x := uint32(2463534242)
	for i := range p {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		p[i] = byte(x)
	}
	return p
}
