package minio

import (
	"bytes"
	"context"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	mc "github.com/minio/minio-go/v7"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/internal/xio"
)

// abortTimeout bounds the AbortMultipartUpload of a failed Put, which runs
// even when the Put's context is cancelled.
const abortTimeout = 30 * time.Second

// streamBudget bounds the part buffers of a Put of a body read with Read:
// two parts when they fit (one being sent while the next is read), else one.
// Two 16 MiB parts were measured at 79 MiB peak RSS for a 1 GiB upload (the
// garbage collector lets the heap grow to twice what is live), over the
// 64 MiB bound; one 16 MiB part at 48 MiB.
const streamBudget = 16 << 20

// streamBuffers returns how many parts of partSize a stream's Put holds.
func streamBuffers(partSize int64) int {
	return int(max(1, min(streamBudget/partSize, maxStreamBuffers)))
}

const maxStreamBuffers = 2

// Put stores r under key: an object that fits in one part with one PUT, a
// larger one with a multipart upload that is aborted on any failure, so
// nothing is committed unless the whole body was sent.
//
// A body that ReadAt reads cheaply (a regular *os.File, a *bytes.Reader,
// *strings.Reader, or an *io.SectionReader of one) is sent from its current
// offset to its end, read as it is sent (no part buffer), Options.Concurrency
// parts at a time; its size is known before any request, so opts.Size must
// match it, and it is left at its end. Any other body is read one part at a
// time (Options.PartSize) into a buffer and sent in order, so a short, long
// or failing reader is caught before anything is committed; parts of 8 MiB
// or less get two buffers, the next part read while the previous one is
// sent.
//
// IfNotExists and IfMatch are sent as If-None-Match: * and If-Match on the
// request that commits the object (the PUT, or CompleteMultipartUpload), so
// the server applies them atomically. The returned Object's LastModified is
// zero: the server does not report it on upload (Stat does).
func (b *Backend) Put(ctx context.Context, key string, r io.Reader, opts backend.PutOptions) (*backend.Object, error) {
	if err := backend.CheckPut(key, r, opts); err != nil {
		return nil, wrap("Put", key, err)
	}
	if err := b.live(ctx); err != nil {
		return nil, wrap("Put", key, err)
	}
	ct := opts.ContentType
	if ct == "" {
		ct = backend.DefaultContentType
	}
	popts := mc.PutObjectOptions{ContentType: ct, UserMetadata: amzMetadata(opts.Metadata)}
	var (
		info mc.UploadInfo
		size int64
		err  error
	)
	if ra, off, n, ok, rerr := readerAt(r, b.anyReaderAt); rerr != nil {
		return nil, wrap("Put", key, rerr)
	} else if ok {
		switch {
		case opts.Size > 0 && n < opts.Size:
			return nil, wrap("Put", key, xio.ErrShortBody)
		case opts.Size > 0 && n > opts.Size:
			return nil, wrap("Put", key, xio.ErrLongBody)
		}
		info, err = b.putReaderAt(ctx, key, ra, off, n, popts, opts)
		if err == nil {
			// Stored: left at its end, as a Read would leave it (best
			// effort, the object is committed).
			_, _ = r.(io.Seeker).Seek(off+n, io.SeekStart)
		}
		size = n
	} else {
		info, size, err = b.putStream(ctx, key, r, popts, opts)
	}
	if err != nil {
		return nil, b.putFail(ctx, key, opts, err)
	}
	return &backend.Object{
		Key:          key,
		Size:         size,
		ContentType:  ct,
		ETag:         strings.Trim(info.ETag, `"`),
		LastModified: info.LastModified,
		Metadata:     cloneMeta(opts.Metadata),
	}, nil
}

// readerAt returns r as an io.ReaderAt, with the offset r is at and the
// bytes left after it, when r is one that ReadAt reads cheaply (cheapReadAt,
// or any when anyReaderAt is set) and whose size Seek tells. ok is false,
// and err nil, when r is not.
func readerAt(r io.Reader, anyReaderAt bool) (ra io.ReaderAt, off, n int64, ok bool, err error) {
	ra, isRA := r.(io.ReaderAt)
	s, isSeeker := r.(io.Seeker)
	if !isRA || !isSeeker || !(anyReaderAt || cheapReadAt(r)) {
		return nil, 0, 0, false, nil
	}
	if off, err = s.Seek(0, io.SeekCurrent); err != nil {
		return nil, 0, 0, false, nil
	}
	end, err := s.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, 0, 0, false, nil
	}
	if _, err := s.Seek(off, io.SeekStart); err != nil {
		return nil, 0, 0, false, err
	}
	if end < off {
		return nil, 0, 0, false, nil // positioned past its end: read it as a stream
	}
	return ra, off, end - off, true, nil
}

// cheapReadAt reports whether ReadAt on r costs no more than Read: a memory
// reader, a regular file (not a pipe or a device, which have no size), or a
// section of one. Any other io.ReaderAt may make a request per call (a
// backend.FS file makes a ranged GET), so it is read as a stream.
func cheapReadAt(r any) bool {
	switch v := r.(type) {
	case *bytes.Reader, *strings.Reader:
		return true
	case *os.File:
		fi, err := v.Stat()
		return err == nil && fi.Mode().IsRegular()
	case *io.SectionReader:
		outer, _, _ := v.Outer()
		return cheapReadAt(outer)
	}
	return false
}

// putReaderAt stores the n bytes of ra from off: with one PUT up to a part,
// else with parts read straight from ra (io.SectionReader, seekable, so the
// SDK can retry a part), Options.Concurrency at a time.
func (b *Backend) putReaderAt(ctx context.Context, key string, ra io.ReaderAt, off, n int64, popts mc.PutObjectOptions, opts backend.PutOptions) (mc.UploadInfo, error) {
	partSize := b.partSizeFor(n)
	if n <= partSize {
		setConditions(&popts, opts)
		return b.core.PutObject(ctx, b.bucket, key, io.NewSectionReader(ra, off, n), n, "", "", popts)
	}
	var sent int64
	next := func(context.Context) (*part, error) {
		if sent == n {
			return nil, nil
		}
		size := min(partSize, n-sent)
		p := &part{r: io.NewSectionReader(ra, off+sent, size), size: size}
		sent += size
		return p, nil
	}
	info, _, err := b.putMultipart(ctx, key, popts, opts, b.concurrency, next)
	return info, err
}

// putStream stores what r yields, reading it one part at a time: a body
// that ends within the first part goes as one PUT, a longer one multipart.
func (b *Backend) putStream(ctx context.Context, key string, r io.Reader, popts mc.PutObjectOptions, opts backend.PutOptions) (mc.UploadInfo, int64, error) {
	hint := opts.Size
	if hint == 0 {
		hint, _ = xio.SizeOf(r)
	}
	partSize := b.partSizeFor(hint)
	r = xio.Context(ctx, r)
	if opts.Size > 0 {
		r = xio.Exact(r, opts.Size)
	}
	// A known size gets a buffer of its size (and a byte to see the end
	// without growing); an unknown one starts small and grows to a part.
	first := min(int64(64<<10), partSize)
	if hint > 0 {
		first = min(hint+1, partSize)
	}
	buf, eof, err := readPart(r, make([]byte, 0, first), partSize)
	if err != nil {
		return mc.UploadInfo{}, 0, err
	}
	if !eof {
		// A full first part: one more byte decides between one PUT and a
		// multipart upload.
		var one [1]byte
		switch _, err := io.ReadFull(r, one[:]); err {
		case io.EOF:
			eof = true
		case nil:
			r = io.MultiReader(bytes.NewReader(one[:]), r)
		default:
			return mc.UploadInfo{}, 0, err
		}
	}
	if eof {
		setConditions(&popts, opts)
		info, err := b.core.PutObject(ctx, b.bucket, key, bytes.NewReader(buf), int64(len(buf)), "", "", popts)
		return info, int64(len(buf)), err
	}
	// One part in flight at a time: the others' buffers are for reading
	// ahead, and parts go in order.
	s := &streamParts{r: r, partSize: partSize, first: buf, made: 1, free: make(chan []byte, streamBuffers(partSize))}
	return b.putMultipart(ctx, key, popts, opts, 1, s.next)
}

// part is the body of one part of a multipart upload; done, when set, is
// called once the part has been sent or has failed.
type part struct {
	r    io.Reader
	size int64
	done func()
}

// streamParts yields the parts of a body read with Read, into at most
// cap(free) buffers of a part each: next waits for a sent part's buffer once
// all are made.
type streamParts struct {
	r        io.Reader
	partSize int64
	first    []byte // the first part, read by putStream
	made     int    // buffers made, the first's included
	free     chan []byte
	eof      bool
}

func (s *streamParts) next(ctx context.Context) (*part, error) {
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
		if buf, s.eof, err = readPart(s.r, buf, s.partSize); err != nil {
			return nil, err
		}
		if len(buf) == 0 {
			return nil, nil // r ended on a part boundary
		}
	}
	return &part{r: bytes.NewReader(buf), size: int64(len(buf)), done: func() { s.free <- buf }}, nil
}

// partSizeFor returns the part size for an object of about size bytes (0:
// unknown): the configured one, or larger when 10000 parts would not hold it.
func (b *Backend) partSizeFor(size int64) int64 {
	ps := b.partSize
	if size > ps*maxParts {
		const mib = 1 << 20
		ps = (size/maxParts + mib) / mib * mib
	}
	return min(ps, MaxPartSize)
}

func setConditions(p *mc.PutObjectOptions, opts backend.PutOptions) {
	if opts.IfNotExists {
		p.SetMatchETagExcept("*")
	}
	if opts.IfMatch != "" {
		p.SetMatchETag(opts.IfMatch)
	}
}

// putFail maps a failed Put: a failed precondition is ErrExists under
// IfNotExists, and a missing key under IfMatch is ErrPrecondition.
func (b *Backend) putFail(ctx context.Context, key string, opts backend.PutOptions, err error) error {
	code, kind := classify(err)
	switch {
	case opts.IfNotExists && (kind == backend.ErrPrecondition || kind == backend.ErrExists):
		kind = backend.ErrExists
	case opts.IfMatch != "" && kind == backend.ErrNotFound && code != "NoSuchBucket":
		kind = backend.ErrPrecondition
	}
	return b.fail(ctx, "Put", key, err, kind)
}

// putMultipart uploads the parts next yields, up to conc at once, and
// completes the upload with the conditions of opts. Any failure (a part, a
// read, the context) stops the other parts and aborts the upload once they
// have returned, so nothing is committed. It returns the bytes stored.
func (b *Backend) putMultipart(ctx context.Context, key string, popts mc.PutObjectOptions, opts backend.PutOptions, conc int, next func(context.Context) (*part, error)) (info mc.UploadInfo, total int64, err error) {
	uploadID, err := b.core.NewMultipartUpload(ctx, b.bucket, key, popts)
	if err != nil {
		return info, 0, err
	}
	defer func() {
		if err != nil {
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
			defer cancel()
			_ = b.core.AbortMultipartUpload(actx, b.bucket, key, uploadID)
		}
	}()
	parts, total, err := b.sendParts(ctx, key, uploadID, conc, next)
	if err != nil {
		return info, 0, err
	}
	// minio-go's own multipart uploads drop If-Match and If-None-Match from
	// CompleteMultipartUpload (completeUploadOpts); Core sends them.
	var copts mc.PutObjectOptions
	setConditions(&copts, opts)
	info, err = b.core.CompleteMultipartUpload(ctx, b.bucket, key, uploadID, parts, copts)
	if err != nil {
		return info, 0, err
	}
	return info, total, nil
}

// sendParts sends the parts of upload uploadID, conc at a time, and returns
// them in order with the bytes sent. It returns once every part it started
// has returned; the first failure cancels the others and is the error.
func (b *Backend) sendParts(parent context.Context, key, uploadID string, conc int, next func(context.Context) (*part, error)) ([]mc.CompletePart, int64, error) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		parts  []mc.CompletePart
		total  int64
		failed error
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
		// The next part is read before a slot is free, so that reading it
		// overlaps sending the previous ones.
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
			if p.done != nil {
				p.done()
			}
			break
		}
		wg.Go(func() {
			defer func() { <-slots }()
			if p.done != nil {
				defer p.done()
			}
			op, err := b.core.PutObjectPart(ctx, b.bucket, key, uploadID, n, p.r, p.size, mc.PutObjectPartOptions{})
			if err != nil {
				fail(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			parts = append(parts, mc.CompletePart{PartNumber: n, ETag: op.ETag})
			total += p.size
		})
	}
	wg.Wait()
	if failed != nil {
		return nil, 0, failed
	}
	if err := parent.Err(); err != nil {
		return nil, 0, err
	}
	slices.SortFunc(parts, func(a, b mc.CompletePart) int { return a.PartNumber - b.PartNumber })
	return parts, total, nil
}

// maxEmptyReads is how many reads in a row may return nothing and no error
// before readPart gives up with io.ErrNoProgress.
const maxEmptyReads = 100

// readPart reads r into buf[:0] until it holds limit bytes or r ends, growing
// buf by doubling up to 1 MiB, then to limit at once. eof reports that r
// ended. Doubling all the way would hold 8 and 16 MiB at once while copying
// (the heap's goal set then, twice what is live, was seen to add 14 MiB to
// the peak RSS of a long upload) and leave as much garbage.
func readPart(r io.Reader, buf []byte, limit int64) (_ []byte, eof bool, _ error) {
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
