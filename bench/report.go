package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// ratio is a's figure over b's: the median of the per-round ratios when
// both have one run per round (every client runs once per round, back to
// back, in rotated order), so that a load that drifts between rounds
// cancels out; else the ratio of the medians.
func ratio(a, b *result) float64 { return ratioOf(a, b, false).v }

type ratioStat struct {
	v  float64
	ci []float64 // 90 % bootstrap interval of v; nil when not paired
}

// ratioOf is ratio, of the CPU per op when cpu, with its interval.
func ratioOf(a, b *result, cpu bool) ratioStat {
	if a == nil || b == nil {
		return ratioStat{}
	}
	ar, br, av, bv := a.Runs, b.Runs, a.Value, b.Value
	if cpu {
		ar, br, av, bv = a.CPURuns, b.CPURuns, a.CPUus, b.CPUus
	}
	if rs := rounds(ar, br); rs != nil {
		lo, hi := bootstrapCI(rs)
		return ratioStat{v: median(rs), ci: []float64{lo, hi}}
	}
	if bv == 0 {
		return ratioStat{}
	}
	return ratioStat{v: av / bv}
}

// rounds returns a[i]/b[i], when a and b are runs of the same rounds.
func rounds(a, b []float64) []float64 {
	if len(a) < 2 || len(a) != len(b) {
		return nil
	}
	rs := make([]float64, len(a))
	for i := range a {
		if b[i] == 0 {
			return nil
		}
		rs[i] = a[i] / b[i]
	}
	return rs
}

// bootstrapCI is the 90 % percentile-bootstrap interval of the median of
// rs: 4000 resamples with replacement, from a fixed seed so that a report
// recomputed from the same JSON says the same.
func bootstrapCI(rs []float64) (lo, hi float64) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 4000
	meds := make([]float64, n)
	sample := make([]float64, len(rs))
	for i := range meds {
		for j := range sample {
			sample[j] = rs[rng.IntN(len(rs))]
		}
		meds[i] = median(sample)
	}
	slices.Sort(meds)
	return meds[n*5/100], meds[n*95/100-1]
}

func checks(rep *report, cfg *config) []check {
	var cs []check
	// rt checks the ratio a ÷ b (of CPU per op when cpu) against lim, at
	// least (atLeast) or at most, beside b's A/A control when it ran.
	rt := func(c, target string, a, b *result, cpu bool, lim float64, atLeast bool) {
		r := ratioOf(a, b, cpu)
		if r.v == 0 {
			return
		}
		meets := func(v float64) bool { return atLeast && v >= lim || !atLeast && v <= lim }
		ck := check{Case: c, Target: target, Value: r.v, CI: r.ci, OK: meets(r.v)}
		if atLeast {
			ck.Limit = fmt.Sprintf("≥ %.2f", lim)
		} else {
			ck.Limit = fmt.Sprintf("≤ %.2f", lim)
		}
		if !ck.OK && r.ci != nil {
			ck.Noise = meets(r.ci[0]) || meets(r.ci[1])
		}
		if aa := rep.find(b.Case, b.Env, b.Op, b.Conc, b.Client+aaSuffix); aa != nil {
			s := ratioOf(aa, b, cpu)
			ck.AA, ck.AACI = s.v, s.ci
		}
		cs = append(cs, ck)
	}
	ge := func(c, target string, a, b *result, lim float64) { rt(c, target, a, b, false, lim, true) }
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
				ge("minio-4k", fmt.Sprintf("%s %s c=%d ops/s ÷ %s", p[0], op, c, p[1]), a, b, 0.95)
				rt("minio-4k", fmt.Sprintf("%s %s c=%d CPU/op ÷ %s", p[0], op, c, p[1]), a, b, true, 1.05, false)
			}
		}
	}
	for _, op := range []string{"put", "get", "stat"} {
		for _, p := range pairs {
			a, b := rep.find("client-cpu", "", op, 1, p[0]), rep.find("client-cpu", "", op, 1, p[1])
			rt("client-cpu", fmt.Sprintf("%s %s CPU/op ÷ %s, no server", p[0], op, p[1]), a, b, true, 1.05, false)
		}
	}
	for _, p := range pairs {
		a, b, g := rep.find("minio-64m", "", "put", 1, p[0]), rep.find("minio-64m", "", "put", 1, p[1]), rep.find("minio-64m", "", "put", 1, "gocloud s3blob")
		ge("minio-64m", fmt.Sprintf("%s put MB/s ÷ %s", p[0], p[1]), a, b, 1.0)
		ge("minio-64m", fmt.Sprintf("%s put MB/s ÷ s3blob", p[0]), a, g, 1.5)
	}
	for _, p := range pairs {
		a, b := rep.find("minio-64m", "", "get", 1, p[0]), rep.find("minio-64m", "", "get", 1, p[1])
		ge("minio-64m", fmt.Sprintf("%s get MB/s ÷ %s", p[0], p[1]), a, b, 0.97)
	}
	for _, env := range []string{"disk", "tmpfs"} {
		for _, c := range cfg.concs {
			k := func(op string) *result { return rep.find("local-4k", env, op, c, "kite local") }
			f := func(op string) *result { return rep.find("local-4k", env, op, c, "gocloud fileblob") }
			raw := rep.find("local-4k", env, "get", c, "raw temp+rename")
			ge("local-4k", fmt.Sprintf("%s c=%d put ÷ fileblob", env, c), k("put"), f("put"), 2)
			ge("local-4k", fmt.Sprintf("%s c=%d get ÷ fileblob", env, c), k("get"), f("get"), 2)
			ge("local-4k", fmt.Sprintf("%s c=%d get ÷ raw", env, c), k("get"), raw, 0.6)
		}
	}
	ge("local-256m", "get MB/s ÷ raw", rep.find("local-256m", "disk", "get", 1, "kite local"), rep.find("local-256m", "disk", "get", 1, "raw temp+rename"), 0.9)
	for _, c := range cfg.concs {
		k := func(op string) *result { return rep.find("memory-4k", "", op, c, "kite memory") }
		m := func(op string) *result { return rep.find("memory-4k", "", op, c, "gocloud memblob") }
		ge("memory-4k", fmt.Sprintf("c=%d put ÷ memblob", c), k("put"), m("put"), 2)
		ge("memory-4k", fmt.Sprintf("c=%d get ÷ memblob", c), k("get"), m("get"), 1.2)
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
			ge("presign", fmt.Sprintf("%s c=%d ÷ %s", p[0], c, p[1]), rep.find("presign", "", "presign", c, p[0]), rep.find("presign", "", "presign", c, p[1]), 0.95)
		}
		for _, k := range []string{"kite local", "kite memory"} {
			ge("presign", fmt.Sprintf("%s c=%d ÷ fileblob", k, c), rep.find("presign", "", "presign", c, k), rep.find("presign", "", "presign", c, "gocloud fileblob"), 1.0)
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
	"client-cpu": "4 KiB objects against canned responses in process, no server, c=1 (ops/s; client CPU µs/op)",
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
	fmt.Fprintf(&b, "Each figure is the median of %d runs (%d for the MinIO and local 4 KiB cases; windows of %s for MinIO small objects, half that in process), clients interleaved round-robin; a ratio in the targets is the median of the per-round ratios (each round runs every client once, back to back). ", rep.Runs, rep.PairedRuns, rep.Window)
	fmt.Fprintf(&b, "Client CPU: %s. Run took %.0f s.", rep.CPUMethod, rep.Seconds)
	if rep.Quick {
		b.WriteString(" **Quick run** (-quick): fewer runs, shorter windows, smaller objects.")
	}
	b.WriteString("\n\n")
	for _, n := range rep.Notes {
		fmt.Fprintf(&b, "* %s\n", n)
	}
	order := []string{"minio-4k", "minio-64m", "client-cpu", "local-4k", "local-256m", "memory-4k", "rss", "presign", "list"}
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
	b.WriteString("## Targets (issue 5)\n\n")
	b.WriteString("A ratio is the median of the per-round ratios, with its 90 % bootstrap interval. " +
		"A/A is the same ratio for a second instance of the baseline client against the first: how far two identical clients land apart in this run. " +
		"≈ marks a target missed by the median whose interval still reaches the limit: within the noise of the measurement, neither shown held nor shown missed.\n\n")
	b.WriteString("| case | target | measured | 90 % interval | A/A (interval) | limit | |\n| --- | --- | ---: | --- | --- | --- | --- |\n")
	pass, noise := 0, 0
	for _, c := range rep.Checks {
		mark := "✗"
		switch {
		case c.OK:
			mark = "✓"
			pass++
		case c.Noise:
			mark = "≈"
			noise++
		}
		ci, aa := "", ""
		if len(c.CI) == 2 {
			ci = fmt.Sprintf("%.2f–%.2f", c.CI[0], c.CI[1])
		}
		if c.AA != 0 {
			aa = fmt.Sprintf("%.2f", c.AA)
			if len(c.AACI) == 2 {
				aa += fmt.Sprintf(" (%.2f–%.2f)", c.AACI[0], c.AACI[1])
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %.2f | %s | %s | %s | %s |\n", c.Case, c.Target, c.Value, ci, aa, c.Limit, mark)
	}
	fmt.Fprintf(&b, "\n%d of %d targets hold; %d missed within the noise (≈); %d missed (✗).\n", pass, len(rep.Checks), noise, len(rep.Checks)-pass-noise)
	return b.String()
}
