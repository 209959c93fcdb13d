package backend

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Opener opens a backend from a URL of its scheme. The URL's query parameters
// are the driver's options; an Opener reads them with NewParams so that an
// unknown one is an error.
type Opener func(ctx context.Context, u *url.URL) (Backend, error)

var registry struct {
	sync.RWMutex
	m map[string]Opener
}

// knownImports names the package that registers each of Kite's own schemes,
// for the error of Open on a scheme that no imported driver registered.
var knownImports = map[string]string{
	"mem":   "github.com/kitehq/kite/memory",
	"file":  "github.com/kitehq/kite/local",
	"minio": "github.com/kitehq/kite/minio",
	"s3":    "github.com/kitehq/kite/s3",
	"gs":    "github.com/kitehq/kite/gcs",
}

// Register makes a driver available under scheme (lower case, without "://").
// Drivers call it from init. Registering a scheme twice, or a nil Opener, panics.
func Register(scheme string, open Opener) {
	if open == nil {
		panic("backend: Register of nil Opener for scheme " + strconv.Quote(scheme))
	}
	if scheme == "" || scheme != strings.ToLower(scheme) || strings.Contains(scheme, ":") {
		panic("backend: Register of invalid scheme " + strconv.Quote(scheme))
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.m[scheme]; dup {
		panic("backend: Register called twice for scheme " + strconv.Quote(scheme))
	}
	if registry.m == nil {
		registry.m = make(map[string]Opener)
	}
	registry.m[scheme] = open
}

// Schemes returns the registered schemes, sorted.
func Schemes() []string {
	registry.RLock()
	defer registry.RUnlock()
	s := make([]string, 0, len(registry.m))
	for k := range registry.m {
		s = append(s, k)
	}
	slices.Sort(s)
	return s
}

// Open opens the backend named by rawURL, such as
// "file:///var/lib/app/docs?create_dir=true" or "s3://bucket?region=eu-west-1",
// with the driver registered for its scheme. It returns the driver's own value
// (*local.Backend, *memory.Backend, …), so a type assertion reaches driver
// methods. An unknown scheme's error names the import that adds it; an unknown
// query parameter is an error. Errors show the URL redacted.
func Open(ctx context.Context, rawURL string) (Backend, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Error repeats the raw URL, secrets and all: keep only its reason.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, &Error{Op: "Open", Driver: "backend", Err: Errorf(ErrInvalidArgument, "bad storage URL %s: %v", RedactURL(rawURL), err)}
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme == "" {
		return nil, &Error{Op: "Open", Driver: "backend", Err: Errorf(ErrInvalidArgument, "storage URL %s has no scheme; registered: %s", redactAll(u), schemeList())}
	}
	registry.RLock()
	open := registry.m[scheme]
	registry.RUnlock()
	if open == nil {
		msg := fmt.Sprintf("unknown storage scheme %q in %s; registered: %s", scheme, redactAll(u), schemeList())
		if imp, ok := knownImports[scheme]; ok {
			msg += fmt.Sprintf("; add import _ %q", imp)
		}
		return nil, &Error{Op: "Open", Driver: "backend", Err: Errorf(ErrUnsupported, "%s", msg)}
	}
	b, err := open(ctx, u)
	if err != nil {
		var be *Error
		if errors.As(err, &be) {
			return nil, err
		}
		return nil, &Error{Op: "Open", Driver: scheme, Err: fmt.Errorf("%s: %w", redactAll(u), err)}
	}
	return b, nil
}

// redactAll is Redacted with every query value hidden, for the errors of a
// URL that failed to open: it may carry a secret under a misspelt name
// ("sekret=") or in a bad value.
func redactAll(u *url.URL) string {
	c := *u
	q := c.Query()
	for _, vals := range q {
		for i := range vals {
			vals[i] = "REDACTED"
		}
	}
	c.RawQuery = q.Encode()
	return Redacted(&c)
}

func schemeList() string {
	s := Schemes()
	if len(s) == 0 {
		return "none (import a driver package)"
	}
	return strings.Join(s, ", ")
}

// secretParams are query parameters whose values RedactURL hides, by lower-case name.
var secretParams = []string{"secret", "password", "passwd", "token", "signature", "credential", "access_key", "secret_key", "accesskey", "secretkey", "private_key", "session"}

// RedactURL returns rawURL with its user information and the values of
// secret-looking query parameters (secret, password, token, signatures,
// credentials, keys) replaced by "REDACTED", and without its fragment. A URL that does not parse is
// returned as a placeholder, since its text may hold a secret.
func RedactURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "<unparseable URL>"
	}
	return Redacted(u)
}

// Redacted is RedactURL for a parsed URL. It does not modify u.
func Redacted(u *url.URL) string {
	c := *u
	c.Fragment, c.RawFragment = "", "" // a storage URL has no use for one; it may hold anything
	if c.User != nil {
		if _, hasPass := c.User.Password(); hasPass {
			c.User = url.UserPassword("REDACTED", "REDACTED")
		} else {
			c.User = url.User("REDACTED")
		}
	}
	if c.RawQuery != "" {
		q := c.Query()
		for name, vals := range q {
			for i, v := range vals {
				switch {
				case isSecretParam(name):
					vals[i] = "REDACTED"
				case strings.Contains(v, "@"):
					// A URL inside a parameter (endpoint=http://user:pass@host) keeps its host only.
					if inner, err := url.Parse(v); err == nil && inner.User != nil {
						vals[i] = Redacted(inner)
					} else if err != nil {
						vals[i] = "REDACTED"
					}
				}
			}
		}
		c.RawQuery = q.Encode()
	}
	s := c.String()
	if c.Scheme != "" && c.Opaque == "" && c.Host == "" && c.User == nil && c.Path == "" && !c.OmitHost {
		// "mem://" parses to a URL without host or path, which String
		// writes as "mem:".
		s = c.Scheme + "://" + strings.TrimPrefix(s, c.Scheme+":")
	}
	return s
}

func isSecretParam(name string) bool {
	n := strings.ToLower(name)
	if strings.HasSuffix(n, "_path") || strings.HasSuffix(n, "_file") {
		return false // where a secret lives is not the secret
	}
	for _, s := range secretParams {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// Params reads the query parameters of a storage URL strictly: a driver asks
// for each parameter it knows, then Err reports the first bad value or any
// parameter nobody asked for, so a typo never passes silently. A parameter
// given twice is an error. Params is not safe for concurrent use.
type Params struct {
	q    url.Values
	seen map[string]bool
	err  error
}

// NewParams returns a reader of u's query.
func NewParams(u *url.URL) *Params {
	q, err := url.ParseQuery(u.RawQuery)
	p := &Params{q: q, seen: map[string]bool{}}
	if err != nil {
		p.err = Errorf(ErrInvalidArgument, "bad query in storage URL")
	}
	return p
}

func (p *Params) get(name string) (string, bool) {
	p.seen[name] = true
	v, ok := p.q[name]
	if !ok {
		return "", false
	}
	if len(v) > 1 && p.err == nil {
		p.err = Errorf(ErrInvalidArgument, "query parameter %q given %d times", name, len(v))
	}
	return v[0], true
}

func (p *Params) fail(name, want string) {
	if p.err == nil {
		// The value is not repeated: it might be a secret.
		p.err = Errorf(ErrInvalidArgument, "query parameter %q: want %s", name, want)
	}
}

// String returns the parameter's value, or def when it is absent.
func (p *Params) String(name, def string) string {
	if v, ok := p.get(name); ok {
		return v
	}
	return def
}

// Bool returns the parameter as a boolean (true, false, 1, 0), or def when absent.
func (p *Params) Bool(name string, def bool) bool {
	v, ok := p.get(name)
	if !ok {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		p.fail(name, "true or false")
		return def
	}
	return b
}

// Int returns the parameter as an integer, or def when absent. A value may
// carry a binary size suffix: 16MiB, 512KiB, 1GiB.
func (p *Params) Int(name string, def int64) int64 {
	v, ok := p.get(name)
	if !ok {
		return def
	}
	n, err := ParseSize(v)
	if err != nil {
		p.fail(name, "an integer such as 1048576 or 16MiB")
		return def
	}
	return n
}

// Duration returns the parameter as a time.Duration ("30s", "5m"), or def when absent.
func (p *Params) Duration(name string, def time.Duration) time.Duration {
	v, ok := p.get(name)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		p.fail(name, "a duration such as 30s")
		return def
	}
	return d
}

// Err returns the first bad value, or an error naming every parameter that was
// never asked for. Call it after reading all parameters.
func (p *Params) Err() error {
	if p.err != nil {
		return p.err
	}
	var unknown, known []string
	for name := range p.q {
		if !p.seen[name] {
			unknown = append(unknown, strconv.Quote(name))
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	for name := range p.seen {
		known = append(known, name)
	}
	slices.Sort(unknown)
	slices.Sort(known)
	return Errorf(ErrInvalidArgument, "unknown query parameter %s (known: %s)", strings.Join(unknown, ", "), strings.Join(known, ", "))
}

// ParseSize parses a byte count with an optional suffix: B, KiB, MiB, GiB,
// TiB (powers of 1024) or KB, MB, GB, TB (powers of 1000).
func ParseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1},
	}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	if n > (1<<63-1)/mult {
		return 0, fmt.Errorf("size %q overflows", s)
	}
	return n * mult, nil
}
