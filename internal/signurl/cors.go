package signurl

import (
	"net/http"
	"strings"
)

// corsAllowHeaders are the request headers a browser may send.
var corsAllowHeaders = map[string]bool{"content-type": true, "range": true, "if-none-match": true, "if-modified-since": true}

// cors sets the response headers for an allowed Origin and reports whether
// the request came from one.
func (h *handler) cors(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	hd := w.Header()
	hd.Add("Vary", "Origin")
	if !h.s.anyOrigin && !h.s.origins[origin] {
		return false
	}
	hd.Set("Access-Control-Allow-Origin", origin)
	hd.Set("Access-Control-Expose-Headers", "ETag, Content-Length, Content-Range, Content-Disposition, Last-Modified")
	return true
}

func (h *handler) preflight(w http.ResponseWriter, r *http.Request, allowed bool) {
	refuse := func(msg string) {
		w.Header().Del("Access-Control-Allow-Origin")
		w.Header().Del("Access-Control-Expose-Headers")
		http.Error(w, "forbidden: "+msg, http.StatusForbidden)
	}
	method := r.Header.Get("Access-Control-Request-Method")
	if !allowed || (method != http.MethodGet && method != http.MethodHead && method != http.MethodPut) {
		refuse("origin or method not allowed")
		return
	}
	var headers []string
	for _, line := range r.Header.Values("Access-Control-Request-Headers") {
		for _, name := range strings.Split(line, ",") {
			name = strings.ToLower(strings.TrimSpace(name))
			if name == "" {
				continue
			}
			if !corsAllowHeaders[name] {
				refuse("header not allowed")
				return
			}
			headers = append(headers, name)
		}
	}
	hd := w.Header()
	hd.Set("Access-Control-Allow-Methods", "GET, HEAD, PUT")
	if len(headers) > 0 {
		hd.Set("Access-Control-Allow-Headers", strings.Join(headers, ", "))
	}
	hd.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}
