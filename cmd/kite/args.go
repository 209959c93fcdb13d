package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/kitehq/kite/backend"
)

// stdio is the local argument that means standard input (put) or standard
// output (get). A file really named "-" is written "./-".
const stdio = "-"

// setUsage makes "kite CMD --help" print the synopsis lines, then the flags.
func setUsage(fs *flag.FlagSet, stderr io.Writer, synopsis string) {
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage:\n%s\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
}

// parseArgs parses flags and positional arguments in any order, so that
// "kite get KEY out.pdf --quiet" works as well as "kite get --quiet KEY
// out.pdf". After "--" every argument is positional, even one that starts
// with "-" (a key such as "-draft"); a lone "-" is always positional.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// wantArgs checks the number of positional arguments.
func wantArgs(pos []string, min, max int, what string) error {
	if len(pos) < min || len(pos) > max {
		return fmt.Errorf("%w: want %s, got %d argument(s)", errUsage, what, len(pos))
	}
	return nil
}

// checkKey refuses a key that breaks the key rules before any store is
// opened: a bad key is fixed on the command line (exit 2).
func checkKey(key string) error {
	if err := backend.ValidateKey(key); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}

// intoPrefix completes a destination key that ends with "/" with name, the
// way cp(1) copies into a directory: "docs/" and "a.pdf" give "docs/a.pdf".
// Keys never end with "/", so the form is unambiguous.
func intoPrefix(key, name string) string {
	if strings.HasSuffix(key, "/") {
		return key + name
	}
	return key
}

// metaFlag adds a repeatable --meta k=v flag and returns the map it fills.
func metaFlag(fs *flag.FlagSet) map[string]string {
	m := map[string]string{}
	fs.Func("meta", "user metadata `k=v` (repeatable; keys lower-case [a-z0-9-])", func(s string) error {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return fmt.Errorf("want k=v, got %q", s)
		}
		if _, dup := m[k]; dup {
			return fmt.Errorf("metadata key %q given twice", k)
		}
		m[k] = v
		return nil
	})
	return m
}

// isSet reports whether the flag name was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
