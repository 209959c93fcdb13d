package xio

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
)

func TestExact(t *testing.T) {
	t.Parallel()
	got, err := io.ReadAll(Exact(strings.NewReader("hello"), 5))
	require.NoError(t, err)
	assert.Equal(t, "hello", string(got))

	got, err = io.ReadAll(Exact(iotest.OneByteReader(strings.NewReader("hello")), 5))
	require.NoError(t, err)
	assert.Equal(t, "hello", string(got))

	_, err = io.ReadAll(Exact(strings.NewReader("hell"), 5))
	assert.ErrorIs(t, err, ErrShortBody)
	assert.ErrorIs(t, err, backend.ErrInvalidArgument)

	// A consumer that reads exactly the declared size sees the long body at once.
	buf := make([]byte, 5)
	_, err = io.ReadFull(Exact(strings.NewReader("hello!"), 5), buf)
	assert.ErrorIs(t, err, ErrLongBody)

	boom := errors.New("boom")
	_, err = io.ReadAll(Exact(iotest.ErrReader(boom), 5))
	assert.ErrorIs(t, err, boom)
}

func TestContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	r := Context(ctx, strings.NewReader("abc"))
	b := make([]byte, 1)
	_, err := r.Read(b)
	require.NoError(t, err)
	cancel()
	_, err = r.Read(b)
	assert.ErrorIs(t, err, context.Canceled)

	rc := ContextReadCloser(ctx, io.NopCloser(strings.NewReader("x")))
	_, isSeeker := rc.(io.Seeker)
	assert.False(t, isSeeker)
	rs := ContextReadCloser(ctx, struct {
		io.ReadSeeker
		io.Closer
	}{strings.NewReader("x"), io.NopCloser(nil)})
	_, isSeeker = rs.(io.Seeker)
	assert.True(t, isSeeker, "Seeker kept")
}

func TestSizeOf(t *testing.T) {
	t.Parallel()
	n, ok := SizeOf(strings.NewReader("abcd"))
	assert.True(t, ok)
	assert.Equal(t, int64(4), n)
	_, ok = SizeOf(iotest.OneByteReader(strings.NewReader("x")))
	assert.False(t, ok)
}
