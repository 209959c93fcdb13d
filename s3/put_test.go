package s3

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
)

// patternBytes returns n bytes that differ from part to part.
func patternBytes(n int64) []byte {
	p := make([]byte, n)
	x := uint32(2463534242)
	for i := range p {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		p[i] = byte(x)
	}
	return p
}

// assertNoUploads fails t when an upload of key is left incomplete.
func assertNoUploads(t *testing.T, b *Backend, key string) {
	t.Helper()
	ups, err := b.Client().ListMultipartUploads(t.Context(), &awss3.ListMultipartUploadsInput{Bucket: aws.String(b.Bucket()), Prefix: aws.String(key)})
	require.NoError(t, err)
	assert.Empty(t, ups.Uploads, "uploads of %q left behind", key)
}

// TestPutReaderAt stores bodies that Put reads with ReadAt, from their
// current offset, in one PutObject and in parts sent at once, and leaves
// each at its end.
func TestPutReaderAt(t *testing.T) {
	eachServer(t, true, func(t *testing.T, s server) {
		b := s.newBackend(t, Options{})
		const big = 2*testPartSize + 123 // three parts
		data := patternBytes(big + 1000)
		file := filepath.Join(t.TempDir(), "body")
		require.NoError(t, os.WriteFile(file, data, 0o600))
		cases := []struct {
			name  string
			body  func(t *testing.T) io.ReadSeeker
			skip  int64 // bytes read before Put
			want  []byte
			parts int // 0: one PutObject
		}{
			{"bytes.Reader small", func(*testing.T) io.ReadSeeker { return bytes.NewReader(data[:1000]) }, 0, data[:1000], 0},
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
					pos, err := r.Seek(0, io.SeekCurrent)
					require.NoError(t, err)
					end, err := r.Seek(0, io.SeekEnd)
					require.NoError(t, err)
					assert.Equal(t, end, pos, "Put leaves the body at its end")
				} else {
					assert.NotContains(t, obj.ETag, "-", "one PutObject")
				}
				assert.True(t, bytes.Equal(c.want, readAll(t, b, key)), "stored content")
			})
		}
	})
}

// TestPutSizeMismatch refuses a declared size that a seekable body's does
// not match, before any request.
func TestPutSizeMismatch(t *testing.T) {
	b, err := New(newClient("127.0.0.1:1", "AK", "SK", refuseAll{}), "bucket", Options{PartSize: testPartSize})
	require.NoError(t, err)
	for _, c := range []struct {
		name      string
		len, size int64
	}{{"short", 10, 11}, {"long", 10, 9}, {"long multipart", 3 * testPartSize, 2 * testPartSize}} {
		t.Run(c.name, func(t *testing.T) {
			_, err := b.Put(t.Context(), "mismatch", bytes.NewReader(make([]byte, c.len)), backend.PutOptions{Size: c.size})
			assert.ErrorIs(t, err, backend.ErrInvalidArgument)
			assert.NotContains(t, err.Error(), "presigning sends no request", "refused before any request")
		})
	}
}

// barrierReaderAt is a body whose ReadAt of each of the first parts waits
// until every one of them has been asked for: a Put that sent the parts one
// at a time would never finish them, and fails after a minute.
type barrierReaderAt struct {
	*bytes.Reader
	partSize, parts int64
	mu              sync.Mutex
	started         map[int64]bool
	all             chan struct{}
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
	eachServer(t, true, func(t *testing.T, s server) {
		for _, conc := range []int{2, 4} {
			t.Run(fmt.Sprintf("concurrency %d", conc), func(t *testing.T) {
				b := s.newBackend(t, Options{Concurrency: conc})
				b.anyReaderAt = true
				data := patternBytes(4*testPartSize + 7) // five parts
				body := &barrierReaderAt{Reader: bytes.NewReader(data), partSize: testPartSize, parts: int64(conc), started: map[int64]bool{}, all: make(chan struct{})}
				obj, err := b.Put(t.Context(), "concurrent", body, backend.PutOptions{})
				require.NoError(t, err)
				assert.True(t, strings.HasSuffix(obj.ETag, "-5"), "five parts: %q", obj.ETag)
				assert.True(t, bytes.Equal(data, readAll(t, b, "concurrent")), "stored content")
			})
		}
	})
}

// failingReaderAt fails every ReadAt that reaches past off.
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
type failingReader struct{ r io.Reader }

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, errBrokenBody
	}
	return n, err
}

// TestPutFailureAborts fails a multipart Put in a late part, through each
// way of reading the body: the old object stays and the upload is aborted.
func TestPutFailureAborts(t *testing.T) {
	eachServer(t, true, func(t *testing.T, s server) {
		// One attempt per request: the SDK would retry a part whose body
		// failed.
		client := awss3.New(s.client().Options(), func(o *awss3.Options) { o.RetryMaxAttempts = 1 })
		b, err := New(client, newBucket(t, client), Options{PartSize: testPartSize})
		require.NoError(t, err)
		b.anyReaderAt = true
		ctx := t.Context()
		old, err := b.Put(ctx, "fail", strings.NewReader("old"), backend.PutOptions{})
		require.NoError(t, err)
		data := patternBytes(4*testPartSize + 10)
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
				assertNoUploads(t, b, "fail")
			})
		}
	})
}

// TestPutStreamParts stores bodies read with Read only, ending inside a part
// and on a part boundary, through the read-ahead buffer.
func TestPutStreamParts(t *testing.T) {
	eachServer(t, true, func(t *testing.T, s server) {
		b := s.newBackend(t, Options{})
		for _, n := range []int64{testPartSize, testPartSize + 1, 3 * testPartSize, 4*testPartSize + 99} {
			data := patternBytes(n)
			for _, known := range []bool{false, true} {
				opts := backend.PutOptions{}
				if known {
					opts.Size = n
				}
				key := fmt.Sprintf("stream/%d-known-%v", n, known)
				obj, err := b.Put(t.Context(), key, plainReader{bytes.NewReader(data)}, opts)
				require.NoError(t, err, "%d bytes, size known %v", n, known)
				assert.Equal(t, n, obj.Size)
				assert.True(t, bytes.Equal(data, readAll(t, b, key)), "%d bytes, size known %v: stored content", n, known)
			}
		}
	})
}

// TestPutLogsNothing: a refused conditional multipart upload (the SDK's
// transfer manager log.Printf's a failed CompleteMultipartUpload) writes
// nothing to the application's log. Not parallel: it takes the standard
// logger's output for its duration.
func TestPutLogsNothing(t *testing.T) {
	var logged bytes.Buffer
	prev, flags := log.Writer(), log.Flags()
	log.SetOutput(&logged)
	t.Cleanup(func() { log.SetOutput(prev); log.SetFlags(flags) })
	eachServer(t, false, func(t *testing.T, s server) {
		b := s.newBackend(t, Options{})
		ctx := t.Context()
		big := func() io.Reader { return plainReader{bytes.NewReader(patternBytes(testPartSize + 100))} }
		_, err := b.Put(ctx, "k", big(), backend.PutOptions{})
		require.NoError(t, err)
		_, err = b.Put(ctx, "k", big(), backend.PutOptions{IfNotExists: true})
		assert.ErrorIs(t, err, backend.ErrExists)
		_, err = b.Put(ctx, "missing", big(), backend.PutOptions{IfMatch: "0123456789abcdef0123456789abcdef-2"})
		assert.ErrorIs(t, err, backend.ErrPrecondition)
		assertNoUploads(t, b, "k")
		assertNoUploads(t, b, "missing")
	})
	assert.Empty(t, logged.String(), "written to the standard logger")
}

// TestPutPipe streams an *os.File that is a pipe: it seeks no size.
func TestPutPipe(t *testing.T) {
	eachServer(t, true, func(t *testing.T, s server) {
		b := s.newBackend(t, Options{})
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
		assert.True(t, bytes.Equal(data, readAll(t, b, "pipe")), "stored content")
	})
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
	eachServer(t, true, func(t *testing.T, s server) {
		b := s.newBackend(t, Options{})
		data := patternBytes(2*testPartSize + 10)
		body := &readAtCounter{Reader: bytes.NewReader(data)}
		obj, err := b.Put(t.Context(), "unknown-readerat", body, backend.PutOptions{})
		require.NoError(t, err)
		assert.Equal(t, int64(len(data)), obj.Size)
		assert.Zero(t, body.calls, "ReadAt calls")
		assert.True(t, bytes.Equal(data, readAll(t, b, "unknown-readerat")), "stored content")
	})
}
