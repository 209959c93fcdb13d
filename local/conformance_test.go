package local_test

import (
	"strings"
	"testing"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/conformance"
	"github.com/kitehq/kite/internal/testserve"
	"github.com/kitehq/kite/local"
)

func TestConformance(t *testing.T) {
	for _, nosync := range []bool{false, true} {
		name := map[bool]string{false: "sync", true: "nosync"}[nosync]
		t.Run(name, func(t *testing.T) {
			mux := testserve.New(t.Cleanup)
			conformance.Run(t, conformance.Harness{
				New: func(t conformance.T) backend.Backend {
					base, mount := mux.Slot(t.Cleanup)
					b, err := local.New(t.TempDir(), local.Options{NoSync: nosync, BaseURL: base, Secret: strings.Repeat("l", 32)})
					if err != nil {
						t.Fatalf("local.New: %v", err)
					}
					mount(b.Handler())
					return b
				},
				PublicHost: mux.Host(),
			})
		})
	}
}
