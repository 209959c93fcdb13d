package local

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var trailerCases = []attrs{
	{V: 1, Key: "a/b/c", ContentType: "text/plain", ETag: "0123abcd", MTime: 1733300000123456789},
	{V: 1, Key: "ü/日本/x y%+?#", ContentType: "application/octet-stream", ETag: "e", MTime: 0,
		Metadata: map[string]string{"b": "2", "a": "1", "owner-id": "x y"}},
	{V: 1, Key: `quote"and\backslash`, ContentType: "text/html; charset=utf-8", ETag: "e", MTime: -5},
	{V: 1, Key: "k", ContentType: "a<b>&c", ETag: "e", MTime: 7, Metadata: map[string]string{"m": "<&>"}},
	{V: 1, Key: "line\u2028sep", ContentType: "t", ETag: "e", MTime: 1},
	{V: 1, Key: "bad utf-8 \xff", ContentType: "t", ETag: "e", MTime: 1},
	{V: 2, Key: "k", ContentType: "", ETag: "", MTime: 1, Metadata: map[string]string{}},
}

// TestTrailerMatchesEncodingJSON checks that the hand-written trailer
// codec writes and reads exactly what encoding/json does.
func TestTrailerMatchesEncodingJSON(t *testing.T) {
	for _, a := range trailerCases {
		t.Run(a.Key, func(t *testing.T) {
			want, err := json.Marshal(&a)
			require.NoError(t, err)
			got := encodeAttrs(nil, &a)
			assert.Equal(t, string(want), string(got), "encoded")

			var viaJSON, viaFast attrs
			require.NoError(t, json.Unmarshal(got, &viaJSON))
			require.NoError(t, decodeAttrs(got, &viaFast, a.Key))
			assert.Equal(t, viaJSON, viaFast, "decoded")
		})
	}
}

func TestTrailerDecodeFallsBack(t *testing.T) {
	for _, j := range []string{
		`{"key":"k","v":1,"content_type":"t","etag":"e","mtime":1}`,       // another order
		`{"v":1,"key":"k\u0041","content_type":"t","etag":"e","mtime":1}`, // an escape
		`{"v":1, "key":"k","content_type":"t","etag":"e","mtime":1}`,      // a space
		`{"v":1,"key":"k","content_type":"t","etag":"e","mtime":1,"x":2}`, // an unknown field
	} {
		var want, got attrs
		require.NoError(t, json.Unmarshal([]byte(j), &want), j)
		require.NoError(t, decodeAttrs([]byte(j), &got, "k"), j)
		assert.Equal(t, want, got, j)
	}
	for _, j := range []string{``, `{`, `{"v":1,"key":"k`, `{"v":01,"key":"k","content_type":"t","etag":"e","mtime":1}`, `{"v":1,"key":"k","content_type":"t","etag":"e","mtime":1}x`} {
		var got attrs
		assert.Error(t, decodeAttrs([]byte(j), &got, "k"), j)
	}
}

// FuzzTrailer: whatever the fast decoder accepts, encoding/json accepts
// with the same result, and every attrs round-trips.
func FuzzTrailer(f *testing.F) {
	for _, a := range trailerCases {
		f.Add(encodeAttrs(nil, &a))
	}
	f.Add([]byte(`{"v":1,"key":"k","content_type":"t","metadata":{"a":"1","a":"2"},"etag":"e","mtime":-0}`))
	f.Fuzz(func(t *testing.T, j []byte) {
		var fast attrs
		if (&attrDecoder{j: j}).decode(&fast) {
			var slow attrs
			require.NoError(t, json.Unmarshal(j, &slow), "fast decoder accepted %q", j)
			assert.Equal(t, slow, fast, "%q", j)
		}
		var a attrs
		if json.Unmarshal(j, &a) == nil {
			var back attrs
			require.NoError(t, decodeAttrs(encodeAttrs(nil, &a), &back, ""))
			if len(a.Metadata) == 0 {
				a.Metadata, back.Metadata = nil, nil // omitempty
			}
			assert.Equal(t, a, back)
		}
	})
}
