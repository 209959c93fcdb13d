package local_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/local"
)

// The benchmarks write under b.TempDir(): set TMPDIR=/dev/shm to measure the
// driver rather than the disk.

func benchBackend(b *testing.B, nosync bool) *local.Backend {
	s, err := local.New(b.TempDir(), local.Options{NoSync: nosync})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func benchPut(b *testing.B, size int) {
	for _, nosync := range []bool{false, true} {
		b.Run(fmt.Sprintf("nosync=%v", nosync), func(b *testing.B) {
			ctx := context.Background()
			s := benchBackend(b, nosync)
			data := bytes.Repeat([]byte("k"), size)
			r := bytes.NewReader(data)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				r.Reset(data)
				// Overwrite a small set of keys: the usual replace path.
				key := fmt.Sprintf("bench/object-%d", i%16)
				i++
				if _, err := s.Put(ctx, key, r, backend.PutOptions{Size: int64(size)}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func benchGet(b *testing.B, size int) {
	ctx := context.Background()
	s := benchBackend(b, true)
	if _, err := s.Put(ctx, "bench/object", bytes.NewReader(make([]byte, size)), backend.PutOptions{}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		rc, _, err := s.Get(ctx, "bench/object", backend.GetOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			b.Fatal(err)
		}
		rc.Close()
	}
}

func BenchmarkPut4KiB(b *testing.B)  { benchPut(b, 4<<10) }
func BenchmarkGet4KiB(b *testing.B)  { benchGet(b, 4<<10) }
func BenchmarkPut64MiB(b *testing.B) { benchPut(b, 64<<20) }
func BenchmarkGet64MiB(b *testing.B) { benchGet(b, 64<<20) }

func BenchmarkStat(b *testing.B) {
	ctx := context.Background()
	s := benchBackend(b, true)
	if _, err := s.Put(ctx, "bench/object", bytes.NewReader(make([]byte, 4<<10)), backend.PutOptions{}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.Stat(ctx, "bench/object"); err != nil {
			b.Fatal(err)
		}
	}
}
