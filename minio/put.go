package minio

import (
	"bytes"
	"context"
	"io"
	"strings"
	"time"

	mc "github.com/minio/minio-go/v7"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/internal/multipart"
	"github.com/kitehq/kite/internal/xio"
)

// abortTimeout bounds the AbortMultipartUpload of a failed Put, which runs
// even when the Put's context is cancelled.
const abortTimeout = 30 * time.Second

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
// bytes left after it, when r is one that ReadAt reads cheaply (CheapReadAt,
// or any when anyReaderAt is set) and whose size Seek tells. ok is false,
// and err nil, when r is not.
func readerAt(r io.Reader, anyReaderAt bool) (ra io.ReaderAt, off, n int64, ok bool, err error) {
	ra, isRA := r.(io.ReaderAt)
	s, isSeeker := r.(io.Seeker)
	if !isRA || !isSeeker || !(anyReaderAt || multipart.CheapReadAt(r)) {
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

// putReaderAt stores the n bytes of ra from off: with one PUT up to a part,
// else with parts read straight from ra (io.SectionReader, seekable, so the
// SDK can retry a part), Options.Concurrency at a time.
func (b *Backend) putReaderAt(ctx context.Context, key string, ra io.ReaderAt, off, n int64, popts mc.PutObjectOptions, opts backend.PutOptions) (mc.UploadInfo, error) {
	partSize := b.partSizeFor(n)
	if n <= partSize {
		setConditions(&popts, opts)
		return b.core.PutObject(ctx, b.bucket, key, io.NewSectionReader(ra, off, n), n, "", "", popts)
	}
	next := multipart.Sections(ra, off, n, partSize)
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
	buf, eof, rest, err := multipart.First(r, hint, partSize)
	if err != nil {
		return mc.UploadInfo{}, 0, err
	}
	if eof {
		setConditions(&popts, opts)
		info, err := b.core.PutObject(ctx, b.bucket, key, bytes.NewReader(buf), int64(len(buf)), "", "", popts)
		return info, int64(len(buf)), err
	}
	// One part in flight at a time: the others' buffers are for reading
	// ahead, and parts go in order.
	return b.putMultipart(ctx, key, popts, opts, 1, multipart.NewStream(buf, rest, partSize).Next)
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
func (b *Backend) putMultipart(ctx context.Context, key string, popts mc.PutObjectOptions, opts backend.PutOptions, conc int, next func(context.Context) (*multipart.Part, error)) (info mc.UploadInfo, total int64, err error) {
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
	send := func(ctx context.Context, n int, p *multipart.Part) (mc.CompletePart, error) {
		op, err := b.core.PutObjectPart(ctx, b.bucket, key, uploadID, n, p.R, p.Size, mc.PutObjectPartOptions{})
		return mc.CompletePart{PartNumber: n, ETag: op.ETag}, err
	}
	parts, total, err := multipart.Send(ctx, conc, maxParts, next, send)
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
