package memory_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/memory"
)

// A memory store with presigned URLs: mount its Handler where BaseURL points.
func Example() {
	ctx := context.Background()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()

	b, err := memory.New(memory.Options{BaseURL: srv.URL + "/files/", Secret: strings.Repeat("x", 32)})
	if err != nil {
		fmt.Println(err)
		return
	}
	mux.Handle("/files/", b.Handler())

	if _, err := b.Put(ctx, "notes/hello.txt", strings.NewReader("hello"), backend.PutOptions{ContentType: "text/plain"}); err != nil {
		fmt.Println(err)
		return
	}
	req, err := b.PresignGet(ctx, "notes/hello.txt", backend.PresignOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	resp, err := http.Get(req.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"), string(body))
	// Output: 200 text/plain hello
}
