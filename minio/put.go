package minio

import (
	"bytes"
	"context"
	"io"
	"strings"
	"time"

	mc "github.com/minio/minio-go/v7"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/internal/xio"
)

// abortTimeout bounds the AbortMultipartUpload of a failed Put, which runs
// even when the Put's context is cancelled.
const abortTimeout = 30 * time.Second

// Put stores r under key. It reads r one part at a time (Options.PartSize)
// before sending it, so a short, long or failing reader is caught before
// anything is committed: an object that fits in one part is stored with one
// PUT, a larger one with a multipart upload that is aborted on any failure.
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
	part, eof, err := readPart(r, make([]byte, 0, first), partSize)
	if err != nil {
		return nil, b.putFail(ctx, key, opts, err)
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
			return nil, b.putFail(ctx, key, opts, err)
		}
	}
	ct := opts.ContentType
	if ct == "" {
		ct = backend.DefaultContentType
	}
	popts := mc.PutObjectOptions{ContentType: ct, UserMetadata: amzMetadata(opts.Metadata)}
	var info mc.UploadInfo
	size := int64(len(part))
	if eof {
		setConditions(&popts, opts)
		info, err = b.core.PutObject(ctx, b.bucket, key, bytes.NewReader(part), size, "", "", popts)
	} else {
		info, size, err = b.putMultipart(ctx, key, r, part, partSize, popts, opts)
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

// putMultipart uploads first and the rest of r, in parts of partSize bytes
// reusing first's buffer, and completes the upload with the conditions of
// opts. Any failure aborts the upload, so nothing is committed. It returns
// the number of bytes stored.
func (b *Backend) putMultipart(ctx context.Context, key string, r io.Reader, part []byte, partSize int64, popts mc.PutObjectOptions, opts backend.PutOptions) (info mc.UploadInfo, total int64, err error) {
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
	var parts []mc.CompletePart
	eof := false
	for n := 1; ; n++ {
		if n > maxParts {
			return info, 0, backend.Errorf(backend.ErrInvalidArgument, "object of more than %d parts of %d bytes: raise the part size", maxParts, partSize)
		}
		p, err := b.core.PutObjectPart(ctx, b.bucket, key, uploadID, n, bytes.NewReader(part), int64(len(part)), mc.PutObjectPartOptions{})
		if err != nil {
			return info, 0, err
		}
		parts = append(parts, mc.CompletePart{PartNumber: n, ETag: p.ETag})
		total += int64(len(part))
		if eof {
			break
		}
		if part, eof, err = readPart(r, part, partSize); err != nil {
			return info, 0, err
		}
		if len(part) == 0 {
			break
		}
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

// maxEmptyReads is how many reads in a row may return nothing and no error
// before readPart gives up with io.ErrNoProgress.
const maxEmptyReads = 100

// readPart reads r into buf[:0] until it holds limit bytes or r ends, growing
// buf (by doubling) up to limit. eof reports that r ended.
func readPart(r io.Reader, buf []byte, limit int64) (_ []byte, eof bool, _ error) {
	buf = buf[:0]
	empty := 0
	for int64(len(buf)) < limit {
		if len(buf) == cap(buf) {
			nb := make([]byte, len(buf), min(int64(max(2*cap(buf), 64<<10)), limit))
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
