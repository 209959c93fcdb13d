package memory_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/memory"
)

func benchPut(b *testing.B, size int) {
	ctx := context.Background()
	s, _ := memory.New(memory.Options{})
	data := bytes.Repeat([]byte("k"), size)
	r := bytes.NewReader(data)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(data)
		if _, err := s.Put(ctx, "bench/object", r, backend.PutOptions{Size: int64(size)}); err != nil {
			b.Fatal(err)
		}
	}
}

func benchGet(b *testing.B, size int) {
	ctx := context.Background()
	s, _ := memory.New(memory.Options{})
	if _, err := s.Put(ctx, "bench/object", bytes.NewReader(make([]byte, size)), backend.PutOptions{}); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 256<<10)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		rc, _, err := s.Get(ctx, "bench/object", backend.GetOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{rc}, buf); err != nil {
			b.Fatal(err)
		}
		rc.Close()
	}
}

func BenchmarkPut4KiB(b *testing.B)  { benchPut(b, 4<<10) }
func BenchmarkGet4KiB(b *testing.B)  { benchGet(b, 4<<10) }
func BenchmarkPut64MiB(b *testing.B) { benchPut(b, 64<<20) }
func BenchmarkGet64MiB(b *testing.B) { benchGet(b, 64<<20) }
