package minio_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mc "github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/internal/testenv"
	"github.com/kitehq/kite/minio"
)

// TestPutReaderAt stores bodies that Put reads with ReadAt, from their
// current offset, in one PUT and in parts sent at once, and leaves each at
// its end.
func TestPutReaderAt(t *testing.T) {
	t.Parallel()
	srv := testenv.MinIO(t)
	b := openBucket(t, srv, newBucket(t, adminClient(t, srv)), "secure=false&part_size=5MiB")
	const big = 2*testPartSize + 123 // three parts
	data := patternBytes(big + 1000)
	file := filepath.Join(t.TempDir(), "body")
	require.NoError(t, os.WriteFile(file, data, 0o600))
	cases := []struct {
		name  string
		body  func(t *testing.T) io.ReadSeeker
		skip  int64 // bytes read before Put
		want  []byte
		parts int // 0: one PUT
	}{
		{"bytes.Reader small", func(*testing.T) io.ReadSeeker { return bytes.NewReader(data[:1000]) }, 0, data[:1000], 0},
		{"bytes.Reader empty", func(*testing.T) io.ReadSeeker { return bytes.NewReader(nil) }, 0, []byte{}, 0},
		{"strings.Reader after a read", func(*testing.T) io.ReadSeeker { return strings.NewReader(string(data[:1000])) }, 10, data[10:1000], 0},
		{"bytes.Reader multipart", func(*testing.T) io.ReadSeeker { return bytes.NewReader(data[:big]) }, 0, data[:big], 3},
		{"bytes.Reader multipart after a read", func(*testing.T) io.ReadSeeker { return bytes.NewReader(data) }, 1000, data[1000:], 3},
		{"exactly two parts", func(*testing.T) io.ReadSeeker { return bytes.NewReader(data[:2*testPartSize]) }, 0, data[:2*testPartSize], 2},
		{"SectionReader", func(*testing.T) io.ReadSeeker { return io.NewSectionReader(bytes.NewReader(data), 500, big) }, 0, data[500 : 500+big], 3},
		{"file after a read", func(t *testing.T) io.ReadSeeker {
			f, err := os.Open(file)
			require.NoError(t, err)
			t.Cleanup(func() { f.Close() })
			return f
		}, 1000, data[1000:], 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			r := c.body(t)
			if c.skip > 0 {
				_, err := io.CopyN(io.Discard, r, c.skip)
				require.NoError(t, err)
			}
			key := "readerat/" + c.name
			obj, err := b.Put(ctx, key, r, backend.PutOptions{Size: int64(len(c.want))})
			require.NoError(t, err)
			assert.Equal(t, int64(len(c.want)), obj.Size)
			if c.parts > 0 {
				assert.True(t, strings.HasSuffix(obj.ETag, fmt.Sprintf("-%d", c.parts)), "a multipart ETag of %d parts: %q", c.parts, obj.ETag)
			} else {
				assert.NotContains(t, obj.ETag, "-", "one PUT")
			}
			got, _, err := getAll(t, b, key, backend.GetOptions{})
			require.NoError(t, err)
			assert.True(t, bytes.Equal(c.want, got), "stored content: %d bytes, want %d", len(got), len(c.want))
			pos, err := r.Seek(0, io.SeekCurrent)
			require.NoError(t, err)
			end, err := r.Seek(0, io.SeekEnd)
			require.NoError(t, err)
			assert.Equal(t, end, pos, "Put leaves the body at its end")
		})
	}
}

// TestPutReaderAtSizeMismatch refuses a declared size that the body's does
// not match, before any request.
func TestPutReaderAtSizeMismatch(t *testing.T) {
	t.Parallel()
	srv := testenv.MinIO(t)
	b := openBucket(t, srv, newBucket(t, adminClient(t, srv)), "secure=false&part_size=5MiB")
	ctx := t.Context()
	for _, c := range []struct {
		name      string
		len, size int64
	}{{"short", 10, 11}, {"long", 10, 9}, {"long multipart", 3 * testPartSize, 2 * testPartSize}} {
		t.Run(c.name, func(t *testing.T) {
			_, err := b.Put(ctx, "mismatch", bytes.NewReader(patternBytes(c.len)), backend.PutOptions{Size: c.size})
			assert.ErrorIs(t, err, backend.ErrInvalidArgument)
		})
	}
	_, err := b.Stat(ctx, "mismatch")
	assert.ErrorIs(t, err, backend.ErrNotFound, "nothing stored")
}

// barrierReaderAt is a body whose ReadAt of each of the first parts waits
// until every one of them has been asked for: a Put that sent the parts
// one at a time would never finish them, and fails after a minute.
type barrierReaderAt struct {
	*bytes.Reader
	partSize int64
	parts    int64
	mu       sync.Mutex
	started  map[int64]bool
	all      chan struct{}
}

func newBarrier(data []byte, partSize int64, parts int64) *barrierReaderAt {
	return &barrierReaderAt{Reader: bytes.NewReader(data), partSize: partSize, parts: parts, started: map[int64]bool{}, all: make(chan struct{})}
}

// Read fails: the parts must be read with ReadAt, each from its offset.
func (r *barrierReaderAt) Read([]byte) (int, error) {
	return 0, errors.New("barrierReaderAt: read with Read, not ReadAt")
}

func (r *barrierReaderAt) ReadAt(p []byte, off int64) (int, error) {
	part := off / r.partSize
	if part < r.parts {
		r.mu.Lock()
		if !r.started[part] {
			r.started[part] = true
			if int64(len(r.started)) == r.parts {
				close(r.all)
			}
		}
		r.mu.Unlock()
		select {
		case <-r.all:
		case <-time.After(time.Minute):
			return 0, errors.New("barrierReaderAt: the parts were not read at the same time")
		}
	}
	return r.Reader.ReadAt(p, off)
}

// TestPutReaderAtSendsPartsConcurrently shows that the parts of a body read
// with ReadAt are in flight together, as many as Options.Concurrency.
func TestPutReaderAtSendsPartsConcurrently(t *testing.T) {
	t.Parallel()
	srv := testenv.MinIO(t)
	admin := adminClient(t, srv)
	bucket := newBucket(t, admin)
	for _, conc := range []int{2, 4} {
		t.Run(fmt.Sprintf("concurrency %d", conc), func(t *testing.T) {
			b, err := minio.New(adminClient(t, srv), bucket, minio.Options{PartSize: testPartSize, Concurrency: conc})
			require.NoError(t, err)
			minio.ReadAnyReaderAt(b)
			data := patternBytes(4*testPartSize + 7) // five parts
			obj, err := b.Put(t.Context(), "concurrent", newBarrier(data, testPartSize, int64(conc)), backend.PutOptions{})
			require.NoError(t, err)
			assert.True(t, strings.HasSuffix(obj.ETag, "-5"), "five parts: %q", obj.ETag)
			got, _, err := getAll(t, b, "concurrent", backend.GetOptions{})
			require.NoError(t, err)
			assert.True(t, bytes.Equal(data, got), "stored content")
		})
	}
}

// failingReaderAt fails every ReadAt at or past off.
type failingReaderAt struct {
	*bytes.Reader
	off int64
}

var errBrokenBody = errors.New("broken body")

func (f *failingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > f.off {
		return 0, errBrokenBody
	}
	return f.Reader.ReadAt(p, off)
}

// failingReader fails where r ends.
type failingReader struct {
	r io.Reader
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, errBrokenBody
	}
	return n, err
}

// TestPutFailureAborts fails a multipart Put in a late part, through each
// way of reading the body: the old object stays, and the upload is aborted
// (newBucket's cleanup fails the test on an upload left incomplete).
func TestPutFailureAborts(t *testing.T) {
	t.Parallel()
	srv := testenv.MinIO(t)
	admin := adminClient(t, srv)
	bucket := newBucket(t, admin)
	// One attempt per request: minio-go would retry a part whose body
	// failed, for seconds.
	client, err := mc.New(srv.Endpoint, &mc.Options{
		Creds:        credentials.NewStaticV4(srv.AccessKey, srv.SecretKey, ""),
		Region:       minio.DefaultRegion,
		BucketLookup: mc.BucketLookupPath,
		MaxRetries:   1,
	})
	require.NoError(t, err)
	b, err := minio.New(client, bucket, minio.Options{PartSize: testPartSize})
	require.NoError(t, err)
	minio.ReadAnyReaderAt(b)
	ctx := t.Context()
	old, err := b.Put(ctx, "fail", strings.NewReader("old"), backend.PutOptions{})
	require.NoError(t, err)
	const n = 4*testPartSize + 10
	data := patternBytes(n)
	for _, c := range []struct {
		name string
		body io.Reader
	}{
		{"ReadAt fails in part 4", &failingReaderAt{bytes.NewReader(data), 3*testPartSize + 100}},
		{"Read fails in part 3", &failingReader{bytes.NewBuffer(data[:2*testPartSize+100])}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := b.Put(ctx, "fail", c.body, backend.PutOptions{})
			assert.ErrorIs(t, err, errBrokenBody)
			st, err := b.Stat(ctx, "fail")
			require.NoError(t, err)
			assert.Equal(t, old.ETag, st.ETag, "the old object stays")
		})
	}
}

// TestPutStreamParts stores bodies read with Read only, ending inside a part
// and on a part boundary, through the double buffer.
func TestPutStreamParts(t *testing.T) {
	t.Parallel()
	srv := testenv.MinIO(t)
	b := openBucket(t, srv, newBucket(t, adminClient(t, srv)), "secure=false&part_size=5MiB")
	for _, n := range []int64{testPartSize, testPartSize + 1, 3 * testPartSize, 4*testPartSize + 99} {
		data := patternBytes(n)
		for _, known := range []bool{false, true} {
			opts := backend.PutOptions{}
			if known {
				opts.Size = n
			}
			key := fmt.Sprintf("stream/%d-known-%v", n, known)
			obj, err := b.Put(t.Context(), key, &pattern{n: n}, opts)
			require.NoError(t, err, "%d bytes, size known %v", n, known)
			assert.Equal(t, n, obj.Size)
			got, _, err := getAll(t, b, key, backend.GetOptions{})
			require.NoError(t, err)
			assert.True(t, bytes.Equal(data, got), "%d bytes, size known %v: stored content", n, known)
		}
	}
}

// TestPutPipe streams an *os.File that is a pipe: it seeks no size.
func TestPutPipe(t *testing.T) {
	t.Parallel()
	srv := testenv.MinIO(t)
	b := openBucket(t, srv, newBucket(t, adminClient(t, srv)), "secure=false&part_size=5MiB")
	data := patternBytes(testPartSize + 5000) // two parts
	pr, pw, err := os.Pipe()
	require.NoError(t, err)
	t.Cleanup(func() { pr.Close() })
	go func() {
		_, _ = pw.Write(data)
		pw.Close()
	}()
	obj, err := b.Put(t.Context(), "pipe", pr, backend.PutOptions{})
	require.NoError(t, err)
	assert.Equal(t, int64(len(data)), obj.Size)
	got, _, err := getAll(t, b, "pipe", backend.GetOptions{})
	require.NoError(t, err)
	assert.True(t, bytes.Equal(data, got), "stored content")
}

// readAtCounter is an io.ReaderAt that Put does not know to be cheap: it
// counts its ReadAt calls.
type readAtCounter struct {
	*bytes.Reader
	mu    sync.Mutex
	calls int
}

func (r *readAtCounter) ReadAt(p []byte, off int64) (int, error) {
	r.mu.Lock()
	r.calls++
	r.mu.Unlock()
	return r.Reader.ReadAt(p, off)
}

// TestPutUnknownReaderAtIsStreamed: a ReaderAt whose ReadAt may cost a
// request (a backend.FS file makes a ranged GET per call) is read with Read.
func TestPutUnknownReaderAtIsStreamed(t *testing.T) {
	t.Parallel()
	srv := testenv.MinIO(t)
	b := openBucket(t, srv, newBucket(t, adminClient(t, srv)), "secure=false&part_size=5MiB")
	data := patternBytes(2*testPartSize + 10)
	body := &readAtCounter{Reader: bytes.NewReader(data)}
	obj, err := b.Put(t.Context(), "unknown-readerat", body, backend.PutOptions{})
	require.NoError(t, err)
	assert.Equal(t, int64(len(data)), obj.Size)
	assert.Zero(t, body.calls, "ReadAt calls")
	got, _, err := getAll(t, b, "unknown-readerat", backend.GetOptions{})
	require.NoError(t, err)
	assert.True(t, bytes.Equal(data, got), "stored content")
}
