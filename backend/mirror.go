package backend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"sync"
	"sync/atomic"
)

// mirrorDriver is the Driver of the errors the mirror wrapper makes itself
// (a call after Close, a divergence in Strict mode, Health); errors of the
// primary keep their own Driver.
const mirrorDriver = "mirror"

// MirrorOptions configure Mirror. The zero value reports divergence nowhere
// and never fails a call because of the secondary.
type MirrorOptions struct {
	// OnDivergence, when set, is called once for every write whose copy on
	// the secondary failed, after the primary's write succeeded, in the
	// goroutine of the call and with its context (which may be the reason:
	// cancelled). It must be safe for concurrent use and should return
	// quickly (record the key for a later kite sync, count, log).
	OnDivergence func(ctx context.Context, d Divergence)
	// Strict makes a divergence also fail the call: Put, Delete and Copy
	// return, besides the primary's result, a *Error with Driver "mirror"
	// wrapping the Divergence. Without Strict the primary's result is
	// returned alone: the secondary never fails the application.
	Strict bool
}

// Divergence reports a key whose object on the secondary of a Mirror may
// differ from the primary's, because the primary changed and the secondary
// could not be brought along. It is an error, so that errors.As finds it in
// what a Strict Mirror returns; it unwraps to the cause.
type Divergence struct {
	// Op is the call that diverged: Put, Delete, Copy, or PresignPut (an
	// upload through a presigned URL reaches the primary only).
	Op string
	// Key is the key that may differ: the one written or deleted, the
	// destination of a Copy.
	Key string
	// Err is why the secondary was not updated: its own error, the primary's
	// error when the object could not be read back from it, or the context's.
	Err error
}

// Error returns "secondary not updated: cause".
func (d Divergence) Error() string {
	if d.Err == nil {
		return "secondary not updated"
	}
	return "secondary not updated: " + d.Err.Error()
}

// Unwrap returns the cause.
func (d Divergence) Unwrap() error { return d.Err }

// Mirror returns a Backend that writes to primary and secondary and reads
// from primary: with kite sync to copy the objects written before, it is the
// zero-downtime migration from one provider to another (and back, by
// swapping the two).
//
// Writes go to the primary first, and only when the primary succeeded is the
// secondary brought to the same state:
//
//   - Put writes primary; then the object is read back from the primary with
//     Get and streamed to the secondary, so the secondary gets exactly what
//     the primary committed (bytes, content type, metadata), never buffered
//     whole in memory and never the caller's reader twice. IfNotExists and
//     IfMatch are decided by the primary alone; the secondary is written
//     unconditionally.
//   - Delete deletes on primary, then on secondary.
//   - Copy copies on primary, then on secondary, server-side; when the
//     secondary lacks the source (or its copy has another size), the
//     destination is streamed from the primary instead.
//   - Get, Stat, List, PresignGet and PresignPut are the primary's.
//   - Health checks both and says which one failed.
//
// A write whose primary step fails returns that error and never touches the
// secondary. When the secondary step fails, MirrorOptions.OnDivergence is
// called and, by default, the primary's result is returned as if nothing
// happened; with MirrorOptions.Strict the call also fails.
//
// What is guaranteed: when a write returns without a reported divergence,
// the secondary held, at the end of the call, the object the primary held
// for that key at that moment (an ETag and LastModified of its own: each
// store makes its own); a key that failed is reported through OnDivergence.
// Concurrent writes of one key through the same Mirror value are mirrored
// one at a time, each reading the primary's current state, so the secondary
// ends with what the primary holds after the last of them.
//
// What is not guaranteed, since there is no distributed transaction: the
// two stores do not change at once (a reader of the secondary may see the
// old object until the call returns); a process that dies between the two
// steps leaves the secondary behind with no report; writes to the primary
// that do not go through this Mirror value (another process, a presigned PUT
// URL) are not mirrored (PresignPut reports its key through OnDivergence,
// with an Err matching ErrUnsupported; Strict does not fail it); a Copy on
// the secondary copies the secondary's source, so a source that had diverged
// with the same size makes the destination diverge too. Run kite sync from the
// primary to the secondary to repair every reported key, after a crash, and
// before switching the application to the secondary; the objects the Mirror
// wrote carry no kite-sha256 fingerprint, so the first kite sync copies them
// once more.
//
// The returned Backend does not own primary or secondary: its Close closes
// neither and makes its own later calls fail with ErrClosed. It is safe for
// concurrent use when both are. A nil primary or secondary is a programmer
// error and panics.
func Mirror(primary, secondary Backend, opts MirrorOptions) Backend {
	if primary == nil || secondary == nil {
		panic("backend.Mirror: nil Backend")
	}
	return &mirror{primary: primary, secondary: secondary, opts: opts}
}

type mirror struct {
	primary, secondary Backend
	opts               MirrorOptions
	locks              keyLocks
	closed             atomic.Bool
}

func (m *mirror) live(op, key string) error {
	if m.closed.Load() {
		return &Error{Op: op, Driver: mirrorDriver, Key: key, Err: ErrClosed}
	}
	return nil
}

// follow brings the secondary along for key after a successful primary
// write, one call per key at a time, and reports a failure.
func (m *mirror) follow(ctx context.Context, op, key string, step func() error) error {
	unlock, err := m.locks.lock(ctx, key)
	if err == nil {
		err = step()
		unlock()
	}
	if err == nil {
		return nil
	}
	d := Divergence{Op: op, Key: key, Err: err}
	if m.opts.OnDivergence != nil {
		m.opts.OnDivergence(ctx, d)
	}
	if m.opts.Strict {
		return &Error{Op: op, Driver: mirrorDriver, Key: key, Err: d}
	}
	return nil
}

// syncKey makes the secondary's key what the primary's is now: a copy
// streamed from the primary, or nothing.
func (m *mirror) syncKey(ctx context.Context, key string) error {
	rc, obj, err := m.primary.Get(ctx, key, GetOptions{})
	if errors.Is(err, ErrNotFound) {
		return m.secondary.Delete(ctx, key)
	}
	if err != nil {
		return fmt.Errorf("reading the object back from the primary: %w", err)
	}
	defer rc.Close()
	_, err = m.secondary.Put(ctx, key, rc, PutOptions{Size: obj.Size, ContentType: obj.ContentType, Metadata: obj.Metadata})
	return err
}

// syncCopy follows a primary Copy that returned obj: a server-side Copy on
// the secondary while the primary's dst is still that copy, else a stream.
func (m *mirror) syncCopy(ctx context.Context, dst, src string, obj *Object) error {
	cur, err := m.primary.Stat(ctx, dst)
	if err != nil || obj == nil || obj.ETag == "" || cur.ETag != obj.ETag {
		// dst changed on the primary since the Copy (or it cannot be told):
		// the secondary gets what the primary holds now.
		return m.syncKey(ctx, dst)
	}
	sobj, err := m.secondary.Copy(ctx, dst, src)
	switch {
	case errors.Is(err, ErrNotFound):
		return m.syncKey(ctx, dst) // the secondary lacks src
	case err != nil:
		return err
	case sobj == nil || sobj.Size != cur.Size:
		return m.syncKey(ctx, dst) // the secondary's src is not the primary's
	}
	return nil
}

// Put writes the primary, then streams the committed object from the
// primary to the secondary.
func (m *mirror) Put(ctx context.Context, key string, r io.Reader, opts PutOptions) (*Object, error) {
	if err := m.live("Put", key); err != nil {
		return nil, err
	}
	obj, err := m.primary.Put(ctx, key, r, opts)
	if err != nil {
		return nil, err
	}
	if err := m.follow(ctx, "Put", key, func() error { return m.syncKey(ctx, key) }); err != nil {
		return obj, err
	}
	return obj, nil
}

func (m *mirror) Get(ctx context.Context, key string, opts GetOptions) (io.ReadCloser, *Object, error) {
	if err := m.live("Get", key); err != nil {
		return nil, nil, err
	}
	return m.primary.Get(ctx, key, opts)
}

func (m *mirror) Stat(ctx context.Context, key string) (*Object, error) {
	if err := m.live("Stat", key); err != nil {
		return nil, err
	}
	return m.primary.Stat(ctx, key)
}

// Delete deletes on the primary, then on the secondary (unless the key was
// written again on the primary meanwhile: then it is copied).
func (m *mirror) Delete(ctx context.Context, key string) error {
	if err := m.live("Delete", key); err != nil {
		return err
	}
	if err := m.primary.Delete(ctx, key); err != nil {
		return err
	}
	return m.follow(ctx, "Delete", key, func() error { return m.syncKey(ctx, key) })
}

func (m *mirror) List(ctx context.Context, opts ListOptions) iter.Seq2[*Object, error] {
	return func(yield func(*Object, error) bool) {
		if err := m.live("List", ""); err != nil {
			yield(nil, err)
			return
		}
		for o, err := range m.primary.List(ctx, opts) {
			if !yield(o, err) || err != nil {
				return
			}
		}
	}
}

// Copy copies on the primary, then on the secondary.
func (m *mirror) Copy(ctx context.Context, dst, src string) (*Object, error) {
	if err := m.live("Copy", dst); err != nil {
		return nil, err
	}
	obj, err := m.primary.Copy(ctx, dst, src)
	if err != nil {
		return nil, err
	}
	if err := m.follow(ctx, "Copy", dst, func() error { return m.syncCopy(ctx, dst, src, obj) }); err != nil {
		return obj, err
	}
	return obj, nil
}

func (m *mirror) PresignGet(ctx context.Context, key string, opts PresignOptions) (*PresignedRequest, error) {
	if err := m.live("PresignGet", key); err != nil {
		return nil, err
	}
	return m.primary.PresignGet(ctx, key, opts)
}

// PresignPut presigns on the primary and reports the key as a Divergence:
// the upload will not pass through the Mirror.
func (m *mirror) PresignPut(ctx context.Context, key string, opts PresignOptions) (*PresignedRequest, error) {
	if err := m.live("PresignPut", key); err != nil {
		return nil, err
	}
	pr, err := m.primary.PresignPut(ctx, key, opts)
	if err == nil && m.opts.OnDivergence != nil {
		m.opts.OnDivergence(ctx, Divergence{Op: "PresignPut", Key: key,
			Err: Errorf(ErrUnsupported, "an upload through a presigned URL reaches the primary only; copy the key to the secondary after the upload")})
	}
	return pr, err
}

// Health checks both stores; the error says which failed and matches the
// primary's error when both did.
func (m *mirror) Health(ctx context.Context) error {
	if err := m.live("Health", ""); err != nil {
		return err
	}
	perr := m.primary.Health(ctx)
	serr := m.secondary.Health(ctx)
	switch {
	case perr != nil && serr != nil:
		return &Error{Op: "Health", Driver: mirrorDriver, Err: fmt.Errorf("primary: %w (secondary: %v)", perr, serr)}
	case perr != nil:
		return &Error{Op: "Health", Driver: mirrorDriver, Err: fmt.Errorf("primary: %w", perr)}
	case serr != nil:
		return &Error{Op: "Health", Driver: mirrorDriver, Err: fmt.Errorf("secondary: %w", serr)}
	}
	return nil
}

// Close makes later calls fail with ErrClosed. It closes neither store,
// which the wrapper does not own.
func (m *mirror) Close() error {
	m.closed.Store(true)
	return nil
}

// keyLocks are mutexes by key, held while the secondary is brought along,
// that a waiter can give up on when its context is done. An entry lives
// while someone holds or waits for it.
type keyLocks struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	token chan struct{} // full while held
	refs  int           // holder and waiters
}

// lock takes key's lock, or fails with ctx's error while waiting for it.
func (l *keyLocks) lock(ctx context.Context, key string) (unlock func(), err error) {
	l.mu.Lock()
	if l.m == nil {
		l.m = map[string]*keyLock{}
	}
	k := l.m[key]
	if k == nil {
		k = &keyLock{token: make(chan struct{}, 1)}
		l.m[key] = k
	}
	k.refs++
	l.mu.Unlock()
	release := func() {
		l.mu.Lock()
		k.refs--
		if k.refs == 0 {
			delete(l.m, key)
		}
		l.mu.Unlock()
	}
	select {
	case k.token <- struct{}{}:
		return func() {
			<-k.token
			release()
		}, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}
