package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/kitehq/kite/backend"
)

func init() {
	register("bench", "throughput and latency of put, get, stat, list and presign against a live store", runBench)
}

const benchUsage = `Usage:
  kite bench [--sizes 4KiB,1MiB,64MiB] [--concurrency 1,16]
             [--duration 1s | --ops N] [--json] [URL]

Measures put, get, stat, list and presign (a presigned GET, signed only, not
fetched) against the store at URL (default $KITE_STORE), in the manner of
MinIO's warp: for each object size, at each concurrency, each operation runs
for --duration (or --ops operations in all) and a row reports operations per
second, MB/s (10^6 bytes, put and get only) and the latency percentiles p50,
p90, p99 and the maximum. Numbers are measured, not judged.

Objects are generated on the fly by a deterministic reader and read back into
nothing, so kite holds no object in memory (a mem:// store itself holds
concurrency × size bytes). Each worker writes one key of its own; get and
stat read those keys; list lists them. Everything lives under a scratch
prefix, kite-bench-RANDOM/, removed at the end, also after a failure or
Ctrl-C. With the defaults, 30 runs of 1s: about half a minute.

mem:// and file:// without base_url get a base_url and secret of their own
(see "kite conformance --help"), so presign is measured there too; a store
that cannot presign shows its presign rows as skipped.

Example:
  kite bench --sizes 4KiB,1MiB --concurrency 1,8 --duration 2s file:///tmp/bench?create_dir=true

Flags:
`

// benchOps are the operations measured, in the order of each run.
var benchOps = []string{"put", "get", "stat", "list", "presign"}

// benchRow is one row of "kite bench", and one element of its JSON results.
type benchRow struct {
	Op          string  `json:"op"`
	Size        string  `json:"size"`
	SizeBytes   int64   `json:"size_bytes"`
	Concurrency int     `json:"concurrency"`
	Ops         int64   `json:"ops"`
	Bytes       int64   `json:"bytes"`
	Seconds     float64 `json:"seconds"`
	OpsPerSec   float64 `json:"ops_per_sec"`
	MBPerSec    float64 `json:"mb_per_sec"`
	P50ms       float64 `json:"p50_ms"`
	P90ms       float64 `json:"p90_ms"`
	P99ms       float64 `json:"p99_ms"`
	MaxMs       float64 `json:"max_ms"`
	Skipped     string  `json:"skipped,omitempty"`
}

// benchReport is the document "kite bench --json" prints.
type benchReport struct {
	Store    string     `json:"store"`
	Prefix   string     `json:"prefix"`
	Duration string     `json:"duration,omitempty"` // per run, when not --ops
	Ops      int64      `json:"ops,omitempty"`      // per run, with --ops
	Results  []benchRow `json:"results"`
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	fs := newFlags("bench", stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, benchUsage)
		fs.PrintDefaults()
	}
	sizesFlag := fs.String("sizes", "4KiB,1MiB,64MiB", "comma-separated object sizes")
	concFlag := fs.String("concurrency", "1,16", "comma-separated numbers of concurrent workers")
	duration := fs.Duration("duration", time.Second, "how long each run (operation × size × concurrency) lasts")
	ops := fs.Int64("ops", 0, "operations per run, in all, instead of --duration")
	asJSON := fs.Bool("json", false, "print one JSON document with every row")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["duration"] && set["ops"] {
		return fmt.Errorf("%w: --duration and --ops together; give one", errUsage)
	}
	if *ops < 0 || set["ops"] && *ops == 0 {
		return fmt.Errorf("%w: --ops %d: want at least 1", errUsage, *ops)
	}
	if *duration <= 0 {
		return fmt.Errorf("%w: --duration %v: want more than 0", errUsage, *duration)
	}
	sizes, err := benchSizes(*sizesFlag)
	if err != nil {
		return err
	}
	concs, err := benchConcurrencies(*concFlag)
	if err != nil {
		return err
	}
	raw, err := liveStoreArg(fs.Args())
	if err != nil {
		return err
	}

	st, err := openLiveStore(ctx, raw)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.b.Health(ctx); err != nil {
		return fmt.Errorf("%s: %v", st.redacted, err)
	}
	prefix := liveScratchPrefix("kite-bench-")
	b, err := backend.WithPrefix(st.b, prefix)
	if err != nil {
		return err
	}
	defer b.Close()
	// Removed with a context of its own, after Ctrl-C too.
	defer func() {
		if cerr := liveRemoveScratch(ctx, st.b, prefix); cerr != nil {
			cerr = fmt.Errorf("%s: removing the scratch prefix %s: %v", st.redacted, prefix, cerr)
			if err == nil {
				err = cerr
			} else {
				fmt.Fprintf(stderr, "kite bench: %v\n", cerr)
			}
		}
	}()

	rep := benchReport{Store: st.redacted, Prefix: prefix}
	lim := benchLimit{duration: *duration, ops: *ops}
	if *ops > 0 {
		rep.Ops = *ops
	} else {
		rep.Duration = duration.String()
	}
	var printRow func(benchRow)
	if !*asJSON {
		runs := len(sizes) * len(concs) * len(benchOps)
		what := fmt.Sprintf("%d operations each", *ops)
		if *ops == 0 {
			what = fmt.Sprintf("%v each, about %v", *duration, (time.Duration(runs) * *duration).Round(time.Second))
		}
		fmt.Fprintf(stdout, "bench of %s%s, scratch prefix %s: %d runs, %s\n\n", st.redacted, st.note, prefix, runs, what)
		fmt.Fprintf(stdout, benchRowFormat, "OP", "SIZE", "CONC", "OPS/S", "MB/S", "P50", "P90", "P99", "MAX")
		printRow = func(r benchRow) { printBenchRow(stdout, r) }
	}

	gen := newBenchGen()
	for _, size := range sizes {
		for _, c := range concs {
			rows, err := benchSizeConc(ctx, b, gen, size, c, lim)
			for _, r := range rows {
				rep.Results = append(rep.Results, r)
				if printRow != nil {
					printRow(r)
				}
			}
			if err != nil {
				if ctx.Err() != nil {
					return fmt.Errorf("interrupted")
				}
				return fmt.Errorf("%s: %v", st.redacted, err)
			}
		}
		// What a size stored is dropped before the next, so that a mem://
		// store holds one size at a time.
		for w := range slices.Max(concs) {
			if err := b.Delete(ctx, benchKey(size, w)); err != nil {
				return fmt.Errorf("%s: %v", st.redacted, err)
			}
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(rep); err != nil {
			return err
		}
	}
	return nil
}

// benchLimit ends a run: after duration, or after ops operations when ops > 0.
type benchLimit struct {
	duration time.Duration
	ops      int64
}

// benchKey is the key worker w writes for objects of size bytes.
func benchKey(size int64, w int) string {
	return fmt.Sprintf("%s/w%d", benchSizeName(size), w)
}

// benchSizeConc runs every operation for one size at one concurrency and
// returns a row per operation done.
func benchSizeConc(ctx context.Context, b backend.Backend, gen *benchGen, size int64, c int, lim benchLimit) ([]benchRow, error) {
	var rows []benchRow
	written := make([]atomic.Bool, c)
	for _, op := range benchOps {
		var do func(ctx context.Context, w int) (int64, error)
		switch op {
		case "put":
			do = func(ctx context.Context, w int) (int64, error) {
				_, err := b.Put(ctx, benchKey(size, w), gen.reader(size), backend.PutOptions{Size: size})
				if err != nil {
					return 0, err
				}
				written[w].Store(true)
				return size, nil
			}
		case "get":
			// The keys a short --ops run did not write are written now, untimed.
			for w := range c {
				if !written[w].Load() {
					if _, err := b.Put(ctx, benchKey(size, w), gen.reader(size), backend.PutOptions{Size: size}); err != nil {
						return rows, err
					}
					written[w].Store(true)
				}
			}
			do = func(ctx context.Context, w int) (int64, error) {
				key := benchKey(size, w)
				rc, _, err := b.Get(ctx, key, backend.GetOptions{})
				if err != nil {
					return 0, err
				}
				n, err := io.Copy(io.Discard, rc)
				rc.Close()
				if err == nil && n != size {
					err = fmt.Errorf("get %q: read %d bytes, want %d", key, n, size)
				}
				return n, err
			}
		case "stat":
			do = func(ctx context.Context, w int) (int64, error) {
				_, err := b.Stat(ctx, benchKey(size, w))
				return 0, err
			}
		case "list":
			prefix := benchSizeName(size) + "/"
			do = func(ctx context.Context, w int) (int64, error) {
				for _, err := range b.List(ctx, backend.ListOptions{Prefix: prefix}) {
					if err != nil {
						return 0, err
					}
				}
				return 0, nil
			}
		case "presign":
			if _, err := b.PresignGet(ctx, benchKey(size, 0), backend.PresignOptions{}); errors.Is(err, backend.ErrUnsupported) {
				rows = append(rows, benchRow{Op: op, Size: benchSizeName(size), SizeBytes: size, Concurrency: c, Skipped: liveFirstLine(err.Error())})
				continue
			}
			do = func(ctx context.Context, w int) (int64, error) {
				_, err := b.PresignGet(ctx, benchKey(size, w), backend.PresignOptions{})
				return 0, err
			}
		}
		r, err := benchRun(ctx, c, lim, do)
		if err != nil {
			return rows, fmt.Errorf("%s of %s objects at concurrency %d: %w", op, benchSizeName(size), c, err)
		}
		r.Op, r.Size, r.SizeBytes, r.Concurrency = op, benchSizeName(size), size, c
		if op != "put" && op != "get" {
			r.MBPerSec = 0
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// benchRun runs do on c workers until the limit and measures it. Every
// worker does at least one operation in a timed run.
func benchRun(ctx context.Context, c int, lim benchLimit, do func(ctx context.Context, w int) (int64, error)) (benchRow, error) {
	lats := make([][]time.Duration, c)
	bytes := make([]int64, c)
	var issued atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	start := time.Now()
	deadline := start.Add(lim.duration)
	for w := range c {
		g.Go(func() error {
			for i := 0; ; i++ {
				if lim.ops > 0 {
					if issued.Add(1) > lim.ops {
						return nil
					}
				} else if i > 0 && time.Now().After(deadline) {
					return nil
				}
				if err := gctx.Err(); err != nil {
					return err
				}
				t0 := time.Now()
				n, err := do(gctx, w)
				if err != nil {
					return err
				}
				lats[w] = append(lats[w], time.Since(t0))
				bytes[w] += n
			}
		})
	}
	err := g.Wait()
	elapsed := time.Since(start)
	if err != nil {
		return benchRow{}, err
	}
	all := slices.Concat(lats...)
	slices.Sort(all)
	var r benchRow
	r.Ops = int64(len(all))
	for _, n := range bytes {
		r.Bytes += n
	}
	r.Seconds = elapsed.Seconds()
	if r.Seconds > 0 {
		r.OpsPerSec = float64(r.Ops) / r.Seconds
		r.MBPerSec = float64(r.Bytes) / r.Seconds / 1e6
	}
	pct := func(q float64) float64 {
		if len(all) == 0 {
			return 0
		}
		i := int(math.Ceil(q*float64(len(all)))) - 1
		return float64(all[max(i, 0)]) / float64(time.Millisecond)
	}
	r.P50ms, r.P90ms, r.P99ms, r.MaxMs = pct(0.50), pct(0.90), pct(0.99), pct(1)
	return r, nil
}

const benchRowFormat = "%-8s %7s %5s %11s %9s %10s %10s %10s %10s\n"

func printBenchRow(w io.Writer, r benchRow) {
	if r.Skipped != "" {
		fmt.Fprintf(w, "%-8s %7s %5d  skipped: %s\n", r.Op, r.Size, r.Concurrency, r.Skipped)
		return
	}
	mb := "-"
	if r.Op == "put" || r.Op == "get" {
		mb = strconv.FormatFloat(r.MBPerSec, 'f', 1, 64)
	}
	ms := func(v float64) string { return liveRound(time.Duration(v * float64(time.Millisecond))).String() }
	fmt.Fprintf(w, benchRowFormat, r.Op, r.Size, strconv.Itoa(r.Concurrency),
		strconv.FormatFloat(r.OpsPerSec, 'f', 1, 64), mb, ms(r.P50ms), ms(r.P90ms), ms(r.P99ms), ms(r.MaxMs))
}

// benchSizes parses a comma-separated list of sizes above 0.
func benchSizes(s string) ([]int64, error) {
	var out []int64
	for _, f := range strings.Split(s, ",") {
		n, err := backend.ParseSize(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%w: --sizes: %q is not a size above 0 such as 4KiB or 1MiB", errUsage, f)
		}
		out = append(out, n)
	}
	return out, nil
}

// benchConcurrencies parses a comma-separated list of worker counts.
func benchConcurrencies(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 1024 {
			return nil, fmt.Errorf("%w: --concurrency: %q is not a number from 1 to 1024", errUsage, f)
		}
		out = append(out, n)
	}
	return out, nil
}

// benchSizeName writes a size as the largest binary unit that divides it.
func benchSizeName(n int64) string {
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.mult && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}

// benchGen makes the content of bench objects: a fixed block of
// pseudo-random bytes, repeated, so that no object is ever held in memory.
type benchGen struct {
	block []byte
}

func newBenchGen() *benchGen {
	g := &benchGen{block: make([]byte, 1<<20)}
	_, _ = rand.NewChaCha8([32]byte{'k', 'i', 't', 'e'}).Read(g.block)
	return g
}

// reader returns a reader of size bytes. It is safe for concurrent use.
func (g *benchGen) reader(size int64) io.Reader {
	return &benchReader{block: g.block, n: size}
}

// benchReader yields n bytes of its block, over and over. It has only Read,
// as a network body has.
type benchReader struct {
	block []byte
	n     int64
	off   int64
}

func (r *benchReader) Read(p []byte) (int, error) {
	if r.off >= r.n {
		return 0, io.EOF
	}
	if rem := r.n - r.off; int64(len(p)) > rem {
		p = p[:rem]
	}
	total := 0
	for len(p) > 0 {
		k := copy(p, r.block[r.off%int64(len(r.block)):])
		p = p[k:]
		r.off += int64(k)
		total += k
	}
	return total, nil
}
