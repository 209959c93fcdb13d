package memory_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/memory"
)

func newStore(t *testing.T) *memory.Backend {
	t.Helper()
	b, err := memory.New(memory.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func TestStoredBytesCannotBeMutated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := newStore(t)
	in := []byte("hello")
	_, err := b.Put(ctx, "k", bytes.NewReader(in), backend.PutOptions{})
	require.NoError(t, err)
	in[0] = 'X' // the caller's buffer is not the stored one

	rc, _, err := b.Get(ctx, "k", backend.GetOptions{})
	require.NoError(t, err)
	got, err := io.ReadAll(rc)
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	assert.Equal(t, "hello", string(got))
	got[0] = 'Y' // nor is the buffer a reader filled

	meta := map[string]string{"a": "1"}
	_, err = b.Put(ctx, "m", strings.NewReader(""), backend.PutOptions{Metadata: meta})
	require.NoError(t, err)
	meta["a"] = "changed"
	o, err := b.Stat(ctx, "m")
	require.NoError(t, err)
	o.Metadata["a"] = "changed too"

	o, err = b.Stat(ctx, "m")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"a": "1"}, o.Metadata)
	rc, _, err = b.Get(ctx, "k", backend.GetOptions{})
	require.NoError(t, err)
	got, _ = io.ReadAll(rc)
	assert.Equal(t, "hello", string(got))
}

// blockingReader blocks in Read until released, to prove Put holds no lock
// while it drains a caller's reader.
type blockingReader struct{ release chan struct{} }

func (r *blockingReader) Read(p []byte) (int, error) {
	<-r.release
	return 0, io.EOF
}

func TestPutHoldsNoLockWhileReading(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := newStore(t)
	_, err := b.Put(ctx, "other", strings.NewReader("x"), backend.PutOptions{})
	require.NoError(t, err)
	r := &blockingReader{release: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		_, err := b.Put(ctx, "slow", r, backend.PutOptions{})
		done <- err
	}()
	// These must complete while the Put above is blocked in Read.
	_, err = b.Put(ctx, "fast", strings.NewReader("y"), backend.PutOptions{})
	require.NoError(t, err)
	_, err = b.Stat(ctx, "other")
	require.NoError(t, err)
	for _, err := range b.List(ctx, backend.ListOptions{}) {
		require.NoError(t, err)
	}
	close(r.release)
	require.NoError(t, <-done)
}

func TestOpenURL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	secret := strings.Repeat("s", 32)
	tests := []struct {
		url     string
		wantErr error
	}{
		{"mem://", nil},
		{"mem://?base_url=http://127.0.0.1:1/files/&secret=" + secret, nil},
		{"mem://?base_url=http://127.0.0.1:1/files/&secret=" + secret + "&cors_origins=http://a.test,https://b.test&max_upload_size=10MiB", nil},
		{"mem://?bsae_url=x", backend.ErrInvalidArgument},                                // typo
		{"mem://?base_url=http://127.0.0.1:1/", backend.ErrInvalidArgument},              // no secret
		{"mem://?base_url=http://127.0.0.1:1/&secret=short", backend.ErrInvalidArgument}, // short secret
		{"mem://host", backend.ErrInvalidArgument},
	}
	for _, tt := range tests {
		b, err := backend.Open(ctx, tt.url)
		if tt.wantErr != nil {
			require.Error(t, err, tt.url)
			assert.ErrorIs(t, err, tt.wantErr, tt.url)
			assert.NotContains(t, err.Error(), "short", "secret in error")
			continue
		}
		require.NoError(t, err, tt.url)
		_, ok := b.(*memory.Backend)
		assert.True(t, ok, "Open returns *memory.Backend")
		require.NoError(t, b.Close())
	}
}

func TestClosed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, err := memory.New(memory.Options{})
	require.NoError(t, err)
	require.NoError(t, b.Close())
	_, err = b.Put(ctx, "k", strings.NewReader("x"), backend.PutOptions{})
	assert.ErrorIs(t, err, backend.ErrClosed)
	_, err = b.Stat(ctx, "k")
	assert.ErrorIs(t, err, backend.ErrClosed)
	assert.ErrorIs(t, b.Health(ctx), backend.ErrClosed)
	for _, err := range b.List(ctx, backend.ListOptions{}) {
		assert.ErrorIs(t, err, backend.ErrClosed)
	}
}

func TestConcurrentWriters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := newStore(t)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 50 {
				key := fmt.Sprintf("w%d/%03d", w, i)
				if _, err := b.Put(ctx, key, strings.NewReader(key), backend.PutOptions{}); err != nil {
					t.Error(err)
				}
				if i%2 == 0 {
					if err := b.Delete(ctx, key); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	n := 0
	prev := ""
	for o, err := range b.List(ctx, backend.ListOptions{PageSize: 7}) {
		require.NoError(t, err)
		assert.Greater(t, o.Key, prev)
		prev = o.Key
		n++
	}
	assert.Equal(t, 8*25, n)
}

func TestCancelledPutStoresNothing(t *testing.T) {
	t.Parallel()
	b := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	r := io.MultiReader(strings.NewReader("part"), readerFunc(func([]byte) (int, error) {
		cancel()
		return 0, io.EOF
	}))
	_, err := b.Put(ctx, "k", r, backend.PutOptions{})
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.Canceled), "got %v", err)
	_, err = b.Stat(context.Background(), "k")
	assert.ErrorIs(t, err, backend.ErrNotFound)
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }
