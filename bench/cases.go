package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"
)

const smallSize = 4 << 10

// keyset holds the keys of one case, made before the timed windows so that
// formatting them is not measured: put[client][worker][i%8], obj[client][worker].
type keyset struct {
	put [][][]string
	obj [][]string
}

func newKeyset(tag string, clients, workers int) keyset {
	var k keyset
	for c := range clients {
		var pw [][]string
		var ow []string
		for w := range workers {
			var ps []string
			for i := range 8 {
				ps = append(ps, fmt.Sprintf("%s-c%d-w%02d-k%d", tag, c, w, i))
			}
			pw = append(pw, ps)
			ow = append(ow, fmt.Sprintf("%s-c%d-w%02d-obj", tag, c, w))
		}
		k.put = append(k.put, pw)
		k.obj = append(k.obj, ow)
	}
	return k
}

func maxInt(xs []int) int {
	m := 0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

// opOf returns the timed operation op of client ci.
func opOf(op string, ci int, s store, keys keyset, data []byte, bufs [][]byte) opFunc {
	switch op {
	case "put":
		return func(ctx context.Context, w, i int) (int64, error) {
			return int64(len(data)), s.put(ctx, keys.put[ci][w][i%8], data)
		}
	case "get":
		return func(ctx context.Context, w, i int) (int64, error) {
			return s.get(ctx, keys.obj[ci][w], bufs[w])
		}
	case "stat":
		return func(ctx context.Context, w, i int) (int64, error) {
			return 0, s.stat(ctx, keys.obj[ci][w])
		}
	case "presign":
		return func(ctx context.Context, w, i int) (int64, error) {
			_, err := s.presign(ctx, keys.obj[ci][w])
			return 0, err
		}
	}
	panic("unknown op " + op)
}

// spec is one interleaved comparison: every op at every concurrency, the
// clients round-robin within each repetition.
type spec struct {
	cs, env  string
	clients  []client
	ops      []string
	concs    []int
	data     []byte
	bufSize  int
	window   time.Duration // 0: count ops
	count    int           // ops per worker per window when window is 0
	unit     string        // ops/s or MB/s
	cpu      bool
	prepared bool // objects for get/stat already stored
	paired   bool // cfg.pairedRuns rounds, not cfg.runs
}

func runSpec(ctx context.Context, cfg *config, rep *report, sp spec) error {
	var keep []client
	for _, c := range sp.clients {
		if cfg.wantClient(c.name) {
			keep = append(keep, c)
		}
	}
	sp.clients = keep
	if len(keep) == 0 {
		return nil
	}
	workers := maxInt(sp.concs)
	keys := newKeyset(sp.cs, len(sp.clients), workers)
	if !sp.prepared {
		for ci, c := range sp.clients {
			for w := range workers {
				if err := c.s.put(ctx, keys.obj[ci][w], sp.data); err != nil {
					return fmt.Errorf("%s: preparing: %w", c.name, err)
				}
			}
		}
	}
	bufs := make([][]byte, workers)
	for w := range bufs {
		bufs[w] = make([]byte, sp.bufSize)
	}
	for _, op := range sp.ops {
		for _, conc := range sp.concs {
			res := make([]*result, len(sp.clients))
			fns := make([]opFunc, len(sp.clients))
			req0 := make([]int64, len(sp.clients))
			for ci, c := range sp.clients {
				res[ci] = &result{Case: sp.cs, Env: sp.env, Op: op, Conc: conc, Client: c.name, Unit: sp.unit}
				fns[ci] = opOf(op, ci, c.s, keys, sp.data, bufs)
				// Warm up: connections, caches, first-use allocations.
				if w := run(ctx, conc, sp.window/5, 1, fns[ci]); w.err != nil {
					return fmt.Errorf("%s %s c=%d: %w", c.name, op, conc, w.err)
				}
			}
			runs := cfg.runs
			if sp.paired {
				runs = cfg.pairedRuns
			}
			for r := range runs {
				for j := range sp.clients {
					ci := (j + r) % len(sp.clients)
					req0[ci] = sp.clients[ci].s.requests()
					w := run(ctx, conc, sp.window, sp.count, fns[ci])
					if w.err != nil {
						return fmt.Errorf("%s %s c=%d: %w", sp.clients[ci].name, op, conc, w.err)
					}
					res[ci].Requests += sp.clients[ci].s.requests() - req0[ci]
					v := w.opsPerSec()
					if sp.unit == "MB/s" {
						v = w.mbPerSec()
					}
					res[ci].Runs = append(res[ci].Runs, v)
					if sp.cpu {
						res[ci].CPURuns = append(res[ci].CPURuns, float64(w.cpuPerOp().Nanoseconds())/1e3)
					}
				}
			}
			for _, x := range res {
				rep.add(x)
				if sp.cpu {
					log.Printf("  %-8s %-5s c=%-2d %-18s %10.1f %s  cpu %6.1f µs/op", sp.cs+" "+sp.env, op, conc, x.Client, x.Value, x.Unit, x.CPUus)
				} else {
					log.Printf("  %-8s %-5s c=%-2d %-18s %10.1f %s", sp.cs+" "+sp.env, op, conc, x.Client, x.Value, x.Unit)
				}
			}
		}
	}
	return nil
}

func caseMinioSmall(ctx context.Context, cfg *config, rep *report, e serverEnv) error {
	clients, err := s3Clients(ctx, e, true)
	if err != nil {
		return err
	}
	// Puts last: after a put phase (each round overwrites the same keys)
	// MinIO works in the background, and the get and stat windows that
	// followed swung 3x (1000 to 3600 ops/s for one client); measured
	// first they vary by about 10 %.
	return runSpec(ctx, cfg, rep, spec{
		cs: "minio-4k", clients: clients, ops: []string{"get", "stat", "put"}, concs: cfg.concs,
		data: pattern(smallSize), bufSize: 32 << 10, window: cfg.window, unit: "ops/s", cpu: true, paired: true,
	})
}

// caseMinioBig: 64 MiB put and get at concurrency 1 only: at 16, 1 GiB would
// be in flight per window on a 2-core machine whose MinIO is already the
// bottleneck at 1, and the case would take minutes.
func caseMinioBig(ctx context.Context, cfg *config, rep *report, e serverEnv) error {
	clients, err := s3Clients(ctx, e, true)
	if err != nil {
		return err
	}
	data := pattern(int(cfg.bigSize))
	// Gets first, puts last: see caseMinioSmall.
	sp := spec{cs: "minio-64m", clients: clients, concs: []int{1}, data: data, bufSize: 1 << 20, unit: "MB/s", cpu: true, paired: true}
	sp.ops, sp.count = []string{"get"}, cfg.bigGets
	if err := runSpec(ctx, cfg, rep, sp); err != nil {
		return err
	}
	sp.ops, sp.count, sp.prepared = []string{"put"}, cfg.bigPuts, true
	return runSpec(ctx, cfg, rep, sp)
}

func caseLocalSmall(ctx context.Context, cfg *config, rep *report) error {
	for _, env := range []struct{ name, parent string }{{"disk", cfg.diskDir}, {"tmpfs", cfg.tmpfsDir}} {
		parent, err := os.MkdirTemp(env.parent, "kite-bench-")
		if err != nil {
			return err
		}
		clients, err := localClients(parent, true)
		if err == nil {
			err = runSpec(ctx, cfg, rep, spec{
				cs: "local-4k", env: env.name, clients: clients, ops: []string{"put", "get"}, concs: cfg.concs,
				data: pattern(smallSize), bufSize: 32 << 10, window: cfg.window / 2, unit: "ops/s", cpu: true, paired: true,
			})
		}
		os.RemoveAll(parent)
		if err != nil {
			return err
		}
	}
	return nil
}

func caseLocalBig(ctx context.Context, cfg *config, rep *report) error {
	parent, err := os.MkdirTemp(cfg.diskDir, "kite-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(parent)
	clients, err := localClients(parent, false)
	if err != nil {
		return err
	}
	return runSpec(ctx, cfg, rep, spec{
		cs: "local-256m", env: "disk", clients: clients, ops: []string{"get"}, concs: []int{1},
		data: pattern(int(cfg.fileSize)), bufSize: 1 << 20, count: 8, unit: "MB/s", cpu: true,
	})
}

func caseMemory(ctx context.Context, cfg *config, rep *report) error {
	clients, err := memoryClients()
	if err != nil {
		return err
	}
	return runSpec(ctx, cfg, rep, spec{
		cs: "memory-4k", clients: clients, ops: []string{"put", "get"}, concs: cfg.concs,
		data: pattern(smallSize), bufSize: 32 << 10, window: cfg.window / 2, unit: "ops/s", cpu: true,
	})
}
