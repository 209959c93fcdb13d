// Package minio is Kite's driver for MinIO and other S3-compatible servers,
// built on github.com/minio/minio-go/v7. It keeps every promise of
// backend.Backend: conditional writes use the server's If-None-Match and
// If-Match (on the single PUT and on CompleteMultipartUpload), uploads of
// unknown size go multipart with a bounded part size, and presigned URLs are
// signed offline for the public endpoint itself (by internal/sigv4, which
// writes minio-go's URLs byte for byte, 4 times faster).
//
// # URLs
//
//	minio://ACCESS:SECRET@host:9000/bucket?secure=false&region=us-east-1&public_endpoint=https://files.example.com&part_size=16MiB
//
// The host (with its port) is the server's internal address and the path is
// the bucket. The credentials come from the URL's user information or, when
// the URL has none, from MINIO_ACCESS_KEY and MINIO_SECRET_KEY. Parameters
// (all optional; any other is an error):
//
//   - secure: true (the default) talks https to the server, false plain http.
//     The safe choice is the default: pass secure=false for a server on a
//     trusted loopback or private network.
//   - region: the region requests and presigned URLs are signed for
//     (default us-east-1). It is always set, so no request ever asks the
//     server for the bucket's location and presigning makes no network call.
//   - public_endpoint: where clients of presigned URLs reach the server, as a
//     URL (https://files.example.com) or host[:port] (taking the scheme of
//     secure). URLs are signed for that host itself, never signed for one
//     host and rewritten to another. Default: the internal endpoint.
//   - part_size: the part size of multipart uploads, 5MiB to 5GiB (default
//     16MiB). A Put buffers one part (two of 8MiB or less), so this bounds
//     its memory; a body with ReadAt (a file) is sent four parts at a time,
//     unbuffered.
//
// Addressing is always path-style (http://host/bucket/key), so no bucket
// name ever becomes a DNS name.
package minio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	mc "github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/internal/provider"
	"github.com/kitehq/kite/internal/sigv4"
	"github.com/kitehq/kite/internal/xio"
)

const driver = "minio"

// Defaults and limits of Options.
const (
	// DefaultRegion is the region signed for when Options.Region is "".
	DefaultRegion = "us-east-1"
	// DefaultPartSize is the part size when Options.PartSize is 0.
	DefaultPartSize = 16 << 20
	// DefaultConcurrency is how many parts of one upload are sent at once
	// when Options.Concurrency is 0 (minio-go's own number).
	DefaultConcurrency = 4
	// MinPartSize is S3's smallest part (all but the last).
	MinPartSize = 5 << 20
	// MaxPartSize is S3's largest part.
	MaxPartSize = 5 << 30
	maxParts    = 10000
	// maxCopySize is the largest object one CopyObject request copies;
	// larger ones go through a multipart copy (ComposeObject).
	maxCopySize = 5 << 30
)

// Environment variables holding the credentials when a URL has none.
const (
	// AccessKeyEnv holds the access key of a minio:// URL without credentials.
	AccessKeyEnv = "MINIO_ACCESS_KEY"
	// SecretKeyEnv holds the secret key of a minio:// URL without credentials.
	SecretKeyEnv = "MINIO_SECRET_KEY"
)

func init() {
	backend.Register("minio", open)
}

// open is the Opener of minio:// URLs; see the package documentation.
func open(_ context.Context, u *url.URL) (backend.Backend, error) {
	if u.Opaque != "" || u.Host == "" {
		return nil, backend.Errorf(backend.ErrInvalidArgument, "minio URL has no host: want minio://ACCESS:SECRET@host:port/bucket")
	}
	if u.Fragment != "" {
		return nil, backend.Errorf(backend.ErrInvalidArgument, "minio URL has a fragment")
	}
	bucket := strings.TrimPrefix(u.Path, "/")
	bucket = strings.TrimSuffix(bucket, "/")
	if bucket == "" || strings.Contains(bucket, "/") {
		return nil, backend.Errorf(backend.ErrInvalidArgument, "minio URL path must be the bucket alone: want minio://host:port/bucket")
	}
	access, secret, err := urlCredentials(u)
	if err != nil {
		return nil, err
	}
	p := backend.NewParams(u)
	secure := p.Bool("secure", true)
	opts := Options{
		Region:         p.String("region", DefaultRegion),
		PublicEndpoint: p.String("public_endpoint", ""),
		PartSize:       p.Int("part_size", DefaultPartSize),
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	if err := opts.check(); err != nil {
		return nil, err
	}
	tr, err := mc.DefaultTransport(secure)
	if err != nil {
		return nil, err
	}
	creds := credentials.NewStaticV4(access, secret, "")
	client, err := mc.New(u.Host, &mc.Options{
		Creds:        creds,
		Secure:       secure,
		Region:       opts.Region,
		BucketLookup: mc.BucketLookupPath,
		Transport:    tr,
	})
	if err != nil {
		return nil, backend.Errorf(backend.ErrInvalidArgument, "minio endpoint %q: %v", u.Host, err)
	}
	b, err := newBackend(client, bucket, opts, creds, refuseTransport{})
	if err != nil {
		return nil, err
	}
	b.transport = tr
	b.secrets = []string{access, secret}
	return b, nil
}

// urlCredentials returns the credentials of u, or of the environment when u
// has none. The error never repeats them.
func urlCredentials(u *url.URL) (access, secret string, err error) {
	if u.User != nil {
		access = u.User.Username()
		secret, _ = u.User.Password()
		if access == "" || secret == "" {
			return "", "", backend.Errorf(backend.ErrInvalidArgument, "minio URL: want both an access key and a secret key (ACCESS:SECRET@host)")
		}
		return access, secret, nil
	}
	access, secret = os.Getenv(AccessKeyEnv), os.Getenv(SecretKeyEnv)
	if access == "" || secret == "" {
		return "", "", backend.Errorf(backend.ErrInvalidArgument, "minio URL has no credentials and %s or %s is unset", AccessKeyEnv, SecretKeyEnv)
	}
	return access, secret, nil
}

// Options configure a Backend. The zero value signs for us-east-1, presigns
// for the client's own endpoint and uploads in 16 MiB parts.
type Options struct {
	// Region is the region requests and presigned URLs are signed for; ""
	// means us-east-1. It must be the region the client was made with.
	Region string
	// PublicEndpoint is where clients of presigned URLs reach the server: a
	// URL such as "https://files.example.com" or host[:port] (taking the
	// scheme of the client's endpoint). "" means the client's endpoint.
	PublicEndpoint string
	// PartSize is the part size of multipart uploads, from 5 MiB to 5 GiB;
	// 0 means 16 MiB. A Put of a body it cannot read with ReadAt holds one
	// part in memory (two of 8 MiB or less).
	PartSize int64
	// Concurrency is how many parts of one upload of a body read with
	// ReadAt (a file, a bytes.Reader) are sent at once; 0 means 4. It costs
	// no memory: such parts are read from the body as they are sent. Other
	// bodies are sent one part at a time, in order.
	Concurrency int
}

func (o *Options) check() error {
	if o.Region == "" {
		o.Region = DefaultRegion
	}
	if o.PartSize == 0 {
		o.PartSize = DefaultPartSize
	}
	if o.PartSize < MinPartSize || o.PartSize > MaxPartSize {
		return backend.Errorf(backend.ErrInvalidArgument, "part size %d: want 5MiB to 5GiB", o.PartSize)
	}
	if o.Concurrency == 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Concurrency < 0 {
		return backend.Errorf(backend.ErrInvalidArgument, "negative concurrency %d", o.Concurrency)
	}
	return nil
}

// Backend is a bucket on a MinIO (or other S3-compatible) server. It is safe
// for concurrent use.
type Backend struct {
	client    *mc.Client
	core      mc.Core
	presigner *mc.Client // signs for the public endpoint; its transport refuses every request
	// signer signs for the public endpoint with SigV4 credentials, 4 times
	// faster than presigner; nil for a Google endpoint, which minio-go signs
	// with V2.
	signer   *sigv4.Presigner
	bucket   string
	partSize int64
	// concurrency is how many parts of a body read with ReadAt are sent
	// at once.
	concurrency int
	// anyReaderAt reads every io.ReaderAt and io.Seeker with ReadAt, not
	// only those multipart.CheapReadAt knows (tests' bodies).
	anyReaderAt bool
	// copyLimit is the largest object Copy copies with one CopyObject; larger
	// ones go through ComposeObject in parts of composePartSize (0: the
	// SDK's 5 GiB). Tests lower both.
	copyLimit       int64
	composePartSize uint64
	transport       *http.Transport // made by Open, closed by Close; nil for New
	secrets         []string        // credentials to scrub from messages; nil: ask the client
	closed          atomic.Bool
}

// New returns a Backend for bucket through an existing client, which should
// use path-style addressing and the region of opts. New makes no request and
// does not check that the bucket exists (Health does). The presign client it
// makes for opts.PublicEndpoint (or the client's own endpoint) takes client's
// current credentials for every URL, so rotated credentials are used at once.
// Close does not close client.
func New(client *mc.Client, bucket string, opts Options) (*Backend, error) {
	if client == nil {
		return nil, &backend.Error{Op: "Open", Driver: driver, Err: backend.Errorf(backend.ErrInvalidArgument, "nil client")}
	}
	if err := opts.check(); err != nil {
		return nil, &backend.Error{Op: "Open", Driver: driver, Err: err}
	}
	return newBackend(client, bucket, opts, credentials.New(&clientCreds{c: client}), refuseTransport{})
}

// newBackend makes the Backend; presignRT is the presign client's transport
// (refuseTransport, or a counting one in tests).
func newBackend(client *mc.Client, bucket string, opts Options, creds *credentials.Credentials, presignRT http.RoundTripper) (*Backend, error) {
	fail := func(err error) (*Backend, error) {
		return nil, &backend.Error{Op: "Open", Driver: driver, Err: err}
	}
	if err := s3utils.CheckValidBucketNameStrict(bucket); err != nil {
		return fail(backend.Errorf(backend.ErrInvalidArgument, "bucket name %q: %v", bucket, err))
	}
	internal := client.EndpointURL()
	pub := &url.URL{Scheme: internal.Scheme, Host: internal.Host}
	if opts.PublicEndpoint != "" {
		var err error
		if pub, err = provider.ParseEndpoint(opts.PublicEndpoint, internal.Scheme == "https"); err != nil {
			return fail(backend.Errorf(backend.ErrInvalidArgument, "public endpoint: %v", err))
		}
	}
	presigner, err := mc.New(pub.Host, &mc.Options{
		Creds:        creds,
		Secure:       pub.Scheme == "https",
		Region:       opts.Region, // set: presigning never asks for the bucket location
		BucketLookup: mc.BucketLookupPath,
		Transport:    presignRT,
	})
	if err != nil {
		return fail(backend.Errorf(backend.ErrInvalidArgument, "public endpoint %q: %v", pub.Host, err))
	}
	var signer *sigv4.Presigner
	if !s3utils.IsGoogleEndpoint(*pub) {
		if signer, err = sigv4.New(sigv4.Endpoint{URL: pub.JoinPath(bucket), Region: opts.Region, Service: "s3"}); err != nil {
			return fail(backend.Errorf(backend.ErrInvalidArgument, "public endpoint %q: %v", pub.Host, err))
		}
	}
	return &Backend{
		client:      client,
		core:        mc.Core{Client: client},
		presigner:   presigner,
		signer:      signer,
		bucket:      bucket,
		partSize:    opts.PartSize,
		concurrency: opts.Concurrency,
		copyLimit:   maxCopySize,
	}, nil
}

// clientCreds is the presign client's credentials.Provider: it hands out the
// client's current credentials and reports its own expired only when the
// client's have changed since. Reporting them always expired would send every
// URL through minio-go's retrieval path (a singleflight goroutine per URL,
// 0.6x the URLs/s of a static provider); an unchanged value is served from
// the cache inline instead.
type clientCreds struct {
	c    *mc.Client
	last atomic.Pointer[credentials.Value] // what Retrieve last returned
}

func (p *clientCreds) Retrieve() (credentials.Value, error) {
	v, err := p.c.GetCreds()
	if err != nil {
		return credentials.Value{}, err
	}
	p.last.Store(&v)
	return v, nil
}

func (p *clientCreds) RetrieveWithCredContext(*credentials.CredContext) (credentials.Value, error) {
	return p.Retrieve()
}

// IsExpired asks the client for its credentials (cached by the client's own
// provider until they expire) and compares them with the last retrieved.
func (p *clientCreds) IsExpired() bool {
	last := p.last.Load()
	if last == nil {
		return true
	}
	v, err := p.c.GetCreds()
	return err != nil || v != *last
}

// refuseTransport is the transport of the presign client: presigning must
// never touch the network, and this proves it cannot.
type refuseTransport struct{}

var errNoRequests = errors.New("minio: the presign client sends no requests")

func (refuseTransport) RoundTrip(*http.Request) (*http.Response, error) { return nil, errNoRequests }

// Client returns the minio-go client the backend uses, for what the
// interface does not cover.
func (b *Backend) Client() *mc.Client { return b.client }

// Bucket returns the bucket's name.
func (b *Backend) Bucket() string { return b.bucket }

func wrap(op, key string, err error) error {
	return &backend.Error{Op: op, Driver: driver, Key: key, Err: err}
}

// live reports ErrClosed after Close and ctx's error once it is done.
func (b *Backend) live(ctx context.Context) error {
	if b.closed.Load() {
		return backend.ErrClosed
	}
	return ctx.Err()
}

// classify returns the S3 error code of a provider error and its sentinel
// (nil when none applies).
func classify(err error) (code string, kind error) {
	var er mc.ErrorResponse
	if !errors.As(err, &er) {
		return "", nil
	}
	return er.Code, provider.KindOf(er.StatusCode, er.Code)
}

// fail wraps a provider error of op on key: ctx's error when ctx is done
// (the failure is the cancellation's), else the provider error marked with
// its sentinel (kind overrides it when not nil) and scrubbed of credentials.
func (b *Backend) fail(ctx context.Context, op, key string, err error, kind error) error {
	if cerr := ctx.Err(); cerr != nil {
		return wrap(op, key, cerr)
	}
	if xio.IsContext(err) {
		return wrap(op, key, err)
	}
	err = b.scrub(err)
	if kind == nil {
		_, kind = classify(err)
	}
	if kind != nil {
		err = backend.Mark(kind, err)
	}
	return wrap(op, key, err)
}

// scrub hides any credential that a message might carry, keeping err
// reachable with errors.As.
func (b *Backend) scrub(err error) error {
	secrets := b.secrets
	if secrets == nil {
		if v, cerr := b.client.GetCreds(); cerr == nil {
			secrets = []string{v.AccessKeyID, v.SecretAccessKey, v.SessionToken}
		}
	}
	msg := err.Error()
	out := msg
	for _, s := range secrets {
		if s != "" {
			out = strings.ReplaceAll(out, s, "REDACTED")
		}
	}
	if out == msg {
		return err
	}
	return &scrubbed{err: err, msg: out}
}

type scrubbed struct {
	err error
	msg string
}

func (s *scrubbed) Error() string { return s.msg }
func (s *scrubbed) Unwrap() error { return s.err }

// toObject converts what the server said about key.
func toObject(key string, info mc.ObjectInfo) *backend.Object {
	o := &backend.Object{
		Key:          key,
		Size:         info.Size,
		ContentType:  info.ContentType,
		ETag:         strings.Trim(info.ETag, `"`),
		LastModified: info.LastModified,
		Metadata:     userMetadata(info.UserMetadata),
	}
	if o.ContentType == "" {
		o.ContentType = backend.DefaultContentType
	}
	return o
}

// userMetadata lower-cases the keys minio-go canonicalised ("X-Kite-Test")
// back to what was stored ("x-kite-test").
func userMetadata(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v // minio-go already took X-Amz-Meta- off
	}
	return out
}

// amzMetadata prefixes each key, so that minio-go sends it as user metadata
// whatever its name ("content-type", "x-amz-acl" and "x-minio-…" included).
func amzMetadata(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out["x-amz-meta-"+k] = v
	}
	return out
}

// Stat returns the object's attributes with a HEAD request.
func (b *Backend) Stat(ctx context.Context, key string) (*backend.Object, error) {
	if err := backend.ValidateKey(key); err != nil {
		return nil, wrap("Stat", key, err)
	}
	if err := b.live(ctx); err != nil {
		return nil, wrap("Stat", key, err)
	}
	info, err := b.client.StatObject(ctx, b.bucket, key, mc.StatObjectOptions{})
	if err != nil {
		return nil, b.fail(ctx, "Stat", key, err, nil)
	}
	return toObject(key, info), nil
}

// Get opens the object, or the byte range of opts, with one GET request
// made before Get returns: a missing key or an offset past the end fails
// here, not at the first Read. Object.Size is the whole object's size, read
// from Content-Range for a range. Reads fail with ctx's error once ctx is
// done.
func (b *Backend) Get(ctx context.Context, key string, opts backend.GetOptions) (io.ReadCloser, *backend.Object, error) {
	if err := backend.CheckGet(key, opts); err != nil {
		return nil, nil, wrap("Get", key, err)
	}
	if err := b.live(ctx); err != nil {
		return nil, nil, wrap("Get", key, err)
	}
	gopts := mc.GetObjectOptions{}
	if !opts.IsWhole() {
		if opts.Length > 0 && opts.Length-1 <= (1<<63-1)-opts.Offset {
			_ = gopts.SetRange(opts.Offset, opts.Offset+opts.Length-1) // valid: 0 <= start <= end
		} else {
			gopts.Set("Range", "bytes="+strconv.FormatInt(opts.Offset, 10)+"-")
		}
	}
	body, info, hdr, err := b.core.GetObject(ctx, b.bucket, key, gopts)
	if err != nil {
		if code, _ := classify(err); code == "InvalidRange" && opts.Offset == 0 {
			// A range from offset 0 of an empty object: S3 refuses any
			// range of 0 bytes, the contract reads the empty object.
			body, info, hdr, err = b.core.GetObject(ctx, b.bucket, key, mc.GetObjectOptions{})
		}
	}
	if err != nil {
		var kind error
		if code, k := classify(err); code == "InvalidRange" || (k == nil && statusOf(err) == http.StatusRequestedRangeNotSatisfiable) {
			kind = backend.ErrInvalidArgument // offset at or past the end
		}
		return nil, nil, b.fail(ctx, "Get", key, err, kind)
	}
	obj := toObject(key, info)
	if cr := hdr.Get("Content-Range"); cr != "" {
		total, err := totalSize(cr)
		if err != nil {
			body.Close()
			return nil, nil, wrap("Get", key, err)
		}
		obj.Size = total
	}
	return &reader{ctx: ctx, rc: body}, obj, nil
}

func statusOf(err error) int {
	var er mc.ErrorResponse
	if errors.As(err, &er) {
		return er.StatusCode
	}
	return 0
}

// totalSize returns the complete length of a Content-Range "bytes a-b/total".
func totalSize(cr string) (int64, error) {
	_, total, ok := strings.Cut(cr, "/")
	n, err := strconv.ParseInt(total, 10, 64)
	if !ok || err != nil || n < 0 {
		return 0, fmt.Errorf("unexpected Content-Range %q", cr)
	}
	return n, nil
}

// reader is a response body whose reads fail with ctx's error once ctx is
// done, rather than with whatever the transport says.
type reader struct {
	ctx context.Context
	rc  io.ReadCloser
}

func (r *reader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := r.rc.Read(p)
	if err != nil && err != io.EOF {
		if cerr := r.ctx.Err(); cerr != nil {
			return n, cerr
		}
	}
	return n, err
}

func (r *reader) Close() error { return r.rc.Close() }

// Delete removes key; S3 reports no error for a missing key.
func (b *Backend) Delete(ctx context.Context, key string) error {
	if err := backend.ValidateKey(key); err != nil {
		return wrap("Delete", key, err)
	}
	if err := b.live(ctx); err != nil {
		return wrap("Delete", key, err)
	}
	if err := b.client.RemoveObject(ctx, b.bucket, key, mc.RemoveObjectOptions{}); err != nil {
		return b.fail(ctx, "Delete", key, err, nil)
	}
	return nil
}

// Copy copies src to dst on the server, content type and user metadata
// included: with CopyObject up to 5 GiB, with a multipart copy
// (ComposeObject) beyond. The copy is made only of the source version that
// Copy saw; a source replaced meanwhile is copied again.
func (b *Backend) Copy(ctx context.Context, dst, src string) (*backend.Object, error) {
	if key, err := backend.CheckCopy(dst, src); err != nil {
		return nil, wrap("Copy", key, err)
	}
	if err := b.live(ctx); err != nil {
		return nil, wrap("Copy", dst, err)
	}
	for attempt := 0; ; attempt++ {
		st, err := b.client.StatObject(ctx, b.bucket, src, mc.StatObjectOptions{})
		if err != nil {
			return nil, b.fail(ctx, "Copy", src, err, nil)
		}
		obj := toObject(dst, st)
		if dst == src {
			return obj, nil // S3 refuses to copy an object onto itself unchanged
		}
		info, err := b.copy(ctx, dst, src, st, obj)
		if err == nil {
			obj.ETag = strings.Trim(info.ETag, `"`)
			if !info.LastModified.IsZero() {
				obj.LastModified = info.LastModified
			}
			return obj, nil
		}
		_, kind := classify(err)
		switch {
		case kind == backend.ErrPrecondition && attempt < 3:
			continue // the source changed between Stat and the copy
		case kind == backend.ErrNotFound:
			return nil, b.fail(ctx, "Copy", src, err, nil)
		}
		return nil, b.fail(ctx, "Copy", dst, err, nil)
	}
}

func (b *Backend) copy(ctx context.Context, dst, src string, st mc.ObjectInfo, obj *backend.Object) (mc.UploadInfo, error) {
	srcOpts := mc.CopySrcOptions{Bucket: b.bucket, Object: src, MatchETag: st.ETag}
	dstOpts := mc.CopyDestOptions{Bucket: b.bucket, Object: dst}
	if st.Size <= b.copyLimit {
		return b.client.CopyObject(ctx, dstOpts, srcOpts) // metadata directive COPY keeps type and metadata
	}
	// A multipart copy takes the metadata of its upload: give it all.
	meta := amzMetadata(obj.Metadata)
	if meta == nil {
		meta = map[string]string{}
	}
	meta["Content-Type"] = obj.ContentType
	dstOpts.ReplaceMetadata = true
	dstOpts.UserMetadata = meta
	dstOpts.PartSize = b.composePartSize
	return b.client.ComposeObject(ctx, dstOpts, srcOpts)
}

// PresignGet returns a GET URL signed for the public endpoint, with
// response-content-disposition among its signed parameters when
// opts.ContentDisposition is set. It makes no network call.
func (b *Backend) PresignGet(ctx context.Context, key string, opts backend.PresignOptions) (*backend.PresignedRequest, error) {
	exp, err := backend.CheckPresign(http.MethodGet, key, opts)
	if err != nil {
		return nil, wrap("PresignGet", key, err)
	}
	if err := b.live(ctx); err != nil {
		return nil, wrap("PresignGet", key, err)
	}
	var query [][2]string
	if opts.ContentDisposition != "" {
		query = [][2]string{{"response-content-disposition", opts.ContentDisposition}}
	}
	u, expires, err := b.presign(ctx, http.MethodGet, key, exp, query, nil)
	if err != nil {
		return nil, b.fail(ctx, "PresignGet", key, err, nil)
	}
	return &backend.PresignedRequest{Method: http.MethodGet, URL: u, Header: http.Header{}, Expires: expires}, nil
}

// PresignPut returns a PUT URL signed for the public endpoint. The
// Content-Type of opts, and the Content-Length when opts.Size is set, are
// signed headers, returned in Header: the server refuses an upload with
// another type or length. Without a ContentType the server stores what the
// uploader sends. It makes no network call.
func (b *Backend) PresignPut(ctx context.Context, key string, opts backend.PresignOptions) (*backend.PresignedRequest, error) {
	exp, err := backend.CheckPresign(http.MethodPut, key, opts)
	if err != nil {
		return nil, wrap("PresignPut", key, err)
	}
	if err := b.live(ctx); err != nil {
		return nil, wrap("PresignPut", key, err)
	}
	h := http.Header{}
	if opts.ContentType != "" {
		h.Set("Content-Type", opts.ContentType)
	}
	if opts.Size > 0 {
		h.Set("Content-Length", strconv.FormatInt(opts.Size, 10))
	}
	u, expires, err := b.presign(ctx, http.MethodPut, key, exp, nil, h)
	if err != nil {
		return nil, b.fail(ctx, "PresignPut", key, err, nil)
	}
	return &backend.PresignedRequest{Method: http.MethodPut, URL: u, Header: h, Expires: expires}, nil
}

// presign signs a URL of method for key, with query and the headers of h
// signed, and returns it with its expiry. SigV4 credentials (the common
// case) are signed with sigv4, whose URLs are minio-go's byte for byte;
// V2 and anonymous ones go through minio-go.
func (b *Backend) presign(ctx context.Context, method, key string, exp time.Duration, query [][2]string, h http.Header) (string, time.Time, error) {
	v, err := b.client.GetCreds()
	if err != nil {
		return "", time.Time{}, err
	}
	if b.signer != nil && !v.SignerType.IsV2() && !v.SignerType.IsAnonymous() {
		var headers [][2]string
		for name, vs := range h {
			headers = append(headers, [2]string{name, strings.Join(vs, ",")})
		}
		u, signedAt, err := b.signer.Presign(sigv4.Credentials{AccessKey: v.AccessKeyID, SecretKey: v.SecretAccessKey, SessionToken: v.SessionToken},
			sigv4.Request{Method: method, Key: key, Expires: exp, Query: query, Headers: headers})
		if err != nil {
			return "", time.Time{}, err
		}
		// X-Amz-Expires is exp in whole seconds.
		return u, signedAt.Add(exp.Truncate(time.Second)), nil
	}
	var params url.Values
	if len(query) > 0 {
		params = url.Values{}
		for _, q := range query {
			params.Add(q[0], q[1])
		}
	}
	u, err := b.presigner.PresignHeader(ctx, method, b.bucket, key, exp, params, h)
	if err != nil {
		return "", time.Time{}, err
	}
	return u.String(), expiry(u, exp), nil
}

// expiry returns when a SigV4 URL of lifetime exp expires: its signing time
// (X-Amz-Date, truncated to the second) plus exp in whole seconds, as
// minio-go signs it (X-Amz-Expires); now + exp when the URL does not say.
// The query is scanned, not parsed: parsing it again cost a tenth of a
// presign.
func expiry(u *url.URL, exp time.Duration) time.Time {
	if t, ok := sigv4.SigningTime(u.RawQuery); ok {
		return t.Add(exp.Truncate(time.Second))
	}
	return time.Now().Add(exp)
}

// Health checks that the bucket exists and the credentials may reach it.
// A missing bucket is an error matching ErrNotFound that names it.
func (b *Backend) Health(ctx context.Context) error {
	if err := b.live(ctx); err != nil {
		return wrap("Health", "", err)
	}
	ok, err := b.client.BucketExists(ctx, b.bucket)
	if err != nil {
		return b.fail(ctx, "Health", "", fmt.Errorf("bucket %q: %w", b.bucket, err), nil)
	}
	if !ok {
		return wrap("Health", "", backend.Errorf(backend.ErrNotFound, "bucket %q does not exist on %s", b.bucket, b.client.EndpointURL().Host))
	}
	return nil
}

// Close makes later calls fail with ErrClosed and, for a backend made by
// Open, closes its idle connections. It never closes a client given to New.
func (b *Backend) Close() error {
	if b.closed.Swap(true) {
		return nil
	}
	if b.transport != nil {
		b.transport.CloseIdleConnections()
	}
	return nil
}

var _ backend.Backend = (*Backend)(nil)

// cloneMeta copies metadata for a returned Object.
func cloneMeta(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return maps.Clone(m)
}
