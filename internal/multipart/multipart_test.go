package multipart

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
)

// onebyone returns at most 7 KiB per Read.
type onebyone struct{ data []byte }

func (o *onebyone) Read(p []byte) (int, error) {
	if len(o.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 7<<10)], o.data)
	o.data = o.data[n:]
	return n, nil
}

// zeroReader never makes progress.
type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

func pattern(n int) []byte {
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(i * 7)
	}
	return data
}

func TestReadPart(t *testing.T) {
	data := pattern(300 << 10)
	cases := []struct {
		n, limit int64
		wantLen  int
		wantEOF  bool
	}{
		{0, 1 << 20, 0, true},
		{1000, 1 << 20, 1000, true},
		{300 << 10, 100 << 10, 100 << 10, false},
		{300 << 10, 300 << 10, 300 << 10, false},
	}
	for _, c := range cases {
		part, eof, err := ReadPart(&onebyone{data: data[:c.n]}, nil, c.limit)
		require.NoError(t, err)
		assert.Len(t, part, c.wantLen, "%+v", c)
		assert.Equal(t, c.wantEOF, eof, "%+v", c)
		assert.Equal(t, data[:c.wantLen], part, "%+v", c)
	}
	_, _, err := ReadPart(zeroReader{}, nil, 10)
	assert.ErrorIs(t, err, io.ErrNoProgress)
}

// TestFirstAndStream cuts bodies around the part size into parts and puts
// them back together.
func TestFirstAndStream(t *testing.T) {
	const partSize = 64 << 10
	for _, n := range []int{0, 1, partSize - 1, partSize, partSize + 1, 3 * partSize, 3*partSize + 5} {
		data := pattern(n)
		for _, hint := range []int64{0, int64(n)} {
			buf, eof, rest, err := First(&onebyone{data: data}, hint, partSize)
			require.NoError(t, err)
			if n <= partSize {
				assert.True(t, eof, "n=%d: one part", n)
				assert.Equal(t, data, buf)
				continue
			}
			require.False(t, eof, "n=%d", n)
			s := NewStream(buf, rest, partSize)
			var got []byte
			parts := 0
			for {
				p, err := s.Next(context.Background())
				require.NoError(t, err)
				if p == nil {
					break
				}
				parts++
				b, err := io.ReadAll(p.R)
				require.NoError(t, err)
				assert.Equal(t, p.Size, int64(len(b)))
				assert.LessOrEqual(t, len(b), partSize)
				got = append(got, b...)
				p.Done()
			}
			assert.Equal(t, data, got, "n=%d hint=%d", n, hint)
			assert.Equal(t, (n+partSize-1)/partSize, parts, "n=%d", n)
		}
	}
}

// TestStreamBuffersBounded: Next waits for a buffer to come back once
// StreamBuffers are out, and stops with the context.
func TestStreamBuffersBounded(t *testing.T) {
	const partSize = 1 << 20
	require.Equal(t, 2, StreamBuffers(partSize))
	require.Equal(t, 1, StreamBuffers(16<<20))
	buf, eof, rest, err := First(bytes.NewReader(pattern(5*partSize)), 0, partSize)
	require.NoError(t, err)
	require.False(t, eof)
	s := NewStream(buf, rest, partSize)
	p1, err := s.Next(context.Background())
	require.NoError(t, err)
	p2, err := s.Next(context.Background())
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = s.Next(ctx)
	assert.ErrorIs(t, err, context.Canceled, "a third buffer while two are out")
	p1.Done()
	p3, err := s.Next(context.Background())
	require.NoError(t, err, "a buffer came back")
	assert.NotNil(t, p3)
	p2.Done()
	p3.Done()
}

func TestSections(t *testing.T) {
	data := pattern(10<<10 + 3)
	next := Sections(bytes.NewReader(data), 100, int64(len(data)-100), 4<<10)
	var got []byte
	for {
		p, err := next(context.Background())
		require.NoError(t, err)
		if p == nil {
			break
		}
		b, err := io.ReadAll(p.R)
		require.NoError(t, err)
		got = append(got, b...)
	}
	assert.Equal(t, data[100:], got)
}

func TestCheapReadAt(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	require.NoError(t, err)
	defer f.Close()
	pr, pw, err := os.Pipe()
	require.NoError(t, err)
	defer pr.Close()
	defer pw.Close()
	assert.True(t, CheapReadAt(bytes.NewReader(nil)))
	assert.True(t, CheapReadAt(strings.NewReader("")))
	assert.True(t, CheapReadAt(f))
	assert.True(t, CheapReadAt(io.NewSectionReader(f, 0, 1)))
	assert.False(t, CheapReadAt(pr), "a pipe")
	assert.False(t, CheapReadAt(io.NewSectionReader(pr, 0, 1)))
	assert.False(t, CheapReadAt(struct{ io.ReaderAt }{f}), "an unknown ReaderAt")
}

func partsOf(n int) func(context.Context) (*Part, error) {
	return Sections(bytes.NewReader(pattern(n*10)), 0, int64(n*10), 10)
}

func TestSendOrderAndConcurrency(t *testing.T) {
	var inFlight, most atomic.Int32
	release := make(chan struct{})
	var once sync.Once
	send := func(ctx context.Context, n int, p *Part) (int, error) {
		cur := inFlight.Add(1)
		defer inFlight.Add(-1)
		if cur == 3 {
			once.Do(func() { close(release) })
		}
		for {
			m := most.Load()
			if cur <= m || most.CompareAndSwap(m, cur) {
				break
			}
		}
		if n <= 3 {
			<-release // the first three wait until three are in flight
		}
		return n * 100, nil
	}
	got, total, err := Send(context.Background(), 3, 100, partsOf(10), send)
	require.NoError(t, err)
	assert.Equal(t, []int{100, 200, 300, 400, 500, 600, 700, 800, 900, 1000}, got, "in part order")
	assert.Equal(t, int64(100), total)
	assert.Equal(t, int32(3), most.Load(), "conc parts at once, no more")
}

func TestSendFailureStopsTheOthers(t *testing.T) {
	boom := errors.New("part 2 failed")
	var started, done atomic.Int32
	send := func(ctx context.Context, n int, p *Part) (int, error) {
		started.Add(1)
		defer done.Add(1)
		if n == 2 {
			return 0, boom
		}
		<-ctx.Done() // the others wait until cancelled
		return 0, ctx.Err()
	}
	_, _, err := Send(context.Background(), 4, 100, partsOf(50), send)
	assert.ErrorIs(t, err, boom)
	assert.Equal(t, started.Load(), done.Load(), "Send returned before a part it started")
	assert.Less(t, started.Load(), int32(50), "no part started after the failure")

	_, _, err = Send(context.Background(), 2, 5, partsOf(6), func(context.Context, int, *Part) (int, error) { return 0, nil })
	assert.ErrorIs(t, err, backend.ErrInvalidArgument, "more than maxParts")

	readErr := errors.New("read failed")
	n := 0
	next := func(context.Context) (*Part, error) {
		if n++; n == 3 {
			return nil, readErr
		}
		return &Part{R: bytes.NewReader([]byte("x")), Size: 1}, nil
	}
	_, _, err = Send(context.Background(), 2, 100, next, func(context.Context, int, *Part) (int, error) { return 0, nil })
	assert.ErrorIs(t, err, readErr)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err = Send(ctx, 2, 100, partsOf(3), func(context.Context, int, *Part) (int, error) { return 0, nil })
	assert.ErrorIs(t, err, context.Canceled)
}
