package local

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
)

func TestKeyPath(t *testing.T) {
	t.Parallel()
	s254 := strings.Repeat("x", 254)
	s255 := strings.Repeat("y", 255)
	tests := []struct {
		key, dir, name string
	}{
		{"a", ".", `a\`},
		{"a/b", "a", `b\`},
		{"a/b/c.tmp", "a/b", `c.tmp\`},
		{".hidden", ".", `.hidden\`},
		{"ü/日本", "ü", `日本\`},
		{s254, ".", s254 + `\`},
		{"d/" + s255, "d", longName(s255)},
		{s255 + "/z", s255, `z\`},
	}
	for _, tt := range tests {
		dir, name, err := keyPath(tt.key)
		require.NoError(t, err, tt.key)
		assert.Equal(t, tt.dir, dir, tt.key)
		assert.Equal(t, tt.name, name, tt.key)
	}
	assert.True(t, isLongName(longName(s255)))
	assert.False(t, isLongName(`\health-0123`))
	assert.Len(t, s254+`\`, 255, "fits NAME_MAX")

	for _, bad := range []string{"", "/a", "a/", "a//b", ".", "a/..", `a\b`, "a\x00", strings.Repeat("z", 256)} {
		_, _, err := keyPath(bad)
		assert.ErrorIs(t, err, backend.ErrInvalidKey, "%q", bad)
	}
}

func FuzzKeyPath(f *testing.F) {
	for _, k := range []string{
		"a", "a/b", "a b", "100%", "x+y", "q?a=1#f", "ü/日本", ".hidden", "x.tmp", "x.attrs",
		"..a", "a..", "...", "./a", "a/./b", "../a", `\t0`, `a\`, `\h00`, "a/\u00a0",
		strings.Repeat("s", 254), strings.Repeat("l", 255), strings.Repeat("a/", 300) + "b",
		strings.Repeat("é", 128), "\xff", "a\x7f", "\u0085",
	} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		dir, name, err := keyPath(key)
		if backend.ValidateKey(key) != nil {
			if err == nil {
				t.Fatalf("keyPath(%q) accepted an invalid key", key)
			}
			return
		}
		if err != nil {
			t.Fatalf("keyPath(%q): %v", key, err)
		}
		p := joinPath(dir, name)
		if !filepath.IsLocal(p) {
			t.Fatalf("keyPath(%q) = %q: not local", key, p)
		}
		for _, c := range strings.Split(p, "/") {
			if c == "." || c == ".." || c == "" {
				t.Fatalf("keyPath(%q) = %q: component %q", key, p, c)
			}
			if len(c) > 255 {
				t.Fatalf("keyPath(%q) = %q: component longer than NAME_MAX", key, p)
			}
		}
		// Map back: directories are the segments, the name the last one.
		last := key[strings.LastIndexByte(key, '/')+1:]
		wantDir := "."
		if i := strings.LastIndexByte(key, '/'); i >= 0 {
			wantDir = key[:i]
		}
		if dir != wantDir {
			t.Fatalf("keyPath(%q): dir %q", key, dir)
		}
		if seg, ok := shortSegment(name); ok {
			if seg != last {
				t.Fatalf("keyPath(%q): name %q maps back to %q", key, name, seg)
			}
		} else if !isLongName(name) || len(last) != 255 || longName(last) != name {
			t.Fatalf("keyPath(%q): name %q maps back to nothing", key, name)
		}
		if strings.HasPrefix(name, tempPrefix) {
			t.Fatalf("keyPath(%q): object name %q looks temporary", key, name)
		}
	})
}
