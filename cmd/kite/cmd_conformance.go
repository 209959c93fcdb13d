package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"golang.org/x/sync/errgroup"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/conformance"
)

func init() {
	register("conformance", "run the conformance suite against a live store: a table of checks, exit 1 on any failure", runConformance)
}

const conformanceUsage = `Usage:
  kite conformance [--json] [--run REGEXP] [--public-host H]
                   [--no-parent-keys REASON] [--no-signature-check REASON]
                   [--no-content-type-check REASON] [--no-size-check REASON]
                   [--stream-size SIZE] [URL]

Runs Kite's conformance suite, the same checks as conformance.Run in go test,
against the store at URL (default $KITE_STORE) and prints a table: each
check, pass, fail or skip, its time, and the first line of its failure or of
the reason for its skip; then "N passed, M failed, K skipped". Exit status 1
when any check failed.

Every check works under its own scratch prefix, kite-conformance-RANDOM/N/,
and everything under kite-conformance-RANDOM/ is deleted at the end, also
after a failure or Ctrl-C. Nothing else in the store is touched.

For mem:// and file:// without base_url, kite serves the store's signed-URL
handler on a free 127.0.0.1 port itself (with a random secret), so that the
presigned-URL checks run. "file://" alone uses a new temporary directory,
removed afterwards. A store that cannot presign has those checks skipped.

The --no-* flags say what the store does not enforce, with the reason; the
checks that need it become skips that carry the reason.

Example:
  kite conformance 'minio://ACCESS:SECRET@127.0.0.1:9000/bucket?secure=false'

Flags:
`

// conformanceResult is one check in "kite conformance --json".
type conformanceResult struct {
	Name    string  `json:"name"`
	Status  string  `json:"status"`
	Seconds float64 `json:"seconds"`
	Message string  `json:"message,omitempty"`
}

// conformanceSummary counts the outcomes.
type conformanceSummary struct {
	Passed  int `json:"passed"`
	Failed  int `json:"failed"`
	Skipped int `json:"skipped"`
}

// conformanceReport is the document "kite conformance --json" prints.
type conformanceReport struct {
	Store   string              `json:"store"`
	Prefix  string              `json:"prefix"`
	Results []conformanceResult `json:"results"`
	Summary conformanceSummary  `json:"summary"`
}

func runConformance(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("conformance", stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, conformanceUsage)
		fs.PrintDefaults()
	}
	asJSON := fs.Bool("json", false, "print one JSON document: the results and the summary")
	runRE := fs.String("run", "", "run only the checks whose name matches this regular expression")
	publicHost := fs.String("public-host", "", "host[:port] every presigned URL must name (default: kite's own handler for mem:// and file://, else unchecked)")
	noParent := fs.String("no-parent-keys", "", "REASON the store cannot hold a key and keys below it at once (\"a\" and \"a/b\")")
	noSig := fs.String("no-signature-check", "", "REASON the store accepts any signature and ignores expiry")
	noCT := fs.String("no-content-type-check", "", "REASON a presigned PUT with another Content-Type is not refused")
	noSize := fs.String("no-size-check", "", "REASON a presigned PUT with another length is not refused")
	streamSize := fs.String("stream-size", "", "size of the object the streaming check uploads, larger than the driver's part size (default 3MiB+1)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	raw, err := liveStoreArg(fs.Args())
	if err != nil {
		return err
	}
	var match func(string) bool
	if *runRE != "" {
		re, err := regexp.Compile(*runRE)
		if err != nil {
			return fmt.Errorf("%w: --run: %v", errUsage, err)
		}
		match = re.MatchString
		n := 0
		for _, c := range conformance.Checks() {
			if match(c.Name) {
				n++
			}
		}
		if n == 0 {
			return fmt.Errorf("%w: --run %q matches no check", errUsage, *runRE)
		}
	}
	h := conformance.Harness{
		PublicHost:         *publicHost,
		NoParentKeys:       *noParent,
		NoSignatureCheck:   *noSig,
		NoContentTypeCheck: *noCT,
		NoSizeCheck:        *noSize,
	}
	if *streamSize != "" {
		n, err := backend.ParseSize(*streamSize)
		if err != nil || n == 0 {
			return fmt.Errorf("%w: --stream-size %q: want a size such as 33MiB", errUsage, *streamSize)
		}
		h.StreamSize = n
	}

	st, err := openLiveStore(ctx, raw)
	if err != nil {
		return err
	}
	defer st.Close()
	if h.PublicHost == "" {
		h.PublicHost = st.servedHost
	}
	if err := st.b.Health(ctx); err != nil {
		return fmt.Errorf("%s: %v", st.redacted, err)
	}
	if _, err := st.b.PresignGet(ctx, "kite-conformance-probe", backend.PresignOptions{}); errors.Is(err, backend.ErrUnsupported) {
		h.NoPresign = "the store does not presign: " + liveFirstLine(err.Error())
	}

	prefix := liveScratchPrefix("kite-conformance-")
	// Each check's prefix is prefix + "N/" with N < 1000: keep every key
	// of the suite within MaxKeyLen once prefixed.
	h.MaxKeyLen = backend.MaxKeyLen - len(prefix) - len("999/")
	var n atomic.Int64
	h.New = func(t conformance.T) backend.Backend {
		b, err := backend.WithPrefix(st.b, fmt.Sprintf("%s%d/", prefix, n.Add(1)))
		if err != nil {
			t.Fatalf("scratch prefix: %v", err)
		}
		return b
	}
	if !*asJSON {
		fmt.Fprintf(stdout, "conformance of %s%s, scratch prefix %s\n\n", st.redacted, st.note, prefix)
	}
	results := conformance.RunChecks(ctx, h, match)
	cleanErr := liveRemoveScratch(ctx, st.b, prefix)

	rep := conformanceReport{Store: st.redacted, Prefix: prefix, Results: make([]conformanceResult, len(results))}
	for i, r := range results {
		rep.Results[i] = conformanceResult{Name: r.Name, Status: string(r.Status), Seconds: r.Duration.Seconds(), Message: liveRedactURLs(r.Message)}
		switch r.Status {
		case conformance.StatusPass:
			rep.Summary.Passed++
		case conformance.StatusFail:
			rep.Summary.Failed++
		default:
			rep.Summary.Skipped++
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printConformance(stdout, rep)
	}
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("interrupted: %d of %d checks failed or did not run", rep.Summary.Failed, len(results))
	case cleanErr != nil:
		return fmt.Errorf("%s: removing the scratch prefix %s: %v", st.redacted, prefix, cleanErr)
	case rep.Summary.Failed > 0:
		return fmt.Errorf("%s: %d of %d checks failed", st.redacted, rep.Summary.Failed, len(results))
	}
	return nil
}

// printConformance prints the table, the full messages of the failures, and
// the summary line.
func printConformance(w io.Writer, rep conformanceReport) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tRESULT\tTIME\tMESSAGE")
	for _, r := range rep.Results {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Name, r.Status, liveRound(time.Duration(r.Seconds*float64(time.Second))), liveShorten(liveFirstLine(r.Message), 120))
	}
	tw.Flush()
	for _, r := range rep.Results {
		if r.Status != string(conformance.StatusFail) || !strings.Contains(r.Message, "\n") {
			continue
		}
		fmt.Fprintf(w, "\n--- %s\n", r.Name)
		for _, line := range strings.Split(r.Message, "\n") {
			fmt.Fprintf(w, "    %s\n", liveShorten(line, 400))
		}
	}
	fmt.Fprintf(w, "\n%d passed, %d failed, %d skipped\n", rep.Summary.Passed, rep.Summary.Failed, rep.Summary.Skipped)
}

// liveStore is a store opened by "kite conformance" or "kite bench", with
// what was started for it: the signed-URL handler of a mem:// or file://
// store, a temporary directory.
type liveStore struct {
	b          backend.Backend
	redacted   string // the URL as given, redacted
	note       string // what kite added: ", signed URLs served at …", ", in the temporary directory …"
	servedHost string // host:port of the handler kite serves, or ""
	cleanups   []func()
}

// Close closes the backend and undoes what openLiveStore started.
func (s *liveStore) Close() {
	_ = s.b.Close()
	for i := len(s.cleanups) - 1; i >= 0; i-- {
		s.cleanups[i]()
	}
}

// liveStoreArg returns the store URL from the positional arguments, or from
// $KITE_STORE when there are none.
func liveStoreArg(args []string) (string, error) {
	switch {
	case len(args) > 1:
		return "", fmt.Errorf("%w: want one store URL, got %d arguments", errUsage, len(args))
	case len(args) == 1:
		return args[0], nil
	case os.Getenv(storeEnv) != "":
		return os.Getenv(storeEnv), nil
	}
	return "", fmt.Errorf("%w: no store: pass URL or set %s", errUsage, storeEnv)
}

// openLiveStore opens raw. A mem:// or file:// URL without base_url gets a
// base_url on a free loopback port and a random secret, and kite serves the
// store's handler there, so that presigned URLs work; "file://" without a
// path gets a new temporary directory, removed by Close.
func openLiveStore(ctx context.Context, raw string) (*liveStore, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: store URL %s does not parse", errUsage, backend.RedactURL(raw))
	}
	s := &liveStore{redacted: backend.RedactURL(raw)}
	fail := func(err error) (*liveStore, error) {
		for i := len(s.cleanups) - 1; i >= 0; i-- {
			s.cleanups[i]()
		}
		return nil, err
	}
	q := u.Query()
	serve := (u.Scheme == "mem" || u.Scheme == "file") && !q.Has("base_url")
	if u.Scheme == "file" && u.Path == "" && u.Opaque == "" {
		dir, err := os.MkdirTemp("", "kite-live-")
		if err != nil {
			return nil, err
		}
		s.cleanups = append(s.cleanups, func() { os.RemoveAll(dir) })
		u.Path = dir
		s.note += ", in the temporary directory " + dir
	}
	var ln net.Listener
	if serve {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fail(err)
		}
		s.cleanups = append(s.cleanups, func() { ln.Close() })
		var secret [32]byte
		_, _ = rand.Read(secret[:])
		q.Set("base_url", "http://"+ln.Addr().String()+"/")
		q.Set("secret", hex.EncodeToString(secret[:]))
		u.RawQuery = q.Encode()
		s.servedHost = ln.Addr().String()
		s.note += ", signed URLs served at http://" + s.servedHost + "/"
	}
	s.b, err = backend.Open(ctx, u.String())
	if err != nil {
		return fail(err)
	}
	if serve {
		h, ok := s.b.(interface{ Handler() http.Handler })
		if !ok {
			_ = s.b.Close()
			return fail(fmt.Errorf("%s: the driver has no signed-URL handler", s.redacted))
		}
		srv := &http.Server{Handler: h.Handler(), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		s.cleanups = append(s.cleanups, func() { srv.Close() })
	}
	return s, nil
}

// liveScratchPrefix returns name followed by 16 random hex digits and "/".
func liveScratchPrefix(name string) string {
	var p [8]byte
	_, _ = rand.Read(p[:])
	return name + hex.EncodeToString(p[:]) + "/"
}

// liveRemoveScratch deletes every object under prefix with a context of its
// own, bounded, so that it also runs after ctx was cancelled by Ctrl-C. It
// lists, then deletes (never both at once, which a store may serialise), and
// lists again until nothing is left, since a store may show a key only once
// the key above it is gone (MinIO hides "a/b" while "a" exists).
func liveRemoveScratch(ctx context.Context, b backend.Backend, prefix string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	for range 10 {
		var keys []string
		for o, err := range b.List(ctx, backend.ListOptions{Prefix: prefix}) {
			if err != nil {
				return err
			}
			keys = append(keys, o.Key)
		}
		if len(keys) == 0 {
			return nil
		}
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(8)
		for _, k := range keys {
			g.Go(func() error { return b.Delete(gctx, k) })
		}
		if err := g.Wait(); err != nil {
			return err
		}
	}
	return fmt.Errorf("objects are still listed after 10 rounds of deletes")
}

// liveURLPattern finds URLs in check messages, whose presigned query must not be
// shown.
var liveURLPattern = regexp.MustCompile(`https?://[^\s"'<>]+`)

// liveRedactURLs hides the signatures and credentials of the URLs in s.
func liveRedactURLs(s string) string {
	return liveURLPattern.ReplaceAllStringFunc(s, backend.RedactURL)
}

// liveFirstLine returns s up to its first newline.
func liveFirstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// liveShorten cuts s to at most n runes, marking the cut.
func liveShorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// liveRound rounds d for a table: milliseconds, or microseconds below one.
func liveRound(d time.Duration) time.Duration {
	if d < time.Millisecond {
		return d.Round(time.Microsecond)
	}
	return d.Round(time.Millisecond)
}
