package kiteotel_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/backend/kiteotel"
	"github.com/kitehq/kite/conformance"
	"github.com/kitehq/kite/internal/testserve"
	"github.com/kitehq/kite/memory"
)

var secret = strings.Repeat("o", 32)

// telemetry is an SDK tracer and meter that record in memory.
type telemetry struct {
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
	reader *sdkmetric.ManualReader
	mp     *sdkmetric.MeterProvider
}

func newTelemetry(t conformance.T) *telemetry {
	sr := tracetest.NewSpanRecorder()
	reader := sdkmetric.NewManualReader()
	tm := &telemetry{
		spans:  sr,
		tp:     sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr)),
		reader: reader,
		mp:     sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)),
	}
	t.Cleanup(func() {
		_ = tm.tp.Shutdown(context.Background())
		_ = tm.mp.Shutdown(context.Background())
	})
	return tm
}

func (tm *telemetry) options(driver string) kiteotel.Options {
	return kiteotel.Options{TracerProvider: tm.tp, MeterProvider: tm.mp, Driver: driver}
}

// metrics collects what was measured, by metric name.
func (tm *telemetry) metrics(t *testing.T) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, tm.reader.Collect(context.Background(), &rm))
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		assert.Equal(t, kiteotel.ScopeName, sm.Scope.Name)
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// matches reports whether set holds every one of want.
func matches(set attribute.Set, want []attribute.KeyValue) bool {
	for _, kv := range want {
		v, ok := set.Value(kv.Key)
		if !ok || v != kv.Value {
			return false
		}
	}
	return true
}

// sum adds the points of a counter whose attributes hold want.
func sum(t *testing.T, m metricdata.Metrics, want ...attribute.KeyValue) int64 {
	t.Helper()
	s, ok := m.Data.(metricdata.Sum[int64])
	require.True(t, ok, "%s is a sum of int64, not %T", m.Name, m.Data)
	assert.True(t, s.IsMonotonic, "%s is a counter", m.Name)
	var n int64
	for _, dp := range s.DataPoints {
		if matches(dp.Attributes, want) {
			n += dp.Value
		}
	}
	return n
}

// count adds the counts of a histogram's points whose attributes hold want.
func count(t *testing.T, m metricdata.Metrics, want ...attribute.KeyValue) uint64 {
	t.Helper()
	h, ok := m.Data.(metricdata.Histogram[float64])
	require.True(t, ok, "%s is a float64 histogram, not %T", m.Name, m.Data)
	var n uint64
	for _, dp := range h.DataPoints {
		if matches(dp.Attributes, want) {
			n += dp.Count
		}
	}
	return n
}

// attrs returns a span's attributes by key.
func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	out := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		out[kv.Key] = kv.Value
	}
	return out
}

func spanNames(spans []sdktrace.ReadOnlySpan) []string {
	var names []string
	for _, s := range spans {
		names = append(names, s.Name())
	}
	return names
}

func newMem(t *testing.T) *memory.Backend {
	t.Helper()
	m, err := memory.New(memory.Options{BaseURL: "http://127.0.0.1:1/files/", Secret: secret})
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// TestInstrumentConformance runs the whole suite over Instrument(mem) with
// the SDK recording, and checks after every check that every span it
// started has ended: the Get spans end with their bodies.
func TestInstrumentConformance(t *testing.T) {
	mux := testserve.New(t.Cleanup)
	conformance.Run(t, conformance.Harness{
		New: func(t conformance.T) backend.Backend {
			base, mount := mux.Slot(t.Cleanup)
			m, err := memory.New(memory.Options{BaseURL: base, Secret: secret})
			if err != nil {
				t.Fatalf("memory.New: %v", err)
			}
			mount(m.Handler())
			t.Cleanup(func() { _ = m.Close() })
			tm := newTelemetry(t)
			t.Cleanup(func() {
				started, ended := len(tm.spans.Started()), len(tm.spans.Ended())
				if started == 0 || started != ended {
					t.Errorf("%d spans started, %d ended", started, ended)
				}
			})
			return kiteotel.Instrument(m, tm.options("mem"))
		},
		PublicHost: mux.Host(),
	})
}

func TestInstrumentPutGet(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tm := newTelemetry(t)
	b := kiteotel.Instrument(newMem(t), tm.options("mem"))
	data := bytes.Repeat([]byte("kite"), 3000) // 12000 bytes

	obj, err := b.Put(ctx, "docs/a", bytes.NewReader(data), backend.PutOptions{})
	require.NoError(t, err)
	assert.Equal(t, int64(len(data)), obj.Size)
	rc, _, err := b.Get(ctx, "docs/a", backend.GetOptions{})
	require.NoError(t, err)
	assert.Len(t, tm.spans.Ended(), 1, "the Get span is open while the body is")
	got, err := io.ReadAll(rc)
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	require.NoError(t, rc.Close(), "a second Close")
	assert.Equal(t, data, got)
	rc, _, err = b.Get(ctx, "docs/a", backend.GetOptions{Offset: 100, Length: 50})
	require.NoError(t, err)
	part, err := io.ReadAll(rc)
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	assert.Equal(t, data[100:150], part)

	spans := tm.spans.Ended()
	require.Equal(t, []string{"kite.put", "kite.get", "kite.get"}, spanNames(spans))
	for _, s := range spans {
		assert.Equal(t, trace.SpanKindClient, s.SpanKind(), s.Name())
		assert.Equal(t, codes.Unset, s.Status().Code, s.Name())
		a := attrs(s)
		assert.Equal(t, "mem", a[kiteotel.AttrDriver].AsString(), s.Name())
		assert.Equal(t, "ok", a[kiteotel.AttrOutcome].AsString(), s.Name())
		assert.NotContains(t, a, kiteotel.AttrKey, "keys are not recorded by default")
		assert.Equal(t, kiteotel.ScopeName, s.InstrumentationScope().Name)
	}
	put, get, ranged := attrs(spans[0]), attrs(spans[1]), attrs(spans[2])
	assert.Equal(t, "Put", put[kiteotel.AttrOperation].AsString())
	assert.Equal(t, int64(len(data)), put[kiteotel.AttrIOBytes].AsInt64(), "bytes read from the reader")
	assert.Equal(t, int64(len(data)), put[kiteotel.AttrObjectSize].AsInt64())
	assert.Equal(t, "Get", get[kiteotel.AttrOperation].AsString())
	assert.Equal(t, int64(len(data)), get[kiteotel.AttrIOBytes].AsInt64(), "bytes given to the caller")
	assert.Equal(t, int64(len(data)), get[kiteotel.AttrObjectSize].AsInt64())
	assert.Equal(t, int64(50), ranged[kiteotel.AttrIOBytes].AsInt64())
	assert.Equal(t, int64(100), ranged[kiteotel.AttrRangeOffset].AsInt64())
	assert.Equal(t, int64(50), ranged[kiteotel.AttrRangeLength].AsInt64())

	ms := tm.metrics(t)
	putOp, getOp := kiteotel.AttrOperation.String("Put"), kiteotel.AttrOperation.String("Get")
	driver, ok := kiteotel.AttrDriver.String("mem"), kiteotel.AttrOutcome.String("ok")
	assert.Equal(t, int64(1), sum(t, ms[kiteotel.MetricOperations], putOp, driver, ok))
	assert.Equal(t, int64(2), sum(t, ms[kiteotel.MetricOperations], getOp, driver, ok))
	assert.Equal(t, uint64(1), count(t, ms[kiteotel.MetricDuration], putOp, ok))
	assert.Equal(t, uint64(2), count(t, ms[kiteotel.MetricDuration], getOp, ok))
	assert.Equal(t, "s", ms[kiteotel.MetricDuration].Unit)
	assert.Equal(t, "By", ms[kiteotel.MetricIO].Unit)
	assert.Equal(t, "{operation}", ms[kiteotel.MetricOperations].Unit)
	assert.Equal(t, int64(len(data)), sum(t, ms[kiteotel.MetricIO], putOp, kiteotel.AttrIODirection.String("write")), "bytes written")
	assert.Equal(t, int64(len(data)+50), sum(t, ms[kiteotel.MetricIO], getOp, kiteotel.AttrIODirection.String("read")), "bytes read")
	assert.NotContains(t, ms, kiteotel.MetricErrors, "no error was counted")
}

func TestInstrumentOutcomes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tm := newTelemetry(t)
	b := kiteotel.Instrument(newMem(t), tm.options(""))

	v1, err := b.Put(ctx, "k", strings.NewReader("v1"), backend.PutOptions{})
	require.NoError(t, err)
	_, err = b.Stat(ctx, "missing")
	require.ErrorIs(t, err, backend.ErrNotFound)
	_, _, err = b.Get(ctx, "missing", backend.GetOptions{})
	require.ErrorIs(t, err, backend.ErrNotFound)
	_, err = b.Copy(ctx, "dst", "missing")
	require.ErrorIs(t, err, backend.ErrNotFound)
	_, err = b.Put(ctx, "k", strings.NewReader("v2"), backend.PutOptions{IfNotExists: true})
	require.ErrorIs(t, err, backend.ErrExists)
	_, err = b.Put(ctx, "k", strings.NewReader("v2"), backend.PutOptions{IfMatch: v1.ETag + "x"})
	require.ErrorIs(t, err, backend.ErrPrecondition)
	_, err = b.Stat(ctx, "a//b")
	require.ErrorIs(t, err, backend.ErrInvalidKey)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	require.ErrorIs(t, b.Delete(cctx, "k"), context.Canceled)

	want := []struct {
		name, outcome, errType string
	}{
		{"kite.put", "ok", ""},
		{"kite.stat", "not_found", ""},
		{"kite.get", "not_found", ""},
		{"kite.copy", "not_found", ""},
		{"kite.put", "exists", ""},
		{"kite.put", "precondition_failed", ""},
		{"kite.stat", "error", "invalid_key"},
		{"kite.delete", "error", "canceled"},
	}
	spans := tm.spans.Ended()
	require.Len(t, spans, len(want))
	for i, w := range want {
		s := spans[i]
		a := attrs(s)
		assert.Equal(t, w.name, s.Name())
		assert.Equal(t, w.outcome, a[kiteotel.AttrOutcome].AsString(), "%s #%d", w.name, i)
		if w.errType == "" {
			assert.Equal(t, codes.Unset, s.Status().Code, "%s %s is no failure", w.name, w.outcome)
			assert.NotContains(t, a, attribute.Key("error.type"))
		} else {
			assert.Equal(t, codes.Error, s.Status().Code, w.name)
			assert.Equal(t, w.errType, a["error.type"].AsString())
			assert.NotEmpty(t, s.Status().Description)
		}
	}
	ms := tm.metrics(t)
	errs := ms[kiteotel.MetricErrors]
	assert.Equal(t, int64(2), sum(t, errs), "only the invalid key and the cancelled call are errors")
	assert.Equal(t, int64(1), sum(t, errs, kiteotel.AttrOperation.String("Stat"), attribute.String("error.type", "invalid_key")))
	assert.Equal(t, int64(1), sum(t, errs, kiteotel.AttrOperation.String("Delete"), attribute.String("error.type", "canceled")))
	calls := ms[kiteotel.MetricOperations]
	assert.Equal(t, int64(8), sum(t, calls))
	assert.Equal(t, int64(3), sum(t, calls, kiteotel.AttrOutcome.String("not_found")))
	assert.Equal(t, int64(1), sum(t, calls, kiteotel.AttrOutcome.String("exists")))
	assert.Equal(t, int64(1), sum(t, calls, kiteotel.AttrOutcome.String("precondition_failed")))
}

func TestInstrumentKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const key = "user-1234/doc-9/private.pdf"
	for _, record := range []bool{false, true} {
		tm := newTelemetry(t)
		opts := tm.options("mem")
		opts.RecordKeys = record
		opts.Attributes = []attribute.KeyValue{attribute.String("kite.store", "primary")}
		b := kiteotel.Instrument(newMem(t), opts)
		_, err := b.Put(ctx, key, strings.NewReader("x"), backend.PutOptions{})
		require.NoError(t, err)
		_, err = b.Copy(ctx, key+".bak", key)
		require.NoError(t, err)
		for range b.List(ctx, backend.ListOptions{Prefix: "user-1234/"}) {
		}
		_, err = b.Put(ctx, key, nil, backend.PutOptions{})
		require.ErrorIs(t, err, backend.ErrInvalidArgument, "a nil reader reaches the driver as nil")
		_, err = b.Put(ctx, key, strings.NewReader("x"), backend.PutOptions{IfNotExists: true, IfMatch: "e"})
		require.Error(t, err)

		spans := tm.spans.Ended()
		require.Len(t, spans, 5)
		for _, s := range spans {
			a := attrs(s)
			assert.Equal(t, "primary", a["kite.store"].AsString(), "Options.Attributes on %s", s.Name())
			var text strings.Builder
			for _, kv := range s.Attributes() {
				text.WriteString(kv.Value.String() + " ")
			}
			text.WriteString(s.Status().Description)
			if record {
				assert.Contains(t, text.String(), "user-1234", "RecordKeys: %s", s.Name())
			} else {
				assert.NotContains(t, text.String(), "user-1234", "a key on %s without RecordKeys", s.Name())
			}
		}
		if record {
			assert.Equal(t, key+".bak", attrs(spans[1])[kiteotel.AttrKey].AsString())
			assert.Equal(t, key, attrs(spans[1])[kiteotel.AttrCopySource].AsString())
			assert.Equal(t, "user-1234/", attrs(spans[2])[kiteotel.AttrListPrefix].AsString())
			assert.Contains(t, spans[3].Status().Description, key)
		}
		assert.Equal(t, int64(2), attrs(spans[2])[kiteotel.AttrListObjects].AsInt64())
		assert.Equal(t, "invalid_argument", attrs(spans[3])["error.type"].AsString())
		assert.Contains(t, spans[3].Status().Description, "nil reader")
		ms := tm.metrics(t)
		for name, m := range ms {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					assert.False(t, dp.Attributes.HasValue(kiteotel.AttrKey), "a key in metric %s", name)
				}
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					assert.False(t, dp.Attributes.HasValue(kiteotel.AttrKey), "a key in metric %s", name)
				}
			}
		}
	}
}

// probe is a Backend whose Put reads the reader its way and records it, and
// whose Get returns the body it is given.
type probe struct {
	backend.Backend
	mu     sync.Mutex
	putR   io.Reader
	onPut  func(r io.Reader) error
	getRC  io.ReadCloser
	getObj *backend.Object
}

func (p *probe) Put(_ context.Context, key string, r io.Reader, _ backend.PutOptions) (*backend.Object, error) {
	p.mu.Lock()
	p.putR = r
	p.mu.Unlock()
	if err := p.onPut(r); err != nil {
		return nil, &backend.Error{Op: "Put", Driver: "probe", Key: key, Err: err}
	}
	return &backend.Object{Key: key}, nil
}

func (p *probe) Get(_ context.Context, _ string, _ backend.GetOptions) (io.ReadCloser, *backend.Object, error) {
	return p.getRC, p.getObj, nil
}

type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func kinds(r any) []string {
	var k []string
	if _, ok := r.(interface{ Len() int }); ok {
		k = append(k, "Len")
	}
	if _, ok := r.(io.Seeker); ok {
		k = append(k, "Seek")
	}
	if _, ok := r.(io.ReaderAt); ok {
		k = append(k, "ReadAt")
	}
	if _, ok := r.(io.WriterTo); ok {
		k = append(k, "WriteTo")
	}
	if _, ok := r.(io.Closer); ok {
		k = append(k, "Close")
	}
	return k
}

func TestInstrumentPutReaderKeepsInterfaces(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(file, []byte("0123456789"), 0o600))
	cases := []struct {
		name string
		r    func(t *testing.T) io.Reader
		want []string
	}{
		{"bytes.Reader", func(*testing.T) io.Reader { return bytes.NewReader([]byte("0123456789")) }, []string{"Len", "Seek", "ReadAt", "WriteTo"}},
		{"strings.Reader", func(*testing.T) io.Reader { return strings.NewReader("0123456789") }, []string{"Len", "Seek", "ReadAt", "WriteTo"}},
		{"bytes.Buffer", func(*testing.T) io.Reader { return bytes.NewBufferString("0123456789") }, []string{"Len", "WriteTo"}},
		{"plain reader", func(*testing.T) io.Reader { return onlyReader{strings.NewReader("0123456789")} }, nil},
		{"os.File", func(t *testing.T) io.Reader {
			f, err := os.Open(file)
			require.NoError(t, err)
			t.Cleanup(func() { f.Close() })
			return f
		}, []string{"Len", "Seek", "ReadAt", "WriteTo"}},
		{"io.SectionReader", func(*testing.T) io.Reader { return io.NewSectionReader(strings.NewReader("xx0123456789"), 2, 10) }, []string{"Seek", "ReadAt"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tm := newTelemetry(t)
			var seen []string
			var length int
			p := &probe{onPut: func(r io.Reader) error {
				seen = kinds(r)
				if l, ok := r.(interface{ Len() int }); ok {
					length = l.Len()
				}
				_, err := io.Copy(io.Discard, r)
				return err
			}}
			b := kiteotel.Instrument(p, tm.options("probe"))
			_, err := b.Put(ctx, "k", c.r(t), backend.PutOptions{})
			require.NoError(t, err)
			assert.Equal(t, c.want, seen, "the methods the driver sees")
			if slicesContains(c.want, "Len") {
				assert.Equal(t, 10, length, "Len is the size left")
			}
			assert.Equal(t, int64(10), sum(t, tm.metrics(t)[kiteotel.MetricIO]), "bytes counted")
			assert.Equal(t, int64(10), attrs(tm.spans.Ended()[0])[kiteotel.AttrIOBytes].AsInt64())
		})
	}
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestInstrumentCountsOnce reads a seekable Put body the way an SDK that
// hashes the payload does: to the end, back to the start, to the end again.
// The bytes are counted once; ReadAt counts what it returns.
func TestInstrumentCountsOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tm := newTelemetry(t)
	p := &probe{onPut: func(r io.Reader) error {
		if _, err := io.Copy(io.Discard, onlyReader{r}); err != nil {
			return err
		}
		s := r.(io.Seeker)
		if _, err := s.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if _, err := io.Copy(io.Discard, onlyReader{r}); err != nil {
			return err
		}
		if _, err := s.Seek(-4, io.SeekEnd); err != nil {
			return err
		}
		_, err := io.Copy(io.Discard, r) // WriteTo
		return err
	}}
	b := kiteotel.Instrument(p, tm.options(""))
	src := strings.NewReader("xxxxx" + strings.Repeat("d", 1000))
	_, err := src.Seek(5, io.SeekStart) // a reader not at its start
	require.NoError(t, err)
	_, err = b.Put(ctx, "k", src, backend.PutOptions{})
	require.NoError(t, err)
	assert.Equal(t, int64(1000), attrs(tm.spans.Ended()[0])[kiteotel.AttrIOBytes].AsInt64(), "each byte counted once")

	// ReadAt and WriteTo on a Get body.
	p.getRC = &fullBody{Reader: strings.NewReader(strings.Repeat("g", 500))}
	p.getObj = &backend.Object{Key: "k", Size: 500}
	rc, _, err := b.Get(ctx, "k", backend.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{"Seek", "ReadAt", "WriteTo", "Close"}, kinds(rc))
	n, err := rc.(io.ReaderAt).ReadAt(make([]byte, 100), 400)
	require.NoError(t, err)
	assert.Equal(t, 100, n)
	var sink bytes.Buffer
	w, err := io.Copy(&sink, rc)
	require.NoError(t, err)
	assert.Equal(t, int64(500), w)
	require.NoError(t, rc.Close())
	assert.True(t, p.getRC.(*fullBody).closed, "Close reaches the driver's body")
	spans := tm.spans.Ended()
	assert.Equal(t, int64(600), attrs(spans[len(spans)-1])[kiteotel.AttrIOBytes].AsInt64())
	assert.Equal(t, int64(600), sum(t, tm.metrics(t)[kiteotel.MetricIO], kiteotel.AttrIODirection.String("read")))
}

// fullBody is a Get body with Seek, ReadAt and WriteTo.
type fullBody struct {
	*strings.Reader
	closed bool
	fail   error
}

func (f *fullBody) Read(p []byte) (int, error) {
	if f.fail != nil && f.Reader.Len() == 0 {
		return 0, f.fail
	}
	return f.Reader.Read(p)
}

func (f *fullBody) Close() error {
	f.closed = true
	return nil
}

func TestInstrumentGetBody(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tm := newTelemetry(t)
	m := newMem(t)
	b := kiteotel.Instrument(m, tm.options("mem"))
	_, err := m.Put(ctx, "k", strings.NewReader("hello"), backend.PutOptions{})
	require.NoError(t, err)
	rc, _, err := b.Get(ctx, "k", backend.GetOptions{})
	require.NoError(t, err)
	raw, _, err := m.Get(ctx, "k", backend.GetOptions{})
	require.NoError(t, err)
	raw.Close()
	assert.Equal(t, []string{"Len", "Seek", "ReadAt", "WriteTo", "Close"}, kinds(raw), "memory's body")
	assert.Equal(t, []string{"Seek", "ReadAt", "WriteTo", "Close"}, kinds(rc), "the body keeps Seek, ReadAt and WriteTo")
	_, err = rc.(io.Seeker).Seek(1, io.SeekStart)
	require.NoError(t, err)
	rest, err := io.ReadAll(rc)
	require.NoError(t, err)
	assert.Equal(t, "ello", string(rest))
	assert.Empty(t, tm.spans.Ended(), "the span lasts until Close")
	require.NoError(t, rc.Close())
	spans := tm.spans.Ended()
	require.Len(t, spans, 1)
	assert.Equal(t, int64(4), attrs(spans[0])[kiteotel.AttrIOBytes].AsInt64())

	// A body that fails mid-stream fails the span.
	fail := errors.New("connection reset")
	p := &probe{Backend: m, getRC: &fullBody{Reader: strings.NewReader("abc"), fail: fail}, getObj: &backend.Object{Key: "k", Size: 10}}
	b = kiteotel.Instrument(p, tm.options("probe"))
	rc, _, err = b.Get(ctx, "k", backend.GetOptions{})
	require.NoError(t, err)
	_, err = io.ReadAll(onlyReader{rc})
	require.ErrorIs(t, err, fail)
	require.NoError(t, rc.Close())
	spans = tm.spans.Ended()
	require.Len(t, spans, 2)
	assert.Equal(t, codes.Error, spans[1].Status().Code)
	assert.Equal(t, "_OTHER", attrs(spans[1])["error.type"].AsString())
	assert.Equal(t, int64(3), attrs(spans[1])[kiteotel.AttrIOBytes].AsInt64())
	assert.Equal(t, int64(1), sum(t, tm.metrics(t)[kiteotel.MetricErrors], kiteotel.AttrOperation.String("Get")))
}

func TestInstrumentSpansAreParents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tm := newTelemetry(t)
	var inner trace.SpanContext
	p := &probe{Backend: newMem(t), onPut: func(io.Reader) error { return nil }}
	b := kiteotel.Instrument(&ctxProbe{Backend: p, seen: &inner}, tm.options(""))
	ctx, parent := tm.tp.Tracer("app").Start(ctx, "handler")
	_, err := b.Put(ctx, "k", strings.NewReader("x"), backend.PutOptions{})
	require.NoError(t, err)
	parent.End()
	spans := tm.spans.Ended()
	require.Len(t, spans, 2)
	assert.Equal(t, "kite.put", spans[0].Name())
	assert.Equal(t, parent.SpanContext().SpanID(), spans[0].Parent().SpanID(), "the caller's span is the parent")
	assert.Equal(t, spans[0].SpanContext().SpanID(), inner.SpanID(), "the driver gets the span in its context")
}

// ctxProbe records the span context a Put is called with.
type ctxProbe struct {
	backend.Backend
	seen *trace.SpanContext
}

func (c *ctxProbe) Put(ctx context.Context, key string, r io.Reader, opts backend.PutOptions) (*backend.Object, error) {
	*c.seen = trace.SpanContextFromContext(ctx)
	return c.Backend.Put(ctx, key, r, opts)
}

func TestInstrumentClose(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tm := newTelemetry(t)
	m := newMem(t)
	b := kiteotel.Instrument(m, tm.options(""))
	require.NoError(t, b.Close())
	_, err := b.Put(ctx, "k", strings.NewReader("x"), backend.PutOptions{})
	assert.ErrorIs(t, err, backend.ErrClosed)
	assert.ErrorIs(t, b.Health(ctx), backend.ErrClosed)
	assert.NoError(t, m.Health(ctx), "the wrapped backend is open")
	_, err = m.Stat(ctx, "k")
	assert.ErrorIs(t, err, backend.ErrNotFound, "nothing written after Close")
	spans := tm.spans.Ended()
	require.Len(t, spans, 2)
	assert.Equal(t, "closed", attrs(spans[0])["error.type"].AsString())
}

func TestInstrumentMetricNames(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tm := newTelemetry(t)
	b := kiteotel.Instrument(newMem(t), tm.options("mem"))
	for range b.List(ctx, backend.ListOptions{}) {
	}
	_, err := b.Stat(ctx, "../x")
	require.Error(t, err)
	_, err = b.PresignGet(ctx, "k", backend.PresignOptions{})
	require.NoError(t, err)
	_, err = b.PresignPut(ctx, "k", backend.PresignOptions{})
	require.NoError(t, err)
	require.NoError(t, b.Health(ctx))
	require.NoError(t, b.Delete(ctx, "k"))
	assert.Equal(t, []string{"kite.list", "kite.stat", "kite.presign_get", "kite.presign_put", "kite.health", "kite.delete"}, spanNames(tm.spans.Ended()))
	assert.Equal(t, int64(900), attrs(tm.spans.Ended()[2])[kiteotel.AttrExpires].AsInt64(), "the default expiry, in seconds")
	var names []string
	for name := range tm.metrics(t) {
		names = append(names, name)
	}
	sort.Strings(names)
	assert.Equal(t, []string{"kite.client.operation.duration", "kite.client.operation.errors", "kite.client.operations"}, names)
}
