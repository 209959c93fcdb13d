// Command bench compares Kite's drivers with the SDKs and libraries a user
// would pick instead (minio-go, aws-sdk-go-v2, gocloud.dev/blob, plain files)
// in one run on one machine, and checks the targets of issue 5.
//
//	cd bench && ../scripts/servers.sh go run . [-quick] [-only REGEXP]
//
// It needs the MinIO of scripts/servers.sh (KITE_MINIO_*); without it the
// MinIO cases are skipped. Clients are interleaved: each repetition runs every
// client of a case once, in a rotated order, and a figure is the median of the
// repetitions. Client CPU is getrusage(RUSAGE_SELF) user+system time of this
// process over a window divided by the operations in it. Peak RSS of the
// streaming uploads is VmHWM of a child process that does one upload only.
// It lives in its own module so that gocloud.dev never enters Kite's go.mod.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"regexp"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"
)

type config struct {
	quick      bool
	runs       int // repetitions of the unpaired cases (rss, list, 256 MiB, memory, presign)
	pairedRuns int // repetitions of the cases whose targets are close ratios (MinIO, local 4 KiB)
	window     time.Duration
	only       *regexp.Regexp
	clients    *regexp.Regexp
	out        string
	diskDir    string
	tmpfsDir   string
	bigSize    int64
	bigPuts    int
	bigGets    int
	fileSize   int64
	rssSize    int64
	listKeys   int
	concs      []int
	cpuprofile string
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("bench: ")
	var (
		cfg   config
		only  string
		cls   string
		child string
	)
	flag.BoolVar(&cfg.quick, "quick", false, "a quick run: 3 runs, short windows, smaller objects (for development)")
	flag.IntVar(&cfg.runs, "runs", 0, "repetitions per figure (default 5, and 11 for the MinIO and local 4 KiB cases; -quick 3)")
	flag.DurationVar(&cfg.window, "window", 0, "length of one timed window of a MinIO small-object case (default 600ms, -quick 250ms); in-process cases use half")
	flag.StringVar(&only, "only", "", "run only the cases whose name matches this regexp (minio-4k, minio-64m, client-cpu, local-4k, local-256m, memory-4k, rss, presign, list)")
	flag.StringVar(&cls, "clients", "", "measure only the clients whose name matches this regexp (for profiling one client)")
	flag.StringVar(&cfg.out, "out", "results", "directory of latest.md and latest.json")
	flag.StringVar(&cfg.diskDir, "disk", os.TempDir(), "parent directory of the on-disk local cases")
	flag.StringVar(&cfg.tmpfsDir, "tmpfs", "/dev/shm", "parent directory of the tmpfs local cases and the listing")
	flag.StringVar(&cfg.cpuprofile, "cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.StringVar(&child, "rss-child", "", "internal: run one streaming upload with this client and print its peak RSS")
	rssSize := flag.Int64("rss-size", 1<<30, "internal: size of the streaming upload")
	flag.Parse()

	if child != "" {
		if err := rssChild(child, *rssSize, cfg.diskDir); err != nil {
			log.Fatal(err)
		}
		return
	}
	cfg.defaults()
	if only != "" {
		cfg.only = regexp.MustCompile(only)
	}
	if cls != "" {
		cfg.clients = regexp.MustCompile(cls)
	}
	if cfg.cpuprofile != "" {
		f, err := os.Create(cfg.cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	if err := benchmain(context.Background(), &cfg); err != nil {
		pprof.StopCPUProfile()
		log.Fatal(err)
	}
}

func (c *config) defaults() {
	// The MinIO and local 4 KiB targets are ratios within 5 %, and one
	// window's figure varies by 5-15 % here (CPU per op most): those cases
	// run 11 rounds of shorter windows, so that the median of the per-round
	// ratios and its confidence interval are tight enough to tell.
	c.pairedRuns = c.runs
	if c.runs == 0 {
		c.runs, c.pairedRuns = 5, 11
		if c.quick {
			c.runs, c.pairedRuns = 3, 3
		}
	}
	if c.window == 0 {
		c.window = 400 * time.Millisecond
		if c.quick {
			c.window = 250 * time.Millisecond
		}
	}
	c.bigSize, c.bigPuts, c.bigGets = 64<<20, 2, 6
	c.fileSize = 256 << 20
	c.rssSize = 1 << 30
	c.listKeys = 100_000
	c.concs = []int{1, 16}
	if c.quick {
		c.bigSize, c.bigPuts, c.bigGets = 16<<20, 2, 4
		c.fileSize = 64 << 20
		c.rssSize = 256 << 20
		c.listKeys = 20_000
	}
}

func (c *config) want(name string) bool { return c.only == nil || c.only.MatchString(name) }

func (c *config) wantClient(name string) bool { return c.clients == nil || c.clients.MatchString(name) }

// report is the JSON document, and what the markdown is made from.
type report struct {
	Started    time.Time `json:"started"`
	Seconds    float64   `json:"seconds"`
	GoVersion  string    `json:"go_version"`
	GOMAXPROCS int       `json:"gomaxprocs"`
	CPU        string    `json:"cpu"`
	LoadBefore string    `json:"load_before"`
	LoadAfter  string    `json:"load_after"`
	Quick      bool      `json:"quick"`
	Runs       int       `json:"runs"`
	PairedRuns int       `json:"paired_runs"`
	Window     string    `json:"window"`
	CPUMethod  string    `json:"cpu_method"`
	Notes      []string  `json:"notes"`
	Results    []*result `json:"results"`
	Checks     []check   `json:"checks"`
}

type result struct {
	Case     string    `json:"case"`
	Env      string    `json:"env,omitempty"` // disk or tmpfs
	Op       string    `json:"op"`
	Conc     int       `json:"concurrency"`
	Client   string    `json:"client"`
	Unit     string    `json:"unit"`
	Value    float64   `json:"value"` // median of Runs
	Runs     []float64 `json:"runs"`
	CPUus    float64   `json:"cpu_us_per_op,omitempty"` // median
	CPURuns  []float64 `json:"cpu_us_runs,omitempty"`
	Requests int64     `json:"requests,omitempty"` // HTTP requests sent during the timed runs (presign)
}

type check struct {
	Case   string  `json:"case"`
	Target string  `json:"target"`
	Value  float64 `json:"value"`
	Limit  string  `json:"limit"`
	OK     bool    `json:"ok"`
	Note   string  `json:"note,omitempty"`
	// CI is the 90 % bootstrap confidence interval of Value, a median of
	// per-round ratios; AA the same ratio of the baseline client against
	// a second instance of itself (the A/A control), and AACI its interval.
	CI   []float64 `json:"ci,omitempty"`
	AA   float64   `json:"aa,omitempty"`
	AACI []float64 `json:"aa_ci,omitempty"`
	// Noise: the target is missed, but its interval reaches the limit: the
	// measurement cannot tell it from a hold.
	Noise bool `json:"within_noise,omitempty"`
}

func (r *report) add(res *result) *result {
	res.Value = median(res.Runs)
	if len(res.CPURuns) > 0 {
		res.CPUus = median(res.CPURuns)
	}
	r.Results = append(r.Results, res)
	return res
}

func (r *report) find(cs, env, op string, conc int, cl string) *result {
	for _, x := range r.Results {
		if x.Case == cs && x.Env == env && x.Op == op && x.Conc == conc && x.Client == cl {
			return x
		}
	}
	return nil
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for l := range strings.SplitSeq(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

func benchmain(ctx context.Context, cfg *config) error {
	rep := &report{
		Started: time.Now(), GoVersion: runtime.Version(), GOMAXPROCS: runtime.GOMAXPROCS(0), CPU: cpuModel(),
		LoadBefore: loadavg(), Quick: cfg.quick, Runs: cfg.runs, PairedRuns: cfg.pairedRuns, Window: cfg.window.String(),
		CPUMethod: "getrusage(RUSAGE_SELF) user+system of the benchmark process over a window / ops in it (GC included; servers are other processes)",
	}
	env, haveMinio := minioEnv()
	if !haveMinio {
		rep.Notes = append(rep.Notes, "KITE_MINIO_* not set: MinIO cases skipped (run under scripts/servers.sh)")
		log.Print("KITE_MINIO_* not set: skipping the MinIO cases (run under scripts/servers.sh)")
	} else if err := ensureBucket(ctx, env); err != nil {
		return err
	}
	type bcase struct {
		name  string
		minio bool
		run   func() error
	}
	cases := []bcase{
		{"minio-4k", true, func() error { return caseMinioSmall(ctx, cfg, rep, env) }},
		{"minio-64m", true, func() error { return caseMinioBig(ctx, cfg, rep, env) }},
		{"client-cpu", false, func() error { return caseClientCPU(ctx, cfg, rep) }},
		{"local-4k", false, func() error { return caseLocalSmall(ctx, cfg, rep) }},
		{"local-256m", false, func() error { return caseLocalBig(ctx, cfg, rep) }},
		{"memory-4k", false, func() error { return caseMemory(ctx, cfg, rep) }},
		{"rss", false, func() error { return caseRSS(ctx, cfg, rep, haveMinio) }},
		{"presign", false, func() error { return casePresign(ctx, cfg, rep, env, haveMinio) }},
		{"list", false, func() error { return caseList(ctx, cfg, rep) }},
	}
	failed := false
	for _, c := range cases {
		if !cfg.want(c.name) || (c.minio && !haveMinio) {
			continue
		}
		t0 := time.Now()
		log.Printf("%s: running (load %s)", c.name, loadavg())
		if err := c.run(); err != nil {
			// The other cases still run and the table is still written;
			// the exit status says that one failed.
			log.Printf("%s: FAILED: %v", c.name, err)
			rep.Notes = append(rep.Notes, fmt.Sprintf("case %s failed: %v", c.name, err))
			failed = true
			continue
		}
		log.Printf("%s: done in %s", c.name, time.Since(t0).Round(100*time.Millisecond))
	}
	rep.LoadAfter = loadavg()
	rep.Seconds = time.Since(rep.Started).Seconds()
	rep.Checks = checks(rep, cfg)

	if err := os.MkdirAll(cfg.out, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(cfg.out+"/latest.json", append(js, '\n'), 0o644); err != nil {
		return err
	}
	md := markdown(rep, cfg)
	if err := os.WriteFile(cfg.out+"/latest.md", []byte(md), 0o644); err != nil {
		return err
	}
	fmt.Print(md)
	log.Printf("wrote %s/latest.md and %s/latest.json in %.0fs", cfg.out, cfg.out, rep.Seconds)
	if failed {
		return fmt.Errorf("a case failed (see the notes)")
	}
	return nil
}
