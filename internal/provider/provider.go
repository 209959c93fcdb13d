// Package provider holds what the cloud drivers (minio, s3, gcs) share: the
// mapping of a provider's HTTP status and error code to Kite's sentinels, and
// the parsing of a public endpoint.
package provider

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/kitehq/kite/backend"
)

// KindOf returns the sentinel matching a provider error with HTTP status and
// error code (S3's Code, such as "NoSuchKey"; "" when unknown), or nil when
// none applies. The code wins over the status where both speak.
func KindOf(status int, code string) error {
	switch code {
	case "NoSuchKey", "NotFound", "NoSuchBucket", "NoSuchUpload", "NoSuchVersion":
		return backend.ErrNotFound
	case "PreconditionFailed", "ConditionalRequestConflict":
		return backend.ErrPrecondition
	case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken",
		"AllAccessDisabled", "AccountProblem", "InvalidSecurity", "RequestTimeTooSkewed",
		"XAdminUserNotFound": // versitygw's unknown access key, sent with status 404
		return backend.ErrPermission
	case "InvalidRange", "InvalidArgument", "EntityTooLarge", "EntityTooSmall", "KeyTooLongError",
		"MetadataTooLarge", "InvalidBucketName", "IncompleteBody", "BadDigest", "InvalidDigest":
		return backend.ErrInvalidArgument
	case "NotImplemented", "XNotImplemented":
		return backend.ErrUnsupported
	}
	switch status {
	case http.StatusNotFound:
		return backend.ErrNotFound
	case http.StatusPreconditionFailed:
		return backend.ErrPrecondition
	case http.StatusUnauthorized, http.StatusForbidden:
		return backend.ErrPermission
	case http.StatusRequestedRangeNotSatisfiable:
		return backend.ErrInvalidArgument
	case http.StatusNotImplemented:
		return backend.ErrUnsupported
	}
	return nil
}

// ParseEndpoint parses an endpoint given as a URL ("https://files.example.com",
// "http://127.0.0.1:9000") or as host[:port], which takes the scheme of secure.
// It returns the scheme and host, without the scheme's default port (443,
// 80), which browsers leave out of the Host they send and of the URL; a path,
// query, fragment or user information is an error.
func ParseEndpoint(s string, secure bool) (*url.URL, error) {
	if s == "" {
		return nil, backend.Errorf(backend.ErrInvalidArgument, "empty endpoint")
	}
	if !strings.Contains(s, "://") {
		scheme := "http"
		if secure {
			scheme = "https"
		}
		s = scheme + "://" + s
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, backend.Errorf(backend.ErrInvalidArgument, "endpoint: want http(s)://host[:port] or host[:port]")
	}
	host := u.Host
	if u.Scheme == "https" && u.Port() == "443" || u.Scheme == "http" && u.Port() == "80" {
		host = strings.TrimSuffix(host, ":"+u.Port())
	}
	return &url.URL{Scheme: u.Scheme, Host: host}, nil
}

// ListRange adapts a listing's prefix and start-after to servers that refuse
// a "." or ".." segment in them (MinIO: XMinioInvalidResourceName), though
// keys such as ".hidden" or "a/..." match such a prefix. A prefix ending in
// such a segment is listed from its parent, and filter says that the caller
// must then drop keys without the original prefix; a start-after with one is
// moved before it (the caller drops keys not after the original). ok is false
// when no valid key can match (a dot segment followed by more).
func ListRange(prefix, startAfter string) (listPrefix, listAfter string, filter, ok bool) {
	listPrefix, listAfter = prefix, startAfter
	if i, last, found := dotSegment(prefix); found {
		if !last {
			return "", "", false, false
		}
		listPrefix, filter = prefix[:i], true
		// "-" sorts before ".": every key of prefix comes after this.
		listAfter = max(listAfter, listPrefix+"-")
	}
	if i, _, found := dotSegment(listAfter); found {
		listAfter = listAfter[:i] + "-"
	}
	return listPrefix, listAfter, filter, true
}

// dotSegment finds the first "." or ".." segment of s: its offset, and
// whether it is the last segment (nothing follows, not even "/").
func dotSegment(s string) (off int, last, ok bool) {
	for {
		seg, _, more := strings.Cut(s[off:], "/")
		if seg == "." || seg == ".." {
			return off, !more, true
		}
		if !more {
			return 0, false, false
		}
		off += len(seg) + 1
	}
}
