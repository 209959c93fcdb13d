// Package gcs is Kite's Google Cloud Storage driver, on
// cloud.google.com/go/storage. It also runs against fake-gcs-server and other
// emulators of the JSON and XML APIs.
//
// # URLs
//
//	gs://bucket?endpoint=…&public_endpoint=…&access_id=…&private_key_path=…&chunk_size=16MiB&anonymous=false
//
// The host is the bucket. Credentials come from Application Default
// Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud, the metadata server),
// unless STORAGE_EMULATOR_HOST is set, in which case the SDK itself talks to
// that emulator without credentials. Parameters (all optional; any other is
// an error):
//
//   - endpoint: the API endpoint, as http(s)://host[:port] or host[:port]
//     (https), e.g. http://127.0.0.1:4443 for an emulator; a trailing
//     /storage/v1/ is accepted. The JSON API is reached under /storage/v1/,
//     object reads (XML API) at the host itself.
//   - public_endpoint: http(s)://host[:port] that presigned URLs name; they
//     are signed for that host, never rewritten. Default: endpoint, else
//     STORAGE_EMULATOR_HOST, else https://storage.googleapis.com.
//   - access_id: the service account e-mail that signs URLs (the GoogleAccessID).
//   - private_key_path: the file of the signing key: a service-account JSON
//     key file (then access_id defaults to its client_email) or a PEM RSA
//     private key (then access_id is required).
//   - chunk_size: the upload chunk of a streaming Put, a multiple of 256KiB
//     up to 1GiB (default 16MiB); each Put buffers at most one chunk.
//   - anonymous: true sends no credentials (emulators, public buckets).
//
// Without access_id and private_key_path the signing key is taken from
// GOOGLE_APPLICATION_CREDENTIALS when that names a service-account key file;
// without any key PresignGet and PresignPut fail with backend.ErrUnsupported.
// Signing through the IAM signBlob API is not used: presigning never makes a
// network call.
//
// # ETags and preconditions
//
// The ETag of this driver is the object's generation number as a decimal
// string, not GCS's MD5-based HTTP ETag: IfMatch compares generations
// (Conditions.GenerationMatch), which is what GCS can enforce atomically.
// IfNotExists is Conditions.DoesNotExist.
//
// # Presigned URLs
//
// URLs are V4-signed (GOOG4-RSA-SHA256), path-style. A presigned PUT with a
// ContentType signs the Content-Type header; with a Size it signs
// X-Goog-Content-Length-Range "N,N", which the client must send as returned
// in PresignedRequest.Header. A presigned GET with a ContentDisposition signs
// the response-content-disposition query parameter.
package gcs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"cloud.google.com/go/storage"
	"google.golang.org/api/iterator"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/internal/xio"
)

const driver = "gs"

// Chunk sizes of streaming uploads.
const (
	// DefaultChunkSize is the upload chunk of a Put when Options.ChunkSize is 0.
	DefaultChunkSize = 16 << 20
	// MinChunkSize is the smallest chunk and the unit of every chunk size (256 KiB).
	MinChunkSize = 256 << 10
	// MaxChunkSize is the largest chunk a Backend accepts (1 GiB).
	MaxChunkSize = 1 << 30
)

// defaultPageSize is the List page size when ListOptions.PageSize is 0.
const defaultPageSize = 1000

// Options configure a Backend. The zero value uses 16 MiB chunks, signs no
// URLs and signs for the client's own host.
type Options struct {
	// PublicEndpoint is http(s)://host[:port] (or host[:port], https) that
	// presigned URLs name; they are signed for this host. "" means
	// STORAGE_EMULATOR_HOST when set (http unless it names a scheme), else
	// the client's endpoint over https.
	PublicEndpoint string
	// GoogleAccessID is the service account e-mail that signs URLs. It may be
	// left empty when PrivateKey is a service-account JSON key.
	GoogleAccessID string
	// PrivateKey signs URLs: a PEM (or DER) RSA private key in PKCS#1 or
	// PKCS#8 form, or the contents of a service-account JSON key file. Nil
	// means PresignGet and PresignPut fail with backend.ErrUnsupported.
	PrivateKey []byte
	// ChunkSize is the upload chunk of a Put, a multiple of 256 KiB up to
	// 1 GiB; 0 means 16 MiB. A Put buffers at most one chunk.
	ChunkSize int
}

// Backend is a GCS bucket. It is safe for concurrent use.
type Backend struct {
	client     *storage.Client
	ownsClient bool
	bucket     string
	bkt        *storage.BucketHandle
	chunkSize  int
	signer     *signer // nil: no signing key
	closed     atomic.Bool
}

var _ backend.Backend = (*Backend)(nil)

// New returns a Backend for bucket using client, which stays the caller's:
// Close does not close it. It makes no network call; Health checks the bucket.
func New(client *storage.Client, bucket string, opts Options) (*Backend, error) {
	b, err := newBackend(client, bucket, opts)
	if err != nil {
		return nil, wrap("Open", "", err)
	}
	return b, nil
}

func newBackend(client *storage.Client, bucket string, opts Options) (*Backend, error) {
	if client == nil {
		return nil, backend.Errorf(backend.ErrInvalidArgument, "nil storage client")
	}
	if err := checkBucket(bucket); err != nil {
		return nil, err
	}
	chunk := opts.ChunkSize
	switch {
	case chunk == 0:
		chunk = DefaultChunkSize
	case chunk < 0 || chunk > MaxChunkSize || chunk%MinChunkSize != 0:
		// 0 would disable the SDK's retries: never passed on.
		return nil, backend.Errorf(backend.ErrInvalidArgument, "chunk size %d: want a multiple of 256KiB from 256KiB to 1GiB", chunk)
	}
	s, err := newSigner(opts)
	if err != nil {
		return nil, err
	}
	return &Backend{client: client, bucket: bucket, bkt: client.Bucket(bucket), chunkSize: chunk, signer: s}, nil
}

// checkBucket applies GCS's bucket name rules loosely: enough to keep a name
// from changing a request's path, without second-guessing the service.
func checkBucket(name string) error {
	if len(name) < 3 || len(name) > 222 {
		return backend.Errorf(backend.ErrInvalidArgument, "bucket name %q: want 3 to 222 characters", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return backend.Errorf(backend.ErrInvalidArgument, "bucket name %q: want lower-case letters, digits, '-', '_' and '.'", name)
		}
	}
	return nil
}

// Client returns the SDK client, for what the Backend interface does not cover.
func (b *Backend) Client() *storage.Client { return b.client }

// Bucket returns the name of the bucket.
func (b *Backend) Bucket() string { return b.bucket }

func wrap(op, key string, err error) error {
	return &backend.Error{Op: op, Driver: driver, Key: key, Err: err}
}

// fail wraps err for op and key: ctx's error when ctx is done (whatever the
// SDK made of it), else the provider error classified by classify.
func (b *Backend) fail(ctx context.Context, op, key string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return wrap(op, key, cerr)
	}
	return wrap(op, key, classify(err))
}

// begin checks what every call checks before I/O: Close and ctx.
func (b *Backend) begin(ctx context.Context, op, key string) error {
	if b.closed.Load() {
		return wrap(op, key, backend.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return wrap(op, key, err)
	}
	return nil
}

func etag(gen int64) string { return strconv.FormatInt(gen, 10) }

func fromAttrs(a *storage.ObjectAttrs) *backend.Object {
	ct := a.ContentType
	if ct == "" {
		ct = backend.DefaultContentType
	}
	var meta map[string]string
	if len(a.Metadata) > 0 {
		meta = maps.Clone(a.Metadata)
	}
	return &backend.Object{
		Key:          a.Name,
		Size:         a.Size,
		ContentType:  ct,
		ETag:         etag(a.Generation),
		LastModified: a.Updated,
		Metadata:     meta,
	}
}

// Put streams r to key through a resumable upload of ChunkSize chunks (one
// request when the object fits in a chunk). Nothing is committed unless r is
// read to its end without error, with exactly opts.Size bytes when set: on
// any failure the upload is abandoned by cancelling its context, never
// finalised. IfNotExists and IfMatch are GCS preconditions, enforced by GCS
// atomically (at the latest when the upload is finalised): ErrExists and
// ErrPrecondition.
func (b *Backend) Put(ctx context.Context, key string, r io.Reader, opts backend.PutOptions) (*backend.Object, error) {
	if err := backend.CheckPut(key, r, opts); err != nil {
		return nil, wrap("Put", key, err)
	}
	if err := b.begin(ctx, "Put", key); err != nil {
		return nil, err
	}
	o := b.bkt.Object(key)
	switch {
	case opts.IfNotExists:
		o = o.If(storage.Conditions{DoesNotExist: true})
	case opts.IfMatch != "":
		gen, err := strconv.ParseInt(opts.IfMatch, 10, 64)
		if err != nil || gen <= 0 {
			// Not a generation: no object can have it.
			return nil, wrap("Put", key, backend.Errorf(backend.ErrPrecondition, "IfMatch %q is not an ETag of this driver (a generation number)", opts.IfMatch))
		}
		o = o.If(storage.Conditions{GenerationMatch: gen})
	}

	size := opts.Size
	if size == 0 {
		size, _ = xio.SizeOf(r)
	}
	if opts.Size > 0 {
		r = xio.Exact(r, opts.Size)
	}
	r = xio.Context(ctx, r)

	// Cancelling wctx is how an upload is abandoned: closing the Writer
	// would commit what was written so far.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := o.NewWriter(wctx)
	w.ChunkSize = chunkFor(size, b.chunkSize)
	w.ContentType = opts.ContentType
	if w.ContentType == "" {
		w.ContentType = backend.DefaultContentType
	}
	if len(opts.Metadata) > 0 {
		w.Metadata = maps.Clone(opts.Metadata)
	}
	if _, err := io.Copy(w, r); err != nil {
		cancel()
		_ = w.Close() // waits for the upload goroutine; fails with the cancellation
		return nil, b.putFail(ctx, key, opts, err)
	}
	// The reader may have ended because ctx was cancelled after its last byte.
	if err := ctx.Err(); err != nil {
		cancel()
		_ = w.Close()
		return nil, wrap("Put", key, err)
	}
	if err := w.Close(); err != nil {
		return nil, b.putFail(ctx, key, opts, err)
	}
	return fromAttrs(w.Attrs()), nil
}

// chunkFor returns the Writer chunk size for an object of size bytes (0 when
// unknown): the configured chunk, or less when the object is known to fit in
// a smaller one, so that a small Put does not allocate a 16 MiB buffer. The
// chunk is one more unit than needed so that the SDK sees the end of the
// data inside the first chunk and sends a single request.
func chunkFor(size int64, chunk int) int {
	if size <= 0 || size >= int64(chunk) {
		return chunk
	}
	return int(min(int64(chunk), (size/MinChunkSize+1)*MinChunkSize))
}

func (b *Backend) putFail(ctx context.Context, key string, opts backend.PutOptions, err error) error {
	if ctx.Err() == nil && errors.Is(classify(err), backend.ErrPrecondition) && opts.IfNotExists {
		return wrap("Put", key, backend.Mark(backend.ErrExists, err))
	}
	return b.fail(ctx, "Put", key, err)
}

// Get opens key (or the byte range in opts) with one XML API request. The
// reader fails with ctx's error once ctx is done.
func (b *Backend) Get(ctx context.Context, key string, opts backend.GetOptions) (io.ReadCloser, *backend.Object, error) {
	if err := backend.CheckGet(key, opts); err != nil {
		return nil, nil, wrap("Get", key, err)
	}
	if err := b.begin(ctx, "Get", key); err != nil {
		return nil, nil, err
	}
	length := opts.Length
	if length == 0 {
		length = -1 // to the end
	}
	o := b.bkt.Object(key)
	rd, err := o.NewRangeReader(ctx, opts.Offset, length)
	if err != nil {
		// An offset past the end is a 416 (ErrInvalidArgument), but where a
		// server answers 200 with the whole object the SDK fails with a
		// plain "partial request not satisfied": tell that case by the size.
		if opts.Offset > 0 && ctx.Err() == nil && !hasKind(classify(err)) {
			if a, aerr := o.Attrs(ctx); aerr == nil {
				if _, _, rerr := opts.Range(a.Size); rerr != nil {
					return nil, nil, wrap("Get", key, rerr)
				}
			}
		}
		return nil, nil, b.fail(ctx, "Get", key, err)
	}
	a := rd.Attrs
	// Whatever the server made of the range, an offset past the end is
	// refused as on every driver.
	if _, _, err := opts.Range(a.Size); err != nil {
		rd.Close()
		return nil, nil, wrap("Get", key, err)
	}
	ct := a.ContentType
	if ct == "" {
		ct = backend.DefaultContentType
	}
	obj := &backend.Object{
		Key:          key,
		Size:         a.Size,
		ContentType:  ct,
		ETag:         etag(a.Generation),
		LastModified: a.LastModified,
		Metadata:     readerMetadata(rd.Metadata()),
	}
	return xio.ContextReadCloser(ctx, rd), obj, nil
}

// readerMetadata lowers the keys of metadata read from X-Goog-Meta- headers,
// which net/http canonicalised ("X-Goog-Meta-With-Digits" → "With-Digits"):
// Kite's metadata keys are lower-case, so lowering restores them exactly.
func readerMetadata(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out
}

// Stat returns key's attributes.
func (b *Backend) Stat(ctx context.Context, key string) (*backend.Object, error) {
	if err := backend.ValidateKey(key); err != nil {
		return nil, wrap("Stat", key, err)
	}
	if err := b.begin(ctx, "Stat", key); err != nil {
		return nil, err
	}
	a, err := b.bkt.Object(key).Attrs(ctx)
	if err != nil {
		return nil, b.fail(ctx, "Stat", key, err)
	}
	return fromAttrs(a), nil
}

// Delete removes key; a missing key is not an error.
func (b *Backend) Delete(ctx context.Context, key string) error {
	if err := backend.ValidateKey(key); err != nil {
		return wrap("Delete", key, err)
	}
	if err := b.begin(ctx, "Delete", key); err != nil {
		return err
	}
	err := b.bkt.Object(key).Delete(ctx)
	if err == nil || (ctx.Err() == nil && errors.Is(err, storage.ErrObjectNotExist)) {
		return nil
	}
	return b.fail(ctx, "Delete", key, err)
}

// List yields objects in byte-wise key order (GCS orders names by their
// UTF-8 bytes), a page of opts.PageSize (default 1000) per request. The
// listing stops, with no request in flight, when the range loop breaks.
func (b *Backend) List(ctx context.Context, opts backend.ListOptions) iter.Seq2[*backend.Object, error] {
	return func(yield func(*backend.Object, error) bool) {
		if err := backend.CheckList(opts); err != nil {
			yield(nil, wrap("List", opts.Prefix, err))
			return
		}
		if opts.MatchesNothing() {
			return
		}
		if err := b.begin(ctx, "List", opts.Prefix); err != nil {
			yield(nil, err)
			return
		}
		q := &storage.Query{Prefix: opts.Prefix, Delimiter: opts.Delimiter, Projection: storage.ProjectionNoACL}
		// StartOffset is inclusive, StartAfter exclusive: the merger drops
		// what is not after StartAfter.
		if opts.StartAfter > opts.Prefix {
			q.StartOffset = opts.StartAfter
		}
		if err := q.SetAttrSelection([]string{"Name", "Size", "Generation", "Updated", "ContentType"}); err != nil {
			yield(nil, wrap("List", opts.Prefix, err))
			return
		}
		it := b.bkt.Objects(ctx, q)
		ps := opts.PageSize
		if ps == 0 {
			ps = defaultPageSize
		}
		it.PageInfo().MaxSize = ps
		m := merger{last: opts.StartAfter}
		var page []*storage.ObjectAttrs
		for {
			if err := ctx.Err(); err != nil {
				yield(nil, wrap("List", opts.Prefix, err))
				return
			}
			a, err := it.Next()
			if errors.Is(err, iterator.Done) {
				for _, p := range m.pending {
					if !yield(&backend.Object{Key: p, IsPrefix: true}, nil) {
						return
					}
				}
				return
			}
			if err != nil {
				yield(nil, b.fail(ctx, "List", opts.Prefix, err))
				return
			}
			// One response: the iterator's buffer, which holds no more.
			page = append(page[:0], a)
			for it.PageInfo().Remaining() > 0 {
				if a, err = it.Next(); err != nil {
					break
				}
				page = append(page, a)
			}
			if !m.page(page, yield) {
				return
			}
		}
	}
}

// merger puts the objects and common prefixes of listed pages in order. The
// SDK yields a page's objects first and its prefixes after them, so a page is
// sorted as a whole; a prefix is held back until an object after it (or the
// end) shows that no object can come before it, and one already yielded is
// dropped. Real GCS needs only the sort; fake-gcs-server also returns, on
// every page, all the prefixes at or after the page token, so without the
// hold-back they would come too early and repeat.
type merger struct {
	last    string   // the last key yielded, or StartAfter: nothing at or before it is yielded
	pending []string // prefixes after last, not yet yielded, sorted
}

func (m *merger) page(page []*storage.ObjectAttrs, yield func(*backend.Object, error) bool) bool {
	slices.SortFunc(page, func(x, y *storage.ObjectAttrs) int { return strings.Compare(x.Name+x.Prefix, y.Name+y.Prefix) })
	for _, a := range page {
		if a.Prefix != "" {
			if a.Prefix <= m.last {
				continue
			}
			if i, found := slices.BinarySearch(m.pending, a.Prefix); !found {
				m.pending = slices.Insert(m.pending, i, a.Prefix)
			}
			continue
		}
		if a.Name <= m.last {
			continue
		}
		for len(m.pending) > 0 && m.pending[0] < a.Name {
			p := m.pending[0]
			m.pending = m.pending[1:]
			m.last = p
			if !yield(&backend.Object{Key: p, IsPrefix: true}, nil) {
				return false
			}
		}
		o := fromAttrs(a)
		o.ContentType = a.ContentType // as listed; Stat fills in the default
		m.last = a.Name
		if !yield(o, nil) {
			return false
		}
	}
	return true
}

// Copy copies src to dst server-side (a rewrite), keeping content type and
// metadata.
func (b *Backend) Copy(ctx context.Context, dst, src string) (*backend.Object, error) {
	if key, err := backend.CheckCopy(dst, src); err != nil {
		return nil, wrap("Copy", key, err)
	}
	if err := b.begin(ctx, "Copy", dst); err != nil {
		return nil, err
	}
	a, err := b.bkt.Object(dst).CopierFrom(b.bkt.Object(src)).Run(ctx)
	if err != nil {
		key := dst
		if errors.Is(classify(err), backend.ErrNotFound) {
			key = src // the source is what is missing
		}
		return nil, b.fail(ctx, "Copy", key, err)
	}
	return fromAttrs(a), nil
}

// Health checks with one request (the bucket's attributes, which needs the
// storage.buckets.get permission) that the bucket exists; the error names it.
func (b *Backend) Health(ctx context.Context) error {
	if err := b.begin(ctx, "Health", ""); err != nil {
		return err
	}
	if _, err := b.bkt.Attrs(ctx); err != nil {
		if ctx.Err() == nil && errors.Is(err, storage.ErrBucketNotExist) {
			return wrap("Health", "", backend.Mark(backend.ErrNotFound, fmt.Errorf("bucket %q does not exist: %w", b.bucket, err)))
		}
		return b.fail(ctx, "Health", "", fmt.Errorf("bucket %q: %w", b.bucket, err))
	}
	return nil
}

// Close makes later calls fail with backend.ErrClosed and closes the client
// when Open made it; a client passed to New stays open.
func (b *Backend) Close() error {
	if b.closed.Swap(true) || !b.ownsClient {
		return nil
	}
	if err := b.client.Close(); err != nil {
		return wrap("Close", "", err)
	}
	return nil
}
