package s3

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/internal/sigv4"
)

// Presigning goes through the SDK's presign client until internal/sigv4 has
// shown, for this client's configuration, that it writes the same URL: at
// the first presign of each method the SDK signs a probe key, and sigv4
// signs it again at the SDK's own X-Amz-Date; when the two are the same byte
// for byte, that method's URLs are signed by sigv4 from then on (about 10 times
// faster), with the credentials the SDK would use (the client's cached
// provider). Any configuration sigv4 does not reproduce (SigV4a, S3
// Express, anonymous credentials, an APIOptions step that changes the URL)
// fails the comparison and stays with the SDK.

const probeKey = "kite-presign-probe/k"

// fastPresign is the per-method outcome of the probe.
type fastPresign struct {
	mu       sync.Mutex // held while probing
	get, put atomic.Pointer[probed]
}

type probed struct {
	signer *sigv4.Presigner // nil: the SDK signs
}

// signer returns the sigv4 signer of method, probing it the first time; nil
// means the SDK signs. A probe that could not run (the credentials failed)
// is tried again at the next presign.
func (b *Backend) signer(ctx context.Context, method string) *sigv4.Presigner {
	p := &b.fast.get
	if method == http.MethodPut {
		p = &b.fast.put
	}
	if r := p.Load(); r != nil {
		return r.signer
	}
	b.fast.mu.Lock()
	defer b.fast.mu.Unlock()
	if r := p.Load(); r != nil {
		return r.signer
	}
	s, err := b.probe(ctx, method)
	if err != nil {
		return nil
	}
	p.Store(&probed{signer: s})
	return s
}

// probe signs probeKey with the SDK and with sigv4 and returns the sigv4
// signer when both wrote the same URL, nil when they did not, and an error
// when the probe could not be made.
func (b *Backend) probe(ctx context.Context, method string) (*sigv4.Presigner, error) {
	r := sigv4.Request{Method: method, Key: probeKey, Expires: 15 * time.Minute}
	var req *v4.PresignedHTTPRequest
	var err error
	if method == http.MethodGet {
		r.Query = [][2]string{{"x-id", "GetObject"}}
		req, err = b.sdkPresignGet(ctx, probeKey, r.Expires, "")
	} else {
		r.Query = [][2]string{{"x-id", "PutObject"}}
		r.Headers = [][2]string{{"Content-Type", "text/plain"}, {"Content-Length", "1"}}
		req, err = b.sdkPresignPut(ctx, probeKey, r.Expires, "text/plain", 1)
	}
	if err != nil {
		return nil, err
	}
	creds, err := b.credentials(ctx)
	if err != nil {
		return nil, err
	}
	// The endpoint is the SDK's URL before the escaped key; the scope is
	// its X-Amz-Credential's.
	base, query, ok := strings.Cut(req.URL, "?")
	if !ok {
		return nil, nil // unsigned: anonymous credentials
	}
	prefix, ok := strings.CutSuffix(base, "/"+sigv4.EscapePath(probeKey))
	if !ok {
		return nil, nil
	}
	region, service, ok := scope(query)
	if !ok {
		return nil, nil
	}
	u, err := url.Parse(prefix)
	if err != nil {
		return nil, nil
	}
	s, err := sigv4.New(sigv4.Endpoint{URL: u, Region: region, Service: service})
	if err != nil {
		return nil, nil
	}
	if s.Verify(req.URL, creds, r) != nil {
		return nil, nil
	}
	return s, nil
}

// scope returns the region and service of a SigV4 query's X-Amz-Credential
// (ACCESS/date/region/service/aws4_request, percent-encoded).
func scope(query string) (region, service string, ok bool) {
	for query != "" {
		var param string
		param, query, _ = strings.Cut(query, "&")
		if v, found := strings.CutPrefix(param, "X-Amz-Credential="); found {
			parts := strings.Split(v, "%2F")
			if len(parts) != 5 || parts[4] != "aws4_request" {
				return "", "", false
			}
			return parts[2], parts[3], true
		}
	}
	return "", "", false
}

// credentials are the SDK's, from the client's provider (which the SDK
// wraps in a cache).
func (b *Backend) credentials(ctx context.Context) (sigv4.Credentials, error) {
	if b.creds == nil {
		return sigv4.Credentials{}, nil
	}
	c, err := b.creds.Retrieve(ctx)
	if err != nil {
		return sigv4.Credentials{}, err
	}
	return sigv4.Credentials{AccessKey: c.AccessKeyID, SecretKey: c.SecretAccessKey, SessionToken: c.SessionToken}, nil
}

// removeContentTypeRemover takes out the SDK's presign step that drops
// Content-Type from a PUT without a length, so the type is always signed.
func removeContentTypeRemover(s *middleware.Stack) error {
	_, _ = s.Build.Remove("RemoveContentTypeHeader")
	return nil
}

// PresignGet returns a URL that downloads key until it expires. It makes no
// network call; ContentDisposition becomes a signed response-content-disposition.
func (b *Backend) PresignGet(ctx context.Context, key string, opts backend.PresignOptions) (*backend.PresignedRequest, error) {
	exp, err := backend.CheckPresign(http.MethodGet, key, opts)
	if err != nil {
		return nil, wrap("PresignGet", key, err)
	}
	if err := b.check(ctx, "PresignGet", key); err != nil {
		return nil, err
	}
	if s := b.signer(ctx, http.MethodGet); s != nil {
		r := sigv4.Request{Method: http.MethodGet, Key: key, Expires: exp, Query: [][2]string{{"x-id", "GetObject"}}}
		if opts.ContentDisposition != "" {
			r.Query = append(r.Query, [2]string{"response-content-disposition", opts.ContentDisposition})
		}
		return b.sign(ctx, "PresignGet", s, r, http.Header{})
	}
	req, err := b.sdkPresignGet(ctx, key, exp, opts.ContentDisposition)
	if err != nil {
		return nil, b.fail(ctx, "PresignGet", key, err)
	}
	return presigned(req, exp), nil
}

// PresignPut returns a URL that uploads key with the returned headers until
// it expires. The Content-Type (application/octet-stream when opts has none)
// and, with opts.Size, the Content-Length are signed. It makes no network call.
func (b *Backend) PresignPut(ctx context.Context, key string, opts backend.PresignOptions) (*backend.PresignedRequest, error) {
	exp, err := backend.CheckPresign(http.MethodPut, key, opts)
	if err != nil {
		return nil, wrap("PresignPut", key, err)
	}
	if err := b.check(ctx, "PresignPut", key); err != nil {
		return nil, err
	}
	ct := opts.ContentType
	if ct == "" {
		ct = backend.DefaultContentType
	}
	if s := b.signer(ctx, http.MethodPut); s != nil {
		h := http.Header{"Content-Type": {ct}}
		r := sigv4.Request{Method: http.MethodPut, Key: key, Expires: exp, Query: [][2]string{{"x-id", "PutObject"}},
			Headers: [][2]string{{"Content-Type", ct}}}
		if opts.Size > 0 {
			n := strconv.FormatInt(opts.Size, 10)
			h["Content-Length"] = []string{n}
			r.Headers = append(r.Headers, [2]string{"Content-Length", n})
		}
		return b.sign(ctx, "PresignPut", s, r, h)
	}
	req, err := b.sdkPresignPut(ctx, key, exp, ct, opts.Size)
	if err != nil {
		return nil, b.fail(ctx, "PresignPut", key, err)
	}
	return presigned(req, exp), nil
}

// sign signs r with the SDK's current credentials; h are the headers the
// request must carry.
func (b *Backend) sign(ctx context.Context, op string, s *sigv4.Presigner, r sigv4.Request, h http.Header) (*backend.PresignedRequest, error) {
	creds, err := b.credentials(ctx)
	if err != nil {
		return nil, b.fail(ctx, op, r.Key, err)
	}
	u, signedAt, err := s.Presign(creds, r)
	if err != nil {
		return nil, b.fail(ctx, op, r.Key, err)
	}
	// X-Amz-Expires is the expiry in whole seconds.
	return &backend.PresignedRequest{Method: r.Method, URL: u, Header: h, Expires: signedAt.Add(r.Expires.Truncate(time.Second))}, nil
}

func (b *Backend) sdkPresignGet(ctx context.Context, key string, exp time.Duration, disposition string) (*v4.PresignedHTTPRequest, error) {
	in := &awss3.GetObjectInput{Bucket: &b.bucket, Key: &key}
	if disposition != "" {
		in.ResponseContentDisposition = &disposition
	}
	return b.presign.PresignGetObject(ctx, in, awss3.WithPresignExpires(exp))
}

func (b *Backend) sdkPresignPut(ctx context.Context, key string, exp time.Duration, contentType string, size int64) (*v4.PresignedHTTPRequest, error) {
	in := &awss3.PutObjectInput{Bucket: &b.bucket, Key: &key, ContentType: &contentType}
	if size > 0 {
		in.ContentLength = aws.Int64(size)
	}
	return b.presign.PresignPutObject(ctx, in, awss3.WithPresignExpires(exp),
		awss3.WithPresignClientFromClientOptions(func(o *awss3.Options) {
			o.APIOptions = append(o.APIOptions, removeContentTypeRemover)
		}))
}

// presigned converts the SDK's presigned request: the headers to send are the
// signed ones but Host, which the client derives from the URL. Expires comes
// from the signing time in the URL, which SigV4 truncates to the second.
func presigned(req *v4.PresignedHTTPRequest, exp time.Duration) *backend.PresignedRequest {
	h := make(http.Header, len(req.SignedHeader))
	for k, v := range req.SignedHeader {
		if strings.EqualFold(k, "Host") {
			continue
		}
		h[http.CanonicalHeaderKey(k)] = append([]string(nil), v...)
	}
	_, query, _ := strings.Cut(req.URL, "?")
	signedAt, ok := sigv4.SigningTime(query)
	if !ok {
		signedAt = time.Now()
	}
	// X-Amz-Expires is exp in whole seconds.
	return &backend.PresignedRequest{Method: req.Method, URL: req.URL, Header: h, Expires: signedAt.Add(exp.Truncate(time.Second))}
}
