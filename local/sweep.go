package local

import (
	"context"
	"io/fs"
	"os"
	"path"
	"strings"
)

// Sweep removes the temporary files that writers which died mid-write (a
// process killed during a Put or Copy) left in the directory, and returns how
// many it removed. A live writer holds an flock on its temporary file from
// just after creating it until its commit, in this process or any other, so
// Sweep never removes a file still being written. (A writer that finds its
// file taken in the moment between creating and locking it makes another.)
// Objects are never touched.
//
// New starts one Sweep in the background unless Options.NoSweep is set;
// Close stops it. Sweep is safe to call at any time, also while other
// processes write to the directory. Where flock is missing it removes nothing.
// Errors on single files do not stop it; the first is returned at the end.
func (b *Backend) Sweep(ctx context.Context) (int, error) {
	if err := b.ready(ctx); err != nil {
		return 0, wrap("Sweep", "", err)
	}
	removed := 0
	var first error
	err := fs.WalkDir(b.root.FS(), ".", func(name string, d fs.DirEntry, err error) error {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if err != nil {
			// A directory removed meanwhile (a Delete pruning empty
			// parents) is not an error.
			if !isMissing(err) && first == nil {
				first = err
			}
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !strings.HasPrefix(d.Name(), tempPrefix) {
			return nil
		}
		ok, err := b.sweepTemp(name)
		if err != nil && !isMissing(err) && first == nil {
			first = err
		}
		if ok {
			removed++
		}
		return nil
	})
	if err == nil {
		err = first
	}
	return removed, wrap("Sweep", "", err)
}

// sweepTemp removes temporary file name (slash-separated, relative to the
// root) if no writer holds it, and reports whether it did.
func (b *Backend) sweepTemp(name string) (bool, error) {
	f, err := b.root.OpenFile(name, os.O_RDONLY, 0)
	if err != nil {
		return false, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return false, err
	}
	locked, err := tryLockFile(f)
	if err != nil || !locked {
		return false, err
	}
	// Temporary names are random and never reused, and the lock is held
	// on the file at name: the name cannot have been taken by a live writer.
	now, err := b.root.Lstat(name)
	if err != nil || !os.SameFile(fi, now) {
		return false, err
	}
	if err := b.root.Remove(name); err != nil {
		return false, err
	}
	if !b.nosync {
		_ = syncDir(b.root, path.Dir(name))
	}
	return true, nil
}

// startSweep runs one Sweep in the background; Close cancels it and waits.
func (b *Backend) startSweep() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	b.stopSweep = func() {
		cancel()
		<-done
	}
	go func() {
		defer close(done)
		// Nothing to report to: a failure here is seen again by the
		// next Sweep, or by the writes that meet the same trouble.
		_, _ = b.Sweep(ctx)
	}()
}
