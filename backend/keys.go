package backend

import (
	"strings"
	"unicode/utf8"
)

// Key limits of ValidateKey.
const (
	MaxKeyLen     = 1024 // bytes
	MaxSegmentLen = 255  // bytes between slashes
)

// ValidateKey reports whether key may be stored, with an error matching
// ErrInvalidKey that says why when it may not. The rule is the same on every
// driver: valid UTF-8; 1 to 1024 bytes; each "/"-separated segment 1 to 255
// bytes and neither "." nor ".."; no leading or trailing "/"; no control
// character (C0, DEL, C1) and no backslash. Every key that passes round-trips
// byte for byte on every driver.
func ValidateKey(key string) error {
	if key == "" {
		return Errorf(ErrInvalidKey, "invalid key: empty")
	}
	if len(key) > MaxKeyLen {
		return Errorf(ErrInvalidKey, "invalid key: %d bytes, more than %d", len(key), MaxKeyLen)
	}
	if !utf8.ValidString(key) {
		return Errorf(ErrInvalidKey, "invalid key: not valid UTF-8")
	}
	for i, r := range key {
		switch {
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
			return Errorf(ErrInvalidKey, "invalid key: control character %U at byte %d", r, i)
		case r == '\\':
			return Errorf(ErrInvalidKey, "invalid key: backslash at byte %d", i)
		}
	}
	rest := key
	for {
		seg, tail, more := strings.Cut(rest, "/")
		switch {
		case seg == "":
			return Errorf(ErrInvalidKey, "invalid key: empty segment (leading, trailing or double slash)")
		case seg == "." || seg == "..":
			return Errorf(ErrInvalidKey, "invalid key: %q segment", seg)
		case len(seg) > MaxSegmentLen:
			return Errorf(ErrInvalidKey, "invalid key: segment of %d bytes, more than %d", len(seg), MaxSegmentLen)
		}
		if !more {
			return nil
		}
		rest = tail
	}
}
