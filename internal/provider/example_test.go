package provider_test

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/internal/provider"
)

// A driver marks a provider's error with the sentinel KindOf picks, so that
// callers test it with errors.Is whatever the provider.
func ExampleKindOf() {
	for _, e := range []struct {
		status int
		code   string
	}{
		{http.StatusNotFound, "NoSuchKey"},
		{http.StatusNotFound, ""}, // a HEAD answer has no body, so no code
		{http.StatusForbidden, "SignatureDoesNotMatch"},
		{http.StatusPreconditionFailed, "PreconditionFailed"},
		{http.StatusInternalServerError, "InternalError"},
	} {
		kind := provider.KindOf(e.status, e.code)
		fmt.Printf("%d %q: %v\n", e.status, e.code, kind)
	}

	// The driver keeps the provider's error and adds the kind:
	providerErr := errors.New("api error NoSuchKey: the specified key does not exist")
	err := &backend.Error{Op: "Get", Driver: "s3", Key: "a.txt",
		Err: backend.Mark(provider.KindOf(http.StatusNotFound, "NoSuchKey"), providerErr)}
	fmt.Println(errors.Is(err, backend.ErrNotFound), errors.Is(err, providerErr))
	// Output:
	// 404 "NoSuchKey": object not found
	// 404 "": object not found
	// 403 "SignatureDoesNotMatch": permission denied
	// 412 "PreconditionFailed": precondition failed
	// 500 "InternalError": <nil>
	// true true
}

// ParseEndpoint reads the endpoint and public_endpoint parameters of the
// cloud drivers' URLs: a URL, or host[:port] taking the scheme of secure.
func ExampleParseEndpoint() {
	for _, s := range []string{"https://files.example.com", "127.0.0.1:9000", "http://host/bucket"} {
		u, err := provider.ParseEndpoint(s, false)
		if err != nil {
			fmt.Printf("%s: %v\n", s, err)
			continue
		}
		fmt.Printf("%s: %s\n", s, u)
	}
	// Output:
	// https://files.example.com: https://files.example.com
	// 127.0.0.1:9000: http://127.0.0.1:9000
	// http://host/bucket: endpoint: want http(s)://host[:port] or host[:port]
}

// ListRange lets a driver list a prefix that ends in a dot segment, which
// MinIO refuses: the listing starts at the parent and the caller filters.
func ExampleListRange() {
	prefix, after, filter, ok := provider.ListRange("photos/..", "")
	fmt.Printf("list %q after %q, filter %t, ok %t\n", prefix, after, filter, ok)
	// Output:
	// list "photos/" after "photos/-", filter true, ok true
}
