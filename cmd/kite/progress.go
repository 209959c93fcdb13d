package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progressMin is the size a transfer must pass before it gets a progress bar:
// a small object is done before a bar would be worth drawing.
const progressMin = 1 << 20

// isTerminal reports whether w is a terminal (a *os.File on a tty).
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progress draws a byte progress bar for one transfer on stderr, only when
// stderr is a terminal, --quiet is not given and the transfer is larger than
// progressMin. Nothing else is ever written, so scripts that read stderr
// see only errors. A progress is used by one transfer at a time.
type progress struct {
	w    io.Writer
	on   bool
	size int64 // -1: unknown; the bar then appears once progressMin bytes went by
	desc string
	n    int64
	bar  *progressbar.ProgressBar
}

// newProgress returns the progress of a transfer of size bytes (-1 when
// unknown) described by desc.
func newProgress(stderr io.Writer, quiet bool, size int64, desc string) *progress {
	return newProgressOn(stderr, !quiet && isTerminal(stderr), size, desc)
}

// newProgressOn is newProgress with the terminal test already made.
func newProgressOn(w io.Writer, on bool, size int64, desc string) *progress {
	p := &progress{w: w, on: on, size: size, desc: desc}
	if on && size > progressMin {
		p.start()
	}
	return p
}

func (p *progress) start() {
	p.bar = progressbar.NewOptions64(p.size,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription(p.desc),
		progressbar.OptionShowBytes(true),
		progressbar.OptionUseIECUnits(true),
		progressbar.OptionSetWidth(20),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionShowCount(),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionSetRenderBlankState(true),
	)
	if p.n > 0 {
		_ = p.bar.Add64(p.n)
	}
}

// Reader returns r counting into the bar; r itself when there is no bar to draw.
func (p *progress) Reader(r io.Reader) io.Reader {
	if !p.on {
		return r
	}
	return &progressReader{r: r, p: p}
}

func (p *progress) add(n int) {
	p.n += int64(n)
	if p.bar == nil {
		if p.size >= 0 || p.n <= progressMin {
			return
		}
		p.start() // unknown size, now past progressMin
		return
	}
	_ = p.bar.Add64(int64(n)) // an overrun is the transfer's error to report, not the bar's
}

// Done ends the bar: on success it stays on screen, completed; on failure it
// is cleared so that the error message starts on a clean line.
func (p *progress) Done(err error) {
	if p.bar == nil {
		return
	}
	_ = p.bar.Finish() // also stops the spinner of an unknown size
	if err != nil {
		_ = p.bar.Clear()
		return
	}
	fmt.Fprintln(p.w)
}

type progressReader struct {
	r io.Reader
	p *progress
}

func (pr *progressReader) Read(b []byte) (int, error) {
	n, err := pr.r.Read(b)
	pr.p.add(n)
	return n, err
}
