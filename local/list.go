package local

import (
	"context"
	"errors"
	"io"
	"iter"
	"os"
	"slices"
	"strings"

	"github.com/kitehq/kite/backend"
)

// errStop ends a walk when the caller's loop breaks; it is never yielded.
var errStop = errors.New("stop")

// List yields the objects with opts.Prefix after opts.StartAfter in byte-wise
// key order, in one walk of the directory tree: each directory is read once
// and its entries are sorted in key order, and directories that cannot hold a
// wanted key are not entered. PageSize is ignored (there are no pages). With
// a Delimiter, common prefixes (S3 semantics) are yielded once each as
// IsPrefix objects, in key order; with "/" a directory's common prefix is
// found without walking all of it. Listed objects carry every attribute. An
// error, a closed backend or a done context is yielded once, last.
func (b *Backend) List(ctx context.Context, opts backend.ListOptions) iter.Seq2[*backend.Object, error] {
	return func(yield func(*backend.Object, error) bool) {
		if err := backend.CheckList(opts); err != nil {
			yield(nil, wrap("List", opts.Prefix, err))
			return
		}
		if err := b.ready(ctx); err != nil {
			yield(nil, wrap("List", opts.Prefix, err))
			return
		}
		l := &lister{
			ctx:        ctx,
			prefix:     opts.Prefix,
			delim:      opts.Delimiter,
			after:      opts.StartAfter,
			startAfter: opts.StartAfter,
			yield:      yield,
		}
		if err := l.run(b.root); err != nil && err != errStop {
			yield(nil, wrap("List", opts.Prefix, err))
		}
	}
}

// lister is the state of one List walk.
type lister struct {
	ctx    context.Context
	prefix string
	delim  string
	// The lower bound: a key is wanted only if it is > after and, when
	// afterIsPrefix, does not start with after. Yielding a common prefix
	// raises the bound to it, so the keys under it are skipped, and whole
	// directories with them, without being read.
	after         string
	afterIsPrefix bool
	// startAfter is the caller's StartAfter: a common prefix at or before
	// it is not yielded (every yielded key is > StartAfter).
	startAfter string
	yield      func(*backend.Object, error) bool
}

// entry is a directory entry that may hold keys, with the key order name.
type entry struct {
	sortKey string // segment for an object, name + "/" for a directory
	name    string // on disk
	dir     bool
	obj     *backend.Object // read ahead for a long-name object
}

// run starts the walk in the deepest directory that holds every key with
// the prefix, so that listing "user/docs/" never reads the root.
func (l *lister) run(root *os.Root) error {
	i := strings.LastIndexByte(l.prefix, '/')
	if i < 0 {
		return l.walk(root, "")
	}
	start := l.prefix[:i]
	if backend.ValidateKey(start) != nil {
		return nil // no valid key has this prefix
	}
	sub, err := openDir(root, start)
	if err != nil {
		if isMissing(err) {
			return nil
		}
		return err
	}
	defer sub.Close()
	return l.walk(sub, start+"/")
}

// walk yields the wanted keys of directory dir, whose keys start with p.
func (l *lister) walk(dir *os.Root, p string) error {
	ents, err := l.readDir(dir, p)
	if err != nil {
		return err
	}
	for i := range ents {
		if err := l.ctx.Err(); err != nil {
			return err
		}
		e := &ents[i]
		if e.dir {
			dp := p + e.name + "/"
			if !l.wantDir(dp) {
				continue
			}
			if l.delim == "/" && strings.HasPrefix(dp, l.prefix) {
				// Every key below has the common prefix dp: yield it if one
				// wanted object exists, without listing the rest.
				has, err := l.hasObject(dir, e.name, dp)
				if err != nil {
					return err
				}
				if has && !l.emitPrefix(dp) {
					return errStop
				}
				continue
			}
			sub, err := openDir(dir, e.name)
			if err != nil {
				if isMissing(err) {
					continue // removed by a Delete meanwhile
				}
				return err
			}
			err = l.walk(sub, dp)
			sub.Close()
			if err != nil {
				return err
			}
			if l.covered(p) {
				return nil
			}
			continue
		}
		key := p + e.sortKey
		if !l.wantKey(key) {
			continue
		}
		if cp, ok := l.commonPrefix(key); ok {
			if !l.emitPrefix(cp) {
				return errStop
			}
			if l.covered(p) {
				return nil
			}
			continue
		}
		obj := e.obj
		if obj == nil {
			obj, err = statEntry(dir, e.name)
			if err != nil {
				if isMissing(err) {
					continue // deleted meanwhile
				}
				return keyError(key, err)
			}
			obj.Key = key
		}
		if !l.yield(obj, nil) {
			return errStop
		}
	}
	return nil
}

// keyError names the key of a corrupt object file in a List error.
func keyError(key string, err error) error {
	return wrap("List", key, err)
}

// readDir returns the entries of dir that may hold keys, in key order.
// Internal files, foreign names and symbolic links are left out. A directory
// removed meanwhile has no entries.
func (l *lister) readDir(dir *os.Root, p string) ([]entry, error) {
	f, err := dir.Open(".")
	if err != nil {
		if isMissing(err) {
			return nil, nil
		}
		return nil, err
	}
	des, err := f.ReadDir(-1)
	f.Close()
	if err != nil {
		if isMissing(err) {
			return nil, nil
		}
		return nil, err
	}
	ents := make([]entry, 0, len(des))
	for _, de := range des {
		n := de.Name()
		switch {
		case isLongName(n):
			if !de.Type().IsRegular() {
				continue
			}
			// The segment is only in the trailer, and it decides the order.
			obj, err := statEntry(dir, n)
			if err != nil {
				if isMissing(err) {
					continue
				}
				return nil, err
			}
			seg, ok := strings.CutPrefix(obj.Key, p)
			if !ok || len(seg) != backend.MaxSegmentLen || !validSegment(seg) || longName(seg) != n {
				continue // not where this key belongs: not ours
			}
			ents = append(ents, entry{sortKey: seg, name: n, obj: obj})
		case strings.HasPrefix(n, `\`):
			// temporary and other internal files
		default:
			if seg, ok := shortSegment(n); ok {
				if de.Type().IsRegular() {
					ents = append(ents, entry{sortKey: seg, name: n})
				}
				continue
			}
			if de.IsDir() && validSegment(n) {
				ents = append(ents, entry{sortKey: n + "/", name: n, dir: true})
			}
		}
	}
	slices.SortFunc(ents, func(a, b entry) int { return strings.Compare(a.sortKey, b.sortKey) })
	return ents, nil
}

// hasObject reports whether directory name in parent, whose keys start with
// dp, holds a wanted object at any depth. It stops at the first one, so that
// an empty directory left by a race never shows up as a common prefix.
func (l *lister) hasObject(parent *os.Root, name, dp string) (bool, error) {
	if err := l.ctx.Err(); err != nil {
		return false, err
	}
	dir, err := openDir(parent, name)
	if err != nil {
		if isMissing(err) {
			return false, nil
		}
		return false, err
	}
	defer dir.Close()
	f, err := dir.Open(".")
	if err != nil {
		if isMissing(err) {
			return false, nil
		}
		return false, err
	}
	defer f.Close()
	// Short object names prove an object by their name alone; long names
	// need their trailer read, so they are looked at only when no short one
	// was found, and subdirectories last.
	var longs, subdirs []string
	for {
		des, err := f.ReadDir(256)
		for _, de := range des {
			n := de.Name()
			switch {
			case isLongName(n):
				if de.Type().IsRegular() {
					longs = append(longs, n)
				}
			case strings.HasPrefix(n, `\`):
			default:
				if seg, ok := shortSegment(n); ok {
					if de.Type().IsRegular() && l.wantKey(dp+seg) {
						return true, nil
					}
					continue
				}
				if de.IsDir() && validSegment(n) && l.wantDir(dp+n+"/") {
					subdirs = append(subdirs, n)
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			if isMissing(err) {
				return false, nil
			}
			return false, err
		}
	}
	for _, n := range longs {
		obj, err := statEntry(dir, n)
		if err != nil {
			if isMissing(err) {
				continue
			}
			return false, err
		}
		if seg, ok := strings.CutPrefix(obj.Key, dp); ok && longName(seg) == n && l.wantKey(obj.Key) {
			return true, nil
		}
	}
	for _, s := range subdirs {
		if has, err := l.hasObject(dir, s, dp+s+"/"); has || err != nil {
			return has, err
		}
	}
	return false, nil
}

// statEntry reads the object file name in dir; Key is the trailer's.
func statEntry(dir *os.Root, name string) (*backend.Object, error) {
	f, err := dir.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	a, size, err := readAttrs(f, fi.Size())
	if err != nil {
		return nil, err
	}
	return a.object(size), nil
}

// wantKey reports whether key has the prefix and is past the bound.
func (l *lister) wantKey(key string) bool {
	return strings.HasPrefix(key, l.prefix) && key > l.after &&
		!(l.afterIsPrefix && strings.HasPrefix(key, l.after))
}

// wantDir reports whether the directory holding the keys starting with dp
// may hold a wanted key.
func (l *lister) wantDir(dp string) bool {
	if !strings.HasPrefix(dp, l.prefix) && !strings.HasPrefix(l.prefix, dp) {
		return false
	}
	if l.after > dp && !strings.HasPrefix(l.after, dp) {
		return false // every key starting with dp is <= after
	}
	return !(l.afterIsPrefix && strings.HasPrefix(dp, l.after))
}

// covered reports whether every key starting with p is below the bound.
func (l *lister) covered(p string) bool {
	return l.afterIsPrefix && strings.HasPrefix(p, l.after)
}

// commonPrefix returns key's common prefix: the prefix and the text up to and
// including the first delimiter after it.
func (l *lister) commonPrefix(key string) (string, bool) {
	if l.delim == "" {
		return "", false
	}
	i := strings.Index(key[len(l.prefix):], l.delim)
	if i < 0 {
		return "", false
	}
	return key[:len(l.prefix)+i+len(l.delim)], true
}

// emitPrefix yields common prefix cp and raises the bound past its keys.
func (l *lister) emitPrefix(cp string) bool {
	l.after, l.afterIsPrefix = cp, true
	if cp <= l.startAfter {
		return true // StartAfter falls inside cp: its keys are skipped all the same
	}
	return l.yield(&backend.Object{Key: cp, IsPrefix: true}, nil)
}
