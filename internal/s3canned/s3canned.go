// Package s3canned is an http.RoundTripper that answers S3 object requests
// (GET, HEAD, PUT, DELETE) at once with fixed responses and no network, so
// that a benchmark measures the client's own CPU per request (SDK and
// driver) without a server sharing the machine's cores and its noise.
package s3canned

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
)

// Transport answers every request with the object Body: GET returns it,
// HEAD its headers, PUT reads and discards the request body and answers
// 200, DELETE 204. It is safe for concurrent use.
type Transport struct {
	Body []byte
}

const (
	etag         = `"d41d8cd98f00b204e9800998ecf8427e"`
	lastModified = "Fri, 04 Dec 2026 12:00:00 GMT"
)

func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	h := http.Header{
		"Etag":             {etag},
		"Last-Modified":    {lastModified},
		"X-Amz-Request-Id": {"17E2B5F3C8A9D001"},
		"Server":           {"s3canned"},
	}
	resp := &http.Response{
		StatusCode: http.StatusOK, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Request: req, Body: http.NoBody,
	}
	switch req.Method {
	case http.MethodGet, http.MethodHead:
		h["Content-Type"] = []string{"application/octet-stream"}
		h["Content-Length"] = []string{strconv.Itoa(len(t.Body))}
		h["Accept-Ranges"] = []string{"bytes"}
		resp.ContentLength = int64(len(t.Body))
		if req.Method == http.MethodGet {
			resp.Body = io.NopCloser(bytes.NewReader(t.Body))
		}
	case http.MethodPut:
		h["Content-Length"] = []string{"0"}
	case http.MethodDelete:
		resp.StatusCode, resp.Status = http.StatusNoContent, "204 No Content"
	default:
		resp.StatusCode, resp.Status = http.StatusMethodNotAllowed, "405 Method Not Allowed"
	}
	return resp, nil
}
