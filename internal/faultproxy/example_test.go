package faultproxy_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/kitehq/kite/internal/faultproxy"
)

// A proxy between an HTTP client and a server cuts the next response after
// 64 KiB: the client sees a body that ends early, and the request after it
// goes through whole. A test points a driver's endpoint at Addr the same way.
func Example() {
	body := bytes.Repeat([]byte("kite"), 256<<10) // 1 MiB
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		_, _ = w.Write(body)
	}))
	defer srv.Close()

	p, err := faultproxy.New(strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()

	// One connection per request, so that a fault on "the next connection"
	// strikes the next request.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	p.Inject(1, faultproxy.Fault{Action: faultproxy.Cut, Dir: faultproxy.Downstream, After: 64 << 10})

	for range 2 {
		resp, err := client.Get("http://" + p.Addr() + "/object")
		if err != nil {
			fmt.Println(err)
			return
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("status %d, whole %t, unexpected EOF %t\n",
			resp.StatusCode, bytes.Equal(data, body), errors.Is(err, io.ErrUnexpectedEOF))
	}
	s := p.Stats()
	fmt.Printf("%d connections, %d cut, %d pending\n", s.Conns, s.Cuts, p.Pending())
	// Output:
	// status 200, whole false, unexpected EOF true
	// status 200, whole true, unexpected EOF false
	// 2 connections, 1 cut, 0 pending
}
