package minio

import (
	"context"
	"iter"
	"strings"

	mc "github.com/minio/minio-go/v7"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/internal/provider"
)

// defaultPageSize is the ListObjectsV2 page size when ListOptions.PageSize is 0.
const defaultPageSize = 1000

// List yields the objects in byte-wise key order with paginated
// ListObjectsV2 requests made on the caller's goroutine (minio-go's
// ListObjectsIter, which takes ctx): breaking out of the loop stops the
// listing and leaves no goroutine behind. Delimiter "/" is the server's;
// any other delimiter is applied here to a flat listing of the prefix (the
// SDK offers no cancellable listing with another delimiter), so it reads
// every key under the prefix. A cancelled ctx ends the listing with ctx's
// error.
func (b *Backend) List(ctx context.Context, opts backend.ListOptions) iter.Seq2[*backend.Object, error] {
	return func(yield func(*backend.Object, error) bool) {
		if err := backend.CheckList(opts); err != nil {
			yield(nil, wrap("List", opts.Prefix, err))
			return
		}
		if opts.MatchesNothing() {
			return
		}
		if err := b.live(ctx); err != nil {
			yield(nil, wrap("List", opts.Prefix, err))
			return
		}
		pageSize := opts.PageSize
		if pageSize == 0 {
			pageSize = defaultPageSize
		}
		// MinIO ends a listing after its first page (IsTruncated false)
		// when max-keys is 1 and the prefix is itself a key; 2 is safe.
		pageSize = max(pageSize, 2)
		// MinIO refuses a prefix or start-after with a "." or ".." segment;
		// such a prefix is listed from its parent and filtered in emit.
		prefix, after, filter, ok := provider.ListRange(opts.Prefix, opts.StartAfter)
		if !ok {
			return // no key has a "." or ".." segment
		}
		noOwner := false
		lo := mc.ListObjectsOptions{
			Prefix:     prefix,
			StartAfter: after,
			Recursive:  opts.Delimiter != "/",
			MaxKeys:    pageSize,
			FetchOwner: &noOwner,
		}
		l := lister{opts: opts, yield: yield, filter: filter}
		var err error
		switch opts.Delimiter {
		case "":
			err = l.flat(b.client.ListObjectsIter(ctx, b.bucket, lo))
		case "/":
			err = l.merged(b.client.ListObjectsIter(ctx, b.bucket, lo), pageSize)
		default:
			err = l.grouped(b.client.ListObjectsIter(ctx, b.bucket, lo))
		}
		if l.stopped {
			return
		}
		if err == nil {
			// minio-go ends a listing silently when ctx is cancelled
			// between pages: a cancellation is never swallowed.
			err = ctx.Err()
		}
		if err != nil {
			yield(nil, b.fail(ctx, "List", opts.Prefix, err, nil))
		}
	}
}

// lister yields the items of one listing, the StartAfter filter applied to
// common prefixes too, and remembers that the caller stopped.
type lister struct {
	opts    backend.ListOptions
	yield   func(*backend.Object, error) bool
	filter  bool // the server lists more than opts.Prefix: drop the rest
	stopped bool // the caller broke out of its loop
}

// emit yields o unless a filter drops it, and reports whether to go on.
func (l *lister) emit(o *backend.Object) bool {
	if l.filter && !strings.HasPrefix(o.Key, l.opts.Prefix) {
		return o.Key < l.opts.Prefix // past the prefix: nothing more matches
	}
	if o.Key <= l.opts.StartAfter {
		return true // a common prefix the caller's StartAfter is past
	}
	if !l.yield(o, nil) {
		l.stopped = true
		return false
	}
	return true
}

func listed(o mc.ObjectInfo) *backend.Object {
	return &backend.Object{Key: o.Key, Size: o.Size, ETag: strings.Trim(o.ETag, `"`), LastModified: o.LastModified}
}

// isPrefix reports whether minio-go yielded a common prefix: it has only a Key.
func isPrefix(o mc.ObjectInfo, delim string) bool {
	return o.ETag == "" && o.LastModified.IsZero() && o.Size == 0 && strings.HasSuffix(o.Key, delim)
}

// flat passes a listing without delimiter through.
func (l *lister) flat(seq iter.Seq[mc.ObjectInfo]) error {
	for o := range seq {
		if o.Err != nil {
			return o.Err
		}
		if !l.emit(listed(o)) {
			return nil
		}
	}
	return nil
}

// merged restores the order of a "/"-delimited listing: minio-go yields
// each page's objects, then its common prefixes, while the contract wants
// them interleaved. Objects wait in pending until the prefixes of their
// page are out; a page holds at most pageSize items, so an object with more
// than pageSize objects behind it belongs to an earlier page and is safe to
// yield, which bounds pending.
func (l *lister) merged(seq iter.Seq[mc.ObjectInfo], pageSize int) error {
	var pending []*backend.Object
	afterPrefix := false
	for o := range seq {
		if o.Err != nil {
			return o.Err
		}
		if isPrefix(o, "/") {
			i := 0
			for ; i < len(pending) && pending[i].Key < o.Key; i++ {
				if !l.emit(pending[i]) {
					return nil
				}
			}
			pending = pending[i:]
			if !l.emit(&backend.Object{Key: o.Key, IsPrefix: true}) {
				return nil
			}
			afterPrefix = true
			continue
		}
		if afterPrefix {
			// An object after prefixes starts a new page: everything
			// pending came before it.
			for _, p := range pending {
				if !l.emit(p) {
					return nil
				}
			}
			pending = pending[:0]
			afterPrefix = false
		}
		pending = append(pending, listed(o))
		if len(pending) > pageSize {
			if !l.emit(pending[0]) {
				return nil
			}
			pending = pending[1:]
		}
	}
	for _, p := range pending {
		if !l.emit(p) {
			return nil
		}
	}
	return nil
}

// grouped applies a delimiter other than "/" to a flat listing: the keys
// under one common prefix are contiguous in key order, so each prefix is
// yielded once, where its first key would be.
func (l *lister) grouped(seq iter.Seq[mc.ObjectInfo]) error {
	d, last := l.opts.Delimiter, ""
	for o := range seq {
		if o.Err != nil {
			return o.Err
		}
		if !strings.HasPrefix(o.Key, l.opts.Prefix) {
			if o.Key > l.opts.Prefix {
				return nil // past the prefix (listed from its parent)
			}
			continue
		}
		if i := strings.Index(o.Key[len(l.opts.Prefix):], d); i >= 0 {
			cp := o.Key[:len(l.opts.Prefix)+i+len(d)]
			if cp == last {
				continue
			}
			last = cp
			if !l.emit(&backend.Object{Key: cp, IsPrefix: true}) {
				return nil
			}
			continue
		}
		if !l.emit(listed(o)) {
			return nil
		}
	}
	return nil
}
