package backend_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/conformance"
	"github.com/kitehq/kite/internal/testserve"
)

// capture is a slog.Handler that keeps every record, shared by the loggers
// derived from it.
type capture struct {
	level slog.Level
	mu    *sync.Mutex
	recs  *[]logRecord
}

// logRecord is a captured record with its attributes by name and its text.
type logRecord struct {
	level slog.Level
	msg   string
	attrs map[string]slog.Value
	text  string
}

func newCapture(level slog.Level) *capture {
	return &capture{level: level, mu: &sync.Mutex{}, recs: &[]logRecord{}}
}

func (c *capture) Enabled(_ context.Context, l slog.Level) bool { return l >= c.level }
func (c *capture) WithAttrs([]slog.Attr) slog.Handler           { return c }
func (c *capture) WithGroup(string) slog.Handler                { return c }

func (c *capture) Handle(_ context.Context, r slog.Record) error {
	rec := logRecord{level: r.Level, msg: r.Message, attrs: map[string]slog.Value{}}
	var sb strings.Builder
	sb.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		rec.attrs[a.Key] = a.Value.Resolve()
		fmt.Fprintf(&sb, " %s=%v", a.Key, a.Value.Resolve())
		return true
	})
	rec.text = sb.String()
	c.mu.Lock()
	defer c.mu.Unlock()
	*c.recs = append(*c.recs, rec)
	return nil
}

func (c *capture) records() []logRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]logRecord(nil), *c.recs...)
}

// last returns the last record, failing when there is none.
func (c *capture) last(t *testing.T) logRecord {
	t.Helper()
	recs := c.records()
	require.NotEmpty(t, recs, "no record")
	return recs[len(recs)-1]
}

// TestLogConformance runs the whole suite over Log(mem) at debug level and,
// after every check, scans what was logged: no URL and no secret.
func TestLogConformance(t *testing.T) {
	mux := testserve.New(t.Cleanup)
	conformance.Run(t, conformance.Harness{
		New: func(t conformance.T) backend.Backend {
			m := wrapMem(t, mux)
			c := newCapture(slog.LevelDebug)
			t.Cleanup(func() {
				recs := c.records()
				if len(recs) == 0 {
					t.Errorf("nothing logged")
				}
				for _, r := range recs {
					if strings.Contains(r.text, wrapSecret) || strings.Contains(r.text, "http://") || strings.Contains(r.text, "X-Kite-Signature") {
						t.Errorf("a record holds a URL or the secret: %s", r.text)
					}
				}
			})
			return backend.Log(m, slog.New(c), backend.LogOptions{Driver: "mem"})
		},
		PublicHost: mux.Host(),
	})
}

func TestLogRecords(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := newMem(t)
	c := newCapture(slog.LevelDebug)
	b := backend.Log(m, slog.New(c), backend.LogOptions{})

	_, err := b.Put(ctx, "docs/a", strings.NewReader("hello"), backend.PutOptions{
		Size: 5, ContentType: "text/plain", Metadata: map[string]string{"owner": "alice@example.com", "class": "top-secret-value"},
	})
	require.NoError(t, err)
	r := c.last(t)
	assert.Equal(t, slog.LevelDebug, r.level, "success is debug")
	assert.Equal(t, "kite Put", r.msg)
	assert.Equal(t, "Put", r.attrs["op"].String())
	assert.Equal(t, "docs/a", r.attrs["key"].String())
	assert.Equal(t, int64(5), r.attrs["declared_size"].Int64())
	assert.Equal(t, int64(5), r.attrs["size"].Int64())
	assert.Equal(t, "text/plain", r.attrs["content_type"].String())
	assert.Equal(t, []string{"class", "owner"}, r.attrs["metadata_keys"].Any())
	assert.NotContains(t, r.text, "alice@example.com", "a metadata value is logged")
	assert.NotContains(t, r.text, "top-secret-value", "a metadata value is logged")
	assert.Contains(t, r.attrs, "duration")
	assert.NotContains(t, r.attrs, "error")
	assert.NotContains(t, r.attrs, "driver", "no driver given and none known")

	rc, _, err := b.Get(ctx, "docs/a", backend.GetOptions{Offset: 1, Length: 2})
	require.NoError(t, err)
	rc.Close()
	r = c.last(t)
	assert.Equal(t, "Get", r.attrs["op"].String())
	assert.Equal(t, int64(1), r.attrs["offset"].Int64())
	assert.Equal(t, int64(2), r.attrs["length"].Int64())
	assert.Equal(t, int64(5), r.attrs["size"].Int64(), "the size of the whole object")

	_, err = b.Stat(ctx, "docs/missing")
	require.ErrorIs(t, err, backend.ErrNotFound)
	r = c.last(t)
	assert.Equal(t, slog.LevelDebug, r.level, "not-found is no failure")
	assert.Equal(t, "mem", r.attrs["driver"].String(), "the driver of the error")
	assert.Contains(t, r.attrs["error"].String(), "not found")

	_, err = b.Put(ctx, "docs/a", strings.NewReader("again"), backend.PutOptions{IfNotExists: true})
	require.ErrorIs(t, err, backend.ErrExists)
	r = c.last(t)
	assert.Equal(t, slog.LevelInfo, r.level, "a refused conditional write is info")
	assert.Equal(t, true, r.attrs["if_not_exists"].Bool())

	_, err = b.Stat(ctx, "../bad")
	require.ErrorIs(t, err, backend.ErrInvalidKey)
	assert.Equal(t, slog.LevelWarn, c.last(t).level, "an invalid key is warn")

	_, err = b.Copy(ctx, "docs/b", "docs/a")
	require.NoError(t, err)
	r = c.last(t)
	assert.Equal(t, "docs/b", r.attrs["key"].String())
	assert.Equal(t, "docs/a", r.attrs["src"].String())

	require.NoError(t, b.Delete(ctx, "docs/b"))
	assert.Equal(t, "Delete", c.last(t).attrs["op"].String())

	n := 0
	for _, err := range b.List(ctx, backend.ListOptions{Prefix: "docs/"}) {
		require.NoError(t, err)
		n++
	}
	r = c.last(t)
	assert.Equal(t, "List", r.attrs["op"].String())
	assert.Equal(t, "docs/", r.attrs["prefix"].String())
	assert.Equal(t, int64(n), r.attrs["objects"].Int64())

	require.NoError(t, b.Health(ctx))
	assert.Equal(t, "Health", c.last(t).attrs["op"].String())

	failing := backend.Log(newFaulty(m, "Health"), slog.New(c), backend.LogOptions{Driver: "mem"})
	require.Error(t, failing.Health(ctx))
	r = c.last(t)
	assert.Equal(t, slog.LevelError, r.level, "a failure is error")
	assert.Equal(t, "mem", r.attrs["driver"].String(), "the configured driver wins")
	assert.Contains(t, r.attrs["error"].String(), "injected fault")

	require.NoError(t, b.Close())
	assert.Equal(t, "Close", c.last(t).attrs["op"].String())
	_, err = b.Stat(ctx, "docs/a")
	assert.ErrorIs(t, err, backend.ErrClosed)
	assert.Equal(t, slog.LevelWarn, c.last(t).level)
	_, err = m.Stat(ctx, "docs/a")
	assert.NoError(t, err, "the wrapped backend is still open")
}

// TestLogPresignNoSecret presigns through Log with a memory store that has a
// secret and checks that no record holds the URL, its query, its signature
// or the secret, nor the file name of a Content-Disposition.
func TestLogPresignNoSecret(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newCapture(slog.LevelDebug)
	b := backend.Log(newMem(t), slog.New(c), backend.LogOptions{Driver: "mem"})

	get, err := b.PresignGet(ctx, "docs/report", backend.PresignOptions{Expires: time.Hour, ContentDisposition: `attachment; filename="Salaries 2026.pdf"`})
	require.NoError(t, err)
	put, err := b.PresignPut(ctx, "docs/upload", backend.PresignOptions{ContentType: "application/pdf", Size: 123})
	require.NoError(t, err)
	_, err = b.PresignGet(ctx, "docs/x", backend.PresignOptions{Expires: 30 * 24 * time.Hour})
	require.ErrorIs(t, err, backend.ErrInvalidArgument)

	recs := c.records()
	require.Len(t, recs, 3)
	var secrets []string
	for _, pr := range []*backend.PresignedRequest{get, put} {
		u, err := url.Parse(pr.URL)
		require.NoError(t, err)
		sig := u.Query().Get("X-Kite-Signature")
		require.NotEmpty(t, sig, "the URL is signed")
		secrets = append(secrets, pr.URL, u.RawQuery, sig)
	}
	secrets = append(secrets, wrapSecret, "Salaries", "X-Kite")
	for _, r := range recs {
		for _, s := range secrets {
			assert.NotContains(t, r.text, s, "record %q", r.msg)
		}
	}
	r := recs[0]
	assert.Equal(t, "PresignGet", r.attrs["op"].String())
	assert.Equal(t, "GET", r.attrs["method"].String())
	assert.Equal(t, "docs/report", r.attrs["key"].String())
	assert.Equal(t, time.Hour, r.attrs["expires"].Duration())
	assert.WithinDuration(t, get.Expires, r.attrs["expires_at"].Time(), 0)
	assert.Equal(t, true, r.attrs["content_disposition"].Bool())
	r = recs[1]
	assert.Equal(t, "PUT", r.attrs["method"].String())
	assert.Equal(t, "application/pdf", r.attrs["content_type"].String())
	assert.Equal(t, int64(123), r.attrs["declared_size"].Int64())
	assert.Equal(t, slog.LevelWarn, recs[2].level)
}

func TestLogLevels(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := newMem(t)

	quiet := newCapture(slog.LevelInfo)
	b := backend.Log(m, slog.New(quiet), backend.LogOptions{})
	_, err := b.Put(ctx, "k", strings.NewReader("x"), backend.PutOptions{})
	require.NoError(t, err)
	_, err = b.Stat(ctx, "missing")
	require.Error(t, err)
	assert.Empty(t, quiet.records(), "success and not-found are below info")

	custom := newCapture(slog.LevelDebug)
	var ops []string
	var mu sync.Mutex
	b = backend.Log(m, slog.New(custom), backend.LogOptions{Level: func(op string, err error) slog.Level {
		mu.Lock()
		ops = append(ops, op)
		mu.Unlock()
		if errors.Is(err, backend.ErrNotFound) {
			return slog.LevelError
		}
		return backend.LogLevel(err)
	}})
	_, err = b.Stat(ctx, "missing")
	require.Error(t, err)
	assert.Equal(t, slog.LevelError, custom.last(t).level, "LogOptions.Level decides")
	assert.Equal(t, []string{"Stat"}, ops)

	for _, c := range []struct {
		err  error
		want slog.Level
	}{
		{nil, slog.LevelDebug},
		{&backend.Error{Op: "Get", Driver: "x", Err: backend.ErrNotFound}, slog.LevelDebug},
		{&backend.Error{Op: "Put", Driver: "x", Err: backend.ErrExists}, slog.LevelInfo},
		{&backend.Error{Op: "Put", Driver: "x", Err: backend.ErrPrecondition}, slog.LevelInfo},
		{&backend.Error{Op: "Put", Driver: "x", Err: context.Canceled}, slog.LevelInfo},
		{&backend.Error{Op: "Put", Driver: "x", Err: context.DeadlineExceeded}, slog.LevelWarn},
		{&backend.Error{Op: "Put", Driver: "x", Err: backend.ErrInvalidKey}, slog.LevelWarn},
		{&backend.Error{Op: "Put", Driver: "x", Err: backend.ErrInvalidArgument}, slog.LevelWarn},
		{&backend.Error{Op: "Put", Driver: "x", Err: backend.ErrUnsupported}, slog.LevelWarn},
		{&backend.Error{Op: "Put", Driver: "x", Err: backend.ErrClosed}, slog.LevelWarn},
		{&backend.Error{Op: "Put", Driver: "x", Err: backend.ErrPermission}, slog.LevelError},
		{&backend.Error{Op: "Put", Driver: "x", Err: errFault}, slog.LevelError},
	} {
		assert.Equal(t, c.want, backend.LogLevel(c.err), "LogLevel(%v)", c.err)
	}
}
