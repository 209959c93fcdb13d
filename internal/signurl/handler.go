package signurl

import (
	"context"
	"crypto/hmac"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/kitehq/kite/backend"
)

// Handler serves the signed URLs of s from b: GET and HEAD (with Range,
// If-None-Match and the signed Content-Disposition), PUT (streamed into b.Put,
// which is atomic, with the signed Content-Type and exact size enforced and at
// most the configured maximum accepted), and CORS preflight for the
// configured origins. Mount it at the base URL's path, for example
// mux.Handle("/files/", h). Refused requests get 403 with a short plain-text
// reason that names no key, path or secret.
func (s *Signer) Handler(b backend.Backend) http.Handler {
	return &handler{s: s, b: b}
}

type handler struct {
	s *Signer
	b backend.Backend
}

// signed is what a verified request was signed for.
type signed struct {
	key, contentType, disposition string
	size                          int64
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.s == nil {
		http.Error(w, "forbidden: presigned URLs are not configured", http.StatusForbidden)
		return
	}
	allowed := h.cors(w, r)
	if r.Method == http.MethodOptions {
		h.preflight(w, r, allowed)
		return
	}
	var method string
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		method = http.MethodGet // a GET URL also answers HEAD
	case http.MethodPut:
		method = http.MethodPut
	default:
		w.Header().Set("Allow", "GET, HEAD, PUT, OPTIONS")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	sg, reason := h.verify(method, r)
	if reason != "" {
		http.Error(w, "forbidden: "+reason, http.StatusForbidden)
		return
	}
	if method == http.MethodPut {
		h.put(w, r, sg)
		return
	}
	h.get(w, r, sg)
}

// verify checks the signature and expiry and returns what was signed, or a
// reason to refuse. Every query parameter must be one of ours: an added one is
// a tampered URL.
func (h *handler) verify(method string, r *http.Request) (signed, string) {
	var sg signed
	if !strings.HasPrefix(r.URL.Path, h.s.prefix) {
		return sg, "not a signed URL"
	}
	sg.key = r.URL.Path[len(h.s.prefix):]
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return sg, "malformed query"
	}
	var expires, size, sig string
	for name, v := range q {
		if len(v) != 1 {
			return sg, "repeated query parameter"
		}
		switch name {
		case paramExpires:
			expires = v[0]
		case paramContentType:
			sg.contentType = v[0]
		case paramSize:
			size = v[0]
		case paramDisposition:
			sg.disposition = v[0]
		case paramSignature:
			sig = v[0]
		default:
			return sg, "unexpected query parameter"
		}
	}
	if sig == "" || expires == "" {
		return sg, "missing signature"
	}
	if backend.ValidateKey(sg.key) != nil {
		return sg, "signature does not match"
	}
	want := h.s.sign(method, sg.key, expires, sg.contentType, size, sg.disposition)
	if !hmac.Equal([]byte(sig), []byte(want)) {
		return sg, "signature does not match"
	}
	// Only signed values are parsed from here on.
	exp, err := strconv.ParseInt(expires, 10, 64)
	if err != nil || h.s.now().Unix() > exp {
		return sg, "request has expired"
	}
	if size != "" {
		if sg.size, err = strconv.ParseInt(size, 10, 64); err != nil || sg.size <= 0 {
			return sg, "signature does not match"
		}
	}
	return sg, ""
}

func (h *handler) get(w http.ResponseWriter, r *http.Request, sg signed) {
	rc, obj, err := h.b.Get(r.Context(), sg.key, backend.GetOptions{})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer rc.Close()
	hd := w.Header()
	hd.Set("Content-Type", obj.ContentType)
	hd.Set("X-Content-Type-Options", "nosniff")
	if obj.ETag != "" {
		hd.Set("ETag", `"`+obj.ETag+`"`)
	}
	if sg.disposition != "" {
		hd.Set("Content-Disposition", sg.disposition)
	}
	if rs, ok := rc.(io.ReadSeeker); ok {
		// ServeContent does Range, HEAD, If-None-Match and If-Modified-Since.
		http.ServeContent(w, r, "", obj.LastModified, rs)
		return
	}
	hd.Set("Content-Length", strconv.FormatInt(obj.Size, 10))
	if !obj.LastModified.IsZero() {
		hd.Set("Last-Modified", obj.LastModified.UTC().Format(http.TimeFormat))
	}
	if r.Method == http.MethodHead {
		return
	}
	if _, err := io.Copy(w, rc); err != nil {
		h.logError(r, err)
	}
}

func (h *handler) put(w http.ResponseWriter, r *http.Request, sg signed) {
	ct := r.Header.Get("Content-Type")
	if sg.contentType != "" && ct != sg.contentType {
		http.Error(w, "forbidden: Content-Type does not match the signed one", http.StatusForbidden)
		return
	}
	if sg.size > 0 && r.ContentLength >= 0 && r.ContentLength != sg.size {
		http.Error(w, "forbidden: Content-Length does not match the signed size", http.StatusForbidden)
		return
	}
	if r.ContentLength > h.s.maxUpload || sg.size > h.s.maxUpload {
		http.Error(w, "upload too large", http.StatusRequestEntityTooLarge)
		return
	}
	size := sg.size
	if size == 0 && r.ContentLength > 0 {
		size = r.ContentLength
	}
	body := http.MaxBytesReader(w, r.Body, h.s.maxUpload)
	obj, err := h.b.Put(r.Context(), sg.key, body, backend.PutOptions{Size: size, ContentType: ct})
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "upload too large", http.StatusRequestEntityTooLarge)
			return
		}
		h.fail(w, r, err)
		return
	}
	if obj.ETag != "" {
		w.Header().Set("ETag", `"`+obj.ETag+`"`)
	}
	w.WriteHeader(http.StatusOK)
}

// fail answers with the status matching err's kind. The body is fixed text:
// the error itself may name the key.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, backend.ErrNotFound):
		http.Error(w, "not found", http.StatusNotFound)
	case errors.Is(err, backend.ErrInvalidArgument), errors.Is(err, backend.ErrInvalidKey):
		http.Error(w, "bad request: "+reasonOf(err), http.StatusBadRequest)
	case errors.Is(err, backend.ErrPermission):
		http.Error(w, "forbidden", http.StatusForbidden)
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		// The client went away; nobody reads the answer.
		http.Error(w, "request cancelled", http.StatusServiceUnavailable)
	default:
		h.logError(r, err)
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
}

// reasonOf returns the innermost message of a bad-argument error, which is
// fixed text from backend or xio (never a path or secret).
func reasonOf(err error) string {
	var be *backend.Error
	if errors.As(err, &be) && be.Err != nil {
		err = be.Err
	}
	msg := err.Error()
	if len(msg) > 120 {
		msg = msg[:120]
	}
	return msg
}

func (h *handler) logError(r *http.Request, err error) {
	if h.s.log != nil {
		h.s.log.LogAttrs(r.Context(), slog.LevelError, "signed URL request failed",
			slog.String("method", r.Method), slog.String("error", err.Error()))
	}
}
