// Package memory is Kite's in-process driver: objects live in a map, for tests,
// caches and examples. It keeps every promise of backend.Backend, presigned
// URLs included, which its Handler serves.
//
// # URLs
//
//	mem://?base_url=http://127.0.0.1:8080/files/&secret=…
//
// Each Open makes a new, empty store. Parameters (all optional; any other is
// an error):
//
//   - base_url: absolute http or https URL where Handler is mounted; presigned
//     URLs start with it.
//   - secret: HMAC key of presigned URLs, at least 32 characters; needed with
//     base_url. Never shown in an error.
//   - max_upload_size: largest presigned PUT, e.g. 100MiB (default 5GiB).
//   - cors_origins: comma-separated origins allowed to use presigned URLs
//     from a browser, e.g. https://a.example,https://b.example, or * for
//     any (default: none).
//
// Without base_url and secret, PresignGet and PresignPut fail with
// backend.ErrUnsupported.
package memory

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"iter"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/internal/signurl"
	"github.com/kitehq/kite/internal/xio"
)

const driver = "mem"

func init() {
	backend.Register("mem", open)
}

func open(_ context.Context, u *url.URL) (backend.Backend, error) {
	if u.Host != "" || (u.Path != "" && u.Path != "/") || u.User != nil {
		return nil, backend.Errorf(backend.ErrInvalidArgument, "mem URL takes no host, path or user: want mem://?options")
	}
	p := backend.NewParams(u)
	cfg := signurl.FromParams(p)
	if err := p.Err(); err != nil {
		return nil, err
	}
	return New(Options{BaseURL: cfg.BaseURL, Secret: cfg.Secret, MaxUploadSize: cfg.MaxUpload, CORSOrigins: cfg.CORSOrigins})
}

// Options configure a memory Backend. The zero value is a store without
// presigned URLs.
type Options struct {
	// BaseURL is where Handler is reachable, e.g. "http://127.0.0.1:8080/files/".
	BaseURL string
	// Secret is the HMAC key of presigned URLs, at least 32 characters.
	Secret string
	// MaxUploadSize caps a presigned PUT; 0 = 5 GiB.
	MaxUploadSize int64
	// CORSOrigins may use presigned URLs from a browser ("*" for any).
	CORSOrigins []string
}

// Backend is an in-memory object store. It is safe for concurrent use. Stored
// bytes are copied in on Put and out on Read, so no caller can change a
// stored object; no lock is held while a caller's reader is drained.
type Backend struct {
	signer *signurl.Signer
	etagNS string        // random per Backend, so ETags never repeat across stores
	seq    atomic.Uint64 // ETag counter

	mu     sync.RWMutex
	objs   map[string]*entry
	keys   []string // sorted, the keys of objs
	closed bool
}

// entry is one stored version. Its fields are never modified after it is
// stored: a write stores a new entry, so readers can use one without a lock.
type entry struct {
	data  []byte
	ct    string
	meta  map[string]string
	etag  string
	mtime time.Time
}

// New returns an empty store.
func New(opts Options) (*Backend, error) {
	s, err := signurl.New(signurl.Config{BaseURL: opts.BaseURL, Secret: opts.Secret, MaxUpload: opts.MaxUploadSize, CORSOrigins: opts.CORSOrigins})
	if err != nil {
		return nil, &backend.Error{Op: "Open", Driver: driver, Err: err}
	}
	var ns [6]byte
	_, _ = rand.Read(ns[:]) // never fails (crypto/rand)
	return &Backend{signer: s, etagNS: hex.EncodeToString(ns[:]), objs: map[string]*entry{}}, nil
}

// Handler serves the presigned URLs of this store; mount it at the path of
// BaseURL. Without BaseURL and Secret it refuses every request.
func (b *Backend) Handler() http.Handler { return b.signer.Handler(b) }

func wrap(op, key string, err error) error {
	return &backend.Error{Op: op, Driver: driver, Key: key, Err: err}
}

func (b *Backend) newETag() string {
	return b.etagNS + "-" + strconv.FormatUint(b.seq.Add(1), 36)
}

func (o *entry) object(key string) *backend.Object {
	return &backend.Object{
		Key:          key,
		Size:         int64(len(o.data)),
		ContentType:  o.ct,
		ETag:         o.etag,
		LastModified: o.mtime,
		Metadata:     maps.Clone(o.meta),
	}
}

// Put stores r under key. It reads r before taking the lock, so a slow reader
// blocks no one, then applies IfNotExists or IfMatch and the write atomically.
func (b *Backend) Put(ctx context.Context, key string, r io.Reader, opts backend.PutOptions) (*backend.Object, error) {
	if err := backend.CheckPut(key, r, opts); err != nil {
		return nil, wrap("Put", key, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, wrap("Put", key, err)
	}
	data, err := readAll(ctx, r, opts.Size)
	if err != nil {
		return nil, wrap("Put", key, err)
	}
	e := &entry{data: data, ct: opts.ContentType, meta: maps.Clone(opts.Metadata), etag: b.newETag(), mtime: time.Now().UTC()}
	if e.ct == "" {
		e.ct = backend.DefaultContentType
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, wrap("Put", key, backend.ErrClosed)
	}
	// The reader may have ended because ctx was cancelled after its last byte:
	// a cancelled Put stores nothing.
	if err := ctx.Err(); err != nil {
		return nil, wrap("Put", key, err)
	}
	old := b.objs[key]
	switch {
	case opts.IfNotExists && old != nil:
		return nil, wrap("Put", key, backend.ErrExists)
	case opts.IfMatch != "" && (old == nil || old.etag != opts.IfMatch):
		return nil, wrap("Put", key, backend.ErrPrecondition)
	}
	b.objs[key] = e
	if old == nil {
		i, _ := slices.BinarySearch(b.keys, key)
		b.keys = slices.Insert(b.keys, i, key)
	}
	return e.object(key), nil
}

// readAll reads r to the end, checking the declared size and ctx, into a
// slice owned by the store.
func readAll(ctx context.Context, r io.Reader, size int64) ([]byte, error) {
	hint := size
	if hint == 0 {
		hint, _ = xio.SizeOf(r)
	}
	r = xio.Context(ctx, r)
	if size > 0 {
		r = xio.Exact(r, size)
	}
	if hint > 0 {
		var buf bytes.Buffer
		// Room for the probe read at the end, so a known size costs one allocation.
		buf.Grow(int(min(hint, 1<<30)) + bytes.MinRead)
		if _, err := buf.ReadFrom(r); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	// Unknown size: chunks that double up to 8 MiB, joined once at the end.
	// Growing one buffer would copy everything read so far at each doubling,
	// between two looks at ctx: a cancel would wait for the copy.
	var chunks [][]byte
	total := 0
	for n := 64 << 10; ; n = min(2*n, 8<<20) {
		c := make([]byte, n)
		k, err := io.ReadFull(r, c)
		chunks = append(chunks, c[:k])
		total += k
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	out := make([]byte, 0, total)
	for _, c := range chunks {
		out = append(out, c...)
	}
	return out, nil
}

func (b *Backend) lookup(op, key string) (*entry, error) {
	b.mu.RLock()
	e, closed := b.objs[key], b.closed
	b.mu.RUnlock()
	switch {
	case closed:
		return nil, wrap(op, key, backend.ErrClosed)
	case e == nil:
		return nil, wrap(op, key, backend.ErrNotFound)
	}
	return e, nil
}

// Get returns a reader over the stored bytes. The reader is an io.Seeker.
func (b *Backend) Get(ctx context.Context, key string, opts backend.GetOptions) (io.ReadCloser, *backend.Object, error) {
	if err := backend.CheckGet(key, opts); err != nil {
		return nil, nil, wrap("Get", key, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, wrap("Get", key, err)
	}
	e, err := b.lookup("Get", key)
	if err != nil {
		return nil, nil, err
	}
	off, n, err := opts.Range(int64(len(e.data)))
	if err != nil {
		return nil, nil, wrap("Get", key, err)
	}
	rc := xio.ContextReadCloser(ctx, readCloser{bytes.NewReader(e.data[off : off+n])})
	return rc, e.object(key), nil
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

// Stat returns the object's attributes.
func (b *Backend) Stat(ctx context.Context, key string) (*backend.Object, error) {
	if err := backend.ValidateKey(key); err != nil {
		return nil, wrap("Stat", key, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, wrap("Stat", key, err)
	}
	e, err := b.lookup("Stat", key)
	if err != nil {
		return nil, err
	}
	return e.object(key), nil
}

// Delete removes key; a missing key is not an error.
func (b *Backend) Delete(ctx context.Context, key string) error {
	if err := backend.ValidateKey(key); err != nil {
		return wrap("Delete", key, err)
	}
	if err := ctx.Err(); err != nil {
		return wrap("Delete", key, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return wrap("Delete", key, backend.ErrClosed)
	}
	if _, ok := b.objs[key]; !ok {
		return nil
	}
	delete(b.objs, key)
	if i, found := slices.BinarySearch(b.keys, key); found {
		b.keys = slices.Delete(b.keys, i, i+1)
	}
	return nil
}

// defaultPageSize is how many keys List copies under one read lock.
const defaultPageSize = 1000

// List yields the objects in key order, a page at a time: the lock is held
// only while a page is copied, never while the caller's loop body runs.
func (b *Backend) List(ctx context.Context, opts backend.ListOptions) iter.Seq2[*backend.Object, error] {
	return func(yield func(*backend.Object, error) bool) {
		if err := backend.CheckList(opts); err != nil {
			yield(nil, wrap("List", opts.Prefix, err))
			return
		}
		pageSize := opts.PageSize
		if pageSize == 0 {
			pageSize = defaultPageSize
		}
		after := opts.StartAfter // yield keys > after
		page := make([]*backend.Object, 0, min(pageSize, 64))
		for {
			if err := ctx.Err(); err != nil {
				yield(nil, wrap("List", opts.Prefix, err))
				return
			}
			page, after = b.page(page[:0], opts, after, pageSize)
			if page == nil {
				yield(nil, wrap("List", opts.Prefix, backend.ErrClosed))
				return
			}
			for _, o := range page {
				if !yield(o, nil) {
					return
				}
			}
			if len(page) < pageSize {
				return
			}
		}
	}
}

// page copies up to n objects (or common prefixes) with keys > after and
// returns them with the cursor to continue from. It returns nil when closed.
func (b *Backend) page(page []*backend.Object, opts backend.ListOptions, after string, n int) ([]*backend.Object, string) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return nil, after
	}
	start := max(after, opts.Prefix)
	i, found := slices.BinarySearch(b.keys, start)
	if found && start == after {
		i++
	}
	for ; i < len(b.keys) && len(page) < n; i++ {
		k := b.keys[i]
		if !strings.HasPrefix(k, opts.Prefix) {
			break
		}
		if opts.Delimiter != "" {
			if j := strings.Index(k[len(opts.Prefix):], opts.Delimiter); j >= 0 {
				cp := k[:len(opts.Prefix)+j+len(opts.Delimiter)]
				// Every yielded key is > StartAfter, common prefixes too.
				if cp > opts.StartAfter {
					page = append(page, &backend.Object{Key: cp, IsPrefix: true})
				}
				// No key byte is 0xff (keys are UTF-8), so every key under cp
				// sorts before cp+"\xff": skip them all.
				after = cp + "\xff"
				i, _ = slices.BinarySearch(b.keys, after)
				i-- // the loop's i++
				continue
			}
		}
		e := b.objs[k]
		page = append(page, &backend.Object{Key: k, Size: int64(len(e.data)), ContentType: e.ct, ETag: e.etag, LastModified: e.mtime})
		after = k
	}
	return page, after
}

// Copy stores src's bytes, content type and metadata under dst. The bytes are
// shared, not copied: stored slices are never modified.
func (b *Backend) Copy(ctx context.Context, dst, src string) (*backend.Object, error) {
	if key, err := backend.CheckCopy(dst, src); err != nil {
		return nil, wrap("Copy", key, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, wrap("Copy", dst, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, wrap("Copy", dst, backend.ErrClosed)
	}
	s := b.objs[src]
	if s == nil {
		return nil, wrap("Copy", src, backend.ErrNotFound)
	}
	e := &entry{data: s.data, ct: s.ct, meta: s.meta, etag: b.newETag(), mtime: time.Now().UTC()}
	if _, exists := b.objs[dst]; !exists {
		i, _ := slices.BinarySearch(b.keys, dst)
		b.keys = slices.Insert(b.keys, i, dst)
	}
	b.objs[dst] = e
	return e.object(dst), nil
}

// PresignGet returns a signed GET URL served by Handler.
func (b *Backend) PresignGet(_ context.Context, key string, opts backend.PresignOptions) (*backend.PresignedRequest, error) {
	req, err := b.signer.Presign(http.MethodGet, key, opts)
	if err != nil {
		return nil, wrap("PresignGet", key, err)
	}
	return req, nil
}

// PresignPut returns a signed PUT URL served by Handler.
func (b *Backend) PresignPut(_ context.Context, key string, opts backend.PresignOptions) (*backend.PresignedRequest, error) {
	req, err := b.signer.Presign(http.MethodPut, key, opts)
	if err != nil {
		return nil, wrap("PresignPut", key, err)
	}
	return req, nil
}

// Health reports an error only once the store is closed.
func (b *Backend) Health(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return wrap("Health", "", err)
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return wrap("Health", "", backend.ErrClosed)
	}
	return nil
}

// Close drops every object; later calls fail with backend.ErrClosed.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	b.objs, b.keys = nil, nil
	return nil
}
