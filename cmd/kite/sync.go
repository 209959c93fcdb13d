package main

// The engine of "kite sync": a merge of two sorted listings that copies what
// differs, in parallel, and verifies every copy.
//
// Identity across providers. ETags cannot be compared between drivers (local
// and memory make random ones, S3 an MD5 or a multipart digest, GCS a
// generation), so sync keeps its own content fingerprint: the lower-case hex
// SHA-256 of the object's bytes, stored in the destination's metadata under
// the one reserved key syncFingerprintKey ("kite-sha256"). A source object is
// identical to its destination when both have the same size, content type and
// metadata (not counting kite-sha256), and the destination's kite-sha256 equals
// the source's fingerprint. The source's fingerprint is its own kite-sha256
// when it has one (an earlier sync wrote it), checked against the bytes
// whenever they are read; otherwise sync reads the source and hashes it. A
// destination without kite-sha256 is never taken to be identical.
//
// The fingerprint goes out in the metadata of the Put, before the body, so it
// has to be known first: objects up to syncSmallObject bytes are read once into
// memory (at most jobs × syncSmallObject bytes in all), larger ones are hashed
// on a first read and streamed on a second, through a reader that refuses to
// hand over the last bytes when they do not hash to the fingerprint sent, so
// that a source changing in between makes the Put fail and store nothing.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"iter"
	"maps"
	"sort"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/kitehq/kite/backend"
)

// syncFingerprintKey is the one metadata key sync reserves: the hex SHA-256 of
// the object's content.
const syncFingerprintKey = "kite-sha256"

// syncSmallObject is the largest object sync reads into memory instead of
// reading it twice.
const syncSmallObject = 1 << 20

// errSyncMismatch reports bytes that do not hash to the fingerprint expected.
var errSyncMismatch = errors.New("content does not match its kite-sha256 fingerprint")

// syncOptions are the options of a sync run.
type syncOptions struct {
	Prefix string
	Jobs   int
	DryRun bool
	Delete bool
	// Progress, when set, is called after each object is done (copied,
	// skipped, failed or deleted), never concurrently.
	Progress func(syncCounts)
}

// syncCounts are the running totals of a sync.
type syncCounts struct {
	Copied      int64 `json:"copied"`
	CopiedBytes int64 `json:"copied_bytes"`
	Skipped     int64 `json:"skipped"`
	Deleted     int64 `json:"deleted"`
	Failed      int64 `json:"failed"`
}

// syncFailure is one object that could not be synced.
type syncFailure struct {
	Key   string `json:"key"`
	Error string `json:"error"`
}

// syncAction is what a dry run would do to one object.
type syncAction struct {
	Op   string `json:"op"` // copy or delete
	Key  string `json:"key"`
	Size int64  `json:"size"`
}

// syncResult is the outcome of a sync run.
type syncResult struct {
	syncCounts
	Failures []syncFailure // sorted by key
	Planned  []syncAction  // dry run only, sorted by key (copies, then deletes)
	// DeleteSkipped is set when --delete was asked for but the copy phase did
	// not succeed, so nothing was deleted.
	DeleteSkipped bool
	Interrupted   bool
	Elapsed       time.Duration
}

// syncer runs one sync from src to dst.
type syncer struct {
	src, dst         backend.Backend
	srcName, dstName string // redacted URLs, for messages
	opts             syncOptions

	mu  sync.Mutex // guards res
	res syncResult
}

// syncRun copies every object under opts.Prefix from src to dst. The returned
// error is fatal (a listing failed, or ctx was cancelled); per-object failures
// are in the result. The result is always set, with what finished.
func syncRun(ctx context.Context, src, dst backend.Backend, srcName, dstName string, opts syncOptions) (*syncResult, error) {
	if opts.Jobs < 1 {
		opts.Jobs = 1
	}
	s := &syncer{src: src, dst: dst, srcName: srcName, dstName: dstName, opts: opts}
	start := time.Now()
	err := s.run(ctx)
	if ctx.Err() != nil {
		s.res.Interrupted = true
		if err == nil {
			err = ctx.Err()
		}
	}
	s.res.Elapsed = time.Since(start)
	sort.Slice(s.res.Failures, func(i, j int) bool { return s.res.Failures[i].Key < s.res.Failures[j].Key })
	sort.SliceStable(s.res.Planned, func(i, j int) bool {
		a, b := s.res.Planned[i], s.res.Planned[j]
		if a.Op != b.Op {
			return a.Op == "copy"
		}
		return a.Key < b.Key
	})
	return &s.res, err
}

func (s *syncer) run(ctx context.Context) error {
	var g errgroup.Group
	g.SetLimit(s.opts.Jobs)
	var extras []*backend.Object // destination objects the source does not have
	err := s.walk(ctx, func(src, dst *backend.Object) {
		if src == nil {
			extras = append(extras, dst)
			return
		}
		g.Go(func() error {
			s.syncOne(ctx, src, dst)
			return nil
		})
	})
	_ = g.Wait() // the tasks record their own failures
	if err != nil || ctx.Err() != nil {
		s.res.DeleteSkipped = s.opts.Delete && len(extras) > 0
		return err
	}
	if !s.opts.Delete || len(extras) == 0 {
		return nil
	}
	if s.res.Failed > 0 {
		s.res.DeleteSkipped = true
		return nil
	}
	for _, o := range extras {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error {
			s.deleteOne(ctx, o)
			return nil
		})
	}
	_ = g.Wait()
	return nil
}

// walk merges the two listings, which are in byte-wise key order, and calls
// visit with each source object and its destination namesake (nil when the
// destination has none), and with each destination object alone (src nil)
// that the source does not have.
func (s *syncer) walk(ctx context.Context, visit func(src, dst *backend.Object)) error {
	opts := backend.ListOptions{Prefix: s.opts.Prefix}
	nextSrc, stopSrc := iter.Pull2(s.src.List(ctx, opts))
	defer stopSrc()
	nextDst, stopDst := iter.Pull2(s.dst.List(ctx, opts))
	defer stopDst()

	// pull returns the next object of one listing, nil at its end. A listing
	// out of order would make the merge wrong (and --delete destructive), so
	// it is an error.
	pull := func(next func() (*backend.Object, error, bool), name string, last *string) (*backend.Object, error) {
		for {
			o, err, ok := next()
			switch {
			case !ok:
				return nil, nil
			case err != nil:
				return nil, fmt.Errorf("listing %s: %w", name, err)
			case o.IsPrefix:
				continue
			case *last != "" && o.Key <= *last:
				return nil, fmt.Errorf("listing %s: key %q after %q: not in byte-wise order", name, o.Key, *last)
			}
			*last = o.Key
			return o, nil
		}
	}
	var lastSrc, lastDst string
	a, err := pull(nextSrc, s.srcName, &lastSrc)
	if err != nil {
		return err
	}
	b, err := pull(nextDst, s.dstName, &lastDst)
	if err != nil {
		return err
	}
	for a != nil || b != nil {
		if err := ctx.Err(); err != nil {
			return err
		}
		switch {
		case b == nil || a != nil && a.Key < b.Key:
			visit(a, nil)
			a, err = pull(nextSrc, s.srcName, &lastSrc)
		case a == nil || b.Key < a.Key:
			visit(nil, b)
			b, err = pull(nextDst, s.dstName, &lastDst)
		default:
			visit(a, b)
			if a, err = pull(nextSrc, s.srcName, &lastSrc); err == nil {
				b, err = pull(nextDst, s.dstName, &lastDst)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// syncSource is what is known of a source object before copying it.
type syncSource struct {
	obj      *backend.Object // attributes (from Stat or Get)
	fp       string          // fingerprint, "" when unknown
	body     []byte          // the whole content, when haveBody
	haveBody bool            // body was read (small objects)
}

// syncOne brings one key up to date: skipped when identical, else copied.
func (s *syncer) syncOne(ctx context.Context, listed, dstListed *backend.Object) {
	key := listed.Key
	var known *syncSource
	if dstListed != nil {
		same, k, err := s.identical(ctx, key)
		if err != nil {
			s.fail(ctx, key, err)
			return
		}
		if same {
			s.done(func(r *syncResult) { r.Skipped++ })
			return
		}
		known = k
	}
	if s.opts.DryRun {
		size := listed.Size
		if known != nil {
			size = known.obj.Size
		}
		s.done(func(r *syncResult) {
			r.Planned = append(r.Planned, syncAction{Op: "copy", Key: key, Size: size})
			r.Copied++
			r.CopiedBytes += size
		})
		return
	}
	n, err := s.copy(ctx, key, listed.Size, known)
	if err != nil {
		s.fail(ctx, key, err)
		return
	}
	s.done(func(r *syncResult) { r.Copied++; r.CopiedBytes += n })
}

// identical reports whether the destination already holds the source object
// of key. When it does not, it returns what it learnt of the source, so that
// the copy need not read it again.
func (s *syncer) identical(ctx context.Context, key string) (bool, *syncSource, error) {
	dst, err := s.dst.Stat(ctx, key)
	if err != nil {
		return false, nil, fmt.Errorf("stat %s: %w", s.dstName, err)
	}
	dstFP := syncValidFP(dst.Metadata[syncFingerprintKey])
	if dstFP == "" {
		return false, nil, nil // not written by sync: copy it again
	}
	src, err := s.src.Stat(ctx, key)
	if err != nil {
		return false, nil, fmt.Errorf("stat %s: %w", s.srcName, err)
	}
	if !syncSameAttrs(src, dst) {
		return false, &syncSource{obj: src}, nil
	}
	if fp := syncValidFP(src.Metadata[syncFingerprintKey]); fp != "" {
		return fp == dstFP, &syncSource{obj: src}, nil
	}
	// The source has no fingerprint of its own: hash its bytes.
	k, err := s.readSource(ctx, key, true)
	if err != nil {
		return false, nil, err
	}
	return syncSameAttrs(k.obj, dst) && k.fp == dstFP, k, nil
}

// readSource reads the source object of key once and returns its attributes,
// its fingerprint and, when it is small, its bytes. A kite-sha256 the source
// carries is checked against the bytes. With hashLarge false a large object
// is not read at all (its fingerprint stays unknown).
func (s *syncer) readSource(ctx context.Context, key string, hashLarge bool) (*syncSource, error) {
	rc, obj, err := s.src.Get(ctx, key, backend.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", s.srcName, err)
	}
	defer rc.Close()
	k := &syncSource{obj: obj}
	if obj.Size > syncSmallObject && !hashLarge {
		return k, nil
	}
	h := sha256.New()
	var n int64
	if obj.Size <= syncSmallObject {
		k.body, err = io.ReadAll(io.LimitReader(rc, obj.Size+1))
		k.haveBody = true
		h.Write(k.body)
		n = int64(len(k.body))
	} else {
		n, err = io.Copy(h, rc)
	}
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", s.srcName, err)
	}
	if n != obj.Size {
		return nil, fmt.Errorf("get %s: read %d bytes of an object of %d", s.srcName, n, obj.Size)
	}
	k.fp = hex.EncodeToString(h.Sum(nil))
	if claimed := syncValidFP(obj.Metadata[syncFingerprintKey]); claimed != "" && claimed != k.fp {
		return nil, fmt.Errorf("source %s: %w: its %s is stale", s.srcName, errSyncMismatch, syncFingerprintKey)
	}
	return k, nil
}

// copy copies key from the source to the destination and verifies the copy.
// listedSize is the size the listing gave; known, when set, is what an
// earlier Stat or read established.
func (s *syncer) copy(ctx context.Context, key string, listedSize int64, known *syncSource) (int64, error) {
	var err error
	switch {
	case known != nil && (known.haveBody || known.obj.Size > syncSmallObject):
	case known != nil || listedSize <= syncSmallObject:
		// A small object is read once, into memory.
		if known, err = s.readSource(ctx, key, false); err != nil {
			return 0, err
		}
	default:
		st, err := s.src.Stat(ctx, key)
		if err != nil {
			return 0, fmt.Errorf("stat %s: %w", s.srcName, err)
		}
		known = &syncSource{obj: st}
	}
	obj, fp := known.obj, known.fp
	if fp == "" {
		fp = syncValidFP(obj.Metadata[syncFingerprintKey])
	}
	if !known.haveBody && fp == "" {
		// A large object without a fingerprint: hash it on a first read.
		k, err := s.readSource(ctx, key, true)
		if err != nil {
			return 0, err
		}
		obj, fp = k.obj, k.fp
	}

	meta := maps.Clone(obj.Metadata)
	if meta == nil {
		meta = map[string]string{}
	}
	meta[syncFingerprintKey] = fp
	if err := backend.ValidateMetadata(meta); err != nil {
		return 0, fmt.Errorf("no room for %s in the metadata: %w", syncFingerprintKey, err)
	}
	opts := backend.PutOptions{Size: obj.Size, ContentType: obj.ContentType, Metadata: meta}

	if known.haveBody {
		_, err = s.dst.Put(ctx, key, bytes.NewReader(known.body), opts)
	} else {
		rc, again, gerr := s.src.Get(ctx, key, backend.GetOptions{})
		if gerr != nil {
			return 0, fmt.Errorf("get %s: %w", s.srcName, gerr)
		}
		if !syncSameAttrs(again, obj) {
			rc.Close()
			return 0, fmt.Errorf("source %s: the object changed during the sync", s.srcName)
		}
		_, err = s.dst.Put(ctx, key, &syncHashReader{r: rc, h: sha256.New(), size: obj.Size, want: fp}, opts)
		rc.Close()
	}
	if err != nil {
		if errors.Is(err, errSyncMismatch) {
			return 0, fmt.Errorf("source %s: %w: it changed during the sync or its %s is stale; nothing stored", s.srcName, errSyncMismatch, syncFingerprintKey)
		}
		return 0, fmt.Errorf("put %s: %w", s.dstName, err)
	}

	// Verify what the destination now reports, not what Put returned.
	st, err := s.dst.Stat(ctx, key)
	if err != nil {
		return 0, fmt.Errorf("verify %s: %w", s.dstName, err)
	}
	if st.Size != obj.Size {
		return 0, fmt.Errorf("verify %s: stored %d bytes, the source has %d", s.dstName, st.Size, obj.Size)
	}
	if got := st.Metadata[syncFingerprintKey]; got != fp {
		return 0, fmt.Errorf("verify %s: stored %s %q, want %q", s.dstName, syncFingerprintKey, got, fp)
	}
	return obj.Size, nil
}

// deleteOne removes a destination object the source does not have.
func (s *syncer) deleteOne(ctx context.Context, o *backend.Object) {
	if s.opts.DryRun {
		s.done(func(r *syncResult) {
			r.Planned = append(r.Planned, syncAction{Op: "delete", Key: o.Key, Size: o.Size})
			r.Deleted++
		})
		return
	}
	if err := s.dst.Delete(ctx, o.Key); err != nil {
		s.fail(ctx, o.Key, fmt.Errorf("delete %s: %w", s.dstName, err))
		return
	}
	s.done(func(r *syncResult) { r.Deleted++ })
}

// done applies update to the result and reports progress.
func (s *syncer) done(update func(*syncResult)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	update(&s.res)
	if s.opts.Progress != nil {
		s.opts.Progress(s.res.syncCounts)
	}
}

// fail records a failed object, unless the failure is only the run being
// cancelled: that is reported once, as the interruption.
func (s *syncer) fail(ctx context.Context, key string, err error) {
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return
	}
	s.done(func(r *syncResult) {
		r.Failures = append(r.Failures, syncFailure{Key: key, Error: err.Error()})
		r.Failed++
	})
}

// syncSameAttrs reports whether two objects have the same size, content type
// and metadata, not counting the fingerprint.
func syncSameAttrs(a, b *backend.Object) bool {
	if a.Size != b.Size || syncContentType(a) != syncContentType(b) {
		return false
	}
	count := func(m map[string]string) int {
		n := len(m)
		if _, ok := m[syncFingerprintKey]; ok {
			n--
		}
		return n
	}
	if count(a.Metadata) != count(b.Metadata) {
		return false
	}
	for k, v := range a.Metadata {
		if k == syncFingerprintKey {
			continue
		}
		if w, ok := b.Metadata[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func syncContentType(o *backend.Object) string {
	if o.ContentType == "" {
		return backend.DefaultContentType
	}
	return o.ContentType
}

// syncValidFP returns v when it is a well-formed fingerprint (64 lower-case
// hex digits), else "".
func syncValidFP(v string) string {
	if len(v) != 2*sha256.Size {
		return ""
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return ""
		}
	}
	return v
}

// syncHashReader passes size bytes through while hashing them, and withholds
// the last of them, failing with errSyncMismatch, when they do not hash to
// want: the consumer (a Put with Size set) then sees a short body and stores
// nothing. It also fails when the source yields more or fewer bytes.
type syncHashReader struct {
	r       io.Reader
	h       hash.Hash
	n, size int64
	want    string
	checked bool
}

func (v *syncHashReader) Read(p []byte) (int, error) {
	if v.checked {
		return 0, io.EOF
	}
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	switch {
	case v.n > v.size:
		return 0, fmt.Errorf("source yields more than its %d bytes", v.size)
	case v.n == v.size:
		v.checked = true
		if hex.EncodeToString(v.h.Sum(nil)) != v.want {
			return 0, errSyncMismatch
		}
		if n == 0 {
			return 0, io.EOF
		}
		return n, nil
	case err == io.EOF:
		return n, io.ErrUnexpectedEOF
	}
	return n, err
}
