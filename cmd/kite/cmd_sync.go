package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/kitehq/kite/backend"
)

func init() {
	register("sync", "copy every object under a prefix from one store to another, skipping identical ones", runSync)
}

const syncHelp = `Usage: kite sync [--prefix P] [--jobs N] [--dry-run] [--delete] [--json] [--quiet] SRC_URL DST_URL

Copies every object under the prefix from the store SRC_URL to the store
DST_URL under the same key, with its content type and metadata: the provider
migration tool. Objects are streamed from Get to Put, several at a time
(--jobs), and each copy is verified: after the Put the destination is read
back with Stat and must report the size of the source and the fingerprint
that was sent.

Identical objects are skipped. ETags differ between providers, so sync keeps
its own fingerprint: the hex SHA-256 of the content, written into the
destination's metadata under the one key it reserves, "kite-sha256". An
object is identical when size, content type, metadata (apart from
kite-sha256) and fingerprint agree; the source's fingerprint is its own
kite-sha256 when it has one (checked whenever its bytes are read), otherwise
sync reads and hashes the source. A destination object without kite-sha256
is copied again. Objects up to 1 MiB are read once into memory; larger ones
are read twice when the source has no kite-sha256 (once to hash, once to
copy), never into a temporary file.

Every Put is atomic, so a destination object is whole or absent: after an
interruption (Ctrl-C) or a failure, run the same command again and it copies
only what is missing. --delete removes destination objects under the prefix
that the source does not have, and only when every copy succeeded.

Progress goes to stderr: a bar on a terminal, else a line every 100 objects
(none with --quiet). The summary goes to stdout, or with --json one JSON
document: {"source", "destination", "prefix", "dry_run", "copied",
"copied_bytes", "skipped", "deleted", "failed", "failures": [{"key",
"error"}], "actions": [{"op", "key", "size"}] (dry run), "delete_skipped",
"interrupted", "elapsed_seconds"}. Each failed object is also printed on
stderr, one per line, and the exit code is 1.

Example:
  kite sync --prefix invoices/ --jobs 16 file:///srv/objects 'minio://ACCESS:SECRET@minio:9000/docs'

Flags:
`

// syncProgressEvery is how many objects a progress line stands for when
// stderr is not a terminal.
const syncProgressEvery = 100

func runSync(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sync", stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), syncHelp)
		fs.PrintDefaults()
	}
	prefix := fs.String("prefix", "", "copy only the keys that start with `P` (on both stores)")
	jobs := fs.Int("jobs", 8, "objects copied at the same time")
	dryRun := fs.Bool("dry-run", false, "print what would be copied and deleted; change nothing")
	del := fs.Bool("delete", false, "delete destination objects under the prefix that the source does not have")
	asJSON := fs.Bool("json", false, "print the summary as one JSON document")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return fmt.Errorf("%w: want SRC_URL and DST_URL, got %d arguments", errUsage, fs.NArg())
	}
	if *jobs < 1 {
		return fmt.Errorf("%w: --jobs %d: want at least 1", errUsage, *jobs)
	}
	srcName, dstName := backend.RedactURL(fs.Arg(0)), backend.RedactURL(fs.Arg(1))
	src, err := backend.Open(ctx, fs.Arg(0))
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	defer src.Close()
	dst, err := backend.Open(ctx, fs.Arg(1))
	if err != nil {
		return fmt.Errorf("destination: %w", err)
	}
	defer dst.Close()

	progress := syncProgress(stderr, *quiet)
	res, err := syncRun(ctx, src, dst, srcName, dstName, syncOptions{
		Prefix: *prefix, Jobs: *jobs, DryRun: *dryRun, Delete: *del, Progress: progress.update,
	})
	progress.finish()

	for _, f := range res.Failures {
		fmt.Fprintf(stderr, "failed %q: %s\n", f.Key, f.Error)
	}
	if *asJSON {
		if jerr := syncPrintJSON(stdout, srcName, dstName, *prefix, *dryRun, res); jerr != nil && err == nil {
			err = jerr
		}
	} else {
		syncPrintHuman(stdout, *dryRun, res)
	}
	switch {
	case res.Interrupted:
		return fmt.Errorf("interrupted after %d objects (%d copied, %d skipped); run it again to finish",
			res.Copied+res.Skipped+res.Failed+res.Deleted, res.Copied, res.Skipped)
	case err != nil:
		return err
	case res.Failed > 0:
		return fmt.Errorf("%d %s failed (listed above)%s", res.Failed, syncPlural(res.Failed, "object"), syncDeleteNote(res))
	}
	return nil
}

func syncDeleteNote(res *syncResult) string {
	if res.DeleteSkipped {
		return "; nothing deleted"
	}
	return ""
}

func syncPrintHuman(w io.Writer, dryRun bool, res *syncResult) {
	verb, del := "copied", "deleted"
	if dryRun {
		for _, a := range res.Planned {
			fmt.Fprintf(w, "%-6s %12d  %s\n", a.Op, a.Size, a.Key)
		}
		verb, del = "dry run: would copy", "would delete"
	}
	line := fmt.Sprintf("%s %d %s (%d bytes), skipped %d identical, %s %d, failed %d, elapsed %s",
		verb, res.Copied, syncPlural(res.Copied, "object"), res.CopiedBytes, res.Skipped,
		del, res.Deleted, res.Failed, res.Elapsed.Round(time.Millisecond))
	if res.DeleteSkipped {
		line += " (delete skipped: not every object was copied)"
	}
	fmt.Fprintln(w, line)
}

func syncPrintJSON(w io.Writer, srcName, dstName, prefix string, dryRun bool, res *syncResult) error {
	doc := struct {
		Source      string `json:"source"`
		Destination string `json:"destination"`
		Prefix      string `json:"prefix"`
		DryRun      bool   `json:"dry_run"`
		syncCounts
		Failures       []syncFailure `json:"failures"`
		Actions        []syncAction  `json:"actions,omitempty"`
		DeleteSkipped  bool          `json:"delete_skipped"`
		Interrupted    bool          `json:"interrupted"`
		ElapsedSeconds float64       `json:"elapsed_seconds"`
	}{
		Source: srcName, Destination: dstName, Prefix: prefix, DryRun: dryRun,
		syncCounts: res.syncCounts, Failures: res.Failures, Actions: res.Planned,
		DeleteSkipped: res.DeleteSkipped, Interrupted: res.Interrupted,
		ElapsedSeconds: res.Elapsed.Seconds(),
	}
	if doc.Failures == nil {
		doc.Failures = []syncFailure{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

func syncPlural(n int64, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// syncProgressReporter shows progress on stderr: a spinner with counts on a
// terminal, else a line every syncProgressEvery objects.
type syncProgressReporter struct {
	w    io.Writer
	bar  *progressbar.ProgressBar
	off  bool
	last int64
}

func syncProgress(stderr io.Writer, quiet bool) *syncProgressReporter {
	p := &syncProgressReporter{w: stderr, off: quiet}
	if f, ok := stderr.(*os.File); ok && !quiet && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions64(-1,
			progressbar.OptionSetWriter(stderr),
			progressbar.OptionSetDescription("sync"),
			progressbar.OptionShowCount(),
			progressbar.OptionSetItsString("objects"),
			progressbar.OptionShowIts(),
			progressbar.OptionSpinnerType(14),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	return p
}

// update is syncOptions.Progress: it is never called concurrently.
func (p *syncProgressReporter) update(c syncCounts) {
	if p.off {
		return
	}
	done := c.Copied + c.Skipped + c.Failed + c.Deleted
	if p.bar != nil {
		_ = p.bar.Add64(done - p.last)
		p.bar.Describe(fmt.Sprintf("sync: %d copied, %d skipped, %d failed, %d deleted", c.Copied, c.Skipped, c.Failed, c.Deleted))
		p.last = done
		return
	}
	if done/syncProgressEvery > p.last/syncProgressEvery {
		fmt.Fprintf(p.w, "sync: %d objects done: %d copied (%d bytes), %d skipped, %d failed, %d deleted\n",
			done, c.Copied, c.CopiedBytes, c.Skipped, c.Failed, c.Deleted)
	}
	p.last = done
}

func (p *syncProgressReporter) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
