// Package xio holds the readers Kite's drivers share: exact-length checking,
// context-aware reading and size discovery.
package xio

import (
	"context"
	"errors"
	"io"
	"os"

	"github.com/kitehq/kite/backend"
)

// ErrShortBody and ErrLongBody report a reader whose length differs from the
// size the caller declared. Both match backend.ErrInvalidArgument.
var (
	ErrShortBody = backend.Errorf(backend.ErrInvalidArgument, "reader ended before the declared size")
	ErrLongBody  = backend.Errorf(backend.ErrInvalidArgument, "reader is longer than the declared size")
)

// Exact returns a reader that yields exactly size bytes of r and fails with
// ErrShortBody when r ends early or ErrLongBody when r has more. The check for
// "more" probes r for one byte as soon as size bytes have been read and then
// fails the Read that would have delivered the last bytes: a consumer that
// reads exactly size bytes and never asks for EOF (an SDK uploading a
// declared length with io.ReadFull) still sees the error before it commits.
func Exact(r io.Reader, size int64) io.Reader {
	return &exact{r: r, left: size}
}

type exact struct {
	r    io.Reader
	left int64
	err  error
}

func (e *exact) Read(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	if e.left == 0 {
		e.err = e.probe()
		return 0, e.err
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	switch {
	case err == io.EOF && e.left > 0:
		e.err = ErrShortBody
		return n, e.err
	case err != nil && err != io.EOF:
		e.err = err
		return n, err
	case e.left == 0:
		e.err = e.probe()
		if e.err == io.EOF {
			return n, nil // EOF on the next call
		}
		// Withhold the last bytes: io.ReadFull drops an error that comes
		// with the bytes it asked for.
		return 0, e.err
	}
	return n, nil
}

// probe reads one more byte: io.EOF when r is done, ErrLongBody when it is not.
func (e *exact) probe() error {
	var one [1]byte
	for {
		n, err := e.r.Read(one[:])
		if n > 0 {
			return ErrLongBody
		}
		if err != nil {
			return err
		}
	}
}

// Context returns a reader that fails with ctx.Err() once ctx is done, checked
// before every Read, so a copy loop stops promptly on cancellation.
func Context(ctx context.Context, r io.Reader) io.Reader {
	if ctx.Done() == nil {
		return r
	}
	return &ctxReader{ctx: ctx, r: r}
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// ContextReadCloser is Context for a ReadCloser; Close closes rc. When rc is
// also an io.Seeker the result is one too, so http.ServeContent can serve
// ranges from it.
func ContextReadCloser(ctx context.Context, rc io.ReadCloser) io.ReadCloser {
	if ctx.Done() == nil {
		return rc
	}
	c := ctxReadCloser{ctxReader{ctx: ctx, r: rc}, rc}
	if s, ok := rc.(io.Seeker); ok {
		return &ctxReadSeekCloser{c, s}
	}
	return &c
}

type ctxReadCloser struct {
	ctxReader
	c io.Closer
}

func (c *ctxReadCloser) Close() error { return c.c.Close() }

type ctxReadSeekCloser struct {
	ctxReadCloser
	s io.Seeker
}

func (c *ctxReadSeekCloser) Seek(off int64, whence int) (int64, error) { return c.s.Seek(off, whence) }

// SizeOf returns the number of bytes left in r when r can tell without being
// read: a Len() method (bytes.Reader, strings.Reader, bytes.Buffer) or a
// regular *os.File (its size less the current offset).
func SizeOf(r io.Reader) (int64, bool) {
	switch v := r.(type) {
	case interface{ Len() int }:
		return int64(v.Len()), true
	case *os.File:
		fi, err := v.Stat()
		if err != nil || !fi.Mode().IsRegular() {
			return 0, false
		}
		off, err := v.Seek(0, io.SeekCurrent)
		if err != nil {
			return 0, false
		}
		return fi.Size() - off, true
	}
	return 0, false
}

// IsContext reports whether err is a context cancellation or deadline.
func IsContext(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
