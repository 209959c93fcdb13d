package backend_test

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/memory"
)

// Walk a store as a file system: keys are file names, and the directories
// are implied by the slashes in them.
func ExampleFS() {
	ctx := context.Background()
	b, err := memory.New(memory.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()
	for key, content := range map[string]string{
		"README.md":          "# Kite",
		"docs/guide.txt":     "Put, Get, Stat, List",
		"docs/api/spec.json": `{"openapi":"3.1.0"}`,
	} {
		if _, err := b.Put(ctx, key, strings.NewReader(content), backend.PutOptions{}); err != nil {
			fmt.Println(err)
			return
		}
	}

	fsys := backend.FS(b)
	err = fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Printf("%-20s %v %d\n", name, info.Mode(), info.Size())
		return nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	guide, err := fs.ReadFile(fsys, "docs/guide.txt")
	fmt.Printf("%s %v\n", guide, err)
	_, err = fs.Stat(fsys, "docs/missing.txt")
	fmt.Println(err)
	// Output:
	// .                    dr-xr-xr-x 0
	// README.md            -r--r--r-- 6
	// docs                 dr-xr-xr-x 0
	// docs/api             dr-xr-xr-x 0
	// docs/api/spec.json   -r--r--r-- 19
	// docs/guide.txt       -r--r--r-- 20
	// Put, Get, Stat, List <nil>
	// stat docs/missing.txt: mem: Stat "docs/missing.txt": object not found
}

// Serve a store with http.FileServerFS, Range requests included, each
// request's store calls under the request's context.
func ExampleFileSystem_WithContext() {
	ctx := context.Background()
	b, err := memory.New(memory.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()
	if _, err := b.Put(ctx, "files/hello.txt", strings.NewReader("hello, kite"), backend.PutOptions{}); err != nil {
		fmt.Println(err)
		return
	}

	fsys := backend.FS(b)
	files := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.FileServerFS(fsys.WithContext(r.Context())).ServeHTTP(w, r)
	})
	srv := httptest.NewServer(files)
	defer srv.Close()

	req, err := http.NewRequest(http.MethodGet, srv.URL+"/files/hello.txt", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	req.Header.Set("Range", "bytes=7-10")
	resp, err := srv.Client().Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	fmt.Println(resp.Status, resp.Header.Get("Content-Range"), string(body), err)
	// Output:
	// 206 Partial Content bytes 7-10/11 kite <nil>
}
