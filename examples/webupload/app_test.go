package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/memory"
)

// client talks to a test app as one demo user, the way the page's script
// does, without following redirects.
type client struct {
	t    *testing.T
	app  *testApp
	user string
}

func (c *client) request(method, path, contentType string, body []byte, hdr http.Header) (*http.Response, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.app.Origin+path, bytes.NewReader(body))
	require.NoError(c.t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if c.user != "" {
		req.AddCookie(&http.Cookie{Name: userCookie, Value: c.user})
	}
	return do(c.t, req)
}

func do(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	hc := &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := hc.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, data
}

func (c *client) postJSON(path string, v any) (*http.Response, []byte) {
	c.t.Helper()
	body, err := json.Marshal(v)
	require.NoError(c.t, err)
	return c.request(http.MethodPost, path, "application/json", body, nil)
}

// create asks for a presigned PUT and fails the test unless it gets one.
func (c *client) create(name, ctype string, size int64) createResponse {
	c.t.Helper()
	resp, body := c.postJSON("/api/uploads", createRequest{Name: name, Size: size, Type: ctype})
	require.Equal(c.t, http.StatusCreated, resp.StatusCode, "create: %s", body)
	var cr createResponse
	require.NoError(c.t, json.Unmarshal(body, &cr))
	return cr
}

// put sends data to the presigned URL of cr with its headers, as fetch()
// does, and returns the store's status.
func (c *client) put(cr createResponse, data []byte, override http.Header) int {
	c.t.Helper()
	req, err := http.NewRequest(cr.Method, cr.URL, bytes.NewReader(data))
	require.NoError(c.t, err)
	for k, v := range cr.Headers {
		req.Header.Set(k, v)
	}
	for k, v := range override {
		req.Header[k] = v
	}
	resp, _ := do(c.t, req)
	return resp.StatusCode
}

func (c *client) complete(docID string) (*http.Response, []byte) {
	c.t.Helper()
	return c.postJSON("/api/uploads/complete", completeRequest{Document: docID})
}

// upload runs the page's whole flow and returns the document.
func (c *client) upload(name, ctype string, data []byte) document {
	c.t.Helper()
	cr := c.create(name, ctype, int64(len(data)))
	require.Equal(c.t, http.StatusOK, c.put(cr, data, nil), "PUT to the presigned URL")
	resp, body := c.complete(cr.Document)
	require.Equal(c.t, http.StatusOK, resp.StatusCode, "complete: %s", body)
	var d document
	require.NoError(c.t, json.Unmarshal(body, &d))
	return d
}

func (c *client) documents() []document {
	c.t.Helper()
	resp, body := c.request(http.MethodGet, "/api/documents", "", nil, nil)
	require.Equal(c.t, http.StatusOK, resp.StatusCode, "%s", body)
	var out struct {
		User      string     `json:"user"`
		Documents []document `json:"documents"`
	}
	require.NoError(c.t, json.Unmarshal(body, &out))
	return out.Documents
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}

// TestAPI drives the app's API with a plain HTTP client on every store:
// the whole flow, then everything the app must refuse.
func TestAPI(t *testing.T) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			a := startApp(t, s.url(t))

			t.Run("RoundTrip", func(t *testing.T) {
				alice := &client{t: t, app: a, user: "alice"}
				const name = `Résumé "final" 100%.txt`
				data := randomBytes(t, 100<<10+7)
				d := alice.upload(name, "text/plain", data)
				assert.Equal(t, name, d.Name)
				assert.Equal(t, int64(len(data)), d.Size)
				assert.Equal(t, "text/plain", d.Type)

				// The key is a document key without the name.
				var keys []string
				for o, err := range a.Store.List(t.Context(), backend.ListOptions{Prefix: "alice/"}) {
					require.NoError(t, err)
					keys = append(keys, o.Key)
				}
				require.Len(t, keys, 1)
				dk, err := backend.ParseDocumentKey(keys[0])
				require.NoError(t, err)
				assert.Equal(t, backend.DocumentKey{UserID: "alice", DocumentID: d.ID, ID: dk.ID, Ext: ".txt"}, dk)
				assert.NotContains(t, keys[0], "sum")

				docs := alice.documents()
				require.Len(t, docs, 1)
				assert.Equal(t, d.ID, docs[0].ID)
				assert.Equal(t, name, docs[0].Name)
				assert.Equal(t, "/download/"+d.ID, docs[0].URL)

				// The download is a redirect to the store; the store
				// answers with the bytes and the original name.
				resp, _ := alice.request(http.MethodGet, "/download/"+d.ID, "", nil, nil)
				require.Equal(t, http.StatusSeeOther, resp.StatusCode)
				loc := resp.Header.Get("Location")
				require.NotEmpty(t, loc)
				assert.False(t, strings.HasPrefix(loc, "/"), "an absolute URL: %s", loc)
				req, err := http.NewRequest(http.MethodGet, loc, nil)
				require.NoError(t, err)
				resp, body := do(t, req)
				require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
				assert.True(t, bytes.Equal(data, body), "downloaded bytes differ from the uploaded ones")
				cd := resp.Header.Get("Content-Disposition")
				disp, params, err := mime.ParseMediaType(cd)
				require.NoError(t, err, "Content-Disposition %q", cd)
				assert.Equal(t, "attachment", disp)
				assert.Equal(t, name, params["filename"], "Content-Disposition %q", cd)

				// Another user sees nothing of it.
				bob := &client{t: t, app: a, user: "bob"}
				assert.Empty(t, bob.documents())
				resp, _ = bob.request(http.MethodGet, "/download/"+d.ID, "", nil, nil)
				assert.Equal(t, http.StatusNotFound, resp.StatusCode)
				resp, _ = bob.complete(d.ID)
				assert.Equal(t, http.StatusNotFound, resp.StatusCode)
			})

			t.Run("StoreEnforcesSignedSizeAndType", func(t *testing.T) {
				carol := &client{t: t, app: a, user: "carol"}
				data := randomBytes(t, 1000)
				cr := carol.create("a.bin", "application/octet-stream", int64(len(data)))

				resp, body := carol.complete(cr.Document)
				assert.Equal(t, http.StatusConflict, resp.StatusCode, "complete before the upload: %s", body)

				status := carol.put(cr, data[:999], nil)
				assert.True(t, status == http.StatusForbidden || status == http.StatusBadRequest, "shorter body: HTTP %d", status)
				status = carol.put(cr, data, http.Header{"Content-Type": {"text/html"}})
				assert.True(t, status == http.StatusForbidden || status == http.StatusBadRequest, "other Content-Type: HTTP %d", status)
				assert.Empty(t, carol.documents())
			})

			t.Run("CompleteRefusesAnotherFile", func(t *testing.T) {
				dave := &client{t: t, app: a, user: "dave"}
				cr := dave.create("report.pdf", "application/pdf", 10)
				rec, err := readRecord(t, a, "dave", cr.Document)
				require.NoError(t, err)
				// A store that does not enforce the signed size (fake-gcs-
				// server does not) could take 11 bytes: so does this Put.
				_, err = a.Store.Put(t.Context(), rec.Key, strings.NewReader("01234567890"), backend.PutOptions{ContentType: "application/pdf"})
				require.NoError(t, err)

				resp, body := dave.complete(cr.Document)
				assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "%s", body)
				_, err = a.Store.Stat(t.Context(), rec.Key)
				assert.ErrorIs(t, err, backend.ErrNotFound, "the refused upload is deleted")
				assert.Empty(t, dave.documents())
				resp, _ = dave.request(http.MethodGet, "/download/"+cr.Document, "", nil, nil)
				assert.Equal(t, http.StatusNotFound, resp.StatusCode)
			})

			t.Run("Refusals", func(t *testing.T) {
				long := strings.Repeat("a", maxNameLen-3) + ".txt"
				unknown := newDocumentID()
				for _, tc := range []struct {
					name        string
					method      string
					path        string
					user        string
					contentType string
					body        string
					hdr         http.Header
					want        int
				}{
					{"BadUserCookie", "POST", "/api/uploads", "../x", "application/json", `{"name":"a.txt","size":1}`, nil, 400},
					{"BadUserQuery", "GET", "/?user=a%2Fb", "", "", "", nil, 400},
					{"NotJSON", "POST", "/api/uploads", "alice", "text/plain", `{"name":"a.txt","size":1}`, nil, 415},
					{"MalformedJSON", "POST", "/api/uploads", "alice", "application/json", `{"name":`, nil, 400},
					{"UnknownField", "POST", "/api/uploads", "alice", "application/json", `{"name":"a.txt","size":1,"key":"x"}`, nil, 400},
					{"TrailingData", "POST", "/api/uploads", "alice", "application/json", `{"name":"a.txt","size":1}{}`, nil, 400},
					{"HugeBody", "POST", "/api/uploads", "alice", "application/json", `{"name":"` + strings.Repeat("a", maxJSONBody) + `"}`, nil, 413},
					{"EmptyFile", "POST", "/api/uploads", "alice", "application/json", `{"name":"a.txt","size":0}`, nil, 400},
					{"NegativeSize", "POST", "/api/uploads", "alice", "application/json", `{"name":"a.txt","size":-1}`, nil, 400},
					{"TooLarge", "POST", "/api/uploads", "alice", "application/json", `{"name":"a.txt","size":` + strconv.Itoa(testMaxSize+1) + `}`, nil, 413},
					{"NoName", "POST", "/api/uploads", "alice", "application/json", `{"name":"","size":1}`, nil, 400},
					{"NameDotDot", "POST", "/api/uploads", "alice", "application/json", `{"name":"x/..","size":1}`, nil, 400},
					{"NameNUL", "POST", "/api/uploads", "alice", "application/json", `{"name":"a\u0000b.txt","size":1}`, nil, 400},
					{"NameCRLF", "POST", "/api/uploads", "alice", "application/json", `{"name":"a\r\nb.txt","size":1}`, nil, 400},
					{"NameBidiOverride", "POST", "/api/uploads", "alice", "application/json", `{"name":"cod\u202efdp.exe","size":1}`, nil, 400},
					{"NameTooLong", "POST", "/api/uploads", "alice", "application/json", `{"name":"a` + long + `","size":1}`, nil, 400},
					{"BadType", "POST", "/api/uploads", "alice", "application/json", `{"name":"a.txt","size":1,"type":"not a type"}`, nil, 400},
					{"CrossSitePost", "POST", "/api/uploads", "alice", "application/json", `{"name":"a.txt","size":1}`, http.Header{"Sec-Fetch-Site": {"cross-site"}}, 403},
					{"OtherOriginPost", "POST", "/api/uploads", "alice", "application/json", `{"name":"a.txt","size":1}`, http.Header{"Origin": {"http://evil.example"}}, 403},
					{"CompleteBadID", "POST", "/api/uploads/complete", "alice", "application/json", `{"document":"../x"}`, nil, 400},
					{"CompleteUnknown", "POST", "/api/uploads/complete", "alice", "application/json", `{"document":"` + unknown + `"}`, nil, 404},
					{"DownloadBadID", "GET", "/download/x.y", "alice", "", "", nil, 400},
					{"DownloadUnknown", "GET", "/download/" + unknown, "alice", "", "", nil, 404},
				} {
					t.Run(tc.name, func(t *testing.T) {
						c := &client{t: t, app: a, user: tc.user}
						resp, body := c.request(tc.method, tc.path, tc.contentType, []byte(tc.body), tc.hdr)
						assert.Equal(t, tc.want, resp.StatusCode, "%s", body)
					})
				}
				// A refused request left nothing behind.
				for o, err := range a.Store.List(t.Context(), backend.ListOptions{Prefix: recordPrefix + "alice/"}) {
					require.NoError(t, err)
					rec, err := readRecord(t, a, "alice", strings.TrimSuffix(o.Key[strings.LastIndex(o.Key, "/")+1:], ".json"))
					require.NoError(t, err)
					assert.Contains(t, rec.Name, "Résumé", "only the round trip's record is there")
				}
			})

			t.Run("Page", func(t *testing.T) {
				anon := &client{t: t, app: a}
				resp, _ := anon.request(http.MethodGet, "/?user=erin", "", nil, nil)
				require.Equal(t, http.StatusSeeOther, resp.StatusCode)
				var cookie *http.Cookie
				for _, c := range resp.Cookies() {
					if c.Name == userCookie {
						cookie = c
					}
				}
				require.NotNil(t, cookie, "the user is remembered in a cookie")
				assert.Equal(t, "erin", cookie.Value)
				assert.True(t, cookie.HttpOnly)

				erin := &client{t: t, app: a, user: "erin"}
				erin.upload(`<img src=x onerror="alert(1)">.txt`, "text/plain", []byte("x"))
				resp, body := erin.request(http.MethodGet, "/", "", nil, nil)
				require.Equal(t, http.StatusOK, resp.StatusCode)
				page := string(body)
				assert.Contains(t, page, "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;.txt", "the name is escaped")
				assert.NotContains(t, page, "<img")
				assert.Contains(t, page, `<input type="file" id="file"`)
				csp := resp.Header.Get("Content-Security-Policy")
				assert.Contains(t, csp, "script-src 'self'")
				storeOrigin, err := originOf(erin.create("a.txt", "", 1).URL)
				require.NoError(t, err)
				assert.Contains(t, csp, "connect-src 'self' "+storeOrigin)
			})

			t.Run("Health", func(t *testing.T) {
				anon := &client{t: t, app: a}
				resp, body := anon.request(http.MethodGet, "/healthz", "", nil, nil)
				assert.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
			})
		})
	}
}

// readRecord reads the name record of a document with the app's code.
func readRecord(t *testing.T, a *testApp, user, docID string) (record, error) {
	t.Helper()
	return (&app{store: a.Store}).loadRecord(t.Context(), user, docID)
}

func TestContentDisposition(t *testing.T) {
	quotes := strings.Repeat(`"`, maxNameLen)
	accents := strings.Repeat("é", maxNameLen/2) + "x"
	for _, tc := range []struct {
		name, want string // want "" = only check that it parses back
	}{
		{"report.pdf", `attachment; filename="report.pdf"`},
		{"a b (1).txt", `attachment; filename="a b (1).txt"`},
		{"Résumé 2026.pdf", `attachment; filename="R_sum_ 2026.pdf"; filename*=UTF-8''R%C3%A9sum%C3%A9%202026.pdf`},
		{`say "hi".txt`, `attachment; filename="say _hi_.txt"; filename*=UTF-8''say%20%22hi%22.txt`},
		{`back\slash.txt`, `attachment; filename="back_slash.txt"; filename*=UTF-8''back%5Cslash.txt`},
		{"100%.txt", `attachment; filename="100_.txt"; filename*=UTF-8''100%25.txt`},
		{"日本語.txt", `attachment; filename="___.txt"; filename*=UTF-8''%E6%97%A5%E6%9C%AC%E8%AA%9E.txt`},
		{"a\r\nSet-Cookie: x=1", ""}, // cleanName refuses it; still no header break
		{"x\";filename=evil.exe", ""},
		{quotes, ""},
		{accents, ""},
		{"emoji 🎉.png", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := contentDisposition(tc.name)
			if tc.want != "" {
				assert.Equal(t, tc.want, got)
			}
			assert.LessOrEqual(t, len(got), 1024)
			for i := 0; i < len(got); i++ {
				require.True(t, got[i] >= 0x20 && got[i] < 0x7f, "byte %d of %q is not printable ASCII", i, got)
			}
			disp, params, err := mime.ParseMediaType(got)
			require.NoError(t, err, "%q", got)
			assert.Equal(t, "attachment", disp)
			assert.Equal(t, tc.name, params["filename"], "%q", got)
			assert.Len(t, params, 1, "one parameter, filename: %q", got)
			// Every driver accepts it as a presign option.
			_, err = backend.CheckPresign(http.MethodGet, "k", backend.PresignOptions{ContentDisposition: got})
			assert.NoError(t, err)
		})
	}
}

func TestCleanName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"report.pdf", "report.pdf"},
		{"  spaced.txt ", "spaced.txt"},
		{`C:\fakepath\photo.JPG`, "photo.JPG"},
		{"dir/sub/file.tar.gz", "file.tar.gz"},
		{"Résumé 2026.pdf", "Résumé 2026.pdf"},
		{".bashrc", ".bashrc"},
		{strings.Repeat("x", maxNameLen), strings.Repeat("x", maxNameLen)},
		{"", ""},
		{"   ", ""},
		{"a/", ""},
		{".", ""},
		{"..", ""},
		{strings.Repeat("x", maxNameLen+1), ""},
		{"bad\xffutf8", ""},
		{"tab\there", ""},
		{"del\x7f", ""},
		{"c1\u0085x", ""},
		{"rlo\u202etxt.exe", ""},
		{"lri\u2066x", ""},
	} {
		got, err := cleanName(tc.in)
		if tc.want == "" {
			assert.Error(t, err, "%q", tc.in)
			continue
		}
		if assert.NoError(t, err, "%q", tc.in) {
			assert.Equal(t, tc.want, got, "%q", tc.in)
		}
	}
}

func TestCleanType(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "application/octet-stream"},
		{"application/pdf", "application/pdf"},
		{"Text/Plain;Charset=UTF-8", "text/plain; charset=UTF-8"},
		{"image/svg+xml", "image/svg+xml"},
		{"text", ""},
		{"not a type", ""},
		{"text/plain; charset", ""},
		{"text/plain\r\nX: y", ""},
		{"x/" + strings.Repeat("a", maxTypeLen), ""},
	} {
		got, err := cleanType(tc.in)
		if tc.want == "" {
			assert.Error(t, err, "%q", tc.in)
			continue
		}
		if assert.NoError(t, err, "%q", tc.in) {
			assert.Equal(t, tc.want, got, "%q", tc.in)
		}
	}
}

// TestCheckCORS points a mem:// store's presigned URLs at another origin,
// served by a memory backend's handler with or without a CORS rule for the
// app, and checks that openStorage refuses the store that would refuse
// the browser's upload.
func TestCheckCORS(t *testing.T) {
	const appOrigin = "http://127.0.0.1:1"
	const secret = "0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		name, corsOrigins string
		ok                bool
	}{
		{"Allowed", appOrigin, true},
		{"Any", "*", true},
		{"OtherOrigin", "http://example.test", false},
		{"None", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewUnstartedServer(nil)
			base := "http://" + srv.Listener.Addr().String() + "/files/"
			files, err := memory.New(memory.Options{BaseURL: base, Secret: secret, CORSOrigins: splitNonEmpty(tc.corsOrigins)})
			require.NoError(t, err)
			srv.Config.Handler = files.Handler()
			srv.Start()
			t.Cleanup(srv.Close)

			q := url.Values{"base_url": {base}, "secret": {secret}}
			st, err := openStorage(t.Context(), storageOptions{URL: "mem://?" + q.Encode(), Origin: appOrigin, MaxSize: 1 << 20, Log: slog.New(slog.DiscardHandler)})
			if !tc.ok {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "refuses uploads from pages of "+appOrigin)
				assert.NotContains(t, err.Error(), secret)
				return
			}
			require.NoError(t, err)
			assert.Nil(t, st.Files, "presigned URLs on another origin are not served by the app")
			require.NoError(t, st.Close())
		})
	}
}

func splitNonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func TestOpenStorageDefaults(t *testing.T) {
	ctx := t.Context()
	t.Run("LocalDir", func(t *testing.T) {
		dir := t.TempDir()
		st, err := openStorage(ctx, storageOptions{Dir: dir, Origin: "http://127.0.0.1:8080", MaxSize: 1 << 20})
		require.NoError(t, err)
		defer st.Close()
		assert.Equal(t, dir, st.Where)
		require.NotNil(t, st.Files, "the app serves a local store's presigned URLs")
		p, err := st.PresignPut(ctx, "u/d/x", backend.PresignOptions{})
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(p.URL, "http://127.0.0.1:8080"+filesPath), p.URL)
	})
	t.Run("MemNoSecretShown", func(t *testing.T) {
		st, err := openStorage(ctx, storageOptions{URL: "mem://", Origin: "http://127.0.0.1:8080", MaxSize: 1 << 20})
		require.NoError(t, err)
		defer st.Close()
		assert.NotContains(t, st.Where, "secret", "the generated secret is never shown")
		require.NotNil(t, st.Files)
	})
	t.Run("DirAndURL", func(t *testing.T) {
		_, err := openStorage(ctx, storageOptions{URL: "mem://", Dir: t.TempDir(), Origin: "http://127.0.0.1:8080", MaxSize: 1})
		assert.Error(t, err)
	})
	t.Run("CannotPresign", func(t *testing.T) {
		b, err := memory.New(memory.Options{})
		require.NoError(t, err)
		defer b.Close()
		_, err = newApp(ctx, b, config{MaxSize: 1})
		require.Error(t, err)
		assert.True(t, errors.Is(err, backend.ErrUnsupported), "%v", err)
	})
}

func TestRunFlags(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	for _, args := range [][]string{
		{"-max-size", "lots"},
		{"-max-size", "0"},
		{"extra"},
		{"-no-such-flag"},
	} {
		var stderr strings.Builder
		assert.Error(t, run(log, &stderr, args), "%q", args)
	}
	var stderr strings.Builder
	assert.NoError(t, run(log, &stderr, []string{"-h"}), "-h prints the usage and succeeds")
	assert.Contains(t, stderr.String(), "-storage")
}
