// Package multipart holds what the minio and s3 drivers share to upload an
// object in parts: reading a stream a part at a time into a bounded number
// of buffers, cutting a cheap io.ReaderAt into sections with no copy, and
// sending parts a few at a time, stopping all of them at the first failure.
// The SDK calls (create, upload a part, complete, abort) stay in the drivers.
package multipart

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/kitehq/kite/backend"
)

// StreamBudget bounds the part buffers of a Put of a body read with Read:
// two parts when they fit (one being sent while the next is read), else one.
// Two 16 MiB parts were measured at 79 MiB peak RSS for a 1 GiB upload (the
// garbage collector lets the heap grow to twice what is live), over the
// 64 MiB bound; one 16 MiB part at 48 MiB. (The s3 SDK's transfer manager,
// which held concurrency+3 parts, was measured at 93 MiB.)
const StreamBudget = 16 << 20

const maxStreamBuffers = 2

// StreamBuffers returns how many part buffers of partSize a stream holds.
func StreamBuffers(partSize int64) int {
	return int(max(1, min(StreamBudget/partSize, maxStreamBuffers)))
}

// Part is the body of one part; Done, when set, is called once the part has
// been sent or has failed (it gives the part's buffer back).
type Part struct {
	R    io.ReadSeeker // seekable, so that an SDK can retry the part
	Size int64
	Done func()
}

// maxEmptyReads is how many reads in a row may return nothing and no error
// before ReadPart gives up with io.ErrNoProgress.
const maxEmptyReads = 100

// ReadPart reads r into buf[:0] until it holds limit bytes or r ends, growing
// buf by doubling up to 1 MiB, then to limit at once. eof reports that r
// ended. Doubling all the way would hold 8 and 16 MiB at once while copying
// (the heap's goal set then, twice what is live, was seen to add 14 MiB to
// the peak RSS of a long upload) and leave as much garbage.
func ReadPart(r io.Reader, buf []byte, limit int64) (_ []byte, eof bool, _ error) {
	buf = buf[:0]
	empty := 0
	for int64(len(buf)) < limit {
		if len(buf) == cap(buf) {
			c := int64(max(2*cap(buf), 64<<10))
			if c > 1<<20 {
				c = limit
			}
			nb := make([]byte, len(buf), min(c, limit))
			copy(nb, buf)
			buf = nb
		}
		end := min(int64(cap(buf)), limit)
		n, err := r.Read(buf[len(buf):end])
		buf = buf[:len(buf)+n]
		switch {
		case err == io.EOF:
			return buf, true, nil
		case err != nil:
			return buf, false, err
		case n == 0:
			if empty++; empty >= maxEmptyReads {
				return buf, false, io.ErrNoProgress
			}
		default:
			empty = 0
		}
	}
	return buf, false, nil
}

// First reads the first part of r, whose size is about hint (0: not known):
// into a buffer of hint+1 bytes when that is less than a part (a byte more
// tells the end without growing), else one that grows to partSize. eof
// reports that r ended within it, so that one single-request upload takes
// it; otherwise rest is what follows (r, after the byte read to tell).
func First(r io.Reader, hint, partSize int64) (buf []byte, eof bool, rest io.Reader, err error) {
	first := min(int64(64<<10), partSize)
	if hint > 0 {
		first = min(hint+1, partSize)
	}
	buf, eof, err = ReadPart(r, make([]byte, 0, first), partSize)
	if err != nil || eof {
		return buf, eof, r, err
	}
	var one [1]byte
	switch _, err := io.ReadFull(r, one[:]); err {
	case io.EOF:
		return buf, true, r, nil
	case nil:
		return buf, false, io.MultiReader(bytes.NewReader(one[:]), r), nil
	default:
		return nil, false, r, err
	}
}

// Stream yields the parts of a body read with Read, after its first part,
// into at most StreamBuffers(partSize) buffers of a part each: Next waits for
// a sent part's buffer once all are made.
type Stream struct {
	r        io.Reader
	partSize int64
	first    []byte
	made     int // buffers made, the first's included
	free     chan []byte
	eof      bool
}

// NewStream returns the parts of first (read by First) and then of rest.
func NewStream(first []byte, rest io.Reader, partSize int64) *Stream {
	return &Stream{r: rest, partSize: partSize, first: first, made: 1, free: make(chan []byte, StreamBuffers(partSize))}
}

// Next returns the next part, nil at the end.
func (s *Stream) Next(ctx context.Context) (*Part, error) {
	buf := s.first
	s.first = nil
	if buf == nil {
		if s.eof {
			return nil, nil
		}
		if s.made < cap(s.free) {
			buf = make([]byte, 0, s.partSize)
			s.made++
		} else {
			select {
			case buf = <-s.free:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		var err error
		if buf, s.eof, err = ReadPart(s.r, buf, s.partSize); err != nil {
			return nil, err
		}
		if len(buf) == 0 {
			return nil, nil // r ended on a part boundary
		}
	}
	return &Part{R: bytes.NewReader(buf), Size: int64(len(buf)), Done: func() { s.free <- buf }}, nil
}

// Sections returns the parts of the n bytes of ra from off, each read
// straight from ra (no buffer), for Send.
func Sections(ra io.ReaderAt, off, n, partSize int64) func(context.Context) (*Part, error) {
	var sent int64
	return func(context.Context) (*Part, error) {
		if sent == n {
			return nil, nil
		}
		size := min(partSize, n-sent)
		p := &Part{R: io.NewSectionReader(ra, off+sent, size), Size: size}
		sent += size
		return p, nil
	}
}

// CheapReadAt reports whether ReadAt on r costs no more than Read: a memory
// reader, a regular file (not a pipe or a device, which have no size), or a
// section of one. Any other io.ReaderAt may make a request per call (a
// backend.FS file makes a ranged GET), so it is read as a stream.
func CheapReadAt(r any) bool {
	switch v := r.(type) {
	case *bytes.Reader, *strings.Reader:
		return true
	case *os.File:
		fi, err := v.Stat()
		return err == nil && fi.Mode().IsRegular()
	case *io.SectionReader:
		outer, _, _ := v.Outer()
		return CheapReadAt(outer)
	}
	return false
}

// Send sends the parts next yields with send, conc at a time, numbered from
// 1, and returns send's results in part order with the bytes sent. The next
// part is read before a slot is free, so reading it overlaps sending the
// others. Send returns once every part it started has returned; the first
// failure (of next, of send, of parent) cancels the others and is the error.
// More than maxParts parts is backend.ErrInvalidArgument.
func Send[R any](parent context.Context, conc, maxParts int, next func(context.Context) (*Part, error), send func(ctx context.Context, n int, p *Part) (R, error)) ([]R, int64, error) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		results []R
		total   int64
		failed  error
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if failed == nil {
			failed = err
			cancel()
		}
	}
	slots := make(chan struct{}, conc)
	for n := 1; ; n++ {
		p, err := next(ctx)
		if err != nil {
			fail(err)
			break
		}
		if p == nil {
			break
		}
		if n > maxParts {
			fail(backend.Errorf(backend.ErrInvalidArgument, "object of more than %d parts: raise the part size", maxParts))
		} else {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			if p.Done != nil {
				p.Done()
			}
			break
		}
		wg.Go(func() {
			defer func() { <-slots }()
			if p.Done != nil {
				defer p.Done()
			}
			r, err := send(ctx, n, p)
			if err != nil {
				fail(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for len(results) < n {
				var zero R
				results = append(results, zero)
			}
			results[n-1] = r
			total += p.Size
		})
	}
	wg.Wait()
	if failed != nil {
		return nil, 0, failed
	}
	if err := parent.Err(); err != nil {
		return nil, 0, err
	}
	if len(results) == 0 {
		return nil, 0, fmt.Errorf("multipart: no part to send")
	}
	return results, total, nil
}
