package main

import (
	"fmt"
	"strings"
)

// ratio returns a/b of two results' medians (0 when one is missing).
// ratio is a's figure over b's: the median of the per-round ratios when
// both have one run per round (every client runs once per round, back to
// back, in rotated order), so that a load that drifts between rounds
// cancels out; else the ratio of the medians.
func ratio(a, b *result) float64 {
	if a == nil || b == nil || b.Value == 0 {
		return 0
	}
	if r, ok := paired(a.Runs, b.Runs); ok {
		return r
	}
	return a.Value / b.Value
}

// paired returns the median of a[i]/b[i], when a and b are runs of the same
// rounds.
func paired(a, b []float64) (float64, bool) {
	if len(a) == 0 || len(a) != len(b) {
		return 0, false
	}
	rs := make([]float64, len(a))
	for i := range a {
		if b[i] == 0 {
			return 0, false
		}
		rs[i] = a[i] / b[i]
	}
	return median(rs), true
}

func cpuRatio(a, b *result) float64 {
	if a == nil || b == nil || b.CPUus == 0 {
		return 0
	}
	if r, ok := paired(a.CPURuns, b.CPURuns); ok {
		return r
	}
	return a.CPUus / b.CPUus
}

func checks(rep *report, cfg *config) []check {
	var cs []check
	ge := func(c, target string, v, lim float64) {
		if v == 0 {
			return
		}
		cs = append(cs, check{Case: c, Target: target, Value: v, Limit: fmt.Sprintf("≥ %.2f", lim), OK: v >= lim})
	}
	le := func(c, target string, v, lim float64, unit string) {
		if v == 0 {
			return
		}
		cs = append(cs, check{Case: c, Target: target, Value: v, Limit: fmt.Sprintf("≤ %g%s", lim, unit), OK: v <= lim})
	}
	pairs := [][2]string{{"kite minio", "minio-go"}, {"kite s3", "aws-sdk-go-v2"}}
	for _, op := range []string{"put", "get", "stat"} {
		for _, c := range cfg.concs {
			for _, p := range pairs {
				a, b := rep.find("minio-4k", "", op, c, p[0]), rep.find("minio-4k", "", op, c, p[1])
				ge("minio-4k", fmt.Sprintf("%s %s c=%d ops/s ÷ %s", p[0], op, c, p[1]), ratio(a, b), 0.95)
				le("minio-4k", fmt.Sprintf("%s %s c=%d CPU/op ÷ %s", p[0], op, c, p[1]), cpuRatio(a, b), 1.05, "")
			}
		}
	}
	for _, p := range pairs {
		a, b, g := rep.find("minio-64m", "", "put", 1, p[0]), rep.find("minio-64m", "", "put", 1, p[1]), rep.find("minio-64m", "", "put", 1, "gocloud s3blob")
		ge("minio-64m", fmt.Sprintf("%s put MB/s ÷ %s", p[0], p[1]), ratio(a, b), 1.0)
		ge("minio-64m", fmt.Sprintf("%s put MB/s ÷ s3blob", p[0]), ratio(a, g), 1.5)
	}
	for _, p := range pairs {
		a, b := rep.find("minio-64m", "", "get", 1, p[0]), rep.find("minio-64m", "", "get", 1, p[1])
		ge("minio-64m", fmt.Sprintf("%s get MB/s ÷ %s", p[0], p[1]), ratio(a, b), 0.97)
	}
	for _, env := range []string{"disk", "tmpfs"} {
		for _, c := range cfg.concs {
			k := func(op string) *result { return rep.find("local-4k", env, op, c, "kite local") }
			f := func(op string) *result { return rep.find("local-4k", env, op, c, "gocloud fileblob") }
			raw := rep.find("local-4k", env, "get", c, "raw temp+rename")
			ge("local-4k", fmt.Sprintf("%s c=%d put ÷ fileblob", env, c), ratio(k("put"), f("put")), 2)
			ge("local-4k", fmt.Sprintf("%s c=%d get ÷ fileblob", env, c), ratio(k("get"), f("get")), 2)
			ge("local-4k", fmt.Sprintf("%s c=%d get ÷ raw", env, c), ratio(k("get"), raw), 0.6)
		}
	}
	ge("local-256m", "get MB/s ÷ raw", ratio(rep.find("local-256m", "disk", "get", 1, "kite local"), rep.find("local-256m", "disk", "get", 1, "raw temp+rename")), 0.9)
	for _, c := range cfg.concs {
		k := func(op string) *result { return rep.find("memory-4k", "", op, c, "kite memory") }
		m := func(op string) *result { return rep.find("memory-4k", "", op, c, "gocloud memblob") }
		ge("memory-4k", fmt.Sprintf("c=%d put ÷ memblob", c), ratio(k("put"), m("put")), 2)
		ge("memory-4k", fmt.Sprintf("c=%d get ÷ memblob", c), ratio(k("get"), m("get")), 1.2)
	}
	rssOp := "upload " + sizeName(cfg.rssSize) + " unknown size"
	for _, x := range []struct {
		cl  string
		lim float64
	}{{"kite minio", 64}, {"kite s3", 64}, {"kite local", 32}} {
		if r := rep.find("rss", "", rssOp, 1, x.cl); r != nil {
			le("rss", x.cl+" peak RSS (MiB)", r.Value, x.lim, " MiB")
		}
	}
	for _, c := range cfg.concs {
		for _, p := range [][2]string{{"kite minio", "minio-go"}, {"kite minio (Open)", "minio-go"}, {"kite s3", "aws-sdk-go-v2"}} {
			ge("presign", fmt.Sprintf("%s c=%d ÷ %s", p[0], c, p[1]), ratio(rep.find("presign", "", "presign", c, p[0]), rep.find("presign", "", "presign", c, p[1])), 0.95)
		}
		for _, k := range []string{"kite local", "kite memory"} {
			ge("presign", fmt.Sprintf("%s c=%d ÷ fileblob", k, c), ratio(rep.find("presign", "", "presign", c, k), rep.find("presign", "", "presign", c, "gocloud fileblob")), 1.0)
		}
	}
	for _, k := range []string{"kite minio", "kite s3"} {
		if r := rep.find("presign", "", "presign", 1, k); r != nil {
			r16 := rep.find("presign", "", "presign", 16, k)
			n := r.Requests
			if r16 != nil {
				n += r16.Requests
			}
			cs = append(cs, check{Case: "presign", Target: k + ": HTTP requests sent while presigning", Value: float64(n), Limit: "= 0", OK: n == 0})
		}
		if r := rep.find("presign", "", "offline", 0, k); r != nil {
			cs = append(cs, check{Case: "presign", Target: k + ": presigns with the server unreachable (127.0.0.1:1)", Value: r.Value, Limit: "= 1 (yes)", OK: r.Value == 1})
		}
	}
	if f, l := rep.find("list", "", "first pages", 1, "kite local"), rep.find("list", "", "last pages", 1, "kite local"); f != nil && l != nil {
		le("list", "kite local: last pages ÷ first pages (ms/page)", ratio(l, f), 1.5, " (flat)")
	}
	return cs
}

func fmtVal(v float64) string {
	switch {
	case v == 0:
		return "–"
	case v >= 1000:
		return fmt.Sprintf("%.0f", v)
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

var caseTitles = map[string]string{
	"minio-4k":   "4 KiB objects on MinIO (ops/s; client CPU µs/op)",
	"minio-64m":  "64 MiB objects on MinIO, c=1 (MB/s; client CPU ms/op)",
	"local-4k":   "local 4 KiB, no fsync on either side (ops/s; client CPU µs/op)",
	"local-256m": "local 256 MiB get from the page cache, c=1 (MB/s)",
	"memory-4k":  "memory 4 KiB (ops/s; CPU µs/op)",
	"rss":        "upload of unknown size in a child process (peak RSS = VmHWM)",
	"presign":    "presign GET (URLs/s; CPU µs/URL)",
	"list":       "local List, pages of 1000 (tmpfs, no fsync)",
}

func markdown(rep *report, cfg *config) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Kite benchmark\n\n")
	fmt.Fprintf(&b, "%s, %s, GOMAXPROCS %d, %s. Load average before %s, after %s. ", rep.Started.Format("2006-01-02 15:04 MST"), rep.GoVersion, rep.GOMAXPROCS, rep.CPU, rep.LoadBefore, rep.LoadAfter)
	fmt.Fprintf(&b, "Each figure is the median of %d runs (windows of %s for MinIO small objects, half that in process), clients interleaved round-robin; a ratio in the targets is the median of the per-round ratios (each round runs every client once, back to back). ", rep.Runs, rep.Window)
	fmt.Fprintf(&b, "Client CPU: %s. Run took %.0f s.", rep.CPUMethod, rep.Seconds)
	if rep.Quick {
		b.WriteString(" **Quick run** (-quick): fewer runs, shorter windows, smaller objects.")
	}
	b.WriteString("\n\n")
	for _, n := range rep.Notes {
		fmt.Fprintf(&b, "* %s\n", n)
	}
	order := []string{"minio-4k", "minio-64m", "local-4k", "local-256m", "memory-4k", "rss", "presign", "list"}
	for _, cs := range order {
		var rs []*result
		for _, r := range rep.Results {
			if r.Case == cs {
				rs = append(rs, r)
			}
		}
		if len(rs) == 0 {
			continue
		}
		fmt.Fprintf(&b, "## %s\n\n", caseTitles[cs])
		switch cs {
		case "rss", "list":
			b.WriteString("| client | measure | median | runs |\n| --- | --- | ---: | --- |\n")
			for _, r := range rs {
				if r.Op == "offline" {
					continue
				}
				var runs []string
				for _, v := range r.Runs {
					runs = append(runs, fmtVal(v))
				}
				fmt.Fprintf(&b, "| %s | %s (%s) | %s | %s |\n", r.Client, r.Op, r.Unit, fmtVal(r.Value), strings.Join(runs, " "))
			}
		default:
			// One row per (env, op, client), one column pair per concurrency.
			type rowKey struct{ env, op, client string }
			var rows []rowKey
			seen := map[rowKey]bool{}
			concSet := map[int]bool{}
			var concs []int
			for _, r := range rs {
				if r.Op == "offline" {
					continue
				}
				k := rowKey{r.Env, r.Op, r.Client}
				if !seen[k] {
					seen[k] = true
					rows = append(rows, k)
				}
				if !concSet[r.Conc] {
					concSet[r.Conc] = true
					concs = append(concs, r.Conc)
				}
			}
			b.WriteString("| op | client |")
			for _, c := range concs {
				fmt.Fprintf(&b, " c=%d | CPU c=%d |", c, c)
			}
			b.WriteString("\n| --- | --- |")
			for range concs {
				b.WriteString(" ---: | ---: |")
			}
			b.WriteString("\n")
			for _, k := range rows {
				op := k.op
				if k.env != "" {
					op = k.env + " " + op
				}
				fmt.Fprintf(&b, "| %s | %s |", op, k.client)
				for _, c := range concs {
					r := rep.find(cs, k.env, k.op, c, k.client)
					if r == nil {
						b.WriteString(" | |")
						continue
					}
					cpu := r.CPUus
					if cs == "minio-64m" || cs == "local-256m" {
						cpu /= 1000 // ms per op
					}
					fmt.Fprintf(&b, " %s | %s |", fmtVal(r.Value), fmtVal(cpu))
				}
				b.WriteString("\n")
			}
			if cs == "presign" {
				for _, r := range rs {
					if r.Op == "offline" {
						fmt.Fprintf(&b, "\n%s presigning with its server unreachable: %s.", r.Client, map[bool]string{true: "works (no network call)", false: "FAILS"}[r.Value == 1])
					}
				}
				for _, r := range rs {
					if r.Op == "presign" && strings.HasPrefix(r.Client, "kite ") && (r.Client == "kite minio" || r.Client == "kite s3") {
						fmt.Fprintf(&b, "\n%s c=%d: %d HTTP requests during the timed presigning.", r.Client, r.Conc, r.Requests)
					}
				}
				b.WriteString("\n")
			}
		}
		b.WriteString("\n")
	}
	b.WriteString("## Targets (issue 5)\n\n| case | target | measured | limit | |\n| --- | --- | ---: | --- | --- |\n")
	pass := 0
	for _, c := range rep.Checks {
		mark := "✗"
		if c.OK {
			mark = "✓"
			pass++
		}
		fmt.Fprintf(&b, "| %s | %s | %.2f | %s | %s |\n", c.Case, c.Target, c.Value, c.Limit, mark)
	}
	fmt.Fprintf(&b, "\n%d of %d targets hold.\n", pass, len(rep.Checks))
	return b.String()
}
