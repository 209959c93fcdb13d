// Package s3 is Kite's driver for Amazon S3 and S3-compatible servers
// (MinIO, versitygw, Ceph, …) on github.com/aws/aws-sdk-go-v2/service/s3.
//
// Objects are stored the standard S3 way: the content type as the object's
// Content-Type, user metadata as x-amz-meta-* headers with lower-case names,
// so that any other S3 client (the minio driver included) reads them back.
//
// # URLs
//
//	s3://bucket?region=eu-west-1
//	s3://bucket?endpoint=http://127.0.0.1:9000&region=us-east-1&public_endpoint=https://files.example.com
//
// The host is the bucket. Credentials come from the AWS default chain
// (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE and the shared
// files, web identity, ECS and EC2 roles); a URL with user information is
// refused. Parameters (all optional):
//
//   - region: the bucket's region; default from the AWS configuration, else
//     us-east-1. Presigning never looks the region up.
//   - endpoint: the S3 endpoint of an S3-compatible server, as
//     http(s)://host[:port] or host[:port] (https). Default: AWS.
//   - path_style: true or false; path-style addressing (http://host/bucket/key).
//     Default true when endpoint is set, false on AWS.
//   - public_endpoint: the endpoint presigned URLs are made for, as
//     http(s)://host[:port] or host[:port] (the scheme of endpoint). URLs are
//     signed for that host, always path-style. Default: the endpoint.
//   - part_size: the part size of multipart uploads, for example 16MiB
//     (default), at least 5MiB, at most 5GiB. An upload of a body that is
//     not a file (or other io.ReaderAt) holds one part in memory (two of
//     8MiB or less).
//
// # Behaviour
//
// Put sends a seekable body up to the part size in one PutObject request; a
// larger one that is an io.ReaderAt (a file, a bytes.Reader) as a multipart
// upload of parts read straight from it, several at once; anything else (a
// plain reader, an unknown size) a part at a time through a bounded buffer,
// as one PutObject when it turns out to fit in a part. IfNotExists and
// IfMatch are sent as If-None-Match: * and If-Match on PutObject and
// CompleteMultipartUpload, so the server decides atomically. Checksums are
// calculated and validated only where an operation requires them, which
// every S3-compatible server accepts. Nothing is ever logged.
//
// Copy is server-side: CopyObject up to 5 GiB, UploadPartCopy above.
//
// Presigned URLs are signed by internal/sigv4, 10 times faster than the
// SDK's presign client, once a probe at the first presign of each method has
// shown that it writes the client's URL byte for byte; a client it does not
// reproduce is left to the SDK (presign.go).
package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/internal/provider"
	"github.com/kitehq/kite/internal/xio"
)

const driver = "s3"

// Part sizes of multipart uploads: S3's limits and the default.
const (
	DefaultPartSize = 16 << 20
	MinPartSize     = 5 << 20
	MaxPartSize     = 5 << 30
)

// DefaultConcurrency is how many parts of one upload of a body read with
// ReadAt are sent at once when Options.Concurrency is 0.
const DefaultConcurrency = 4

const (
	maxParts       = 10000
	maxCopyObject  = 5 << 30   // the largest CopyObject; larger goes UploadPartCopy
	copyPartSize   = 512 << 20 // UploadPartCopy range
	copyAttempts   = 3         // Copy retries of a source that keeps changing
	defaultRegion  = "us-east-1"
	abortTimeout   = 30 * time.Second
	defaultMaxKeys = 1000
)

// SDKClient is the SDK client type New takes.
type SDKClient = awss3.Client

func init() {
	backend.Register("s3", open)
}

// Options configure a Backend. The zero value uses the client as it is, 16 MiB
// parts and presigned URLs for the client's own endpoint.
type Options struct {
	// PublicEndpoint, when set, is the endpoint presigned URLs are signed for
	// ("https://files.example.com", or host[:port] taking the scheme of the
	// client's endpoint). URLs for it are path-style.
	PublicEndpoint string
	// PartSize is the part size of multipart uploads; 0 = 16 MiB. It must be
	// between 5 MiB and 5 GiB.
	PartSize int64
	// Concurrency is how many parts of one upload of a body read with ReadAt
	// (a file, a bytes.Reader) are sent at once; 0 = 4. It costs no memory:
	// such parts are read from the body as they are sent. A body read with
	// Read is sent one part at a time, from a buffer of one part (two for
	// parts of 8 MiB or less, the next read while one is sent).
	Concurrency int
}

// Backend is a bucket. It is safe for concurrent use.
type Backend struct {
	client  *awss3.Client
	bucket  string
	presign *awss3.PresignClient
	// fast signs what the presign client would, faster, once it has
	// shown it writes the same URL (presign.go).
	fast     fastPresign
	creds    aws.CredentialsProvider // the client's, which the SDK wraps in a cache
	partSize int64
	// concurrency is how many parts of a body read with ReadAt are sent at
	// once.
	concurrency int
	// anyReaderAt reads every io.ReaderAt body with ReadAt, not only those
	// multipart.CheapReadAt knows (tests' bodies).
	anyReaderAt bool
	// checksums is the option of the requests of a multipart or streamed
	// upload: the client's checksum setting, WhenRequired when it has none
	// (the SDK's default, a CRC on every part, breaks versitygw's Complete).
	checksums func(*awss3.Options)
	closed    atomic.Bool
	copyLimit int64 // the largest object copied with CopyObject
	copyPart  int64 // the range of one UploadPartCopy
}

// New returns a Backend for bucket through client, which it does not own: Close
// leaves it usable. The client's checksum settings are kept; a client made by
// Open calculates checksums only where required (what S3-compatible servers
// accept). New makes no request.
func New(client *SDKClient, bucket string, opts Options) (*Backend, error) {
	if client == nil {
		return nil, wrap("Open", "", backend.Errorf(backend.ErrInvalidArgument, "nil S3 client"))
	}
	if bucket == "" {
		return nil, wrap("Open", "", backend.Errorf(backend.ErrInvalidArgument, "empty bucket name"))
	}
	ps := opts.PartSize
	if ps == 0 {
		ps = DefaultPartSize
	}
	if ps < MinPartSize || ps > MaxPartSize {
		return nil, wrap("Open", "", backend.Errorf(backend.ErrInvalidArgument, "part size %d: want 5MiB to 5GiB", ps))
	}
	conc := opts.Concurrency
	if conc == 0 {
		conc = DefaultConcurrency
	}
	if conc < 0 {
		return nil, wrap("Open", "", backend.Errorf(backend.ErrInvalidArgument, "negative concurrency %d", conc))
	}
	co := client.Options()
	presignOpts := []func(*awss3.Options){noNetwork}
	if opts.PublicEndpoint != "" {
		secure := co.BaseEndpoint == nil || !strings.HasPrefix(*co.BaseEndpoint, "http://")
		pub, err := provider.ParseEndpoint(opts.PublicEndpoint, secure)
		if err != nil {
			return nil, wrap("Open", "", fmt.Errorf("public endpoint: %w", err))
		}
		presignOpts = append(presignOpts, func(o *awss3.Options) {
			o.BaseEndpoint = aws.String(pub.String())
			o.UsePathStyle = true
		})
	}
	// The SDK's own default (a CRC on every part, which versitygw refuses at
	// Complete when Create named no algorithm) is not used: the client's
	// setting, and WhenRequired when it has none.
	rcc := co.RequestChecksumCalculation
	if rcc == aws.RequestChecksumCalculationUnset {
		rcc = aws.RequestChecksumCalculationWhenRequired
	}
	return &Backend{
		client:      client,
		bucket:      bucket,
		presign:     awss3.NewPresignClient(client, awss3.WithPresignClientFromClientOptions(presignOpts...)),
		creds:       co.Credentials,
		partSize:    ps,
		concurrency: conc,
		checksums:   func(o *awss3.Options) { o.RequestChecksumCalculation = rcc },
		copyLimit:   maxCopyObject,
		copyPart:    copyPartSize,
	}, nil
}

// Client returns the SDK client, for what the Backend interface does not cover.
func (b *Backend) Client() *SDKClient { return b.client }

// Bucket returns the bucket name.
func (b *Backend) Bucket() string { return b.bucket }

// open is the Opener of s3:// URLs. Its errors are *backend.Error, so that
// backend.Open does not repeat the URL: a parameter such as endpoint could
// carry user information that RedactURL does not see.
func open(ctx context.Context, u *url.URL) (backend.Backend, error) {
	b, err := openURL(ctx, u)
	if err != nil {
		var be *backend.Error
		if errors.As(err, &be) {
			return nil, err
		}
		return nil, wrap("Open", "", err)
	}
	return b, nil
}

func openURL(ctx context.Context, u *url.URL) (*Backend, error) {
	if u.User != nil {
		return nil, backend.Errorf(backend.ErrInvalidArgument, "s3 URL with user information: credentials come from the AWS default chain, never the URL")
	}
	if u.Host == "" || (u.Path != "" && u.Path != "/") {
		return nil, backend.Errorf(backend.ErrInvalidArgument, "s3 URL: want s3://bucket?options, without a path")
	}
	p := backend.NewParams(u)
	region := p.String("region", "")
	endpoint := p.String("endpoint", "")
	pathStyle := p.Bool("path_style", endpoint != "")
	public := p.String("public_endpoint", "")
	partSize := p.Int("part_size", DefaultPartSize)
	if err := p.Err(); err != nil {
		return nil, err
	}
	var base *url.URL
	if endpoint != "" {
		var err error
		if base, err = provider.ParseEndpoint(endpoint, true); err != nil {
			return nil, err
		}
	}
	var loadOpts []func(*config.LoadOptions) error
	if region != "" {
		loadOpts = append(loadOpts, config.WithRegion(region))
	}
	// The default HTTP client is kept: with AWS_CA_BUNDLE set, a custom one
	// makes LoadDefaultConfig fail.
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("loading the AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = defaultRegion
	}
	client := awss3.NewFromConfig(cfg, func(o *awss3.Options) {
		if base != nil {
			o.BaseEndpoint = aws.String(base.String())
		}
		o.UsePathStyle = pathStyle
		// The newer default (a CRC on every request and response) broke
		// several S3-compatible servers.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	return New(client, u.Host, Options{PublicEndpoint: public, PartSize: partSize})
}

// noNetwork makes sure that presigning, which should never send a request,
// cannot: the presign client's HTTP client refuses every request.
func noNetwork(o *awss3.Options) { o.HTTPClient = refuseAll{} }

type refuseAll struct{}

func (refuseAll) Do(*http.Request) (*http.Response, error) {
	return nil, errors.New("s3: presigning sends no request")
}

func wrap(op, key string, err error) error {
	return &backend.Error{Op: op, Driver: driver, Key: key, Err: err}
}

// kindOf returns the sentinel of a provider error, by its code and, for the
// bodiless answers to HEAD, by its HTTP status.
func kindOf(err error) (code string, kind error) {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	status := 0
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	if code == "XAdminUserNotFound" {
		// versitygw's answer to an unknown access key, with status 404.
		return code, backend.ErrPermission
	}
	return code, provider.KindOf(status, code)
}

// fail wraps err of op on key: the context's error when ctx is done, else the
// provider error marked with its kind.
func (b *Backend) fail(ctx context.Context, op, key string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return wrap(op, key, cerr)
	}
	if _, kind := kindOf(err); kind != nil {
		return wrap(op, key, backend.Mark(kind, err))
	}
	return wrap(op, key, err)
}

// check returns the error of a call on a closed backend or a done context.
func (b *Backend) check(ctx context.Context, op, key string) error {
	if b.closed.Load() {
		return wrap(op, key, backend.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return wrap(op, key, err)
	}
	return nil
}

func trimETag(p *string) string {
	s := aws.ToString(p)
	s = strings.TrimPrefix(s, "W/")
	return strings.Trim(s, `"`)
}

func quoteETag(s string) string {
	if strings.HasPrefix(s, `"`) {
		return s
	}
	return `"` + s + `"`
}

func lowerKeys(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out
}

func cloneMeta(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// httpRange returns the Range header of opts, "" for the whole object.
func httpRange(opts backend.GetOptions) string {
	switch {
	case opts.IsWhole():
		return ""
	case opts.Length == 0:
		return "bytes=" + strconv.FormatInt(opts.Offset, 10) + "-"
	}
	return "bytes=" + strconv.FormatInt(opts.Offset, 10) + "-" + strconv.FormatInt(opts.Offset+opts.Length-1, 10)
}

// totalSize returns the whole size from a Content-Range "bytes a-b/total".
func totalSize(cr string) (int64, bool) {
	i := strings.LastIndexByte(cr, '/')
	if i < 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(cr[i+1:], 10, 64)
	return n, err == nil
}

// Get opens the object or its range. A missing key fails here, not at the
// first Read; an offset at or past the end is ErrInvalidArgument.
func (b *Backend) Get(ctx context.Context, key string, opts backend.GetOptions) (io.ReadCloser, *backend.Object, error) {
	if err := backend.CheckGet(key, opts); err != nil {
		return nil, nil, wrap("Get", key, err)
	}
	if err := b.check(ctx, "Get", key); err != nil {
		return nil, nil, err
	}
	in := &awss3.GetObjectInput{Bucket: &b.bucket, Key: &key}
	if rg := httpRange(opts); rg != "" {
		in.Range = &rg
	}
	out, err := b.client.GetObject(ctx, in)
	if err != nil && in.Range != nil && opts.Offset == 0 {
		// A range starting at 0 is unsatisfiable only on an empty object,
		// which the contract reads as empty.
		if _, kind := kindOf(err); kind == backend.ErrInvalidArgument {
			in.Range = nil
			out, err = b.client.GetObject(ctx, in)
		}
	}
	if err != nil {
		return nil, nil, b.fail(ctx, "Get", key, err)
	}
	obj := &backend.Object{
		Key:          key,
		Size:         aws.ToInt64(out.ContentLength),
		ContentType:  aws.ToString(out.ContentType),
		ETag:         trimETag(out.ETag),
		LastModified: aws.ToTime(out.LastModified),
		Metadata:     lowerKeys(out.Metadata),
	}
	if in.Range != nil {
		n, ok := totalSize(aws.ToString(out.ContentRange))
		if !ok {
			out.Body.Close()
			return nil, nil, wrap("Get", key, fmt.Errorf("ranged GET answered without a Content-Range total (%q)", aws.ToString(out.ContentRange)))
		}
		obj.Size = n
	}
	return xio.ContextReadCloser(ctx, out.Body), obj, nil
}

// Stat returns the object's attributes with a HEAD request.
func (b *Backend) Stat(ctx context.Context, key string) (*backend.Object, error) {
	if err := backend.ValidateKey(key); err != nil {
		return nil, wrap("Stat", key, err)
	}
	if err := b.check(ctx, "Stat", key); err != nil {
		return nil, err
	}
	out, err := b.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: &b.bucket, Key: &key})
	if err != nil {
		return nil, b.fail(ctx, "Stat", key, err)
	}
	return headObject(key, out), nil
}

func headObject(key string, out *awss3.HeadObjectOutput) *backend.Object {
	return &backend.Object{
		Key:          key,
		Size:         aws.ToInt64(out.ContentLength),
		ContentType:  aws.ToString(out.ContentType),
		ETag:         trimETag(out.ETag),
		LastModified: aws.ToTime(out.LastModified),
		Metadata:     lowerKeys(out.Metadata),
	}
}

// Delete removes key; a missing key is not an error.
func (b *Backend) Delete(ctx context.Context, key string) error {
	if err := backend.ValidateKey(key); err != nil {
		return wrap("Delete", key, err)
	}
	if err := b.check(ctx, "Delete", key); err != nil {
		return err
	}
	_, err := b.client.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: &b.bucket, Key: &key})
	if err != nil {
		if code, _ := kindOf(err); code == "NoSuchKey" && ctx.Err() == nil {
			return nil
		}
		return b.fail(ctx, "Delete", key, err)
	}
	return nil
}

// List yields the objects with ListObjectsV2, a page per request; breaking
// out of the loop stops before the next request.
func (b *Backend) List(ctx context.Context, opts backend.ListOptions) iter.Seq2[*backend.Object, error] {
	return func(yield func(*backend.Object, error) bool) {
		if err := backend.CheckList(opts); err != nil {
			yield(nil, wrap("List", opts.Prefix, err))
			return
		}
		if opts.MatchesNothing() {
			return
		}
		if err := b.check(ctx, "List", opts.Prefix); err != nil {
			yield(nil, err)
			return
		}
		// MinIO refuses a prefix or start-after with a "." or ".." segment;
		// such a prefix is listed from its parent and filtered below.
		prefix, after, filter, ok := provider.ListRange(opts.Prefix, opts.StartAfter)
		if !ok {
			return // no key has a "." or ".." segment
		}
		in := &awss3.ListObjectsV2Input{Bucket: &b.bucket}
		if prefix != "" {
			in.Prefix = &prefix
		}
		if opts.Delimiter != "" {
			in.Delimiter = &opts.Delimiter
		}
		if after != "" {
			in.StartAfter = &after
		}
		pageSize := opts.PageSize
		if pageSize == 0 || pageSize > defaultMaxKeys {
			pageSize = defaultMaxKeys
		}
		// MinIO ends a listing after its first page (IsTruncated false)
		// when max-keys is 1 and the prefix is itself a key; 2 is safe.
		pageSize = max(pageSize, 2)
		in.MaxKeys = aws.Int32(int32(pageSize))
		pages := awss3.NewListObjectsV2Paginator(b.client, in)
		for pages.HasMorePages() {
			if err := b.check(ctx, "List", opts.Prefix); err != nil {
				yield(nil, err)
				return
			}
			page, err := pages.NextPage(ctx)
			if err != nil {
				yield(nil, b.fail(ctx, "List", opts.Prefix, err))
				return
			}
			// Objects and common prefixes come apart; each page covers one
			// key range, so merging them per page keeps the byte-wise order.
			objs, prefixes := page.Contents, page.CommonPrefixes
			for len(objs) > 0 || len(prefixes) > 0 {
				var o *backend.Object
				if len(prefixes) == 0 || (len(objs) > 0 && aws.ToString(objs[0].Key) < aws.ToString(prefixes[0].Prefix)) {
					c := objs[0]
					objs = objs[1:]
					o = &backend.Object{Key: aws.ToString(c.Key), Size: aws.ToInt64(c.Size), ETag: trimETag(c.ETag), LastModified: aws.ToTime(c.LastModified)}
				} else {
					o = &backend.Object{Key: aws.ToString(prefixes[0].Prefix), IsPrefix: true}
					prefixes = prefixes[1:]
				}
				if o.Key <= opts.StartAfter && opts.StartAfter != "" {
					continue // a common prefix that StartAfter falls inside
				}
				if filter && !strings.HasPrefix(o.Key, opts.Prefix) {
					// Listed from the parent of a dot-segment prefix: past
					// the prefix's keys, nothing more can match.
					if o.Key > opts.Prefix {
						return
					}
					continue
				}
				if !yield(o, nil) {
					return
				}
			}
		}
	}
}

// copySource returns the x-amz-copy-source of key: "bucket/key" with every
// byte but the unreserved ones and "/" percent-encoded, so that no server
// reads "+" as a space or "?" as a query.
func copySource(bucket, key string) string {
	const hex = "0123456789ABCDEF"
	s := bucket + "/" + key
	var sb strings.Builder
	sb.Grow(len(s) * 3)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' || c == '/' {
			sb.WriteByte(c)
			continue
		}
		sb.WriteByte('%')
		sb.WriteByte(hex[c>>4])
		sb.WriteByte(hex[c&15])
	}
	return sb.String()
}

// Copy copies src to dst server-side, with its content type and metadata:
// CopyObject up to 5 GiB, a multipart UploadPartCopy above.
func (b *Backend) Copy(ctx context.Context, dst, src string) (*backend.Object, error) {
	if key, err := backend.CheckCopy(dst, src); err != nil {
		return nil, wrap("Copy", key, err)
	}
	if err := b.check(ctx, "Copy", dst); err != nil {
		return nil, err
	}
	// The copy is conditional on the ETag of the HEAD, so that the object
	// returned describes what was copied; a source replaced in between is
	// tried again.
	for attempt := 1; ; attempt++ {
		head, err := b.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: &b.bucket, Key: &src})
		if err != nil {
			return nil, b.fail(ctx, "Copy", src, err)
		}
		obj := headObject(dst, head)
		if obj.Size > b.copyLimit {
			obj, err = b.copyParts(ctx, dst, src, obj)
		} else {
			err = b.copyObject(ctx, dst, src, obj)
		}
		if err == nil {
			return obj, nil
		}
		_, kind := kindOf(err)
		switch {
		case ctx.Err() != nil:
			return nil, wrap("Copy", dst, ctx.Err())
		case kind == backend.ErrPrecondition && attempt < copyAttempts:
			continue
		case kind == backend.ErrNotFound && !isUploadGone(err), kind == backend.ErrPrecondition:
			// The source went away (or kept changing) since the HEAD.
			return nil, wrap("Copy", src, backend.Mark(backend.ErrNotFound, err))
		}
		return nil, b.fail(ctx, "Copy", dst, err)
	}
}

func isUploadGone(err error) bool {
	code, _ := kindOf(err)
	return code == "NoSuchUpload" || code == "NoSuchBucket"
}

func (b *Backend) copyObject(ctx context.Context, dst, src string, obj *backend.Object) error {
	out, err := b.client.CopyObject(ctx, &awss3.CopyObjectInput{
		Bucket:            &b.bucket,
		Key:               &dst,
		CopySource:        aws.String(copySource(b.bucket, src)),
		CopySourceIfMatch: aws.String(quoteETag(obj.ETag)),
	})
	if err != nil {
		return err
	}
	if r := out.CopyObjectResult; r != nil {
		obj.ETag = trimETag(r.ETag)
		if r.LastModified != nil {
			obj.LastModified = *r.LastModified
		}
	}
	return nil
}

// copyParts copies an object larger than CopyObject allows with a multipart
// upload of UploadPartCopy ranges, each conditional on the source's ETag. It
// returns the provider's error unwrapped.
func (b *Backend) copyParts(ctx context.Context, dst, src string, obj *backend.Object) (*backend.Object, error) {
	ct := obj.ContentType
	create, err := b.client.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{
		Bucket:      &b.bucket,
		Key:         &dst,
		ContentType: &ct,
		Metadata:    obj.Metadata,
	})
	if err != nil {
		return nil, err
	}
	abort := func() {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
		defer cancel()
		_, _ = b.client.AbortMultipartUpload(actx, &awss3.AbortMultipartUploadInput{Bucket: &b.bucket, Key: &dst, UploadId: create.UploadId})
	}
	part := max(b.copyPart, (obj.Size+maxParts-1)/maxParts)
	var parts []types.CompletedPart
	source := aws.String(copySource(b.bucket, src))
	for off, n := int64(0), int32(1); off < obj.Size; off, n = off+part, n+1 {
		end := min(off+part, obj.Size) - 1
		out, err := b.client.UploadPartCopy(ctx, &awss3.UploadPartCopyInput{
			Bucket:            &b.bucket,
			Key:               &dst,
			UploadId:          create.UploadId,
			PartNumber:        aws.Int32(n),
			CopySource:        source,
			CopySourceRange:   aws.String("bytes=" + strconv.FormatInt(off, 10) + "-" + strconv.FormatInt(end, 10)),
			CopySourceIfMatch: aws.String(quoteETag(obj.ETag)),
		})
		if err != nil {
			abort()
			return nil, err
		}
		var etag *string
		if out.CopyPartResult != nil {
			etag = out.CopyPartResult.ETag
		}
		parts = append(parts, types.CompletedPart{ETag: etag, PartNumber: aws.Int32(n)})
	}
	done, err := b.client.CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{
		Bucket:          &b.bucket,
		Key:             &dst,
		UploadId:        create.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	if err != nil {
		abort()
		return nil, err
	}
	obj.ETag = trimETag(done.ETag)
	obj.LastModified = time.Time{}
	return obj, nil
}

// Health checks that the bucket exists and the credentials may use it.
func (b *Backend) Health(ctx context.Context) error {
	if err := b.check(ctx, "Health", ""); err != nil {
		return err
	}
	_, err := b.client.HeadBucket(ctx, &awss3.HeadBucketInput{Bucket: &b.bucket})
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		return wrap("Health", "", cerr)
	}
	_, kind := kindOf(err)
	if kind == backend.ErrNotFound {
		// HEAD answers have no body, so no error code: versitygw answers an
		// unknown access key with a bare 404. A listing tells which it is.
		_, lerr := b.client.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: &b.bucket, MaxKeys: aws.Int32(1)})
		if _, lkind := kindOf(lerr); lerr != nil && lkind != backend.ErrNotFound && lkind != nil {
			kind, err = lkind, lerr
		}
	}
	switch kind {
	case backend.ErrNotFound:
		return wrap("Health", "", fmt.Errorf("bucket %q does not exist: %w", b.bucket, backend.Mark(kind, err)))
	case nil:
		return wrap("Health", "", fmt.Errorf("bucket %q: %w", b.bucket, err))
	}
	return wrap("Health", "", fmt.Errorf("bucket %q: %w", b.bucket, backend.Mark(kind, err)))
}

// Close marks the backend closed; later calls fail with backend.ErrClosed.
// The SDK client stays usable.
func (b *Backend) Close() error {
	b.closed.Store(true)
	return nil
}
