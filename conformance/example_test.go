package conformance_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/conformance"
	"github.com/kitehq/kite/internal/testserve"
	"github.com/kitehq/kite/memory"
)

// A driver proves itself with one test function in its own _test.go file,
// which go test runs as func TestConformance(t *testing.T). Here the memory
// driver stands in for a third-party driver, its presigned URLs served on
// one loopback server so that they all name one public host.
func ExampleRun() {
	TestConformance := func(t *testing.T) {
		mux := testserve.New(t.Cleanup) // in your module: an httptest.Server of your own
		conformance.Run(t, conformance.Harness{
			// New makes a fresh, empty store for each check; the suite
			// closes it.
			New: func(t conformance.T) backend.Backend {
				base, mount := mux.Slot(t.Cleanup)
				b, err := memory.New(memory.Options{BaseURL: base, Secret: strings.Repeat("m", 32)})
				if err != nil {
					t.Fatalf("memory.New: %v", err)
				}
				mount(b.Handler())
				return b
			},
			StreamSize: 3<<20 + 1, // more than one part of the driver
			PublicHost: mux.Host(),
			// What the store cannot honour is declared with a reason; the
			// checks that need it are then skips, never passes:
			// NoSizeCheck: "the store does not enforce a signed length",
		})
	}
	_ = TestConformance // a top-level func in a _test.go file, go test runs it
}

// RunChecks runs the same checks outside go test, as `kite conformance URL`
// does, and returns one Result per check. A store without presigned URLs
// declares NoPresign: the Presign checks are skips carrying the reason.
func ExampleRunChecks() {
	h := conformance.Harness{
		New: func(t conformance.T) backend.Backend {
			b, err := memory.New(memory.Options{})
			if err != nil {
				t.Fatalf("memory.New: %v", err)
			}
			return b
		},
		NoPresign: "no base_url and secret configured",
	}
	run := map[string]bool{"Put/RoundTrip": true, "List/Order": true, "Delete": true, "Document": true, "Presign/Get": true}
	for _, r := range conformance.RunChecks(context.Background(), h, func(name string) bool { return run[name] }) {
		if r.Message == "" {
			fmt.Println(r.Name, r.Status)
		} else {
			fmt.Println(r.Name, r.Status, "-", r.Message)
		}
	}
	// Output:
	// Put/RoundTrip pass
	// List/Order pass
	// Delete pass
	// Document pass
	// Presign/Get skip - presigning unsupported: no base_url and secret configured
}

// TrickyKeys is the suite's table of keys that drivers get wrong, for a
// driver's own tests that want the same table: every one is valid, and each
// must round-trip byte for byte.
func ExampleTrickyKeys() {
	ctx := context.Background()
	b, err := memory.New(memory.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()
	failed := 0
	for _, k := range conformance.TrickyKeys() {
		obj, err := b.Put(ctx, k, strings.NewReader(k), backend.PutOptions{})
		if err != nil || obj.Key != k {
			failed++
		}
	}
	fmt.Println("keys that failed:", failed)
	// Output: keys that failed: 0
}
