package conformance

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// trickyKeys are valid keys that drivers get wrong: URL and shell
// metacharacters, percent signs that must not be decoded, names that look
// like a driver's own temporary or metadata files, a key that is also the
// parent "directory" of another, case and Unicode normalisation twins, and
// the length limits. Every check that stores keys uses them, through tricky
// or keysFor, never directly.
var trickyKeys = []string{
	"a",
	"a/b",
	"a-c",
	"a0",
	"a b",
	" lead",
	"trail ",
	"100%",
	"%00",
	"%2e%2e",
	"a%2Fb",
	"x+y",
	"q?a=1#f",
	"ü/日本",
	"caf\u00e9",  // NFC
	"cafe\u0301", // NFD: another key, byte for byte
	"Case",
	"case",
	".hidden",
	"x.tmp",
	"x.attrs",
	"dir/.kite",
	".kite",
	"...",
	"end.",
	"~tilde",
	"semi;colon",
	"amp&er=sand",
	`quote"s'`,
	"star*",
	"<angle>",
	"emoji😀",
	"long/" + strings.Repeat("日", 85), // a 255-byte last segment of 3-byte runes
	key1024,
	"deep/a/b/c/d/e/f/g",
}

// tricky returns the tricky keys one backend of h can hold at once.
func tricky(h Harness) []string { return keysFor(h, trickyKeys) }

// keysFor returns the keys of sets, in their order, as one backend of h can
// hold them at once: all of them, or, when h.NoParentKeys is set, without
// each key that is the "/"-parent of another ("a" beside "a/b"; "p" and
// "p/q" beside "p/q/r"). A check passes everything it stores over the
// backend's life through keysFor, in one call, and derives what it expects
// from the result. The slice is new.
func keysFor(h Harness, sets ...[]string) []string {
	keys := slices.Concat(sets...)
	if h.MaxKeyLen > 0 {
		keys = slices.DeleteFunc(keys, func(k string) bool { return len(k) > h.MaxKeyLen })
	}
	if h.NoParentKeys == "" {
		return keys
	}
	parents := map[string]bool{}
	for _, k := range keys {
		for i := range len(k) {
			if k[i] == '/' {
				parents[k[:i]] = true
			}
		}
	}
	return slices.DeleteFunc(keys, func(k string) bool { return parents[k] })
}

// TrickyKeys returns the suite's table of valid keys that drivers get wrong
// (escaping, Unicode, look-alike internal names, length limits), for tests
// of a driver's own that want the same table. The slice is new on each call.
func TrickyKeys() []string { return slices.Clone(trickyKeys) }

// key1024 is a key of exactly 1024 bytes, of 255-byte segments where they fit.
var key1024 = strings.Repeat("1", 255) + "/" + strings.Repeat("2", 255) + "/" +
	strings.Repeat("3", 255) + "/" + strings.Repeat("4", 254) + "/5"

// invalidKeys break the key rules; every method must refuse them with
// ErrInvalidKey before any I/O.
var invalidKeys = []string{
	"",
	"/",
	"/a",
	"a/",
	"a//b",
	".",
	"..",
	"./a",
	"a/.",
	"a/./b",
	"a/../b",
	"../a",
	`a\b`,
	"a\x00b",
	"a\nb",
	"a\tb",
	"a\x1fb",
	"a\x7fb",
	"a\u0085b", // C1
	"a\u009fb", // C1
	"\xff",
	"a\xed\xa0\x80b", // an encoded surrogate half
	"\xc0\xaf",       // an overlong "/"
	strings.Repeat("k", 1025),
	"seg/" + strings.Repeat("s", 256),
}

// kq quotes a key for a failure message, shortening a long one.
func kq(key string) string {
	if len(key) <= 48 {
		return fmt.Sprintf("%q", key)
	}
	cut := 24
	for cut > 0 && !utf8.RuneStart(key[cut]) {
		cut--
	}
	return fmt.Sprintf("%q…(%d bytes)", key[:cut], len(key))
}
