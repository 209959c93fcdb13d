package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	mc "github.com/minio/minio-go/v7"
	"gocloud.dev/blob"
	"gocloud.dev/blob/s3blob"

	"github.com/kitehq/kite/backend"
	kminio "github.com/kitehq/kite/minio"
	ks3 "github.com/kitehq/kite/s3"
)

// ---------------------------------------------------------------- presign

func casePresign(ctx context.Context, cfg *config, rep *report, e serverEnv, haveMinio bool) error {
	var clients []client
	if haveMinio {
		cs, err := s3Clients(ctx, e, false)
		if err != nil {
			return err
		}
		// The same driver opened by URL, as most applications do: Open
		// gives the presign client the URL's static credentials, New asks
		// the given client for them on every URL.
		b, err := backend.Open(ctx, "minio://"+e.access+":"+e.secret+"@"+e.endpoint+"/"+bucket+"?secure=false&region="+region)
		if err != nil {
			return fmt.Errorf("opening the minio URL: %w", err)
		}
		defer b.Close()
		clients = append(cs[:1:1], append([]client{{"kite minio (Open)", kiteStore{b: b}}}, cs[1:]...)...)
	}
	parent, err := os.MkdirTemp(cfg.tmpfsDir, "kite-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(parent)
	lc, err := localClients(parent, false)
	if err != nil {
		return err
	}
	mem, err := memoryClients()
	if err != nil {
		return err
	}
	clients = append(clients, lc[0], mem[0], lc[2])
	if err := runSpec(ctx, cfg, rep, spec{
		cs: "presign", clients: clients, ops: []string{"presign"}, concs: cfg.concs,
		data: pattern(16), bufSize: 1, window: cfg.window / 2, unit: "URLs/s", cpu: true, prepared: true,
	}); err != nil {
		return err
	}
	if haveMinio {
		// Kite presigns with the server unreachable: had it needed the
		// network (a bucket-location lookup), it would fail here.
		t0 := time.Now()
		dead := []string{
			"minio://" + e.access + ":" + e.secret + "@127.0.0.1:1/" + bucket + "?secure=false",
			"s3://" + bucket + "?endpoint=http://127.0.0.1:1&region=" + region,
		}
		os.Setenv("AWS_ACCESS_KEY_ID", e.access)
		os.Setenv("AWS_SECRET_ACCESS_KEY", e.secret)
		os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
		for _, u := range dead {
			b, err := backend.Open(ctx, u)
			if err != nil {
				return fmt.Errorf("opening %s: %w", backend.RedactURL(u), err)
			}
			_, perr := b.PresignGet(ctx, "k", backend.PresignOptions{})
			b.Close()
			scheme, _, _ := strings.Cut(u, ":")
			r := &result{Case: "presign", Op: "offline", Client: "kite " + map[string]string{"minio": "minio", "s3": "s3"}[scheme], Unit: "ok", Runs: []float64{1}}
			if perr != nil {
				r.Runs = []float64{0}
				log.Printf("  presign with the server unreachable (%s): %v", scheme, perr)
			}
			rep.add(r)
		}
		log.Printf("  presign offline check in %s", time.Since(t0).Round(time.Millisecond))
	}
	return nil
}

// ---------------------------------------------------------------- peak RSS

// rssClients are the clients of the peak-RSS table. The child also knows
// "minio-go 16MiB parts", "kite s3 8MiB parts" and "kite s3 concurrency 1"
// (-rss-child NAME), for evidence outside the timed run.
var rssClients = []string{"kite minio", "kite s3", "kite local", "minio-go default", "gocloud s3blob"}

type rssOut struct {
	BaseKiB int64   `json:"base_kib"`
	PeakKiB int64   `json:"peak_kib"`
	Seconds float64 `json:"seconds"`
}

func caseRSS(ctx context.Context, cfg *config, rep *report, haveMinio bool) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	var names []string
	for _, n := range rssClients {
		if (n == "kite local" || haveMinio) && cfg.wantClient(n) {
			names = append(names, n)
		}
	}
	res := map[string]*result{}
	speed := map[string]*result{}
	for _, n := range names {
		res[n] = &result{Case: "rss", Op: "upload " + sizeName(cfg.rssSize) + " unknown size", Conc: 1, Client: n, Unit: "MiB peak RSS"}
		speed[n] = &result{Case: "rss", Op: "upload speed", Conc: 1, Client: n, Unit: "MB/s"}
	}
	for r := range cfg.runs {
		for j := range names {
			n := names[(j+r)%len(names)]
			var o rssOut
			var err error
			// One retry: on a loaded machine MinIO has been seen to give
			// up on a slow part (IncompleteBody).
			for try := 1; try <= 2; try++ {
				if o, err = runRSSChild(ctx, exe, n, cfg); err == nil {
					break
				}
				log.Printf("  rss %s, run %d, try %d: %v", n, r+1, try, err)
			}
			if err != nil {
				// A run lost to the server is left out of the median,
				// and said so, rather than losing the whole case.
				rep.Notes = append(rep.Notes, fmt.Sprintf("rss %s: run %d failed twice and is left out: %v", n, r+1, err))
				continue
			}
			log.Printf("  rss %-20s run %d: %7.1f MiB  %6.0f MB/s", n, r+1, float64(o.PeakKiB)/1024, float64(cfg.rssSize)/1e6/o.Seconds)
			if n != "kite local" {
				if err := removeObject(ctx, "rss-"+strings.ReplaceAll(n, " ", "-")); err != nil {
					return err
				}
			}
			res[n].Runs = append(res[n].Runs, float64(o.PeakKiB)/1024)
			speed[n].Runs = append(speed[n].Runs, float64(cfg.rssSize)/1e6/o.Seconds)
		}
	}
	for _, n := range names {
		rep.add(res[n])
		rep.add(speed[n])
		log.Printf("  rss %-20s %7.1f MiB  %6.0f MB/s", n, res[n].Value, speed[n].Value)
	}
	return nil
}

// removeObject deletes a streamed object, so that MinIO's data (on tmpfs
// under make bench) holds at most one of them.
func removeObject(ctx context.Context, key string) error {
	e, _ := minioEnv()
	c, _, err := newMinioClient(e)
	if err != nil {
		return err
	}
	return c.RemoveObject(ctx, bucket, key, mc.RemoveObjectOptions{})
}

func runRSSChild(ctx context.Context, exe, name string, cfg *config) (rssOut, error) {
	var o rssOut
	// Bounded: a MinIO that has marked its drive offline (seen on a loaded
	// machine) makes the SDKs retry for minutes.
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "-rss-child", name, "-rss-size", strconv.FormatInt(cfg.rssSize, 10), "-disk", cfg.diskDir)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return o, fmt.Errorf("child %s: %w", name, err)
	}
	if err := json.Unmarshal(out, &o); err != nil {
		return o, fmt.Errorf("child %s: %q: %w", name, out, err)
	}
	return o, nil
}

func sizeName(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20:
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d KiB", n>>10)
}

// vmHWM returns the peak resident set of this process, in KiB.
func vmHWM() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return -1
}

// rssChild uploads size bytes of unknown size with one client and prints its
// peak RSS: the whole process is this one upload.
func rssChild(name string, size int64, diskDir string) error {
	ctx := context.Background()
	e, ok := minioEnv()
	body := &genReader{pat: pattern(1 << 20), left: size}
	key := "rss-" + strings.ReplaceAll(name, " ", "-")
	var upload func() error
	switch name {
	case "kite local":
		dir, err := os.MkdirTemp(diskDir, "kite-bench-rss-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		b, err := newLocal(dir)
		if err != nil {
			return err
		}
		upload = func() error { _, err := b.Put(ctx, key, body, backend.PutOptions{}); return err }
	case "kite minio", "minio-go default", "minio-go 16MiB parts":
		if !ok {
			return fmt.Errorf("no MinIO")
		}
		c, _, err := newMinioClient(e)
		if err != nil {
			return err
		}
		switch name {
		case "kite minio":
			b, err := kminio.New(c, bucket, kminio.Options{Region: region})
			if err != nil {
				return err
			}
			upload = func() error { _, err := b.Put(ctx, key, body, backend.PutOptions{}); return err }
		case "minio-go default":
			upload = func() error {
				_, err := c.PutObject(ctx, bucket, key, body, -1, mc.PutObjectOptions{})
				return err
			}
		default:
			upload = func() error {
				_, err := c.PutObject(ctx, bucket, key, body, -1, mc.PutObjectOptions{PartSize: 16 << 20})
				return err
			}
		}
	case "kite s3", "gocloud s3blob", "kite s3 8MiB parts", "kite s3 concurrency 1":
		if !ok {
			return fmt.Errorf("no MinIO")
		}
		c, _ := newAWSClient(e)
		if strings.HasPrefix(name, "kite s3") {
			// The variants are not in the table: evidence for a fix.
			opts := ks3.Options{}
			switch name {
			case "kite s3 8MiB parts":
				opts.PartSize = 8 << 20
			case "kite s3 concurrency 1":
				opts.Concurrency = 1
			}
			b, err := ks3.New(c, bucket, opts)
			if err != nil {
				return err
			}
			upload = func() error { _, err := b.Put(ctx, key, body, backend.PutOptions{}); return err }
		} else {
			b, err := s3blob.OpenBucket(ctx, c, bucket, &s3blob.Options{RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired})
			if err != nil {
				return err
			}
			upload = func() error {
				w, err := b.NewWriter(ctx, key, nil)
				if err != nil {
					return err
				}
				if _, err := io.Copy(w, body); err != nil {
					w.Close()
					return err
				}
				return w.Close()
			}
		}
	default:
		return fmt.Errorf("unknown client %q", name)
	}
	base := vmHWM()
	t0 := time.Now()
	if err := upload(); err != nil {
		return err
	}
	o := rssOut{BaseKiB: base, PeakKiB: vmHWM(), Seconds: time.Since(t0).Seconds()}
	if body.left != 0 {
		return fmt.Errorf("upload stopped with %d bytes unread", body.left)
	}
	return json.NewEncoder(os.Stdout).Encode(o)
}

// ---------------------------------------------------------------- list

const listPage = 1000

func listKey(i int) string { return fmt.Sprintf("p%03d/%06d", i/1000, i) }

// caseList stores n small objects in a Kite local directory and a fileblob
// one (tmpfs, no fsync), then times pages of 1000 along the listing: Kite's
// whole listing page by page; fileblob's first and last pages (a fileblob
// page is a fresh walk from the top whose cost depends only on where it
// starts, so the page token jumps there; its full listing is O(n²)).
func caseList(ctx context.Context, cfg *config, rep *report) error {
	parent, err := os.MkdirTemp(cfg.tmpfsDir, "kite-bench-list-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(parent)
	kl, err := newLocal(filepath.Join(parent, "kite"))
	if err != nil {
		return err
	}
	fdir := filepath.Join(parent, "fileblob")
	fb, err := newFileblob(fdir, false)
	if err != nil {
		return err
	}
	n := cfg.listKeys
	t0 := time.Now()
	data := []byte("listed")
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for g := range 4 {
		wg.Go(func() {
			for i := g; i < n; i += 4 {
				k := listKey(i)
				if _, err := kl.Put(ctx, k, bytes.NewReader(data), backend.PutOptions{Size: int64(len(data))}); err != nil {
					errs[g] = err
					return
				}
				// fileblob without sidecars stores a key as the plain file.
				p := filepath.Join(fdir, filepath.FromSlash(k))
				if i%1000 < 4 {
					if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
						errs[g] = err
						return
					}
				}
				if err := writeRetry(p, data); err != nil {
					errs[g] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	log.Printf("  list: stored %d keys twice in %s", n, time.Since(t0).Round(time.Millisecond))

	const edge = 3 // pages timed at each end
	pages := n / listPage
	res := map[string]*result{}
	get := func(cl, op string) *result {
		k := cl + "/" + op
		if res[k] == nil {
			res[k] = &result{Case: "list", Op: op, Conc: 1, Client: cl, Unit: "ms/page"}
		}
		return res[k]
	}
	for r := range cfg.runs {
		for j := range 2 {
			if (j+r)%2 == 0 {
				// Kite: one whole listing, timed per page.
				var times []float64
				last := time.Now()
				count := 0
				for o, err := range kl.List(ctx, backend.ListOptions{PageSize: listPage}) {
					if err != nil {
						return err
					}
					_ = o
					count++
					if count%listPage == 0 {
						now := time.Now()
						times = append(times, float64(now.Sub(last).Microseconds())/1e3)
						last = now
					}
				}
				if count != n {
					return fmt.Errorf("kite local listed %d of %d keys", count, n)
				}
				get("kite local", "first pages").Runs = append(get("kite local", "first pages").Runs, median(times[:edge]))
				get("kite local", "last pages").Runs = append(get("kite local", "last pages").Runs, median(times[len(times)-edge:]))
				var sum float64
				for _, t := range times {
					sum += t
				}
				get("kite local", "whole listing").Runs = append(get("kite local", "whole listing").Runs, sum)
			} else {
				first, err := fileblobPages(ctx, fb, blob.FirstPageToken, edge)
				if err != nil {
					return err
				}
				lastT, err := fileblobPages(ctx, fb, []byte(listKey((pages-edge)*listPage-1)), edge)
				if err != nil {
					return err
				}
				get("gocloud fileblob", "first pages").Runs = append(get("gocloud fileblob", "first pages").Runs, first)
				get("gocloud fileblob", "last pages").Runs = append(get("gocloud fileblob", "last pages").Runs, lastT)
				// A whole listing costs about the mean of its pages times their number.
				get("gocloud fileblob", "whole listing (estimated)").Runs = append(get("gocloud fileblob", "whole listing (estimated)").Runs, (first+lastT)/2*float64(pages))
			}
		}
	}
	for _, k := range []string{"kite local/first pages", "kite local/last pages", "kite local/whole listing",
		"gocloud fileblob/first pages", "gocloud fileblob/last pages", "gocloud fileblob/whole listing (estimated)"} {
		x := res[k]
		if strings.HasSuffix(k, "listing") || strings.HasSuffix(k, "(estimated)") {
			x.Unit = "ms"
		}
		rep.add(x)
		log.Printf("  list %-45s %9.2f %s", k, x.Value, x.Unit)
	}
	return nil
}

func writeRetry(p string, data []byte) error {
	err := os.WriteFile(p, data, 0o644)
	if os.IsNotExist(err) {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		err = os.WriteFile(p, data, 0o644)
	}
	return err
}

// fileblobPages lists k pages from token and returns the median ms per page.
func fileblobPages(ctx context.Context, b *blob.Bucket, token []byte, k int) (float64, error) {
	var times []float64
	for range k {
		t0 := time.Now()
		objs, next, err := b.ListPage(ctx, token, listPage, nil)
		if err != nil {
			return 0, err
		}
		if len(objs) != listPage {
			return 0, fmt.Errorf("fileblob page of %d objects", len(objs))
		}
		times = append(times, float64(time.Since(t0).Microseconds())/1e3)
		token = next
	}
	return median(times), nil
}
