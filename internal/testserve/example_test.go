package testserve_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/internal/testserve"
	"github.com/kitehq/kite/memory"
)

// Two memory backends, each with its Handler mounted in a slot of one
// server: their presigned URLs name the same host and differ by path. In a
// test, pass t.Cleanup to New and Slot; here the cleanups are run by hand.
func Example() {
	var cleanups []func()
	cleanup := func(f func()) { cleanups = append(cleanups, f) }
	defer func() {
		for _, f := range slices.Backward(cleanups) {
			f()
		}
	}()

	ctx := context.Background()
	mux := testserve.New(cleanup)
	for i := range 2 {
		base, mount := mux.Slot(cleanup)
		b, err := memory.New(memory.Options{BaseURL: base, Secret: strings.Repeat("x", 32)})
		if err != nil {
			fmt.Println(err)
			return
		}
		defer b.Close()
		mount(b.Handler())

		if _, err := b.Put(ctx, "k", strings.NewReader(fmt.Sprint("store ", i)), backend.PutOptions{}); err != nil {
			fmt.Println(err)
			return
		}
		req, err := b.PresignGet(ctx, "k", backend.PresignOptions{})
		if err != nil {
			fmt.Println(err)
			return
		}
		u, err := url.Parse(req.URL)
		if err != nil {
			fmt.Println(err)
			return
		}
		resp, err := http.Get(req.URL)
		if err != nil {
			fmt.Println(err)
			return
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(u.Host == mux.Host(), u.Path, resp.StatusCode, string(data))
	}
	// Output:
	// true /s1/files/k 200 store 0
	// true /s2/files/k 200 store 1
}
