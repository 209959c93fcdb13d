package conformance

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kitehq/kite/backend"
)

// T is what a check needs from its test. *testing.T satisfies it, and so does
// the recorder RunChecks uses outside go test. FailNow, Fatal, Fatalf, SkipNow,
// Skip and Skipf end the check by runtime.Goexit, so, as with testing, they must
// be called from the check's own goroutine.
type T interface {
	Helper()
	Name() string
	Log(args ...any)
	Logf(format string, args ...any)
	Error(args ...any)
	Errorf(format string, args ...any)
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Fail()
	FailNow()
	Failed() bool
	Skip(args ...any)
	Skipf(format string, args ...any)
	SkipNow()
	Skipped() bool
	Cleanup(func())
	TempDir() string
	Context() context.Context
}

// Harness tells the suite how to make a backend of the driver under test and
// what its store cannot honour.
type Harness struct {
	// New returns a new, empty backend for one check. Checks run in parallel,
	// each with its own backend; the suite closes it in t.Cleanup (the Close
	// check closes it itself, once). New may
	// register its own cleanups (a bucket to remove, a server to stop) and
	// call t.Fatal or t.Skip.
	New func(t T) backend.Backend
	// StreamSize is the size of the object the streaming check writes with
	// unknown size from a non-seekable reader; make it larger than the
	// driver's part size. 0 means 3 MiB + 1.
	StreamSize int64
	// PublicHost is the host[:port] every presigned URL must name; "" skips
	// that check.
	PublicHost string

	// Reasons the store cannot honour something. A non-empty reason turns the
	// checks that need it into skips that carry the reason.

	// NoPresign: presigning is unsupported (no base URL or secret configured).
	NoPresign string
	// NoSignatureCheck: the store accepts any signature and ignores expiry
	// (fake-gcs-server), so expiry, tampering, another key and another method
	// cannot be checked.
	NoSignatureCheck string
	// NoContentTypeCheck: a presigned PUT with another Content-Type than the
	// signed one is not refused.
	NoContentTypeCheck string
	// NoSizeCheck: a presigned PUT with another length than the signed one is
	// not refused.
	NoSizeCheck string
	// NoParentKeys: the store cannot hold a key and keys below it at once,
	// like "a" and "a/b" (a server that keeps objects as files: versitygw
	// refuses the second write, MinIO leaves "a/b" out of listings). The
	// checks then store no key that is the "/"-parent of another key on the
	// same backend and check everything else; Keys/ParentAndChild, and the
	// parts of other checks that exist to test such pairs, are skipped.
	NoParentKeys string
	// MaxKeyLen is the longest key the backend takes when that is less than
	// backend.MaxKeyLen, as behind a wrapper that adds a prefix (1024 less
	// the prefix); 0 means backend.MaxKeyLen. Longer valid keys are left out
	// of the key tables.
	MaxKeyLen int
	// NoLongKeyReplace: the store cannot replace an object whose last key
	// segment is near the 255-byte limit (versitygw answers 409 to a PUT or
	// copy onto one: its temporary name no longer fits). Keys/LongReplace is
	// skipped and Copy copies only onto fresh keys of that length.
	NoLongKeyReplace string

	// HTTPClient fetches presigned URLs. It must be separate from anything the
	// backend uses and hold no credentials or cookies. nil means a new plain
	// client with its own transport per check, which does not follow
	// redirects.
	HTTPClient *http.Client
}

// Check is one named check of the suite.
type Check struct {
	// Name is stable, "/"-separated, such as "Put/RoundTrip".
	Name string
	// Run performs the check against backends made by h.New and reports
	// through t.
	Run func(t T, h Harness)
}

// Checks returns every check of the suite, in a stable order. The slice is
// new on each call.
func Checks() []Check {
	return []Check{
		{"Put/RoundTrip", checkPutRoundTrip},
		{"Put/Replace", checkPutReplace},
		{"Put/Metadata", checkPutMetadata},
		{"Put/SizeMismatch", checkPutSizeMismatch},
		{"Put/NilReader", checkPutNilReader},
		{"Put/ReaderError", checkPutReaderError},
		{"Put/Streaming", checkPutStreaming},
		{"Put/IfNotExists", checkPutIfNotExists},
		{"Put/IfMatch", checkPutIfMatch},
		{"Put/IfMatchRace", checkPutIfMatchRace},
		{"Put/Atomic", checkPutAtomic},
		{"Get/Range", checkGetRange},
		{"Errors/InvalidKey", checkErrorsInvalidKey},
		{"Errors/NotFound", checkErrorsNotFound},
		{"Keys/ParentAndChild", checkKeysParentAndChild},
		{"Keys/LongReplace", checkKeysLongReplace},
		{"List/Order", checkListOrder},
		{"List/Prefix", checkListPrefix},
		{"List/StartAfter", checkListStartAfter},
		{"List/Delimiter", checkListDelimiter},
		{"List/Pagination", checkListPagination},
		{"List/Break", checkListBreak},
		{"List/Empty", checkListEmpty},
		{"Copy", checkCopy},
		{"Delete", checkDelete},
		{"Cancel", checkCancel},
		{"Health", checkHealth},
		{"Close", checkClose},
		{"Concurrency", checkConcurrency},
		{"Document", checkDocument},
		{"Presign/Get", checkPresignGet},
		{"Presign/ContentDisposition", checkPresignContentDisposition},
		{"Presign/TrickyKeys", checkPresignTrickyKeys},
		{"Presign/PublicHost", checkPresignPublicHost},
		{"Presign/Options", checkPresignOptions},
		{"Presign/Expiry", checkPresignExpiry},
		{"Presign/Tampered", checkPresignTampered},
		{"Presign/OtherKey", checkPresignOtherKey},
		{"Presign/OtherMethod", checkPresignOtherMethod},
		{"Presign/Put", checkPresignPut},
		{"Presign/PutContentType", checkPresignPutContentType},
		{"Presign/PutSize", checkPresignPutSize},
		{"Presign/NoCheckAtPresign", checkPresignNoCheckAtPresign},
	}
}

// Run runs every check against the driver h describes, each as a parallel
// subtest of t named after the check.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.New == nil {
		t.Fatal("conformance: Harness.New is nil")
	}
	for _, c := range Checks() {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			c.Run(t, h)
		})
	}
}

// Status is the outcome of one check run by RunChecks.
type Status string

// The outcomes of a check. A check that failed and then skipped is a failure.
const (
	StatusPass Status = "pass"
	StatusFail Status = "fail"
	StatusSkip Status = "skip"
)

// Result is the outcome of one check run by RunChecks.
type Result struct {
	Name   string
	Status Status
	// Message holds what the check logged and reported, one line per call:
	// the failures, or the reason of a skip.
	Message  string
	Duration time.Duration
}

// parallelChecks is how many checks RunChecks runs at once: enough to overlap
// the waits of the presign checks without flooding a remote store.
const parallelChecks = 4

// graceAfterCancel is how long RunChecks waits for a check to return once ctx
// is done before it reports the check as hung and abandons it.
const graceAfterCancel = 10 * time.Second

// RunChecks runs the checks whose name match accepts (all when match is nil)
// outside go test, at most a few at a time, and returns their results in the
// order of Checks. Each check gets a recording T: FailNow, Fatal and SkipNow
// end the check's goroutine as in testing, cleanups run last-in first-out
// after the check, TempDir directories are removed, Context is cancelled when
// the check ends, and a panic is a failure carrying its message, not a crash.
// Checks not started when ctx is done fail with ctx's error; a check still
// running graceAfterCancel after ctx is done fails and is abandoned without
// its cleanups.
func RunChecks(ctx context.Context, h Harness, match func(name string) bool) []Result {
	var checks []Check
	for _, c := range Checks() {
		if match == nil || match(c.Name) {
			checks = append(checks, c)
		}
	}
	return runChecks(ctx, h, checks)
}

func runChecks(ctx context.Context, h Harness, checks []Check) []Result {
	results := make([]Result, len(checks))
	sem := make(chan struct{}, parallelChecks)
	var wg sync.WaitGroup
	for i, c := range checks {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if err := ctx.Err(); err != nil {
			results[i] = Result{Name: c.Name, Status: StatusFail, Message: "not run: " + err.Error()}
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			results[i] = runOne(ctx, c, h)
		})
	}
	wg.Wait()
	return results
}

func runOne(ctx context.Context, c Check, h Harness) Result {
	start := time.Now()
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r := &recorder{name: c.Name, ctx: cctx}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			// runtime.Goexit (FailNow, SkipNow) also runs this, with nothing to recover.
			if p := recover(); p != nil {
				r.Errorf("panic: %v\n%s", p, debug.Stack())
			}
		}()
		c.Run(r, h)
	}()
	abandoned := false
	select {
	case <-done:
	case <-ctx.Done():
		select {
		case <-done:
		case <-time.After(graceAfterCancel):
			r.Errorf("check still running %v after the context was cancelled: abandoned without its cleanups", graceAfterCancel)
			abandoned = true
		}
	}
	cancel() // as testing does, Context is done before the cleanups run
	if !abandoned {
		r.runCleanups()
	}
	return r.result(time.Since(start))
}

// recorder is the T of RunChecks. It is safe for concurrent use, like *testing.T.
type recorder struct {
	name string
	ctx  context.Context

	mu       sync.Mutex
	failed   bool
	skipped  bool
	lines    []string
	cleanups []func()
}

var _ T = (*recorder)(nil)

func (r *recorder) Helper()                  {}
func (r *recorder) Name() string             { return r.name }
func (r *recorder) Context() context.Context { return r.ctx }

func (r *recorder) log(s string) {
	s = condense(strings.TrimSuffix(s, "\n"))
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, s)
}

// condense turns testify's multi-line report ("Error Trace:", "Error:",
// "Test:", "Messages:") into "messages: error", which reads in a table; the
// trace names lines of this package, not of the driver.
func condense(s string) string {
	if !strings.Contains(s, "\tError Trace:") {
		return s
	}
	fields := map[string][]string{}
	label := ""
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimPrefix(line, "\t")
		if name, rest, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, "\t") && !strings.Contains(name, " \t") && strings.HasPrefix(rest, " ") {
			label = strings.TrimSpace(name)
			line = strings.TrimLeft(rest, " \t")
		} else {
			line = strings.TrimLeft(line, " \t")
		}
		line = strings.TrimRight(line, " \t")
		if label != "" && line != "" {
			fields[label] = append(fields[label], line)
		}
	}
	msg := strings.Join(fields["Error"], "\n\t")
	if m := strings.Join(fields["Messages"], " "); m != "" {
		msg = m + ": " + msg
	}
	if msg == "" {
		return s
	}
	return msg
}

func (r *recorder) Log(args ...any)                 { r.log(fmt.Sprintln(args...)) }
func (r *recorder) Logf(format string, args ...any) { r.log(fmt.Sprintf(format, args...)) }

func (r *recorder) Error(args ...any) {
	r.log(fmt.Sprintln(args...))
	r.Fail()
}

func (r *recorder) Errorf(format string, args ...any) {
	r.log(fmt.Sprintf(format, args...))
	r.Fail()
}

func (r *recorder) Fatal(args ...any) {
	r.log(fmt.Sprintln(args...))
	r.FailNow()
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.log(fmt.Sprintf(format, args...))
	r.FailNow()
}

func (r *recorder) Fail() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = true
}

func (r *recorder) FailNow() {
	r.Fail()
	runtime.Goexit()
}

func (r *recorder) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

func (r *recorder) Skip(args ...any) {
	r.log(fmt.Sprintln(args...))
	r.SkipNow()
}

func (r *recorder) Skipf(format string, args ...any) {
	r.log(fmt.Sprintf(format, args...))
	r.SkipNow()
}

func (r *recorder) SkipNow() {
	r.mu.Lock()
	r.skipped = true
	r.mu.Unlock()
	runtime.Goexit()
}

func (r *recorder) Skipped() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.skipped
}

func (r *recorder) Cleanup(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleanups = append(r.cleanups, f)
}

func (r *recorder) TempDir() string {
	dir, err := os.MkdirTemp("", "kite-conformance-")
	if err != nil {
		r.Fatalf("TempDir: %v", err)
	}
	r.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			r.Errorf("TempDir cleanup: %v", err)
		}
	})
	return dir
}

// runCleanups runs the cleanups last-in first-out, each in its own goroutine
// so that one calling FailNow or panicking does not stop the others. A
// cleanup may register more.
func (r *recorder) runCleanups() {
	for {
		r.mu.Lock()
		n := len(r.cleanups)
		if n == 0 {
			r.mu.Unlock()
			return
		}
		f := r.cleanups[n-1]
		r.cleanups = r.cleanups[:n-1]
		r.mu.Unlock()
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer func() {
				if p := recover(); p != nil {
					r.Errorf("panic in cleanup: %v\n%s", p, debug.Stack())
				}
			}()
			f()
		}()
		<-done
	}
}

func (r *recorder) result(d time.Duration) Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := StatusPass
	switch {
	case r.failed:
		st = StatusFail
	case r.skipped:
		st = StatusSkip
	}
	return Result{Name: r.name, Status: st, Message: strings.Join(r.lines, "\n"), Duration: d}
}
