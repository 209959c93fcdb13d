package conformance

import (
	"fmt"
	"strings"

	"github.com/stretchr/testify/assert"

	"github.com/kitehq/kite/backend"
)

func checkGetRange(t T, h Harness) {
	b, ctx := setup(t, h)
	const key = "range/obj"
	data := content("range", 1000)
	obj := put(t, ctx, b, key, data, backend.PutOptions{ContentType: "text/plain"})
	cases := []struct{ off, length, from, n int64 }{
		{0, 0, 0, 1000},
		{10, 0, 10, 990},
		{10, 20, 10, 20},
		{990, 100, 990, 10},
		{999, 1, 999, 1},
		{999, 0, 999, 1},
		{0, 1, 0, 1},
		{0, 1000, 0, 1000},
		{0, 5000, 0, 1000},
		{500, 250, 500, 250},
	}
	for _, c := range cases {
		what := fmt.Sprintf("key %s (1000 bytes): Get with Offset %d, Length %d", kq(key), c.off, c.length)
		got, gobj, err := getAll(ctx, b, key, backend.GetOptions{Offset: c.off, Length: c.length})
		if !assert.NoError(t, err, what) {
			continue
		}
		assertBytes(t, data[c.from:c.from+c.n], got, what)
		assert.Equal(t, int64(1000), gobj.Size, "%s: Object.Size is the size of the whole object", what)
		assert.Equal(t, key, gobj.Key, "%s: Key", what)
		assert.Equal(t, obj.ETag, gobj.ETag, "%s: ETag", what)
		assert.Equal(t, "text/plain", gobj.ContentType, "%s: ContentType", what)
	}
	bad := []struct{ off, length int64 }{
		{-1, 0}, {0, -1}, {-5, -5}, {1000, 0}, {1000, 1}, {5000, 0}, {5000, 10},
	}
	for _, c := range bad {
		what := fmt.Sprintf("key %s (1000 bytes): Get with Offset %d, Length %d", kq(key), c.off, c.length)
		rc, _, err := b.Get(ctx, key, backend.GetOptions{Offset: c.off, Length: c.length})
		if rc != nil {
			rc.Close()
		}
		assertKind(t, err, backend.ErrInvalidArgument, "Get", what)
	}

	const empty = "range/empty"
	put(t, ctx, b, empty, nil, backend.PutOptions{})
	got, gobj, err := getAll(ctx, b, empty, backend.GetOptions{})
	if assert.NoError(t, err, "empty key %s: Get", kq(empty)) {
		assert.Empty(t, got, "empty key %s: Get", kq(empty))
		assert.Equal(t, int64(0), gobj.Size, "empty key %s: Get: Size", kq(empty))
	}
	rc, _, err := b.Get(ctx, empty, backend.GetOptions{Offset: 1})
	if rc != nil {
		rc.Close()
	}
	assertKind(t, err, backend.ErrInvalidArgument, "Get", "empty key "+kq(empty)+": Get with Offset 1")
}

func checkErrorsInvalidKey(t T, h Harness) {
	b, ctx := setup(t, h)
	const valid = "valid"
	orig := put(t, ctx, b, valid, []byte("valid content"), backend.PutOptions{})
	for _, key := range invalidKeys {
		if backend.ValidateKey(key) == nil {
			t.Fatalf("the suite's invalid key %s passes backend.ValidateKey", kq(key))
		}
		check := func(op string, err error, what string) {
			t.Helper()
			what = fmt.Sprintf("invalid key %s: %s", kq(key), what)
			if assertKind(t, err, backend.ErrInvalidKey, op, what) {
				assertErrKey(t, err, what, key)
			}
		}
		_, err := b.Put(ctx, key, strings.NewReader("x"), backend.PutOptions{})
		check("Put", err, "Put")
		rc, _, err := b.Get(ctx, key, backend.GetOptions{})
		if rc != nil {
			rc.Close()
		}
		check("Get", err, "Get")
		_, err = b.Stat(ctx, key)
		check("Stat", err, "Stat")
		check("Delete", b.Delete(ctx, key), "Delete")
		_, err = b.Copy(ctx, key, valid)
		check("Copy", err, "Copy to it")
		_, err = b.Copy(ctx, valid, key)
		check("Copy", err, "Copy from it")
		if h.NoPresign == "" {
			_, err = b.PresignGet(ctx, key, backend.PresignOptions{})
			check("PresignGet", err, "PresignGet")
			_, err = b.PresignPut(ctx, key, backend.PresignOptions{})
			check("PresignPut", err, "PresignPut")
		}
	}
	keys, _ := listKeys(t, ctx, b, backend.ListOptions{}, "List after the invalid keys")
	assertKeys(t, []string{valid}, keys, "List after calls with invalid keys")
	assertUnchanged(t, ctx, b, valid, []byte("valid content"), orig.ETag, "after Copy from invalid keys")
}

func checkErrorsNotFound(t T, h Harness) {
	b, ctx := setup(t, h)
	put(t, ctx, b, "dir/x", []byte("x"), backend.PutOptions{})
	present := put(t, ctx, b, "present", []byte("present"), backend.PutOptions{})
	const dst = "copy-dst"
	missing := []string{"missing", "dir", "dir/x/y", "presen", "present/x", "ü/日本", "Present"}
	for _, key := range missing {
		check := func(op string, err error, what string, keys ...string) {
			t.Helper()
			what = fmt.Sprintf("missing key %s: %s", kq(key), what)
			if assertKind(t, err, backend.ErrNotFound, op, what) {
				assertErrKey(t, err, what, keys...)
			}
		}
		rc, _, err := b.Get(ctx, key, backend.GetOptions{})
		if err == nil {
			t.Errorf("missing key %s: Get returned no error: a missing key fails at Get, not at the first Read", kq(key))
		}
		if rc != nil {
			rc.Close()
		}
		check("Get", err, "Get", key)
		rc, _, err = b.Get(ctx, key, backend.GetOptions{Offset: 5, Length: 2})
		if rc != nil {
			rc.Close()
		}
		check("Get", err, "Get with a range", key)
		_, err = b.Stat(ctx, key)
		check("Stat", err, "Stat", key)
		_, err = b.Copy(ctx, dst, key)
		check("Copy", err, "Copy from it", key, dst)
		assertMissing(t, ctx, b, dst, fmt.Sprintf("after Copy from missing key %s", kq(key)))
		_, err = b.Copy(ctx, "present", key)
		check("Copy", err, "Copy from it onto an existing key", key, "present")
		assertUnchanged(t, ctx, b, "present", []byte("present"), present.ETag, fmt.Sprintf("after Copy from missing key %s", kq(key)))
		if h.NoPresign == "" {
			_, err = b.PresignGet(ctx, key, backend.PresignOptions{})
			assert.NoError(t, err, "missing key %s: PresignGet does not check that the key exists", kq(key))
		}
	}
}
