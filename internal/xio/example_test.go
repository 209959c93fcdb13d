package xio_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/internal/xio"
)

// A driver wraps a Put's reader in Exact when the caller declared a size, so
// that a body of another length fails before the store commits it: a longer
// one fails before its last declared bytes are handed out.
func ExampleExact() {
	for _, body := range []string{"hello", "hell", "hello!"} {
		data, err := io.ReadAll(xio.Exact(strings.NewReader(body), 5))
		fmt.Printf("%q: read %q, err %v, invalid argument %t\n",
			body, data, err, errors.Is(err, backend.ErrInvalidArgument))
	}
	// Output:
	// "hello": read "hello", err <nil>, invalid argument false
	// "hell": read "hell", err reader ended before the declared size, invalid argument true
	// "hello!": read "", err reader is longer than the declared size, invalid argument true
}

// Context stops a copy loop once the context is done, even when the reader
// beneath never looks at a context.
func ExampleContext() {
	ctx, cancel := context.WithCancel(context.Background())
	r := xio.Context(ctx, strings.NewReader("abcdef"))

	buf := make([]byte, 3)
	n, err := r.Read(buf)
	fmt.Printf("%q %v\n", buf[:n], err)
	cancel()
	n, err = r.Read(buf)
	fmt.Printf("%q %v %t\n", buf[:n], err, xio.IsContext(err))
	// Output:
	// "abc" <nil>
	// "" context canceled true
}

// SizeOf tells a driver the length of a body it was not given, without
// reading it: a single upload instead of a multipart one.
func ExampleSizeOf() {
	r := strings.NewReader("hello, world")
	_, _ = io.CopyN(io.Discard, r, 7)
	n, ok := xio.SizeOf(r)
	fmt.Println(n, ok)

	n, ok = xio.SizeOf(io.MultiReader(r)) // a reader that cannot tell
	fmt.Println(n, ok)
	// Output:
	// 5 true
	// 0 false
}
