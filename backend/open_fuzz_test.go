package backend

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// fuzzScheme is registered once, for FuzzOpen only: its opener reads a few
// parameters strictly, then refuses, so that every error path of Open runs.
const fuzzScheme = "fuzz-open"

var registerFuzzScheme = sync.OnceFunc(func() {
	Register(fuzzScheme, func(_ context.Context, u *url.URL) (Backend, error) {
		p := NewParams(u)
		p.String("secret", "")
		p.String("endpoint", "")
		p.Int("size", 0)
		p.Bool("flag", false)
		if err := p.Err(); err != nil {
			return nil, err
		}
		if u.Host == "typed" {
			return nil, &Error{Op: "Open", Driver: fuzzScheme, Err: Errorf(ErrInvalidArgument, "typed refusal")}
		}
		return nil, errors.New("fuzz opener refuses every URL")
	})
})

// decoy replaces a value that occurs once in the input, for the differential
// checks: a value shown in both outputs comes from fixed text, not the input.
const decoy = "Q7decoyQ7"

// leaked reports whether out shows s because the input held it: s occurs once
// in the input, and once it is replaced by the decoy, the output made by f no
// longer shows it.
func leaked(input, s, out string, f func(string) string) bool {
	if len(s) < 6 || strings.Count(input, s) != 1 || !strings.Contains(out, s) {
		return false
	}
	return !strings.Contains(f(strings.Replace(input, s, decoy, 1)), s)
}

func openError(raw string) string {
	b, err := Open(context.Background(), raw)
	if err == nil {
		b.Close()
		return ""
	}
	return err.Error()
}

var openSeeds = []string{
	"fuzz-open://user:pa55word-SECRET@host/path?size=1&flag=true",
	"fuzz-open://user:pa55word-SECRET@typed/?secret=hunter2hunter2",
	"fuzz-open://user:pa55word-SECRET@host/?sekret=hunter2hunter2",
	"fuzz-open://:pa55word-SECRET@host?endpoint=http://u:inner-PASSWORD@127.0.0.1:1/",
	"fuzz-open://user:pa%35%35word@host/?size=lots",
	"fuzz-open://user:pa55word-SECRET@host:%zz/",
	"fuzz-open://user:pa55word-SECRET@[::1]:80/?secret=a&secret=b",
	"nosuch://user:pa55word-SECRET@host/?token=t0k3n-t0k3n",
	"//user:pa55word-SECRET@host/",
	"mem://u:pa55word-SECRET@/",
	"fuzz-open://user:pa55word-SECRET@host/?x=%zz",
	"fuzz-open://user:pa55word-SECRET@host#frag-pa55",
	"",
	":",
}

// FuzzOpen: Open never panics, and its error never shows the password of a
// URL that parses.
func FuzzOpen(f *testing.F) {
	registerFuzzScheme()
	for _, s := range openSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		msg := openError(raw)
		u, err := url.Parse(raw)
		if err != nil || u.User == nil {
			return
		}
		if pw, ok := u.User.Password(); ok && leaked(raw, pw, msg, openError) {
			t.Fatalf("Open(%q) error shows the password %q: %s", raw, pw, msg)
		}
	})
}

// FuzzRedactURL: the output never shows the password of the user
// information, nor the value of a secret-named parameter.
func FuzzRedactURL(f *testing.F) {
	for _, s := range openSeeds {
		f.Add(s)
	}
	for _, s := range []string{
		"https://AKID:SECRETKEY1234@host/bucket?X-Amz-Signature=abcdef0123456789&region=eu",
		"s3://bucket?endpoint=http%3A%2F%2Fu%3Ainner-pass-1234%40host%2F&private_key_path=/k.pem",
		"gs://b?Secret_Key=sk-0123456789&SESSION=sess-0123456789",
		"file:///d?secret=a;b=c&password=pw-0123456789",
		"minio://only-user-AKID@host/b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		out := RedactURL(raw)
		u, err := url.Parse(raw)
		if err != nil {
			if out != "<unparseable URL>" {
				t.Fatalf("RedactURL(%q) = %q for a URL that does not parse", raw, out)
			}
			return
		}
		var secrets []string
		if u.User != nil {
			if pw, ok := u.User.Password(); ok {
				secrets = append(secrets, pw)
			}
		}
		q, _ := url.ParseQuery(u.RawQuery)
		for name, vals := range q {
			if isSecretParam(name) {
				secrets = append(secrets, vals...)
			}
		}
		for _, s := range secrets {
			if leaked(raw, s, out, RedactURL) {
				t.Fatalf("RedactURL(%q) = %q shows secret %q", raw, out, s)
			}
		}
	})
}
