// Package testserve serves the signed-URL handlers of many test backends from
// one loopback HTTP server, each under its own path, so that every presigned
// URL of a test run names the same public host. Only tests import it.
package testserve

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
)

// Mux is one 127.0.0.1 server routing the first path segment to a handler.
type Mux struct {
	srv *httptest.Server
	mu  sync.RWMutex
	n   int
	m   map[string]http.Handler
}

// New starts a Mux; cleanup registers its shutdown (t.Cleanup).
func New(cleanup func(func())) *Mux {
	m := &Mux{m: map[string]http.Handler{}}
	m.srv = httptest.NewServer(http.HandlerFunc(m.serve))
	cleanup(m.srv.Close)
	return m
}

func (m *Mux) serve(w http.ResponseWriter, r *http.Request) {
	seg, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	m.mu.RLock()
	h := m.m[seg]
	m.mu.RUnlock()
	if h == nil {
		http.NotFound(w, r)
		return
	}
	h.ServeHTTP(w, r)
}

// Host returns the server's host:port.
func (m *Mux) Host() string { return m.srv.Listener.Addr().String() }

// Slot reserves a new base URL ("http://127.0.0.1:PORT/sN/files/") and
// returns it with the function that mounts the handler serving it; cleanup
// registers the unmounting.
func (m *Mux) Slot(cleanup func(func())) (baseURL string, mount func(http.Handler)) {
	m.mu.Lock()
	m.n++
	seg := fmt.Sprintf("s%d", m.n)
	m.mu.Unlock()
	cleanup(func() {
		m.mu.Lock()
		delete(m.m, seg)
		m.mu.Unlock()
	})
	return m.srv.URL + "/" + seg + "/files/", func(h http.Handler) {
		m.mu.Lock()
		m.m[seg] = h
		m.mu.Unlock()
	}
}
