package s3

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/internal/multipart"
	"github.com/kitehq/kite/internal/xio"
)

// Put stores r under key: with one PutObject up to the part size, else with a
// multipart upload that is aborted on any failure (even when ctx is
// cancelled), so nothing is committed unless the whole body was sent.
//
// A body that is an io.ReadSeeker has its size from Seek, before any request
// (opts.Size must match it). A larger one that ReadAt reads cheaply (a
// regular *os.File, a *bytes.Reader, *strings.Reader, or an *io.SectionReader
// of one) is sent from its current offset, read as it is sent (no part
// buffer), Options.Concurrency parts at a time, and left at its end. Any
// other body is read one part at a time into a buffer and sent in order
// (parts of 8 MiB or less get two buffers, the next part read while the
// previous one is sent), so a short, long or failing reader is caught before
// anything is committed.
//
// IfNotExists and IfMatch are sent as If-None-Match: * and If-Match on the
// request that commits the object (PutObject or CompleteMultipartUpload), so
// the server decides atomically. The returned Object has no LastModified: S3
// does not report it on upload.
func (b *Backend) Put(ctx context.Context, key string, r io.Reader, opts backend.PutOptions) (*backend.Object, error) {
	if err := backend.CheckPut(key, r, opts); err != nil {
		return nil, wrap("Put", key, err)
	}
	if err := b.check(ctx, "Put", key); err != nil {
		return nil, err
	}
	ct := opts.ContentType
	if ct == "" {
		ct = backend.DefaultContentType
	}
	u := &upload{b: b, key: key, contentType: ct, metadata: opts.Metadata}
	if opts.IfNotExists {
		u.ifNoneMatch = aws.String("*")
	}
	if opts.IfMatch != "" {
		u.ifMatch = aws.String(quoteETag(opts.IfMatch))
	}

	var (
		etag *string
		size int64
		err  error
	)
	if rs, off, n, ok := seekable(r); ok {
		switch {
		case opts.Size > 0 && n < opts.Size:
			return nil, wrap("Put", key, xio.ErrShortBody)
		case opts.Size > 0 && n > opts.Size:
			return nil, wrap("Put", key, xio.ErrLongBody)
		}
		size = n
		partSize := b.partSizeFor(n)
		ra, isRA := r.(io.ReaderAt)
		isRA = isRA && (b.anyReaderAt || multipart.CheapReadAt(r))
		switch {
		case n <= partSize:
			etag, err = u.putObject(ctx, rs, n) // with the client's checksum setting, as it was given
		case isRA:
			next := multipart.Sections(ra, off, n, partSize)
			if etag, _, err = u.multipart(ctx, b.concurrency, next); err == nil {
				// Stored: left at its end, as a Read would leave it (best
				// effort, the object is committed).
				_, _ = rs.Seek(off+n, io.SeekStart)
			}
		default:
			etag, _, err = u.stream(ctx, xio.Exact(rs, n), n, partSize)
		}
	} else {
		partSize := b.partSizeFor(opts.Size)
		in := r
		if opts.Size > 0 {
			in = xio.Exact(r, opts.Size)
		}
		etag, size, err = u.stream(ctx, in, opts.Size, partSize)
	}
	if err != nil {
		return nil, b.putFail(ctx, key, opts, err)
	}
	return &backend.Object{Key: key, Size: size, ContentType: ct, ETag: trimETag(etag), Metadata: cloneMeta(opts.Metadata)}, nil
}

// seekable returns r as an io.ReadSeeker with the offset it is at and the
// bytes left after it, when Seek tells its size: not an *os.File that is not
// a regular file (a pipe or a device), whose size Seek does not tell.
func seekable(r io.Reader) (rs io.ReadSeeker, off, n int64, ok bool) {
	rs, ok = r.(io.ReadSeeker)
	if !ok {
		return nil, 0, 0, false
	}
	if f, isFile := r.(*os.File); isFile {
		if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
			return nil, 0, 0, false
		}
	}
	off, err := rs.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, 0, 0, false
	}
	end, err := rs.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, 0, 0, false
	}
	if _, err := rs.Seek(off, io.SeekStart); err != nil || end < off {
		return nil, 0, 0, false
	}
	return rs, off, end - off, true
}

// partSizeFor returns the part size for an object of size bytes (0: not
// known): the configured one, or larger when 10000 parts would not hold it.
func (b *Backend) partSizeFor(size int64) int64 {
	if size/b.partSize >= maxParts {
		return min(size/maxParts+1, MaxPartSize)
	}
	return b.partSize
}

// putFail maps a failed Put: a refused precondition is ErrExists for
// IfNotExists and ErrPrecondition for IfMatch (S3 answers 404 to If-Match on
// a missing key).
func (b *Backend) putFail(ctx context.Context, key string, opts backend.PutOptions, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return wrap("Put", key, cerr)
	}
	code, kind := kindOf(err)
	switch {
	case kind == nil && errors.Is(err, backend.ErrInvalidArgument):
		// xio's size errors, surfacing through the SDK.
		if errors.Is(err, xio.ErrShortBody) {
			return wrap("Put", key, xio.ErrShortBody)
		}
		if errors.Is(err, xio.ErrLongBody) {
			return wrap("Put", key, xio.ErrLongBody)
		}
		return wrap("Put", key, err)
	case opts.IfNotExists && kind == backend.ErrPrecondition:
		kind = backend.ErrExists
	case opts.IfMatch != "" && code != "NoSuchBucket" && (kind == backend.ErrPrecondition || kind == backend.ErrNotFound):
		kind = backend.ErrPrecondition
	}
	if kind != nil {
		return wrap("Put", key, backend.Mark(kind, err))
	}
	return wrap("Put", key, err)
}

// upload is one Put's request parameters.
type upload struct {
	b                    *Backend
	key, contentType     string
	metadata             map[string]string
	ifNoneMatch, ifMatch *string
}

// putObject stores the n bytes of body with one PutObject.
func (u *upload) putObject(ctx context.Context, body io.Reader, n int64, optFns ...func(*awss3.Options)) (*string, error) {
	out, err := u.b.client.PutObject(ctx, &awss3.PutObjectInput{
		Bucket:        &u.b.bucket,
		Key:           &u.key,
		Body:          body,
		ContentLength: aws.Int64(n),
		ContentType:   &u.contentType,
		Metadata:      u.metadata,
		IfNoneMatch:   u.ifNoneMatch,
		IfMatch:       u.ifMatch,
	}, optFns...)
	if err != nil {
		return nil, err
	}
	return out.ETag, nil
}

// stream stores what r yields, reading it a part at a time: one PutObject
// when it ends within the first part, else a multipart upload. size is r's
// length when known (0: not known). It returns the bytes stored.
func (u *upload) stream(ctx context.Context, r io.Reader, size, partSize int64) (*string, int64, error) {
	r = xio.Context(ctx, r)
	buf, eof, rest, err := multipart.First(r, size, partSize)
	if err != nil {
		return nil, 0, err
	}
	if eof {
		etag, err := u.putObject(ctx, bytes.NewReader(buf), int64(len(buf)), u.b.checksums)
		return etag, int64(len(buf)), err
	}
	// One part in flight at a time: the other buffer is for reading ahead,
	// and parts go in order.
	return u.multipart(ctx, 1, multipart.NewStream(buf, rest, partSize).Next)
}

// multipart uploads the parts next yields, up to conc at once, and completes
// the upload with the conditions of u. Any failure (a part, a read, the
// context) stops the other parts and, once they have returned, aborts the
// upload, so nothing is committed. It returns the bytes stored.
func (u *upload) multipart(ctx context.Context, conc int, next func(context.Context) (*multipart.Part, error)) (etag *string, total int64, err error) {
	b := u.b
	create, err := b.client.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{
		Bucket:      &b.bucket,
		Key:         &u.key,
		ContentType: &u.contentType,
		Metadata:    u.metadata,
	}, b.checksums)
	if err != nil {
		return nil, 0, err
	}
	defer func() {
		if err != nil {
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
			defer cancel()
			_, _ = b.client.AbortMultipartUpload(actx, &awss3.AbortMultipartUploadInput{Bucket: &b.bucket, Key: &u.key, UploadId: create.UploadId}, b.checksums)
		}
	}()
	send := func(ctx context.Context, n int, p *multipart.Part) (types.CompletedPart, error) {
		out, err := b.client.UploadPart(ctx, &awss3.UploadPartInput{
			Bucket:        &b.bucket,
			Key:           &u.key,
			UploadId:      create.UploadId,
			PartNumber:    aws.Int32(int32(n)),
			Body:          p.R,
			ContentLength: aws.Int64(p.Size),
		}, b.checksums)
		if err != nil {
			return types.CompletedPart{}, err
		}
		return types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(int32(n))}, nil
	}
	parts, total, err := multipart.Send(ctx, conc, maxParts, next, send)
	if err != nil {
		return nil, 0, err
	}
	// ETags only, no part checksums: versitygw refuses those at Complete
	// when Create named no algorithm.
	done, err := b.client.CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{
		Bucket:          &b.bucket,
		Key:             &u.key,
		UploadId:        create.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
		IfNoneMatch:     u.ifNoneMatch,
		IfMatch:         u.ifMatch,
	}, b.checksums)
	if err != nil {
		return nil, 0, err
	}
	return done.ETag, total, nil
}
