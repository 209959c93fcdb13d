// Package signurl signs and serves the presigned URLs of the drivers that have
// no provider to do it for them (local and memory): HMAC-SHA256 over the
// method, the key, the expiry and the signed Content-Type, size and
// Content-Disposition, checked in constant time by the Handler that serves the
// URLs from the driver itself.
package signurl

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kitehq/kite/backend"
)

// Query parameters of a signed URL. All are covered by the signature.
const (
	paramExpires     = "X-Kite-Expires"      // unix seconds
	paramContentType = "X-Kite-Content-Type" // PUT: the Content-Type the upload must carry
	paramSize        = "X-Kite-Size"         // PUT: the exact length of the upload
	paramDisposition = "X-Kite-Disposition"  // GET: response Content-Disposition
	paramSignature   = "X-Kite-Signature"    // hex HMAC-SHA256
)

// MinSecretLen is the shortest HMAC key accepted.
const MinSecretLen = 32

// DefaultMaxUpload caps a presigned PUT when Config.MaxUpload is 0 (5 GiB,
// S3's single-PUT limit).
const DefaultMaxUpload = 5 << 30

// Config configures a Signer.
type Config struct {
	// BaseURL is the absolute http or https URL where the Handler is
	// reachable, for example "https://files.example.com/files/". Signed URLs
	// are BaseURL followed by the escaped key.
	BaseURL string
	// Secret is the HMAC key, at least MinSecretLen bytes.
	Secret string
	// MaxUpload is the largest presigned PUT the Handler accepts; 0 = DefaultMaxUpload.
	MaxUpload int64
	// CORSOrigins are the origins (scheme://host[:port], or "*") that browsers
	// may use the URLs from; none by default.
	CORSOrigins []string
	// Logger, when set, receives the Handler's internal errors.
	Logger *slog.Logger
}

// FromParams reads base_url, secret, max_upload_size and cors_origins (comma
// separated) from a storage URL's query.
func FromParams(p *backend.Params) Config {
	cfg := Config{
		BaseURL:   p.String("base_url", ""),
		Secret:    p.String("secret", ""),
		MaxUpload: p.Int("max_upload_size", 0),
	}
	for _, o := range strings.Split(p.String("cors_origins", ""), ",") {
		if o = strings.TrimSpace(o); o != "" {
			cfg.CORSOrigins = append(cfg.CORSOrigins, o)
		}
	}
	return cfg
}

// Signer signs URLs for one base URL and secret. A nil *Signer means presigning
// is not configured: Presign fails with backend.ErrUnsupported and the Handler
// refuses every request. A Signer is safe for concurrent use.
type Signer struct {
	base      string // BaseURL with a trailing slash
	prefix    string // its path, the part of a request path before the key
	secret    []byte
	macs      sync.Pool
	maxUpload int64
	anyOrigin bool
	origins   map[string]bool
	log       *slog.Logger
	now       func() time.Time
}

// New returns a Signer for cfg, or nil and no error when neither BaseURL nor
// Secret is set. Errors never contain the secret.
func New(cfg Config) (*Signer, error) {
	if cfg.BaseURL == "" && cfg.Secret == "" {
		if len(cfg.CORSOrigins) > 0 || cfg.MaxUpload != 0 {
			return nil, backend.Errorf(backend.ErrInvalidArgument, "cors_origins and max_upload_size need base_url and secret")
		}
		return nil, nil
	}
	if cfg.BaseURL == "" {
		return nil, backend.Errorf(backend.ErrInvalidArgument, "secret is set but base_url is not: presigned URLs need both")
	}
	if len(cfg.Secret) < MinSecretLen {
		return nil, backend.Errorf(backend.ErrInvalidArgument, "presigned URLs need a secret of at least %d characters", MinSecretLen)
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, backend.Errorf(backend.ErrInvalidArgument, "base_url: want an absolute http or https URL without user, query or fragment")
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		u.RawPath = ""
	}
	if cfg.MaxUpload < 0 {
		return nil, backend.Errorf(backend.ErrInvalidArgument, "max_upload_size: negative")
	}
	s := &Signer{
		base:      u.String(),
		prefix:    u.Path,
		secret:    []byte(cfg.Secret),
		maxUpload: cfg.MaxUpload,
		origins:   map[string]bool{},
		log:       cfg.Logger,
		now:       time.Now,
	}
	if s.maxUpload == 0 {
		s.maxUpload = DefaultMaxUpload
	}
	s.macs.New = func() any { return hmac.New(sha256.New, s.secret) }
	for _, o := range cfg.CORSOrigins {
		if o == "*" {
			s.anyOrigin = true
			continue
		}
		ou, err := url.Parse(o)
		if err != nil || (ou.Scheme != "http" && ou.Scheme != "https") || ou.Host == "" || (ou.Path != "" && ou.Path != "/") || ou.RawQuery != "" {
			return nil, backend.Errorf(backend.ErrInvalidArgument, "cors origin %q: want scheme://host[:port]", o)
		}
		s.origins[ou.Scheme+"://"+ou.Host] = true
	}
	return s, nil
}

// BaseURL returns the URL signed URLs start with, ending in "/".
func (s *Signer) BaseURL() string { return s.base }

// Presign returns a signed request for key after validating it with
// backend.CheckPresign. method is "GET" or "PUT". The error is not wrapped in
// a *backend.Error: the driver adds its name.
func (s *Signer) Presign(method, key string, opts backend.PresignOptions) (*backend.PresignedRequest, error) {
	exp, err := backend.CheckPresign(method, key, opts)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, backend.Errorf(backend.ErrUnsupported, "presigned URLs need base_url and secret")
	}
	expires := s.now().Add(exp).Truncate(time.Second)
	unix := strconv.FormatInt(expires.Unix(), 10)
	size := ""
	if opts.Size > 0 {
		size = strconv.FormatInt(opts.Size, 10)
	}
	q := url.Values{paramExpires: {unix}}
	if opts.ContentType != "" {
		q.Set(paramContentType, opts.ContentType)
	}
	if size != "" {
		q.Set(paramSize, size)
	}
	if opts.ContentDisposition != "" {
		q.Set(paramDisposition, opts.ContentDisposition)
	}
	q.Set(paramSignature, s.sign(method, key, unix, opts.ContentType, size, opts.ContentDisposition))
	req := &backend.PresignedRequest{
		Method:  method,
		URL:     s.base + EscapeKey(key) + "?" + q.Encode(),
		Header:  http.Header{},
		Expires: expires,
	}
	if opts.ContentType != "" {
		req.Header.Set("Content-Type", opts.ContentType)
	}
	return req, nil
}

// sign returns the hex HMAC of the canonical request. No field can contain a
// newline (keys and header values are checked for control characters), so
// the newline-joined form is unambiguous.
func (s *Signer) sign(method, key, expires, contentType, size, disposition string) string {
	m := s.macs.Get().(hash.Hash)
	defer s.macs.Put(m)
	m.Reset()
	for _, f := range [...]string{"KITE-HMAC-SHA256", method, key, expires, contentType, size, disposition} {
		m.Write([]byte(f))
		m.Write([]byte{'\n'})
	}
	var sum [sha256.Size]byte
	return hex.EncodeToString(m.Sum(sum[:0]))
}

// EscapeKey escapes each segment of key for a URL path.
func EscapeKey(key string) string {
	if !needsEscape(key) {
		return key
	}
	segs := strings.Split(key, "/")
	for i, seg := range segs {
		segs[i] = url.PathEscape(seg)
	}
	return strings.Join(segs, "/")
}

func needsEscape(key string) bool {
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '/' || c == '~') {
			return true
		}
	}
	return false
}
