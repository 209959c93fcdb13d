package backend_test

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
)

var validKeys = []string{
	"a", "a/b", "a b", "100%", "x+y", "q?a=1#f", "ü/日本", ".hidden", "x.tmp", "x.attrs",
	"...", "a/.b/..c", "~", "emoji😀", strings.Repeat("s", 255), strings.Repeat("s/", 511) + "ss",
}

var invalidKeys = []string{
	"", "/a", "a/", "a//b", ".", "..", "a/./b", "a/../b", "./a", "a/..",
	"a\\b", "a\x00b", "a\nb", "a\tb", "a\x7fb", "a\u0085b", "a\u009fb", "\xff", "a\xc3",
	strings.Repeat("s", 256), strings.Repeat("s/", 512) + "s", strings.Repeat("a", 1025),
}

func TestValidateKey(t *testing.T) {
	t.Parallel()
	for _, k := range validKeys {
		assert.NoError(t, backend.ValidateKey(k), "%q", k)
	}
	for _, k := range invalidKeys {
		err := backend.ValidateKey(k)
		require.Error(t, err, "%q", k)
		assert.ErrorIs(t, err, backend.ErrInvalidKey, "%q", k)
		assert.ErrorIs(t, err, fs.ErrInvalid, "%q", k)
		assert.NotErrorIs(t, err, backend.ErrInvalidArgument, "%q", k)
	}
	assert.Len(t, strings.Repeat("s/", 511)+"ss", 1024)
}

func FuzzValidateKey(f *testing.F) {
	for _, k := range append(validKeys, invalidKeys...) {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		err := backend.ValidateKey(key)
		if err != nil {
			if !errors.Is(err, backend.ErrInvalidKey) {
				t.Fatalf("%q: error %v does not match ErrInvalidKey", key, err)
			}
			return
		}
		// Whatever passes obeys every rule, checked here independently.
		if len(key) == 0 || len(key) > 1024 || !utf8.ValidString(key) || strings.ContainsAny(key, "\\\x00") {
			t.Fatalf("%q passed", key)
		}
		for _, r := range key {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) {
				t.Fatalf("%q passed with control character %U", key, r)
			}
		}
		for _, seg := range strings.Split(key, "/") {
			if seg == "" || seg == "." || seg == ".." || len(seg) > 255 {
				t.Fatalf("%q passed with segment %q", key, seg)
			}
		}
	})
}

func TestSentinels(t *testing.T) {
	t.Parallel()
	all := []error{backend.ErrNotFound, backend.ErrExists, backend.ErrPrecondition, backend.ErrInvalidKey,
		backend.ErrInvalidArgument, backend.ErrPermission, backend.ErrUnsupported}
	also := map[error]error{
		backend.ErrNotFound:        fs.ErrNotExist,
		backend.ErrExists:          fs.ErrExist,
		backend.ErrInvalidKey:      fs.ErrInvalid,
		backend.ErrInvalidArgument: fs.ErrInvalid,
		backend.ErrPermission:      fs.ErrPermission,
		backend.ErrUnsupported:     errors.ErrUnsupported,
	}
	for _, s := range all {
		err := &backend.Error{Op: "Get", Driver: "test", Key: "k", Err: s}
		for _, other := range all {
			assert.Equal(t, s == other, errors.Is(err, other), "%v vs %v", s, other)
		}
		if fsErr, ok := also[s]; ok {
			assert.ErrorIs(t, err, fsErr)
		}
	}
	assert.NotErrorIs(t, backend.ErrPrecondition, fs.ErrExist)
}

type providerError struct{ code string }

func (p *providerError) Error() string { return "provider says " + p.code }

func TestErrorWrapping(t *testing.T) {
	t.Parallel()
	cause := &providerError{"NoSuchKey"}
	err := &backend.Error{Op: "Stat", Driver: "s3", Key: "a b", Err: backend.Mark(backend.ErrNotFound, cause)}
	assert.Equal(t, `s3: Stat "a b": object not found: provider says NoSuchKey`, err.Error())
	assert.ErrorIs(t, err, backend.ErrNotFound)
	assert.ErrorIs(t, err, fs.ErrNotExist)
	var pe *providerError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "NoSuchKey", pe.code)
	var be *backend.Error
	require.ErrorAs(t, err, &be)
	assert.Equal(t, "a b", be.Key)

	e2 := backend.Errorf(backend.ErrInvalidArgument, "offset %d past the end", 9)
	assert.Equal(t, "offset 9 past the end", e2.Error())
	assert.ErrorIs(t, e2, fs.ErrInvalid)
}

func TestRange(t *testing.T) {
	t.Parallel()
	tests := []struct {
		off, length, size int64
		wantOff, wantN    int64
		bad               bool
	}{
		{0, 0, 1000, 0, 1000, false},
		{10, 0, 1000, 10, 990, false},
		{10, 20, 1000, 10, 20, false},
		{990, 100, 1000, 990, 10, false},
		{999, 1, 1000, 999, 1, false},
		{1000, 0, 1000, 0, 0, true},
		{5000, 1, 1000, 0, 0, true},
		{0, 0, 0, 0, 0, false},
		{0, 5, 0, 0, 0, false},
		{-1, 0, 10, 0, 0, true},
		{0, -1, 10, 0, 0, true},
	}
	for _, tt := range tests {
		off, n, err := backend.GetOptions{Offset: tt.off, Length: tt.length}.Range(tt.size)
		if tt.bad {
			assert.ErrorIs(t, err, backend.ErrInvalidArgument, "%+v", tt)
			continue
		}
		require.NoError(t, err, "%+v", tt)
		assert.Equal(t, [2]int64{tt.wantOff, tt.wantN}, [2]int64{off, n}, "%+v", tt)
	}
}
