package backend_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/kitehq/kite/backend"
	_ "github.com/kitehq/kite/memory" // registers mem://
)

// Open a store by URL, store a document under a key that never contains the
// human file name, and read it back.
func Example() {
	ctx := context.Background()
	b, err := backend.Open(ctx, "mem://")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()

	obj, err := backend.PutDocument(ctx, b, "user-42", "invoice-7", backend.ExtOf("Invoice March.PDF"),
		strings.NewReader("%PDF-1.7 ..."), backend.PutOptions{ContentType: "application/pdf"})
	if err != nil {
		fmt.Println(err)
		return
	}
	doc, _ := backend.ParseDocumentKey(obj.Key)
	fmt.Println(doc.UserID, doc.DocumentID, doc.Ext, obj.Size)

	rc, _, err := b.Get(ctx, obj.Key, backend.GetOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rc.Close()
	data, _ := io.ReadAll(rc)
	fmt.Println(string(data))
	// Output:
	// user-42 invoice-7 .pdf 12
	// %PDF-1.7 ...
}

func ExampleValidateKey() {
	for _, k := range []string{"user/doc/a b.txt", "../etc/passwd", "dir/"} {
		fmt.Println(k, backend.ValidateKey(k) == nil)
	}
	// Output:
	// user/doc/a b.txt true
	// ../etc/passwd false
	// dir/ false
}

func ExampleExtOf() {
	fmt.Println(backend.ExtOf("Report.PDF"), backend.ExtOf("archive.tar.gz"), backend.ExtOf("README") == "")
	// Output: .pdf .gz true
}

// Errors match Kite's sentinels and their io/fs counterparts.
func ExampleError() {
	ctx := context.Background()
	b, _ := backend.Open(ctx, "mem://")
	_, err := b.Stat(ctx, "missing/key")
	fmt.Println(err)
	fmt.Println(errors.Is(err, backend.ErrNotFound))
	// Output:
	// mem: Stat "missing/key": object not found
	// true
}

func ExampleOpen_unknownScheme() {
	_, err := backend.Open(context.Background(), "gs://my-bucket")
	fmt.Println(strings.Contains(err.Error(), `add import _ "github.com/kitehq/kite/gcs"`))
	// Output: true
}
