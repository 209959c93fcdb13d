package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/kitehq/kite/backend"
)

func init() {
	register("rm", "delete objects by key, or every object under a prefix (after confirmation)", runRm)
}

const rmUsage = `  kite rm [--store URL] KEY...
  kite rm [--store URL] --prefix P [--yes]

Deletes each KEY. Deleting a key that does not exist is not an error, so rm
can be repeated. A failed deletion is reported and the other keys are still
deleted; the exit code is then 1.

With --prefix, lists every object under P (matched as bytes: "docs/" is the
folder, "docs" also takes "docs.txt"), asks on the terminal
  delete N objects under "P"? [y/N]
and deletes them only after "y" or "yes". --yes skips the question. Without
--yes and with a stdin that is not a terminal, rm deletes nothing and exits
with 2 (a script must say --yes). Any other answer deletes nothing and exits
with 1. An empty prefix (the whole store) is refused. Objects written under P
after the listing are not deleted.
`

// rmWorkers is how many deletions run at once under --prefix: stores answer
// one key per request, and a few in flight hide the round trips.
const rmWorkers = 8

func runRm(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("rm", stderr)
	setUsage(fs, stderr, rmUsage)
	storeURL := storeFlag(fs)
	prefix := fs.String("prefix", "", "delete every object under this prefix")
	yes := fs.Bool("yes", false, "with --prefix: delete without asking")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if isSet(fs, "prefix") {
		if len(pos) > 0 {
			return fmt.Errorf("%w: give KEY arguments or --prefix, not both", errUsage)
		}
		if *prefix == "" {
			return fmt.Errorf("%w: an empty --prefix would delete the whole store; refused", errUsage)
		}
		b, _, err := openStore(ctx, *storeURL)
		if err != nil {
			return err
		}
		defer b.Close()
		ask := func(n int) (bool, error) {
			if *yes {
				return true, nil
			}
			if !isTerminal(os.Stdin) {
				return false, fmt.Errorf("%w: %s under %q: stdin is not a terminal to confirm on; pass --yes", errUsage, objectCount(n), *prefix)
			}
			return confirm(ctx, os.Stdin, stderr, fmt.Sprintf("delete %s under %q?", objectCount(n), *prefix))
		}
		return rmPrefix(ctx, b, *prefix, ask, stderr)
	}

	if len(pos) == 0 {
		return fmt.Errorf("%w: want KEY... or --prefix P", errUsage)
	}
	for _, k := range pos {
		if err := checkKey(k); err != nil {
			return err
		}
	}
	b, _, err := openStore(ctx, *storeURL)
	if err != nil {
		return err
	}
	defer b.Close()
	failed := 0
	for _, k := range pos {
		if err := b.Delete(ctx, k); err != nil {
			if ctx.Err() != nil {
				return err
			}
			fmt.Fprintf(stderr, "kite rm: %v\n", err)
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d deletions failed", failed, len(pos))
	}
	return nil
}

// rmPrefix lists the objects under prefix, asks ask whether to delete that
// many, and deletes exactly the listed ones. It reports the count on stderr.
func rmPrefix(ctx context.Context, b backend.Backend, prefix string, ask func(n int) (bool, error), stderr io.Writer) error {
	var keys []string
	for o, err := range b.List(ctx, backend.ListOptions{Prefix: prefix}) {
		if err != nil {
			return err
		}
		keys = append(keys, o.Key)
	}
	if len(keys) == 0 {
		fmt.Fprintf(stderr, "no objects under %q\n", prefix)
		return nil
	}
	ok, err := ask(len(keys))
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("not confirmed; nothing deleted")
	}
	n, err := deleteKeys(ctx, b, keys)
	if err != nil {
		return fmt.Errorf("deleted %d of %s under %q: %w", n, objectCount(len(keys)), prefix, err)
	}
	fmt.Fprintf(stderr, "deleted %s under %q\n", objectCount(n), prefix)
	return nil
}

// deleteKeys deletes keys with rmWorkers at a time, stops at the first
// failure, and returns how many were deleted.
func deleteKeys(ctx context.Context, b backend.Backend, keys []string) (int, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	todo := make(chan string)
	var done atomic.Int64
	var wg sync.WaitGroup
	for range min(rmWorkers, len(keys)) {
		wg.Go(func() {
			for k := range todo {
				if err := b.Delete(ctx, k); err != nil {
					cancel(err) // the first cause is kept
					continue
				}
				done.Add(1)
			}
		})
	}
feed:
	for _, k := range keys {
		select {
		case todo <- k:
		case <-ctx.Done():
			break feed
		}
	}
	close(todo)
	wg.Wait()
	return int(done.Load()), context.Cause(ctx)
}

// confirm writes question and " [y/N] " to w and reads one line from in; only
// "y" or "yes" (any case) is a yes. Cancelling ctx (Ctrl-C) stops the wait.
func confirm(ctx context.Context, in io.Reader, w io.Writer, question string) (bool, error) {
	fmt.Fprintf(w, "%s [y/N] ", question)
	type answer struct {
		line string
		err  error
	}
	ch := make(chan answer, 1)
	go func() { // a read of a terminal cannot be interrupted; it ends with the process
		line, err := bufio.NewReader(in).ReadString('\n')
		ch <- answer{line, err}
	}()
	select {
	case <-ctx.Done():
		fmt.Fprintln(w)
		return false, ctx.Err()
	case a := <-ch:
		if a.err != nil && a.err != io.EOF {
			return false, a.err
		}
		if a.err == io.EOF {
			fmt.Fprintln(w) // no newline was typed
		}
		s := strings.ToLower(strings.TrimSpace(a.line))
		return s == "y" || s == "yes", nil
	}
}

// objectCount is "1 object" or "N objects".
func objectCount(n int) string {
	if n == 1 {
		return "1 object"
	}
	return fmt.Sprintf("%d objects", n)
}
