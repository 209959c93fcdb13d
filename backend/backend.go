package backend

import (
	"context"
	"io"
	"iter"
	"net/http"
	"time"
)

// Backend is one object store: a bucket, a directory, a map in memory.
//
// Every method validates the key with ValidateKey before any I/O and returns
// errors that are, or wrap, a *Error matching the sentinels of this package.
// A Backend is safe for concurrent use by multiple goroutines.
type Backend interface {
	// Put stores r under key, replacing any object there, and returns the
	// stored object. The write is atomic: a reader sees the old object or the
	// new one, never a part; a failed or cancelled Put leaves the old object
	// (or none). When opts.Size is set and r yields a different number of
	// bytes, Put fails and stores nothing.
	Put(ctx context.Context, key string, r io.Reader, opts PutOptions) (*Object, error)
	// Get opens the object (or the byte range in opts). The caller closes the
	// reader. Object.Size is always the size of the whole object. A missing key
	// is reported by Get itself, not by the first Read.
	Get(ctx context.Context, key string, opts GetOptions) (io.ReadCloser, *Object, error)
	// Stat returns the object's attributes without its content.
	Stat(ctx context.Context, key string) (*Object, error)
	// Delete removes key. Deleting a key that does not exist is not an error.
	Delete(ctx context.Context, key string) error
	// List yields objects in byte-wise key order. Breaking out of the range
	// loop stops the listing. An error is yielded once, as the last pair.
	// Listed objects carry Key, Size, ETag and LastModified; ContentType and
	// Metadata may be empty (use Stat).
	List(ctx context.Context, opts ListOptions) iter.Seq2[*Object, error]
	// Copy copies src to dst inside this backend, server-side where the
	// provider can, keeping content type and metadata, and returns dst.
	Copy(ctx context.Context, dst, src string) (*Object, error)
	// PresignGet returns a URL that downloads key with a plain HTTP GET until
	// it expires. It makes no network call and does not check that key exists.
	PresignGet(ctx context.Context, key string, opts PresignOptions) (*PresignedRequest, error)
	// PresignPut returns a URL that uploads key with a plain HTTP PUT carrying
	// the returned headers until it expires. It makes no network call.
	PresignPut(ctx context.Context, key string, opts PresignOptions) (*PresignedRequest, error)
	// Health reports whether the store (the bucket, the directory) is
	// reachable and usable.
	Health(ctx context.Context) error
	// Close releases the backend's resources. Calls after Close fail.
	Close() error
}

// Object describes a stored object.
type Object struct {
	Key  string
	Size int64
	// ContentType is the stored media type; application/octet-stream when the
	// writer gave none.
	ContentType string
	// ETag identifies this version of the object's content. It is opaque,
	// without the surrounding quotes of the HTTP header, and changes whenever
	// the content changes; some stores (S3's MD5 ETags) keep it when the same
	// bytes are written again, others (local, memory, GCS generations) change
	// it on every write. Pass it back as PutOptions.IfMatch.
	ETag         string
	LastModified time.Time
	// Metadata holds user metadata: lower-case keys of [a-z0-9-], printable
	// ASCII values.
	Metadata map[string]string
	// IsPrefix marks a common prefix from a delimited List; only Key is set
	// and it ends with the delimiter.
	IsPrefix bool
}

// DefaultContentType is stored when PutOptions.ContentType is empty.
const DefaultContentType = "application/octet-stream"

// PutOptions are the options of Backend.Put. The zero value stores an object
// of any length as application/octet-stream without metadata, unconditionally.
type PutOptions struct {
	// Size is the length of r when known; 0 means not given (then the driver
	// uses Len() or Stat() of r where it can, or streams).
	Size int64
	// ContentType is the media type to store; "" stores application/octet-stream.
	ContentType string
	// Metadata keys are lower-case [a-z0-9-], values printable ASCII.
	Metadata map[string]string
	// IfNotExists makes Put create only: an existing key fails with
	// ErrExists, atomically.
	IfNotExists bool
	// IfMatch makes Put replace only while the current ETag is this one, else
	// it fails with ErrPrecondition (also when the key is gone).
	IfMatch string
}

// GetOptions are the options of Backend.Get. The zero value reads the whole object.
type GetOptions struct {
	Offset int64 // first byte
	Length int64 // 0 = to the end
}

// ListOptions are the options of Backend.List. The zero value lists every object.
type ListOptions struct {
	Prefix     string
	StartAfter string // yield only keys > StartAfter
	Delimiter  string // "" = flat; "/" = one level, common prefixes as IsPrefix objects
	PageSize   int    // provider page size; 0 = driver default
}

// PresignOptions are the options of Backend.PresignGet and PresignPut.
type PresignOptions struct {
	// Expires is how long the URL works; 0 = 15 minutes; more than 7 days is
	// ErrInvalidArgument.
	Expires time.Duration
	// ContentType (PUT) is the Content-Type the uploader must send; it is signed.
	ContentType string
	// ContentDisposition (GET) is the response Content-Disposition, for
	// example `attachment; filename="a.pdf"`.
	ContentDisposition string
	// Size (PUT) is the exact length the upload must have; it is signed. 0 = any.
	Size int64
}

// PresignedRequest is a request a plain HTTP client can make without credentials.
type PresignedRequest struct {
	Method  string      // GET or PUT
	URL     string      // absolute, for the public endpoint where one is configured
	Header  http.Header // headers the client must send as they are
	Expires time.Time
}
