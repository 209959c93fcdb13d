package kiteotel_test

import (
	"context"
	"io"
	"iter"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/backend/kiteotel"
	"github.com/kitehq/kite/conformance"
	"github.com/kitehq/kite/internal/testserve"
	"github.com/kitehq/kite/memory"
)

// splitRW reads through r and writes to w, so that the suite, which writes
// its own fixtures, runs over a read-only r.
type splitRW struct {
	r, w   backend.Backend
	closed atomic.Bool
}

func (s *splitRW) live(op, key string) error {
	if s.closed.Load() {
		return &backend.Error{Op: op, Driver: "split", Key: key, Err: backend.ErrClosed}
	}
	return nil
}

func (s *splitRW) Put(ctx context.Context, key string, r io.Reader, opts backend.PutOptions) (*backend.Object, error) {
	if err := s.live("Put", key); err != nil {
		return nil, err
	}
	return s.w.Put(ctx, key, r, opts)
}

func (s *splitRW) Get(ctx context.Context, key string, opts backend.GetOptions) (io.ReadCloser, *backend.Object, error) {
	return s.r.Get(ctx, key, opts)
}

func (s *splitRW) Stat(ctx context.Context, key string) (*backend.Object, error) {
	return s.r.Stat(ctx, key)
}

func (s *splitRW) Delete(ctx context.Context, key string) error {
	if err := s.live("Delete", key); err != nil {
		return err
	}
	return s.w.Delete(ctx, key)
}

func (s *splitRW) List(ctx context.Context, opts backend.ListOptions) iter.Seq2[*backend.Object, error] {
	return s.r.List(ctx, opts)
}

func (s *splitRW) Copy(ctx context.Context, dst, src string) (*backend.Object, error) {
	if err := s.live("Copy", dst); err != nil {
		return nil, err
	}
	return s.w.Copy(ctx, dst, src)
}

func (s *splitRW) PresignGet(ctx context.Context, key string, opts backend.PresignOptions) (*backend.PresignedRequest, error) {
	return s.r.PresignGet(ctx, key, opts)
}

func (s *splitRW) PresignPut(ctx context.Context, key string, opts backend.PresignOptions) (*backend.PresignedRequest, error) {
	if err := s.live("PresignPut", key); err != nil {
		return nil, err
	}
	return s.w.PresignPut(ctx, key, opts)
}

func (s *splitRW) Health(ctx context.Context) error { return s.r.Health(ctx) }

func (s *splitRW) Close() error {
	s.closed.Store(true)
	return s.r.Close()
}

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

			split := &splitRW{r: backend.ReadOnly(primary), w: primary}
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
