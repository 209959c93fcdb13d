package kiteotel_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/backend/kiteotel"
	"github.com/kitehq/kite/conformance"
	"github.com/kitehq/kite/internal/testserve"
	"github.com/kitehq/kite/internal/wraptest"
	"github.com/kitehq/kite/memory"
)

// countHandler counts records and remembers any that holds a URL or the
// secret.
type countHandler struct {
	n   *atomic.Int64
	mu  *sync.Mutex
	bad *[]string
}

func (h countHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h countHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h countHandler) WithGroup(string) slog.Handler            { return h }

func (h countHandler) Handle(_ context.Context, r slog.Record) error {
	h.n.Add(1)
	var sb strings.Builder
	r.Attrs(func(a slog.Attr) bool {
		sb.WriteString(a.Value.String() + " ")
		return true
	})
	if s := sb.String(); strings.Contains(s, secret) || strings.Contains(s, "http://") {
		h.mu.Lock()
		*h.bad = append(*h.bad, s)
		h.mu.Unlock()
	}
	return nil
}

// TestStackConformance runs the whole suite over every wrapper at once:
// Log(Instrument(WithPrefix(Mirror(ReadOnly reads over the primary, the
// secondary)))), the writes of the read-only layer going to the primary
// underneath. Each layer keeps every method, so the stack keeps every
// promise; after each check every span has ended, nothing diverged but the
// presigned uploads, and no log record holds a URL or the secret.
func TestStackConformance(t *testing.T) {
	const prefix = "tenant-7/"
	mux := testserve.New(t.Cleanup)
	conformance.Run(t, conformance.Harness{
		New: func(t conformance.T) backend.Backend {
			base, mount := mux.Slot(t.Cleanup)
			primary, err := memory.New(memory.Options{BaseURL: base, Secret: secret})
			if err != nil {
				t.Fatalf("memory.New: %v", err)
			}
			mount(primary.Handler())
			t.Cleanup(func() { _ = primary.Close() })
			secondary, err := memory.New(memory.Options{})
			if err != nil {
				t.Fatalf("memory.New: %v", err)
			}
			t.Cleanup(func() { _ = secondary.Close() })

			tm := newTelemetry(t)
			var (
				mu       sync.Mutex
				diverged []backend.Divergence
				records  atomic.Int64
				bad      []string
			)
			t.Cleanup(func() {
				if started, ended := len(tm.spans.Started()), len(tm.spans.Ended()); started == 0 || started != ended {
					t.Errorf("%d spans started, %d ended", started, ended)
				}
				if records.Load() == 0 {
					t.Errorf("nothing logged")
				}
				mu.Lock()
				defer mu.Unlock()
				for _, d := range diverged {
					if d.Op != "PresignPut" {
						t.Errorf("divergence between two memory stores: %s %q: %v", d.Op, d.Key, d.Err)
					}
				}
				for _, s := range bad {
					t.Errorf("a log record holds a URL or the secret: %s", s)
				}
			})

			split := &wraptest.Split{R: backend.ReadOnly(primary), W: primary}
			mirror := backend.Mirror(split, secondary, backend.MirrorOptions{OnDivergence: func(_ context.Context, d backend.Divergence) {
				mu.Lock()
				defer mu.Unlock()
				diverged = append(diverged, d)
			}})
			prefixed, err := backend.WithPrefix(mirror, prefix)
			if err != nil {
				t.Fatalf("WithPrefix: %v", err)
			}
			inst := kiteotel.Instrument(prefixed, tm.options("mem"))
			logger := slog.New(countHandler{n: &records, mu: &mu, bad: &bad})
			return backend.Log(inst, logger, backend.LogOptions{Driver: "mem"})
		},
		PublicHost: mux.Host(),
		MaxKeyLen:  backend.MaxKeyLen - len(prefix),
	})
}
