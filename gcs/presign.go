package gcs

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"cloud.google.com/go/storage"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/internal/provider"
)

// signer signs V4 URLs offline with an RSA key parsed once.
type signer struct {
	accessID string
	key      *rsa.PrivateKey // nil: no signing key, presigning is unsupported
	host     string          // host[:port] the URLs name; "" = the client's host
	insecure bool            // http rather than https
}

func newSigner(opts Options) (*signer, error) {
	s := &signer{}
	ep, secure := opts.PublicEndpoint, true
	if ep == "" {
		// What the SDK itself signs for under an emulator, http unless it says otherwise.
		ep, secure = os.Getenv("STORAGE_EMULATOR_HOST"), false
	}
	if ep != "" {
		u, err := provider.ParseEndpoint(ep, secure)
		if err != nil {
			return nil, backend.Errorf(backend.ErrInvalidArgument, "public endpoint: want http(s)://host[:port] or host[:port]")
		}
		s.host, s.insecure = u.Host, u.Scheme == "http"
	}
	if len(opts.PrivateKey) == 0 {
		if opts.GoogleAccessID != "" {
			return nil, backend.Errorf(backend.ErrInvalidArgument, "a GoogleAccessID without a PrivateKey cannot sign URLs")
		}
		return s, nil
	}
	id, key, err := parseSigningKey(opts.PrivateKey)
	if err != nil {
		return nil, err
	}
	s.key, s.accessID = key, opts.GoogleAccessID
	if s.accessID == "" {
		s.accessID = id
	}
	if s.accessID == "" {
		return nil, backend.Errorf(backend.ErrInvalidArgument, "the signing key is a bare RSA key: set the GoogleAccessID (access_id), the service account e-mail")
	}
	return s, nil
}

// parseSigningKey reads a service-account JSON key (returning its
// client_email too) or an RSA private key in PEM or DER, PKCS#1 or PKCS#8.
// Its errors never quote the data.
func parseSigningKey(data []byte) (accessID string, key *rsa.PrivateKey, err error) {
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '{' {
		var sa struct {
			ClientEmail string `json:"client_email"`
			PrivateKey  string `json:"private_key"`
		}
		if json.Unmarshal(t, &sa) != nil {
			return "", nil, backend.Errorf(backend.ErrInvalidArgument, "signing key: invalid JSON; want a service-account key file or a PEM RSA private key")
		}
		if sa.PrivateKey == "" {
			return "", nil, backend.Errorf(backend.ErrInvalidArgument, "signing key: JSON without a private_key; want a service-account key file")
		}
		key, err := parseRSA([]byte(sa.PrivateKey))
		return sa.ClientEmail, key, err
	}
	key, err = parseRSA(data)
	return "", key, err
}

func parseRSA(data []byte) (*rsa.PrivateKey, error) {
	der := data
	if block, _ := pem.Decode(data); block != nil {
		der = block.Bytes
	}
	var k any
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		k, err = x509.ParsePKCS1PrivateKey(der)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if err != nil || !ok {
		return nil, backend.Errorf(backend.ErrInvalidArgument, "signing key: not an RSA private key (PEM or DER, PKCS#1 or PKCS#8)")
	}
	return rk, nil
}

func (s *signer) sign(p []byte) ([]byte, error) {
	sum := sha256.Sum256(p)
	return rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, sum[:])
}

// PresignGet returns a V4-signed GET URL for key on the public endpoint. A
// ContentDisposition is signed as the response-content-disposition query
// parameter. It makes no network call.
func (b *Backend) PresignGet(_ context.Context, key string, opts backend.PresignOptions) (*backend.PresignedRequest, error) {
	return b.presign("PresignGet", http.MethodGet, key, opts)
}

// PresignPut returns a V4-signed PUT URL for key on the public endpoint. A
// ContentType is signed as the Content-Type header, a Size as
// X-Goog-Content-Length-Range "Size,Size"; both are in the returned Header.
// It makes no network call.
func (b *Backend) PresignPut(_ context.Context, key string, opts backend.PresignOptions) (*backend.PresignedRequest, error) {
	return b.presign("PresignPut", http.MethodPut, key, opts)
}

func (b *Backend) presign(op, method, key string, opts backend.PresignOptions) (*backend.PresignedRequest, error) {
	exp, err := backend.CheckPresign(method, key, opts)
	if err != nil {
		return nil, wrap(op, key, err)
	}
	if b.closed.Load() {
		return nil, wrap(op, key, backend.ErrClosed)
	}
	s := b.signer
	if s.key == nil {
		return nil, wrap(op, key, backend.Errorf(backend.ErrUnsupported,
			"presigning needs a signing key: set access_id and private_key_path in the gs:// URL "+
				"(Options.GoogleAccessID and PrivateKey), or point GOOGLE_APPLICATION_CREDENTIALS at a service-account key file"))
	}
	so := &storage.SignedURLOptions{
		GoogleAccessID: s.accessID,
		SignBytes:      s.sign, // never the IAM signBlob call: no network
		Method:         method,
		// The SDK signs whole seconds from its own clock, a moment later:
		// half a second more keeps X-Goog-Expires at exp.
		Expires:  time.Now().Add(exp + 500*time.Millisecond),
		Scheme:   storage.SigningSchemeV4,
		Style:    storage.PathStyle(),
		Hostname: s.host,
		Insecure: s.insecure,
	}
	header := http.Header{}
	if opts.ContentDisposition != "" {
		so.QueryParameters = url.Values{"response-content-disposition": {opts.ContentDisposition}}
	}
	if opts.ContentType != "" {
		so.ContentType = opts.ContentType
		header.Set("Content-Type", opts.ContentType)
	}
	if opts.Size > 0 {
		n := strconv.FormatInt(opts.Size, 10)
		so.Headers = []string{"x-goog-content-length-range:" + n + "," + n}
		header.Set("X-Goog-Content-Length-Range", n+","+n)
	}
	raw, err := b.bkt.SignedURL(key, so)
	if err != nil {
		return nil, wrap(op, key, err)
	}
	expires, err := urlExpiry(raw)
	if err != nil {
		return nil, wrap(op, key, err)
	}
	if len(header) == 0 {
		header = nil
	}
	return &backend.PresignedRequest{Method: method, URL: raw, Header: header, Expires: expires}, nil
}

// urlExpiry reads the expiry a V4 URL carries: X-Goog-Date plus X-Goog-Expires.
func urlExpiry(raw string) (time.Time, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return time.Time{}, backend.Errorf(backend.ErrInvalidArgument, "signed URL does not parse")
	}
	q := u.Query()
	date, err1 := time.Parse("20060102T150405Z", q.Get("X-Goog-Date"))
	secs, err2 := strconv.Atoi(q.Get("X-Goog-Expires"))
	if err1 != nil || err2 != nil {
		return time.Time{}, backend.Errorf(backend.ErrInvalidArgument, "signed URL without X-Goog-Date or X-Goog-Expires")
	}
	return date.Add(time.Duration(secs) * time.Second), nil
}
