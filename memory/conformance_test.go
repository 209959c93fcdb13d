package memory_test

import (
	"strings"
	"testing"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/conformance"
	"github.com/kitehq/kite/internal/testserve"
	"github.com/kitehq/kite/memory"
)

func TestConformance(t *testing.T) {
	mux := testserve.New(t.Cleanup)
	conformance.Run(t, conformance.Harness{
		New: func(t conformance.T) backend.Backend {
			base, mount := mux.Slot(t.Cleanup)
			b, err := memory.New(memory.Options{BaseURL: base, Secret: strings.Repeat("m", 32)})
			if err != nil {
				t.Fatalf("memory.New: %v", err)
			}
			mount(b.Handler())
			return b
		},
		PublicHost: mux.Host(),
	})
}

func TestConformanceWithoutPresign(t *testing.T) {
	conformance.Run(t, conformance.Harness{
		New: func(t conformance.T) backend.Backend {
			b, err := memory.New(memory.Options{})
			if err != nil {
				t.Fatalf("memory.New: %v", err)
			}
			return b
		},
		NoPresign: "no base_url and secret configured",
	})
}
