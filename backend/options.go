package backend

import (
	"io"
	"time"
)

// Limits applied by the Check functions, the same on every driver so that an
// object accepted by one is accepted by all.
const (
	MaxMetadataBytes = 2048 // keys plus values, the smallest provider limit (S3)
	MaxPresignExpiry = 7 * 24 * time.Hour
	// DefaultPresignExpiry is used when PresignOptions.Expires is 0.
	DefaultPresignExpiry = 15 * time.Minute
	maxHeaderValueLen    = 1024
)

// CheckPut validates the arguments of Put before any I/O: the key, a nil
// reader, a negative size, the content type, the metadata, and IfNotExists
// combined with IfMatch. Drivers call it first; the error matches
// ErrInvalidKey or ErrInvalidArgument.
func CheckPut(key string, r io.Reader, opts PutOptions) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	if r == nil {
		return Errorf(ErrInvalidArgument, "nil reader")
	}
	if opts.Size < 0 {
		return Errorf(ErrInvalidArgument, "negative size %d", opts.Size)
	}
	if opts.IfNotExists && opts.IfMatch != "" {
		return Errorf(ErrInvalidArgument, "IfNotExists and IfMatch together")
	}
	if err := checkHeaderValue("content type", opts.ContentType); err != nil {
		return err
	}
	if err := checkHeaderValue("IfMatch", opts.IfMatch); err != nil {
		return err
	}
	return ValidateMetadata(opts.Metadata)
}

// ValidateMetadata checks user metadata: keys of 1 or more [a-z0-9-], values of
// printable ASCII without leading or trailing space, at most 2 KiB in all.
func ValidateMetadata(m map[string]string) error {
	total := 0
	for k, v := range m {
		if k == "" {
			return Errorf(ErrInvalidArgument, "metadata: empty key")
		}
		for i := 0; i < len(k); i++ {
			c := k[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return Errorf(ErrInvalidArgument, "metadata key %q: want lower-case [a-z0-9-]", k)
			}
		}
		for i := 0; i < len(v); i++ {
			if v[i] < 0x20 || v[i] > 0x7e {
				return Errorf(ErrInvalidArgument, "metadata %q: value is not printable ASCII", k)
			}
		}
		if len(v) > 0 && (v[0] == ' ' || v[len(v)-1] == ' ') {
			return Errorf(ErrInvalidArgument, "metadata %q: value has leading or trailing space", k)
		}
		total += len(k) + len(v)
	}
	if total > MaxMetadataBytes {
		return Errorf(ErrInvalidArgument, "metadata: %d bytes, more than %d", total, MaxMetadataBytes)
	}
	return nil
}

// CheckGet validates the arguments of Get before any I/O.
func CheckGet(key string, opts GetOptions) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	if opts.Offset < 0 {
		return Errorf(ErrInvalidArgument, "negative offset %d", opts.Offset)
	}
	if opts.Length < 0 {
		return Errorf(ErrInvalidArgument, "negative length %d", opts.Length)
	}
	return nil
}

// Range resolves the options against an object of size bytes and returns the
// offset and the number of bytes to read. An offset at or past the end of a
// non-empty object is ErrInvalidArgument; a length past the end is cut short.
func (o GetOptions) Range(size int64) (off, n int64, err error) {
	if o.Offset < 0 || o.Length < 0 {
		return 0, 0, Errorf(ErrInvalidArgument, "negative offset or length")
	}
	if o.Offset > 0 && o.Offset >= size {
		return 0, 0, Errorf(ErrInvalidArgument, "offset %d past the end of a %d-byte object", o.Offset, size)
	}
	n = size - o.Offset
	if o.Length > 0 && o.Length < n {
		n = o.Length
	}
	return o.Offset, n, nil
}

// IsWhole reports whether the options ask for the whole object.
func (o GetOptions) IsWhole() bool { return o.Offset == 0 && o.Length == 0 }

// CheckCopy validates the keys of Copy before any I/O and returns, with the
// error, the key that breaks the rules, for the driver's *Error.
func CheckCopy(dst, src string) (badKey string, err error) {
	if err := ValidateKey(dst); err != nil {
		return dst, err
	}
	if err := ValidateKey(src); err != nil {
		return src, err
	}
	return "", nil
}

// MatchesNothing reports whether no valid key can match the options: a
// prefix longer than MaxKeyLen. Drivers yield nothing then instead of asking
// a provider that would refuse the prefix.
func (o ListOptions) MatchesNothing() bool { return len(o.Prefix) > MaxKeyLen }

// CheckList validates the options of List.
func CheckList(opts ListOptions) error {
	if opts.PageSize < 0 {
		return Errorf(ErrInvalidArgument, "negative page size %d", opts.PageSize)
	}
	return nil
}

// CheckPresign validates the arguments of PresignGet (method "GET") or
// PresignPut ("PUT") and returns the expiry to sign: DefaultPresignExpiry for
// 0, ErrInvalidArgument when negative or over 7 days. Options that do not
// apply to the method (ContentType or Size on GET, ContentDisposition on PUT)
// are errors rather than silently dropped.
func CheckPresign(method, key string, opts PresignOptions) (time.Duration, error) {
	if err := ValidateKey(key); err != nil {
		return 0, err
	}
	exp := opts.Expires
	switch {
	case exp == 0:
		exp = DefaultPresignExpiry
	case exp < time.Second:
		return 0, Errorf(ErrInvalidArgument, "expiry %v: want at least 1s", exp)
	case exp > MaxPresignExpiry:
		return 0, Errorf(ErrInvalidArgument, "expiry %v: more than 7 days", exp)
	}
	switch method {
	case "GET":
		if opts.ContentType != "" || opts.Size != 0 {
			return 0, Errorf(ErrInvalidArgument, "ContentType and Size apply to a presigned PUT, not GET")
		}
	case "PUT":
		if opts.ContentDisposition != "" {
			return 0, Errorf(ErrInvalidArgument, "ContentDisposition applies to a presigned GET, not PUT")
		}
		if opts.Size < 0 {
			return 0, Errorf(ErrInvalidArgument, "negative size %d", opts.Size)
		}
	default:
		return 0, Errorf(ErrInvalidArgument, "presign method %q: want GET or PUT", method)
	}
	if err := checkHeaderValue("content type", opts.ContentType); err != nil {
		return 0, err
	}
	if err := checkHeaderValue("content disposition", opts.ContentDisposition); err != nil {
		return 0, err
	}
	return exp, nil
}

// checkHeaderValue rejects what cannot travel unchanged in an HTTP header.
func checkHeaderValue(what, v string) error {
	if len(v) > maxHeaderValueLen {
		return Errorf(ErrInvalidArgument, "%s: %d bytes, more than %d", what, len(v), maxHeaderValueLen)
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return Errorf(ErrInvalidArgument, "%s: not printable ASCII", what)
		}
	}
	if len(v) > 0 && (v[0] == ' ' || v[len(v)-1] == ' ') {
		return Errorf(ErrInvalidArgument, "%s: leading or trailing space", what)
	}
	return nil
}
