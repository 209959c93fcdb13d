package reliability_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
)

// loadWorkers is how many goroutines share one Backend.
const loadWorkers = 64

// loadStores are the stores under load: every driver but gcs (its test
// server is an emulator, not a store whose throughput means anything).
var loadStores = []store{
	{"memory", openMemory},
	{"local", openLocal},
	{"minio", openRemote("minio")},
	{"s3", openRemote("s3")},
}

// TestLoad runs 64 goroutines of mixed Put/Get/Stat/List/Delete/Copy on
// one Backend of each store for a second: no call fails unexpectedly, and
// afterwards every object that should exist holds the bytes written.
func TestLoad(t *testing.T) {
	t.Parallel()
	testLoad(t, time.Second)
}

// TestStressLoad is TestLoad for 30 seconds a store.
func TestStressLoad(t *testing.T) {
	stress(t)
	testLoad(t, 30*time.Second)
}

func testLoad(t *testing.T, d time.Duration) {
	for _, s := range loadStores {
		t.Run(s.name, func(t *testing.T) {
			b, _ := s.open(t)
			runLoad(t, s.name, b, d)
		})
	}
}

// op is one kind of call of the load.
type op int

const (
	opPut op = iota
	opGet
	opStat
	opList
	opDelete
	opCopy
	numOps
)

var opNames = [numOps]string{"Put", "Get", "Stat", "List", "Delete", "Copy"}

// opWeights is the mix: out of 100 calls.
var opWeights = [numOps]int{opPut: 25, opGet: 25, opStat: 15, opList: 10, opDelete: 10, opCopy: 15}

// loadNames are the key names of each worker, some of them tricky.
var loadNames = []string{"a", "b c", "d+e", "ü日本", "f/g", "h%20i", "j.tmp", "k/l/m"}

// written is what a worker knows an object holds: it recorded the SHA-256
// of the bytes when it wrote them.
type written struct {
	sum  [32]byte
	size int64
}

// worker owns the keys under its prefix: it alone writes them, so its model
// says exactly what each one must hold, or that it must be missing.
type worker struct {
	id     int
	prefix string
	rng    *rand.Rand
	model  map[string]written
	ops    [numOps]int
	errs   *firstErrors
	b      backend.Backend
}

func (w *worker) key() string { return w.prefix + loadNames[w.rng.IntN(len(loadNames))] }

func (w *worker) fail(o op, key, format string, args ...any) {
	w.errs.errorf("worker %d, %s %q: %s", w.id, opNames[o], key, fmt.Sprintf(format, args...))
}

func (w *worker) pick() op {
	n := w.rng.IntN(100)
	for o := range numOps {
		if n < opWeights[o] {
			return o
		}
		n -= opWeights[o]
	}
	return opGet
}

// data returns fresh random bytes: mostly up to 64 KiB, now and then 1 MiB,
// sometimes none.
func (w *worker) data() []byte {
	var n int
	switch r := w.rng.IntN(50); {
	case r == 0:
		n = 1 << 20
	case r == 1:
		n = 0
	default:
		n = w.rng.IntN(64 << 10)
	}
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := w.rng.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

func (w *worker) step(ctx context.Context) {
	o := w.pick()
	w.ops[o]++
	key := w.key()
	want, exists := w.model[key]
	switch o {
	case opPut:
		data := w.data()
		obj, err := w.b.Put(ctx, key, bytes.NewReader(data), backend.PutOptions{})
		if err != nil {
			w.fail(o, key, "%v", err)
			return
		}
		if obj.Size != int64(len(data)) {
			w.fail(o, key, "returned size %d, wrote %d", obj.Size, len(data))
		}
		w.model[key] = written{sha256.Sum256(data), int64(len(data))}
	case opGet:
		rc, obj, err := w.b.Get(ctx, key, backend.GetOptions{})
		if !exists {
			if !errors.Is(err, backend.ErrNotFound) {
				w.fail(o, key, "of a deleted or never written key: %v, want ErrNotFound", err)
			}
			if rc != nil {
				rc.Close()
			}
			return
		}
		if err != nil {
			w.fail(o, key, "%v", err)
			return
		}
		h := sha256.New()
		n, err := io.Copy(h, rc)
		rc.Close()
		switch {
		case err != nil:
			w.fail(o, key, "reading: %v", err)
		case n != want.size || obj.Size != want.size:
			w.fail(o, key, "read %d bytes (Object.Size %d), wrote %d", n, obj.Size, want.size)
		case [32]byte(h.Sum(nil)) != want.sum:
			w.fail(o, key, "the bytes read are not the bytes written")
		}
	case opStat:
		obj, err := w.b.Stat(ctx, key)
		switch {
		case !exists && !errors.Is(err, backend.ErrNotFound):
			w.fail(o, key, "of a missing key: %v, want ErrNotFound", err)
		case exists && err != nil:
			w.fail(o, key, "%v", err)
		case exists && obj.Size != want.size:
			w.fail(o, key, "size %d, wrote %d", obj.Size, want.size)
		}
	case opList:
		var got []string
		for obj, err := range w.b.List(ctx, backend.ListOptions{Prefix: w.prefix}) {
			if err != nil {
				w.fail(o, w.prefix, "%v", err)
				return
			}
			got = append(got, obj.Key)
			if m, ok := w.model[obj.Key]; ok && m.size != obj.Size {
				w.fail(o, obj.Key, "listed with size %d, wrote %d", obj.Size, m.size)
			}
		}
		if want := w.keys(); !slices.Equal(got, want) {
			w.fail(o, w.prefix, "listed %q, want %q", got, want)
		}
	case opDelete:
		if err := w.b.Delete(ctx, key); err != nil {
			w.fail(o, key, "%v", err)
			return
		}
		delete(w.model, key)
	case opCopy:
		dst := w.key()
		if dst == key {
			return
		}
		_, err := w.b.Copy(ctx, dst, key)
		switch {
		case !exists && !errors.Is(err, backend.ErrNotFound):
			w.fail(o, key, "from a missing key: %v, want ErrNotFound", err)
		case exists && err != nil:
			w.fail(o, key, "to %q: %v", dst, err)
		case exists:
			w.model[dst] = want
		}
	}
}

// keys are the worker's objects in byte-wise order, as List yields them.
func (w *worker) keys() []string {
	ks := make([]string, 0, len(w.model))
	for k := range w.model {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// runLoad runs loadWorkers workers on b for d, then reads back every object
// the workers' models say exists and lists the store against them.
func runLoad(t *testing.T, name string, b backend.Backend, d time.Duration) {
	ctx := t.Context()
	errs := &firstErrors{t: t}
	workers := make([]*worker, loadWorkers)
	for i := range workers {
		workers[i] = &worker{
			id: i, prefix: fmt.Sprintf("load/w%02d/", i),
			rng:   rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano()))),
			model: map[string]written{}, errs: errs, b: b,
		}
	}
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				w.step(ctx)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)

	var total [numOps]int
	sum := 0
	for _, w := range workers {
		for o, n := range w.ops {
			total[o] += n
			sum += n
		}
	}
	var mix []string
	for o, n := range total {
		mix = append(mix, fmt.Sprintf("%s %d", opNames[o], n))
	}
	t.Logf("%s: %d goroutines, %d calls in %v: %.0f ops/s (%s); %d unexpected errors",
		name, loadWorkers, sum, elapsed.Round(time.Millisecond), float64(sum)/elapsed.Seconds(), strings.Join(mix, ", "), errs.count())

	// Afterwards: the store holds exactly the objects of the models, each
	// with the bytes written.
	var want []string
	verified := 0
	for _, w := range workers {
		for _, key := range w.keys() {
			want = append(want, key)
			m := w.model[key]
			rc, _, err := b.Get(ctx, key, backend.GetOptions{})
			if !assert.NoError(t, err, "Get %q after the load", key) {
				continue
			}
			h := sha256.New()
			n, err := io.Copy(h, rc)
			rc.Close()
			require.NoError(t, err, "reading %q after the load", key)
			if assert.Equal(t, m.size, n, "size of %q", key) && assert.Equal(t, m.sum, [32]byte(h.Sum(nil)), "SHA-256 of %q", key) {
				verified++
			}
		}
	}
	sort.Strings(want)
	var listed []string
	for obj, err := range b.List(ctx, backend.ListOptions{Prefix: "load/"}) {
		require.NoError(t, err, "List after the load")
		listed = append(listed, obj.Key)
	}
	assert.Equal(t, want, listed, "the store lists other objects than the workers wrote and kept")
	t.Logf("%s: %d objects read back and checked against the SHA-256 recorded at write time", name, verified)
	assert.Equal(t, len(want), verified)
	assert.Positive(t, total[opPut], "no Put ran")
}
