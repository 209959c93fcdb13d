package kiteotel_test

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/backend/kiteotel"
	"github.com/kitehq/kite/memory"
)

// The spans and metrics of one Put and one Get. An application passes its
// own providers, or none to use the otel globals.
func ExampleInstrument() {
	ctx := context.Background()
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))

	mem, _ := memory.New(memory.Options{})
	defer mem.Close()
	b := kiteotel.Instrument(mem, kiteotel.Options{TracerProvider: tp, MeterProvider: mp, Driver: "mem"})
	defer b.Close()

	if _, err := b.Put(ctx, "docs/hello.txt", strings.NewReader("hello, kite"), backend.PutOptions{}); err != nil {
		fmt.Println(err)
		return
	}
	rc, _, err := b.Get(ctx, "docs/hello.txt", backend.GetOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	_, _ = io.Copy(io.Discard, rc)
	rc.Close() // ends the Get span

	for _, s := range spans.Ended() {
		fmt.Println("span", s.Name(), s.SpanKind(), show(attribute.NewSet(s.Attributes()...)))
	}
	var rm metricdata.ResourceMetrics
	_ = reader.Collect(ctx, &rm)
	var lines []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					lines = append(lines, fmt.Sprintf("metric %s %s counter %d %s", m.Name, m.Unit, dp.Value, show(dp.Attributes)))
				}
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					lines = append(lines, fmt.Sprintf("metric %s %s histogram count=%d %s", m.Name, m.Unit, dp.Count, show(dp.Attributes)))
				}
			}
		}
	}
	sort.Strings(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
	// Output:
	// span kite.put client kite.driver=mem kite.io.bytes=11 kite.object.size=11 kite.operation.name=Put kite.outcome=ok
	// span kite.get client kite.driver=mem kite.io.bytes=11 kite.object.size=11 kite.operation.name=Get kite.outcome=ok
	// metric kite.client.io By counter 11 kite.driver=mem kite.io.direction=read kite.operation.name=Get
	// metric kite.client.io By counter 11 kite.driver=mem kite.io.direction=write kite.operation.name=Put
	// metric kite.client.operation.duration s histogram count=1 kite.driver=mem kite.operation.name=Get kite.outcome=ok
	// metric kite.client.operation.duration s histogram count=1 kite.driver=mem kite.operation.name=Put kite.outcome=ok
	// metric kite.client.operations {operation} counter 1 kite.driver=mem kite.operation.name=Get kite.outcome=ok
	// metric kite.client.operations {operation} counter 1 kite.driver=mem kite.operation.name=Put kite.outcome=ok
}

// show prints attributes sorted by key.
func show(s attribute.Set) string {
	var parts []string
	for _, kv := range s.ToSlice() {
		parts = append(parts, string(kv.Key)+"="+kv.Value.String())
	}
	return strings.Join(parts, " ")
}

// Two stores of one driver told apart by an attribute, with keys on spans
// for a deployment whose keys hold no user data.
func ExampleOptions() {
	primary, _ := memory.New(memory.Options{})
	defer primary.Close()
	b := kiteotel.Instrument(primary, kiteotel.Options{
		Driver:     "mem",
		Attributes: []attribute.KeyValue{attribute.String("kite.store", "primary")},
		RecordKeys: true,
	})
	defer b.Close()
	fmt.Println(b.Health(context.Background()))
	// Output: <nil>
}
