package backend

import (
	"context"
	"errors"
	"io"
	"iter"
	"strings"
	"sync/atomic"
)

// prefixDriver is the Driver of the errors the prefix wrapper makes itself
// (an invalid key, a call after Close); errors of the wrapped backend keep
// their own Driver.
const prefixDriver = "prefix"

// WithPrefix returns a Backend that keeps every object of b under prefix, as
// if prefix were a bucket of its own: key "k" is stored as prefix+"k", List
// sees only the keys under prefix, and every key that comes back (Object.Key
// from Put, Get, Stat, Copy and List, common prefixes, and the Key of a
// *Error) has the prefix removed. Presigned URLs are those of b for
// prefix+key.
//
// prefix is "" (b unchanged but for Close) or a valid key followed by "/",
// such as "tenant-7/" or "tmp/run-42/"; anything else is ErrInvalidArgument.
//
// A key is checked with ValidateKey twice, alone and with the prefix: a key
// valid alone may be longer than MaxKeyLen once prefixed, and is then
// ErrInvalidKey, so the longest usable key is MaxKeyLen-len(prefix) bytes.
//
// The returned Backend does not own b: its Close closes nothing and only
// makes its own later calls fail with ErrClosed; the caller closes b when it
// is done with b and every wrapper of it. It is safe for concurrent use when
// b is.
func WithPrefix(b Backend, prefix string) (Backend, error) {
	if b == nil {
		return nil, &Error{Op: "WithPrefix", Driver: prefixDriver, Err: Errorf(ErrInvalidArgument, "nil backend")}
	}
	if prefix != "" {
		dir, ok := strings.CutSuffix(prefix, "/")
		if !ok {
			return nil, &Error{Op: "WithPrefix", Driver: prefixDriver, Key: prefix, Err: Errorf(ErrInvalidArgument, "prefix %q does not end with \"/\"", prefix)}
		}
		if err := ValidateKey(dir); err != nil {
			return nil, &Error{Op: "WithPrefix", Driver: prefixDriver, Key: prefix, Err: Errorf(ErrInvalidArgument, "prefix %q: %v", prefix, err)}
		}
	}
	return &prefixed{b: b, prefix: prefix}, nil
}

type prefixed struct {
	b      Backend
	prefix string
	closed atomic.Bool
}

// full returns prefix+key after checking key alone and prefixed.
func (p *prefixed) full(op, key string) (string, error) {
	if p.closed.Load() {
		return "", &Error{Op: op, Driver: prefixDriver, Key: key, Err: ErrClosed}
	}
	if err := ValidateKey(key); err != nil {
		return "", &Error{Op: op, Driver: prefixDriver, Key: key, Err: err}
	}
	full := p.prefix + key
	if err := ValidateKey(full); err != nil {
		return "", &Error{Op: op, Driver: prefixDriver, Key: key, Err: Errorf(ErrInvalidKey, "with the prefix %q: %v", p.prefix, err)}
	}
	return full, nil
}

// strip removes the prefix from a key of b. A key outside the prefix is
// reported, not passed off as one of ours.
func (p *prefixed) strip(op, key string) (string, error) {
	k, ok := strings.CutPrefix(key, p.prefix)
	if !ok {
		return "", &Error{Op: op, Driver: prefixDriver, Err: Errorf(ErrInvalidArgument, "the wrapped backend returned key %q, outside the prefix %q", key, p.prefix)}
	}
	return k, nil
}

// object returns a copy of o with the prefix removed from its key.
func (p *prefixed) object(op string, o *Object) (*Object, error) {
	if o == nil {
		return nil, nil
	}
	k, err := p.strip(op, o.Key)
	if err != nil {
		return nil, err
	}
	c := *o
	c.Key = k
	return &c, nil
}

// fixErr removes the prefix from the key of the *Error in err. The
// *Error a driver returns is the outermost error, so a copy of it replaces
// err; an error that is not a *Error is returned as it is.
func (p *prefixed) fixErr(err error) error {
	if err == nil || p.prefix == "" {
		return err
	}
	var be *Error
	if !errors.As(err, &be) {
		return err
	}
	k, ok := strings.CutPrefix(be.Key, p.prefix)
	if !ok {
		return err
	}
	c := *be
	c.Key = k
	return &c
}

func (p *prefixed) Put(ctx context.Context, key string, r io.Reader, opts PutOptions) (*Object, error) {
	full, err := p.full("Put", key)
	if err != nil {
		return nil, err
	}
	o, err := p.b.Put(ctx, full, r, opts)
	if err != nil {
		return nil, p.fixErr(err)
	}
	return p.object("Put", o)
}

func (p *prefixed) Get(ctx context.Context, key string, opts GetOptions) (io.ReadCloser, *Object, error) {
	full, err := p.full("Get", key)
	if err != nil {
		return nil, nil, err
	}
	rc, o, err := p.b.Get(ctx, full, opts)
	if err != nil {
		return nil, nil, p.fixErr(err)
	}
	obj, err := p.object("Get", o)
	if err != nil {
		rc.Close()
		return nil, nil, err
	}
	return rc, obj, nil
}

func (p *prefixed) Stat(ctx context.Context, key string) (*Object, error) {
	full, err := p.full("Stat", key)
	if err != nil {
		return nil, err
	}
	o, err := p.b.Stat(ctx, full)
	if err != nil {
		return nil, p.fixErr(err)
	}
	return p.object("Stat", o)
}

func (p *prefixed) Delete(ctx context.Context, key string) error {
	full, err := p.full("Delete", key)
	if err != nil {
		return err
	}
	return p.fixErr(p.b.Delete(ctx, full))
}

func (p *prefixed) List(ctx context.Context, opts ListOptions) iter.Seq2[*Object, error] {
	return func(yield func(*Object, error) bool) {
		if p.closed.Load() {
			yield(nil, &Error{Op: "List", Driver: prefixDriver, Err: ErrClosed})
			return
		}
		opts.Prefix = p.prefix + opts.Prefix
		if opts.StartAfter != "" {
			opts.StartAfter = p.prefix + opts.StartAfter
		}
		for o, err := range p.b.List(ctx, opts) {
			if err != nil {
				yield(nil, p.fixErr(err))
				return
			}
			obj, err := p.object("List", o)
			if err != nil {
				yield(nil, err)
				return
			}
			if !yield(obj, nil) {
				return
			}
		}
	}
}

func (p *prefixed) Copy(ctx context.Context, dst, src string) (*Object, error) {
	fullDst, err := p.full("Copy", dst)
	if err != nil {
		return nil, err
	}
	fullSrc, err := p.full("Copy", src)
	if err != nil {
		return nil, err
	}
	o, err := p.b.Copy(ctx, fullDst, fullSrc)
	if err != nil {
		return nil, p.fixErr(err)
	}
	return p.object("Copy", o)
}

func (p *prefixed) PresignGet(ctx context.Context, key string, opts PresignOptions) (*PresignedRequest, error) {
	full, err := p.full("PresignGet", key)
	if err != nil {
		return nil, err
	}
	pr, err := p.b.PresignGet(ctx, full, opts)
	return pr, p.fixErr(err)
}

func (p *prefixed) PresignPut(ctx context.Context, key string, opts PresignOptions) (*PresignedRequest, error) {
	full, err := p.full("PresignPut", key)
	if err != nil {
		return nil, err
	}
	pr, err := p.b.PresignPut(ctx, full, opts)
	return pr, p.fixErr(err)
}

// Health reports the health of the wrapped backend.
func (p *prefixed) Health(ctx context.Context) error {
	if p.closed.Load() {
		return &Error{Op: "Health", Driver: prefixDriver, Err: ErrClosed}
	}
	return p.b.Health(ctx)
}

// Close makes later calls fail with ErrClosed. It does not close the wrapped
// backend, which the wrapper does not own.
func (p *prefixed) Close() error {
	p.closed.Store(true)
	return nil
}
