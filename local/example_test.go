package local_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"strings"

	"github.com/kitehq/kite/backend"
	_ "github.com/kitehq/kite/local"
)

func Example() {
	dir, err := os.MkdirTemp("", "kite-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	store, err := backend.Open(ctx, "file://"+dir+"?create_dir=true")
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	if _, err := store.Put(ctx, "notes/hello.txt", strings.NewReader("hello, world"), backend.PutOptions{ContentType: "text/plain"}); err != nil {
		log.Fatal(err)
	}
	// Create only: a second writer of the same key is refused.
	_, err = store.Put(ctx, "notes/hello.txt", strings.NewReader("again"), backend.PutOptions{IfNotExists: true})
	fmt.Println("exists:", errors.Is(err, backend.ErrExists))

	rc, obj, err := store.Get(ctx, "notes/hello.txt", backend.GetOptions{Offset: 7})
	if err != nil {
		log.Fatal(err)
	}
	defer rc.Close()
	rest, _ := io.ReadAll(rc)
	fmt.Println(obj.Size, obj.ContentType, string(rest))

	for o, err := range store.List(ctx, backend.ListOptions{Delimiter: "/"}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(o.Key, o.IsPrefix)
	}
	// Output:
	// exists: true
	// 12 text/plain world
	// notes/ true
}
