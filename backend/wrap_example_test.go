package backend_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/memory"
)

// A part of the application that must never write gets a read-only view.
func ExampleReadOnly() {
	ctx := context.Background()
	store, _ := memory.New(memory.Options{})
	defer store.Close()
	_, _ = store.Put(ctx, "reports/2026-03.csv", strings.NewReader("month,total\n"), backend.PutOptions{})

	ro := backend.ReadOnly(store)
	rc, _, err := ro.Get(ctx, "reports/2026-03.csv", backend.GetOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	data, _ := io.ReadAll(rc)
	rc.Close()
	fmt.Printf("%q\n", data)

	err = ro.Delete(ctx, "reports/2026-03.csv")
	fmt.Println(errors.Is(err, backend.ErrPermission), err)
	// Output:
	// "month,total\n"
	// true readonly: Delete "reports/2026-03.csv": the backend is read-only: Delete refused
}

// Migrating from one provider to another without downtime: the application
// writes through a Mirror of the old store (primary) and the new one
// (secondary), kite sync copies what was there before, and once the two
// agree the application switches to the new store.
func ExampleMirror() {
	ctx := context.Background()
	oldStore, _ := memory.New(memory.Options{ // e.g. backend.Open(ctx, "file:///srv/objects?…")
		BaseURL: "http://127.0.0.1:8080/files/", Secret: strings.Repeat("s", 32),
	})
	defer oldStore.Close()
	newStore, _ := memory.New(memory.Options{}) // e.g. backend.Open(ctx, "s3://docs?region=eu-west-1")
	defer newStore.Close()

	b := backend.Mirror(oldStore, newStore, backend.MirrorOptions{
		OnDivergence: func(_ context.Context, d backend.Divergence) {
			// Record the key for the next kite sync; here, print it.
			fmt.Println("diverged:", d.Op, d.Key)
		},
	})
	defer b.Close()

	obj, err := b.Put(ctx, "user-1/doc-1/a.pdf", strings.NewReader("%PDF-1.7"), backend.PutOptions{ContentType: "application/pdf"})
	if err != nil {
		fmt.Println(err)
		return
	}
	st, _ := newStore.Stat(ctx, obj.Key)
	fmt.Println("secondary:", st.Key, st.Size, st.ContentType)

	// A browser upload through a presigned URL reaches the primary only.
	_, _ = b.PresignPut(ctx, "user-1/doc-2/b.pdf", backend.PresignOptions{})
	// Output:
	// secondary: user-1/doc-1/a.pdf 8 application/pdf
	// diverged: PresignPut user-1/doc-2/b.pdf
}

// Every call becomes one record; the handler here drops time, duration and
// the ETag (random per memory store) so that the output is stable.
func ExampleLog() {
	ctx := context.Background()
	store, _ := memory.New(memory.Options{})
	defer store.Close()
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == "duration" || a.Key == "etag" {
				return slog.Attr{}
			}
			return a
		},
	}))
	b := backend.Log(store, logger, backend.LogOptions{Driver: "mem"})

	_, _ = b.Put(ctx, "docs/a.txt", strings.NewReader("hello"), backend.PutOptions{Metadata: map[string]string{"owner": "alice"}})
	_, _ = b.Stat(ctx, "docs/missing")
	_, _ = b.Put(ctx, "docs/a.txt", strings.NewReader("again"), backend.PutOptions{IfNotExists: true})
	// Output:
	// level=DEBUG msg="kite Put" op=Put driver=mem key=docs/a.txt metadata_keys=[owner] size=5
	// level=DEBUG msg="kite Stat" op=Stat driver=mem key=docs/missing error="mem: Stat \"docs/missing\": object not found"
	// level=INFO msg="kite Put" op=Put driver=mem key=docs/a.txt if_not_exists=true error="mem: Put \"docs/a.txt\": object already exists"
}

// Each tenant gets its own namespace in one bucket: its keys, listings and
// presigned URLs stay under its prefix, and the prefix never shows.
func ExampleWithPrefix() {
	ctx := context.Background()
	store, _ := memory.New(memory.Options{})
	defer store.Close()

	tenant, err := backend.WithPrefix(store, "tenant-7/")
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := tenant.Put(ctx, "reports/q1.pdf", strings.NewReader("%PDF"), backend.PutOptions{}); err != nil {
		fmt.Println(err)
		return
	}
	for obj, err := range tenant.List(ctx, backend.ListOptions{}) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println("tenant sees:", obj.Key)
	}
	for obj, err := range store.List(ctx, backend.ListOptions{}) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println("bucket holds:", obj.Key)
	}
	_, err = backend.WithPrefix(store, "no-slash")
	fmt.Println(errors.Is(err, backend.ErrInvalidArgument))
	// Output:
	// tenant sees: reports/q1.pdf
	// bucket holds: tenant-7/reports/q1.pdf
	// true
}
