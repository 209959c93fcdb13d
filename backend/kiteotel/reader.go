package kiteotel

import (
	"io"
	"os"
	"sync"
	"sync/atomic"
)

// counter counts the bytes of a stream as they pass: the bytes the caller's
// reader gave to a Put, the bytes a Get's body gave to the caller. A byte
// read again after a Seek back (an SDK that rewinds a body to retry or to
// hash it) is counted once; each ReadAt counts what it returned.
type counter struct {
	r   io.Reader
	add func(n int64) // the bytes counter of the metrics

	// pos is the offset of the next Read and seen the end of the furthest
	// read, both from where r was when wrapped; base is that
	// place in r's own offsets, learnt at the first Seek. Read, Seek and
	// WriteTo are not called concurrently (io's rule), so they need no lock.
	pos, seen int64
	base      int64
	baseKnown bool

	total atomic.Int64 // every counted byte, for the span

	mu  sync.Mutex
	err error // the first error other than io.EOF
}

func (c *counter) count(n int64) {
	if n > 0 {
		c.total.Add(n)
		c.add(n)
	}
}

// advance moves the offset on by n bytes read and counts those past the
// furthest offset read so far (a Seek forward skips bytes; they are not
// counted).
func (c *counter) advance(n int64) {
	from, to := max(c.pos, c.seen), c.pos+n
	c.pos = to
	if to > from {
		c.count(to - from)
		c.seen = to
	}
}

func (c *counter) fail(err error) {
	if err == nil || err == io.EOF {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
	}
}

func (c *counter) firstErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.advance(int64(n))
	c.fail(err)
	return n, err
}

func (c *counter) seek(s io.Seeker, offset int64, whence int) (int64, error) {
	if !c.baseKnown {
		cur, err := s.Seek(0, io.SeekCurrent)
		if err != nil {
			return cur, err
		}
		c.base, c.baseKnown = cur-c.pos, true
	}
	abs, err := s.Seek(offset, whence)
	if err == nil {
		c.pos = abs - c.base
	}
	return abs, err
}

func (c *counter) readAt(ra io.ReaderAt, p []byte, off int64) (int, error) {
	n, err := ra.ReadAt(p, off)
	c.count(int64(n))
	c.fail(err)
	return n, err
}

// writeTo hands w to the reader's own WriteTo unwrapped, so that its fast
// path (sendfile, copy_file_range) still sees the real destination, and
// counts what it reports.
func (c *counter) writeTo(wt io.WriterTo, w io.Writer) (int64, error) {
	n, err := wt.WriteTo(w)
	c.advance(n)
	c.fail(err)
	return n, err
}

// The optional methods of a wrapped reader, as embeddable func types.
type (
	lenFunc     func() int
	seekFunc    func(offset int64, whence int) (int64, error)
	readAtFunc  func(p []byte, off int64) (int, error)
	writeToFunc func(w io.Writer) (int64, error)
)

func (f lenFunc) Len() int                                      { return f() }
func (f seekFunc) Seek(offset int64, whence int) (int64, error) { return f(offset, whence) }
func (f readAtFunc) ReadAt(p []byte, off int64) (int, error)    { return f(p, off) }
func (f writeToFunc) WriteTo(w io.Writer) (int64, error)        { return f(w) }

// methods returns the optional methods of r that the wrapper keeps, bound
// to c; a nil func means r lacks the method.
func (c *counter) methods(r io.Reader, withLen bool) (lenFunc, seekFunc, readAtFunc, writeToFunc) {
	var (
		l lenFunc
		s seekFunc
		a readAtFunc
		w writeToFunc
	)
	if withLen {
		switch v := r.(type) {
		case interface{ Len() int }:
			l = v.Len
		case *os.File:
			// xio.SizeOf's case: a regular file tells its size without a read.
			if fi, err := v.Stat(); err == nil && fi.Mode().IsRegular() {
				size := fi.Size()
				l = func() int {
					cur, err := v.Seek(0, io.SeekCurrent)
					if err != nil || cur > size {
						return 0
					}
					return int(size - cur)
				}
			}
		}
	}
	if v, ok := r.(io.Seeker); ok {
		s = func(offset int64, whence int) (int64, error) { return c.seek(v, offset, whence) }
	}
	if v, ok := r.(io.ReaderAt); ok {
		a = func(p []byte, off int64) (int, error) { return c.readAt(v, p, off) }
	}
	if v, ok := r.(io.WriterTo); ok {
		w = func(dst io.Writer) (int64, error) { return c.writeTo(v, dst) }
	}
	return l, s, a, w
}

// putReader returns the reader Put hands to the wrapped backend: c, with the
// Len (or a regular file's size), Seek, ReadAt and WriteTo of c.r when c.r
// has them, so that a driver's size detection and fast paths keep working.
// It has no Close: the caller's reader is not the driver's to close.
func (c *counter) putReader() io.Reader {
	l, s, a, w := c.methods(c.r, true)
	type R = io.Reader
	switch mask(l != nil, s != nil, a != nil, w != nil) {
	case 0b0000:
		return struct{ R }{c}
	case 0b0001:
		return struct {
			R
			writeToFunc
		}{c, w}
	case 0b0010:
		return struct {
			R
			readAtFunc
		}{c, a}
	case 0b0011:
		return struct {
			R
			readAtFunc
			writeToFunc
		}{c, a, w}
	case 0b0100:
		return struct {
			R
			seekFunc
		}{c, s}
	case 0b0101:
		return struct {
			R
			seekFunc
			writeToFunc
		}{c, s, w}
	case 0b0110:
		return struct {
			R
			seekFunc
			readAtFunc
		}{c, s, a}
	case 0b0111:
		return struct {
			R
			seekFunc
			readAtFunc
			writeToFunc
		}{c, s, a, w}
	case 0b1000:
		return struct {
			R
			lenFunc
		}{c, l}
	case 0b1001:
		return struct {
			R
			lenFunc
			writeToFunc
		}{c, l, w}
	case 0b1010:
		return struct {
			R
			lenFunc
			readAtFunc
		}{c, l, a}
	case 0b1011:
		return struct {
			R
			lenFunc
			readAtFunc
			writeToFunc
		}{c, l, a, w}
	case 0b1100:
		return struct {
			R
			lenFunc
			seekFunc
		}{c, l, s}
	case 0b1101:
		return struct {
			R
			lenFunc
			seekFunc
			writeToFunc
		}{c, l, s, w}
	case 0b1110:
		return struct {
			R
			lenFunc
			seekFunc
			readAtFunc
		}{c, l, s, a}
	default:
		return struct {
			R
			lenFunc
			seekFunc
			readAtFunc
			writeToFunc
		}{c, l, s, a, w}
	}
}

// body is the ReadCloser Get returns: it counts what the caller reads and
// ends the call's span and metrics at the first Close.
type body struct {
	*counter
	rc    io.ReadCloser
	once  sync.Once
	onEnd func(readErr, closeErr error)
	cerr  error
}

func (b *body) Close() error {
	b.once.Do(func() {
		b.cerr = b.rc.Close()
		b.onEnd(b.firstErr(), b.cerr)
	})
	return b.cerr
}

// readCloser returns b with the Seek, ReadAt and WriteTo of the driver's
// reader when it has them (an http.ServeContent over it still serves
// ranges; io.Copy still takes its WriteTo).
func (b *body) readCloser() io.ReadCloser {
	_, s, a, w := b.methods(b.rc, false)
	type RC = io.ReadCloser
	switch mask(false, s != nil, a != nil, w != nil) {
	case 0b000:
		return struct{ RC }{b}
	case 0b001:
		return struct {
			RC
			writeToFunc
		}{b, w}
	case 0b010:
		return struct {
			RC
			readAtFunc
		}{b, a}
	case 0b011:
		return struct {
			RC
			readAtFunc
			writeToFunc
		}{b, a, w}
	case 0b100:
		return struct {
			RC
			seekFunc
		}{b, s}
	case 0b101:
		return struct {
			RC
			seekFunc
			writeToFunc
		}{b, s, w}
	case 0b110:
		return struct {
			RC
			seekFunc
			readAtFunc
		}{b, s, a}
	default:
		return struct {
			RC
			seekFunc
			readAtFunc
			writeToFunc
		}{b, s, a, w}
	}
}

func mask(bits ...bool) int {
	m := 0
	for _, b := range bits {
		m <<= 1
		if b {
			m |= 1
		}
	}
	return m
}
