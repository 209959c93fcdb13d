package signurl_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/internal/signurl"
	"github.com/kitehq/kite/memory"
)

// A driver without a provider to sign for it keeps a Signer, hands out its
// URLs from PresignGet and PresignPut, and serves them with the Signer's
// Handler over the driver itself. Here a memory store without URLs of its own
// stands in for the driver, and httptest for the server where BaseURL points.
func Example() {
	store, err := memory.New(memory.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()

	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()

	s, err := signurl.New(signurl.Config{
		BaseURL: srv.URL + "/files/",
		Secret:  strings.Repeat("s", signurl.MinSecretLen), // use a random secret
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	mux.Handle("/files/", s.Handler(store))

	// An upload that must be text/plain of exactly 5 bytes.
	put, err := s.Presign(http.MethodPut, "notes/a b.txt", backend.PresignOptions{ContentType: "text/plain", Size: 5})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("PUT, signed type:", send(put, "hello"))
	put.Header.Set("Content-Type", "text/html")
	fmt.Println("PUT, other type:", send(put, "hello"))

	obj, err := store.Stat(context.Background(), "notes/a b.txt")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("stored:", obj.Key, obj.Size, obj.ContentType)

	get, err := s.Presign(http.MethodGet, "notes/a b.txt", backend.PresignOptions{ContentDisposition: `attachment; filename="a.txt"`})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("GET:", send(get, ""))
	// The signature covers the key: the same query on another path is refused.
	get.URL = strings.Replace(get.URL, "/notes/", "/other/", 1)
	fmt.Println("GET, other key:", send(get, ""))

	// Output:
	// PUT, signed type: 200
	// PUT, other type: 403
	// stored: notes/a b.txt 5 text/plain
	// GET: 200 attachment; filename="a.txt" hello
	// GET, other key: 403
}

// send makes req with a plain HTTP client, as a browser would, and returns
// the status, and for a successful GET the Content-Disposition and body.
func send(req *backend.PresignedRequest, body string) string {
	var r io.Reader
	if req.Method == http.MethodPut {
		r = strings.NewReader(body)
	}
	hr, err := http.NewRequest(req.Method, req.URL, r)
	if err != nil {
		return err.Error()
	}
	for k, v := range req.Header {
		hr.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if req.Method == http.MethodGet && resp.StatusCode == http.StatusOK {
		return fmt.Sprintf("%d %s %s", resp.StatusCode, resp.Header.Get("Content-Disposition"), data)
	}
	return fmt.Sprint(resp.StatusCode)
}
