// Package kiteotel instruments a backend.Backend with OpenTelemetry: one
// span per call and metrics of calls, errors, bytes and latency, so that a
// store shows up in the traces and dashboards an application already has.
//
//	b = kiteotel.Instrument(b, kiteotel.Options{Driver: "s3"})
//
// # Spans
//
// There is no OpenTelemetry semantic convention for object stores, so the
// names follow the general rules: low cardinality (never a key), the
// operation named, under the kite namespace so that they read apart from the
// HTTP spans of the SDK beneath them: "kite.put", "kite.get", "kite.stat",
// "kite.delete", "kite.list", "kite.copy", "kite.presign_get",
// "kite.presign_put", "kite.health". Spans are of kind Client, and the
// context passed to the wrapped backend carries the span, so a driver's own
// spans (otelhttp in its SDK) are its children.
//
// Attributes: kite.operation.name (the Backend method: "Put"), kite.driver
// (Options.Driver), kite.outcome, error.type on failure, kite.object.size,
// kite.io.bytes (the bytes read from the caller's reader by Put, or given to
// the caller by a Get's body), kite.range.offset and kite.range.length of a
// ranged Get, kite.list.objects, kite.list.delimiter, kite.presign.expires
// (seconds), and Options.Attributes. Keys are user data (a document key
// holds a user ID), so kite.key, kite.copy.source and kite.list.prefix are
// recorded only with Options.RecordKeys, and without it the key is also
// left out of the status description of a failed span.
//
// A span ends when its call returns, but for Get, whose span ends when the
// body is closed (or when Get fails), and List, whose span covers the range
// loop over it. Close every body: an unclosed one leaves its span open.
//
// # Outcomes
//
// Not every error is a failure. kite.outcome is "ok", "not_found" (a missing
// key: Stat is how a caller asks whether one exists), "exists" (an
// IfNotExists Put that found the key taken) and "precondition_failed" (an
// IfMatch Put that lost a race): expected answers of a working store, which
// leave the span status Unset and are not counted as errors. Anything else,
// a cancelled context included (the call did not complete), is "error": the
// span status is Error, error.type names the kind ("invalid_key",
// "invalid_argument", "permission_denied", "unsupported", "closed",
// "canceled", "deadline_exceeded", or "_OTHER" for a store's failure) and
// kite.client.operation.errors counts it.
//
// # Metrics
//
// Names follow the OpenTelemetry naming rules (dot-separated, lower case, the
// unit in the unit field, UCUM units), in the client namespace since Kite
// also serves signed URLs:
//
//	kite.client.operation.duration  histogram  s            every call
//	kite.client.operations          counter    {operation}  every call
//	kite.client.operation.errors    counter    {error}      failed calls (not not-found, exists, precondition)
//	kite.client.io                  counter    By           bytes through Put and Get, kite.io.direction "write" or "read"
//
// Every measurement carries kite.operation.name, kite.driver when set, and
// Options.Attributes; the duration and the counts carry kite.outcome, and
// error.type on failure. Bytes are counted as the stream passes, not when
// the call ends: a byte read again after a Seek back (an SDK that rewinds
// to retry) counts once. The duration of a Get lasts until its body is
// closed, like its span.
//
// The reader a Put hands to the driver, and the body a Get hands back, keep
// the io.Seeker, io.ReaderAt and io.WriterTo of what they wrap (and, for
// Put, Len or a regular file's size), so a driver's size detection and fast
// paths, and http.ServeContent's ranges, work as without the wrapper.
package kiteotel

import (
	"context"
	"errors"
	"io"
	"iter"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/kitehq/kite/backend"
)

// ScopeName is the instrumentation scope of the tracer and the meter.
const ScopeName = "github.com/kitehq/kite/backend/kiteotel"

// The metric names.
const (
	MetricDuration   = "kite.client.operation.duration"
	MetricOperations = "kite.client.operations"
	MetricErrors     = "kite.client.operation.errors"
	MetricIO         = "kite.client.io"
)

// The attribute keys, besides semconv's error.type.
const (
	AttrOperation   = attribute.Key("kite.operation.name")
	AttrDriver      = attribute.Key("kite.driver")
	AttrOutcome     = attribute.Key("kite.outcome")
	AttrKey         = attribute.Key("kite.key")
	AttrCopySource  = attribute.Key("kite.copy.source")
	AttrObjectSize  = attribute.Key("kite.object.size")
	AttrIOBytes     = attribute.Key("kite.io.bytes")
	AttrIODirection = attribute.Key("kite.io.direction")
	AttrRangeOffset = attribute.Key("kite.range.offset")
	AttrRangeLength = attribute.Key("kite.range.length")
	AttrListPrefix  = attribute.Key("kite.list.prefix")
	AttrListDelim   = attribute.Key("kite.list.delimiter")
	AttrListObjects = attribute.Key("kite.list.objects")
	AttrExpires     = attribute.Key("kite.presign.expires")
)

// Options configure Instrument. The zero value uses the global providers
// and records no keys.
type Options struct {
	// TracerProvider makes the tracer; nil means otel.GetTracerProvider().
	TracerProvider trace.TracerProvider
	// MeterProvider makes the meter; nil means otel.GetMeterProvider().
	MeterProvider metric.MeterProvider
	// Driver is the kite.driver attribute of every span and measurement,
	// such as "s3"; "" leaves it out.
	Driver string
	// Attributes are added to every span and measurement, to tell stores of
	// one driver apart (kite.store=primary). Keep them low-cardinality.
	Attributes []attribute.KeyValue
	// RecordKeys adds the key (kite.key, kite.copy.source, kite.list.prefix)
	// to spans, and keeps it in their error descriptions. Off by default:
	// keys may hold user data. Keys never go into metrics.
	RecordKeys bool
}

// DurationBuckets are the bucket boundaries of kite.client.operation.duration,
// in seconds: semconv's database buckets, extended to five minutes for
// large transfers.
var DurationBuckets = []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}

// closedDriver is the Driver of the errors the wrapper makes itself.
const closedDriver = "otel"

// ops are the operations, with their span names.
var ops = []struct{ op, span string }{
	{"Put", "kite.put"}, {"Get", "kite.get"}, {"Stat", "kite.stat"}, {"Delete", "kite.delete"},
	{"List", "kite.list"}, {"Copy", "kite.copy"}, {"PresignGet", "kite.presign_get"},
	{"PresignPut", "kite.presign_put"}, {"Health", "kite.health"},
}

// Instrument returns a Backend that traces and measures every call of b as
// the package documentation describes, and otherwise behaves as b: same
// results, same errors, same readers (with their optional interfaces).
// Instruments that the meter cannot make are reported to otel.Handle and
// replaced by no-ops; the calls still work.
//
// The returned Backend does not own b: its Close closes nothing and makes
// its own later calls fail with backend.ErrClosed. It is safe for concurrent
// use when b is. A nil b is a programmer error and panics.
func Instrument(b backend.Backend, opts Options) backend.Backend {
	if b == nil {
		panic("kiteotel.Instrument: nil Backend")
	}
	tp := opts.TracerProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	mp := opts.MeterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	in := &instrumented{
		b:          b,
		tracer:     tp.Tracer(ScopeName, trace.WithSchemaURL(semconv.SchemaURL)),
		recordKeys: opts.RecordKeys,
		ops:        map[string]*opInfo{},
	}
	meter := mp.Meter(ScopeName, metric.WithSchemaURL(semconv.SchemaURL))
	var err error
	in.duration, err = meter.Float64Histogram(MetricDuration, metric.WithUnit("s"),
		metric.WithDescription("Duration of the calls of a Kite backend (a Get until its body is closed)."),
		metric.WithExplicitBucketBoundaries(DurationBuckets...))
	handle(err)
	in.calls, err = meter.Int64Counter(MetricOperations, metric.WithUnit("{operation}"),
		metric.WithDescription("Calls of a Kite backend."))
	handle(err)
	in.errors, err = meter.Int64Counter(MetricErrors, metric.WithUnit("{error}"),
		metric.WithDescription("Failed calls of a Kite backend; not-found, exists and precondition failed are answers, not failures."))
	handle(err)
	in.io, err = meter.Int64Counter(MetricIO, metric.WithUnit("By"),
		metric.WithDescription("Bytes read from the caller's reader by Put (write) and given to the caller by Get (read)."))
	handle(err)

	common := append([]attribute.KeyValue(nil), opts.Attributes...)
	if opts.Driver != "" {
		common = append(common, AttrDriver.String(opts.Driver))
	}
	for _, o := range ops {
		base := append([]attribute.KeyValue{AttrOperation.String(o.op)}, common...)
		info := &opInfo{op: o.op, span: o.span, base: base}
		info.ok = metric.WithAttributeSet(attribute.NewSet(append(base, AttrOutcome.String(outcomeOK))...))
		switch o.op {
		case "Put":
			info.io = metric.WithAttributeSet(attribute.NewSet(append(base, AttrIODirection.String("write"))...))
		case "Get":
			info.io = metric.WithAttributeSet(attribute.NewSet(append(base, AttrIODirection.String("read"))...))
		}
		in.ops[o.op] = info
	}
	return in
}

func handle(err error) {
	if err != nil {
		otel.Handle(err)
	}
}

type opInfo struct {
	op, span string
	base     []attribute.KeyValue     // operation, driver, Options.Attributes
	ok       metric.MeasurementOption // base and outcome "ok"
	io       metric.MeasurementOption // base and direction, for Put and Get
}

type instrumented struct {
	b          backend.Backend
	tracer     trace.Tracer
	duration   metric.Float64Histogram
	calls      metric.Int64Counter
	errors     metric.Int64Counter
	io         metric.Int64Counter
	ops        map[string]*opInfo // read-only after Instrument
	recordKeys bool
	closed     atomic.Bool
}

// The values of kite.outcome.
const (
	outcomeOK           = "ok"
	outcomeNotFound     = "not_found"
	outcomeExists       = "exists"
	outcomePrecondition = "precondition_failed"
	outcomeError        = "error"
)

// classify returns the kite.outcome of err and, for a failure, its
// error.type.
func classify(err error) (outcome, errType string) {
	switch {
	case err == nil:
		return outcomeOK, ""
	case errors.Is(err, backend.ErrNotFound):
		return outcomeNotFound, ""
	case errors.Is(err, backend.ErrExists):
		return outcomeExists, ""
	case errors.Is(err, backend.ErrPrecondition):
		return outcomePrecondition, ""
	case errors.Is(err, backend.ErrInvalidKey):
		return outcomeError, "invalid_key"
	case errors.Is(err, backend.ErrInvalidArgument):
		return outcomeError, "invalid_argument"
	case errors.Is(err, backend.ErrPermission):
		return outcomeError, "permission_denied"
	case errors.Is(err, backend.ErrUnsupported):
		return outcomeError, "unsupported"
	case errors.Is(err, backend.ErrClosed):
		return outcomeError, "closed"
	case errors.Is(err, context.Canceled):
		return outcomeError, "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return outcomeError, "deadline_exceeded"
	}
	return outcomeError, semconv.ErrorTypeOther.Value.AsString()
}

// call is one instrumented call in flight.
type call struct {
	in    *instrumented
	info  *opInfo
	ctx   context.Context
	span  trace.Span
	start time.Time
	keys  []string // the keys of the call, kept out of error descriptions
}

// begin starts the span of op; keyAttrs are recorded only with RecordKeys.
func (in *instrumented) begin(ctx context.Context, op string, keys []string, attrs ...attribute.KeyValue) *call {
	info := in.ops[op]
	all := make([]attribute.KeyValue, 0, len(info.base)+len(attrs)+2)
	all = append(all, info.base...)
	all = append(all, attrs...)
	if in.recordKeys {
		switch op {
		case "Copy":
			all = append(all, AttrKey.String(keys[0]), AttrCopySource.String(keys[1]))
		case "List":
			all = append(all, AttrListPrefix.String(keys[0]))
		default:
			if len(keys) > 0 {
				all = append(all, AttrKey.String(keys[0]))
			}
		}
	}
	ctx, span := in.tracer.Start(ctx, info.span, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(all...))
	return &call{in: in, info: info, ctx: ctx, span: span, start: time.Now(), keys: keys}
}

// end records the outcome of the call, its metrics, and ends the span.
func (c *call) end(err error, attrs ...attribute.KeyValue) {
	elapsed := time.Since(c.start).Seconds()
	outcome, errType := classify(err)
	c.span.SetAttributes(attrs...)
	c.span.SetAttributes(AttrOutcome.String(outcome))
	opt := c.info.ok
	if outcome != outcomeOK {
		mattrs := append(append([]attribute.KeyValue(nil), c.info.base...), AttrOutcome.String(outcome))
		if errType != "" {
			mattrs = append(mattrs, semconv.ErrorTypeKey.String(errType))
		}
		opt = metric.WithAttributeSet(attribute.NewSet(mattrs...))
	}
	if errType != "" {
		c.span.SetAttributes(semconv.ErrorTypeKey.String(errType))
		c.span.SetStatus(codes.Error, c.describe(err))
		c.in.errors.Add(c.ctx, 1, opt)
	}
	c.in.calls.Add(c.ctx, 1, opt)
	c.in.duration.Record(c.ctx, elapsed, opt)
	c.span.End()
}

// describe is the status description of a failed span: the error's message,
// without the call's keys unless RecordKeys.
func (c *call) describe(err error) string {
	if c.in.recordKeys {
		return err.Error()
	}
	var be *backend.Error
	msg := err.Error()
	if errors.As(err, &be) && be.Err != nil {
		msg = be.Driver + ": " + be.Op + ": " + be.Err.Error()
	}
	for _, k := range c.keys {
		if k != "" {
			msg = strings.ReplaceAll(msg, strconv.Quote(k), `"…"`)
		}
	}
	return msg
}

func (in *instrumented) closedErr(op, key string) error {
	if in.closed.Load() {
		return &backend.Error{Op: op, Driver: closedDriver, Key: key, Err: backend.ErrClosed}
	}
	return nil
}

func (in *instrumented) Put(ctx context.Context, key string, r io.Reader, opts backend.PutOptions) (*backend.Object, error) {
	var attrs []attribute.KeyValue
	if opts.Size > 0 {
		attrs = append(attrs, AttrObjectSize.Int64(opts.Size))
	}
	c := in.begin(ctx, "Put", []string{key}, attrs...)
	if err := in.closedErr("Put", key); err != nil {
		c.end(err)
		return nil, err
	}
	var (
		cnt *counter
		rd  io.Reader // nil stays nil, for the driver to refuse
	)
	if r != nil {
		cnt = &counter{r: r, add: func(n int64) { in.io.Add(c.ctx, n, c.info.io) }}
		rd = cnt.putReader()
	}
	obj, err := in.b.Put(c.ctx, key, rd, opts)
	var end []attribute.KeyValue
	if cnt != nil {
		end = append(end, AttrIOBytes.Int64(cnt.total.Load()))
	}
	if err == nil && obj != nil {
		end = append(end, AttrObjectSize.Int64(obj.Size))
	}
	c.end(err, end...)
	return obj, err
}

func (in *instrumented) Get(ctx context.Context, key string, opts backend.GetOptions) (io.ReadCloser, *backend.Object, error) {
	var attrs []attribute.KeyValue
	if !opts.IsWhole() {
		attrs = append(attrs, AttrRangeOffset.Int64(opts.Offset), AttrRangeLength.Int64(opts.Length))
	}
	c := in.begin(ctx, "Get", []string{key}, attrs...)
	if err := in.closedErr("Get", key); err != nil {
		c.end(err)
		return nil, nil, err
	}
	rc, obj, err := in.b.Get(c.ctx, key, opts)
	if err != nil {
		c.end(err)
		return rc, obj, err
	}
	if obj != nil {
		c.span.SetAttributes(AttrObjectSize.Int64(obj.Size))
	}
	bd := &body{rc: rc}
	bd.counter = &counter{r: rc, add: func(n int64) { in.io.Add(c.ctx, n, c.info.io) }}
	bd.onEnd = func(readErr, closeErr error) {
		err := readErr
		if err == nil {
			err = closeErr
		}
		c.end(err, AttrIOBytes.Int64(bd.total.Load()))
	}
	return bd.readCloser(), obj, nil
}

func (in *instrumented) Stat(ctx context.Context, key string) (*backend.Object, error) {
	c := in.begin(ctx, "Stat", []string{key})
	var obj *backend.Object
	err := in.closedErr("Stat", key)
	if err == nil {
		obj, err = in.b.Stat(c.ctx, key)
	}
	if err == nil && obj != nil {
		c.end(nil, AttrObjectSize.Int64(obj.Size))
	} else {
		c.end(err)
	}
	return obj, err
}

func (in *instrumented) Delete(ctx context.Context, key string) error {
	c := in.begin(ctx, "Delete", []string{key})
	err := in.closedErr("Delete", key)
	if err == nil {
		err = in.b.Delete(c.ctx, key)
	}
	c.end(err)
	return err
}

func (in *instrumented) List(ctx context.Context, opts backend.ListOptions) iter.Seq2[*backend.Object, error] {
	return func(yield func(*backend.Object, error) bool) {
		var attrs []attribute.KeyValue
		if opts.Delimiter != "" {
			attrs = append(attrs, AttrListDelim.String(opts.Delimiter))
		}
		c := in.begin(ctx, "List", []string{opts.Prefix}, attrs...)
		n := 0
		err := in.closedErr("List", "")
		defer func() { c.end(err, AttrListObjects.Int(n)) }()
		if err != nil {
			yield(nil, err)
			return
		}
		for o, e := range in.b.List(c.ctx, opts) {
			if e != nil {
				err = e
				yield(nil, e)
				return
			}
			n++
			if !yield(o, nil) {
				return
			}
		}
	}
}

func (in *instrumented) Copy(ctx context.Context, dst, src string) (*backend.Object, error) {
	c := in.begin(ctx, "Copy", []string{dst, src})
	var obj *backend.Object
	err := in.closedErr("Copy", dst)
	if err == nil {
		obj, err = in.b.Copy(c.ctx, dst, src)
	}
	if err == nil && obj != nil {
		c.end(nil, AttrObjectSize.Int64(obj.Size))
	} else {
		c.end(err)
	}
	return obj, err
}

func (in *instrumented) presign(ctx context.Context, op, key string, opts backend.PresignOptions,
	call func(ctx context.Context) (*backend.PresignedRequest, error)) (*backend.PresignedRequest, error) {
	exp := opts.Expires
	if exp == 0 {
		exp = backend.DefaultPresignExpiry
	}
	c := in.begin(ctx, op, []string{key}, AttrExpires.Int64(int64(exp/time.Second)))
	err := in.closedErr(op, key)
	var pr *backend.PresignedRequest
	if err == nil {
		pr, err = call(c.ctx)
	}
	c.end(err) // never the URL: its query is the signature
	return pr, err
}

func (in *instrumented) PresignGet(ctx context.Context, key string, opts backend.PresignOptions) (*backend.PresignedRequest, error) {
	return in.presign(ctx, "PresignGet", key, opts, func(ctx context.Context) (*backend.PresignedRequest, error) {
		return in.b.PresignGet(ctx, key, opts)
	})
}

func (in *instrumented) PresignPut(ctx context.Context, key string, opts backend.PresignOptions) (*backend.PresignedRequest, error) {
	return in.presign(ctx, "PresignPut", key, opts, func(ctx context.Context) (*backend.PresignedRequest, error) {
		return in.b.PresignPut(ctx, key, opts)
	})
}

func (in *instrumented) Health(ctx context.Context) error {
	c := in.begin(ctx, "Health", nil)
	err := in.closedErr("Health", "")
	if err == nil {
		err = in.b.Health(c.ctx)
	}
	c.end(err)
	return err
}

// Close makes later calls fail with backend.ErrClosed. It does not close the
// wrapped backend, which the wrapper does not own.
func (in *instrumented) Close() error {
	in.closed.Store(true)
	return nil
}
