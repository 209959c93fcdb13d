package local

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/kitehq/kite/backend"
)

// Names on disk. Valid key segments never contain a backslash
// (backend.ValidateKey forbids it), so a backslash marks every name the
// driver makes: no object, directory or internal file can collide with
// another, and a key such as "x.tmp" or "x.attrs" is just a key.
const (
	// objectSuffix ends the file name of an object whose last key segment S
	// is at most 254 bytes: the file is S + `\`.
	objectSuffix = `\`
	// longPrefix starts the name of an object whose last segment is 255
	// bytes, too long for the suffix: `\h` + hex(sha256(S)). Its key is read
	// from the file's trailer.
	longPrefix = `\h`
	// tempPrefix starts every temporary file: `\t` + random hex.
	tempPrefix = `\t`

	longNameLen = len(longPrefix) + 2*sha256.Size
)

// keyPath returns where key's object lives: the directory, slash-separated
// and relative to the root ("." for the root itself), and the file name in it.
// Intermediate segments are directories named exactly as the segment. An
// invalid key is an error matching backend.ErrInvalidKey.
func keyPath(key string) (dir, name string, err error) {
	if err := backend.ValidateKey(key); err != nil {
		return "", "", err
	}
	dir, last := ".", key
	if i := strings.LastIndexByte(key, '/'); i >= 0 {
		dir, last = key[:i], key[i+1:]
	}
	return dir, objectName(last), nil
}

// objectName returns the file name of an object whose last key segment is seg.
func objectName(seg string) string {
	if len(seg) < backend.MaxSegmentLen {
		return seg + objectSuffix
	}
	return longName(seg)
}

func longName(seg string) string {
	sum := sha256.Sum256([]byte(seg))
	return longPrefix + hex.EncodeToString(sum[:])
}

// joinPath joins a directory from keyPath and a name in it.
func joinPath(dir, name string) string {
	if dir == "." {
		return name
	}
	return dir + "/" + name
}

// isLongName reports whether name has the form of a long-name object file:
// `\h` and exactly 64 lower-case hex digits. Other internal names starting
// with `\h` can therefore never be mistaken for one.
func isLongName(name string) bool {
	if len(name) != longNameLen || !strings.HasPrefix(name, longPrefix) {
		return false
	}
	for i := len(longPrefix); i < len(name); i++ {
		c := name[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// shortSegment returns the key segment of an object file named S + `\`, or
// false when name is not one (internal names, directories, foreign files).
func shortSegment(name string) (string, bool) {
	seg, ok := strings.CutSuffix(name, objectSuffix)
	if !ok || !validSegment(seg) || len(seg) >= backend.MaxSegmentLen {
		return "", false
	}
	return seg, true
}

// validSegment reports whether s may be one segment of a key, so that names
// planted in the directory by something else are never listed as keys.
func validSegment(s string) bool {
	return !strings.Contains(s, "/") && backend.ValidateKey(s) == nil
}
