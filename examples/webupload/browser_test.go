package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/internal/testenv"
)

// chromiumPath returns Debian's Chromium, or skips the test saying how to
// install it; under KITE_REQUIRE_SERVERS=1 (CI) a missing browser fails.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "chromium not found: install it with `sudo apt-get install -y chromium` (.ci/run does) to run the browser test"
	if testenv.RequireServers() {
		t.Fatalf("%s (%s=%s: a missing browser is a failure)", msg, testenv.RequireEnv, os.Getenv(testenv.RequireEnv))
	}
	t.Skip(msg)
	return ""
}

// syncLog collects lines from the browser's goroutines; the test prints
// them when it fails.
type syncLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *syncLog) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, s)
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.add(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// TestBrowserUpload has headless Chromium upload a binary file with a
// non-ASCII name through the page (a presigned PUT sent by fetch() straight
// to the store) and download it again by clicking its link (303 to a
// presigned GET): the file saved by the browser must be byte-identical and
// carry the original name.
func TestBrowserUpload(t *testing.T) {
	chromium := chromiumPath(t)
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			a := startApp(t, s.url(t))
			testBrowserUpload(t, chromium, a)
		})
	}
}

func testBrowserUpload(t *testing.T, chromium string, a *testApp) {
	const name = "Résumé 2026.pdf"
	data := randomBytes(t, 2<<20+12345)
	src := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(src, data, 0o600))
	downloads := t.TempDir()
	profile := t.TempDir()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var browserLog, console syncLog
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.CombinedOutput(&browserLog),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc() // waits for the browser to exit, before the profile is removed
	bctx, cancelTab := chromedp.NewContext(allocCtx)
	defer cancelTab()
	defer func() {
		if t.Failed() {
			t.Logf("page console:\n%s", console.String())
			t.Logf("chromium output:\n%s", browserLog.String())
		}
	}()

	require.NoError(t, chromedp.Do(bctx), "starting chromium")
	go func() {
		for m, err := range chromedp.Console(bctx) {
			if err != nil {
				return
			}
			console.add(m.String())
		}
	}()
	_, err := chromedp.Call(bctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior:      browser.SetDownloadBehaviorBehaviorAllowAndName, // saved as downloads/GUID
		DownloadPath:  downloads,
		EventsEnabled: new(true),
	})
	require.NoError(t, err)

	// The page, as user alice (the query parameter sets the cookie).
	require.NoError(t, chromedp.Do(bctx,
		chromedp.Navigate(a.Origin+"/?user=alice"),
		chromedp.WaitVisible(chromedp.CSS("#file")),
	))
	loc, err := chromedp.Run(bctx, chromedp.Location())
	require.NoError(t, err)
	assert.Equal(t, a.Origin+"/", loc)

	// Upload: choose the file, click, wait for the page's verdict.
	require.NoError(t, chromedp.Do(bctx,
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{src}),
		chromedp.Click(chromedp.CSS("#upload")),
	))
	status, err := chromedp.Run(bctx, chromedp.Poll[string](`(() => {
		const s = document.getElementById('status');
		return s.dataset.state === 'done' || s.dataset.state === 'error' ? s.dataset.state + ': ' + s.textContent : null;
	})()`, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(40*time.Second)))
	require.NoError(t, err, "waiting for the upload")
	require.True(t, strings.HasPrefix(status, "done: Uploaded "+name), "page status: %s", status)

	type entry struct {
		ID   string `json:"id"`
		Name string `json:"name"`
		Href string `json:"href"`
	}
	entries, err := chromedp.Run(bctx, chromedp.Evaluate[[]entry](`[...document.querySelectorAll('#documents li')].map(li => ({
		id: li.dataset.document,
		name: li.querySelector('a').textContent,
		href: li.querySelector('a').getAttribute('href'),
	}))`))
	require.NoError(t, err)
	require.Len(t, entries, 1, "the list shows the one upload")
	doc := entries[0]
	assert.Equal(t, name, doc.Name)
	assert.Equal(t, "/download/"+doc.ID, doc.Href)

	// The store holds it under a document key, with the type the browser
	// gave the file and the exact size.
	var objs []*backend.Object
	for o, err := range a.Store.List(bctx, backend.ListOptions{Prefix: "alice/"}) {
		require.NoError(t, err)
		objs = append(objs, o)
	}
	require.Len(t, objs, 1)
	dk, err := backend.ParseDocumentKey(objs[0].Key)
	require.NoError(t, err)
	assert.Equal(t, doc.ID, dk.DocumentID)
	assert.Equal(t, ".pdf", dk.Ext)
	assert.Equal(t, int64(len(data)), objs[0].Size)
	st, err := a.Store.Stat(bctx, objs[0].Key)
	require.NoError(t, err)
	assert.Equal(t, "application/pdf", st.ContentType)

	// Download: a click on the link, as a user does.
	begin := chromedp.Events(bctx, browser.DownloadWillBegin)
	progress := chromedp.Events(bctx, browser.DownloadProgress)
	require.NoError(t, chromedp.Do(bctx, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#documents li[data-document=%q] a`, doc.ID)))))
	var guid, suggested string
	for ev, err := range begin {
		require.NoError(t, err, "waiting for the download to begin")
		guid, suggested = ev.GUID, ev.SuggestedFilename
		break
	}
	assert.Equal(t, name, suggested, "the browser's file name, from Content-Disposition")
	for ev, err := range progress {
		require.NoError(t, err, "waiting for the download to complete")
		if ev.GUID != guid {
			continue
		}
		require.NotEqual(t, browser.DownloadProgressStateCanceled, ev.State, "download canceled")
		if ev.State == browser.DownloadProgressStateCompleted {
			break
		}
	}
	got, err := os.ReadFile(filepath.Join(downloads, guid))
	require.NoError(t, err)
	sum := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	assert.Equal(t, len(data), len(got), "downloaded size")
	assert.Equal(t, sum(data), sum(got), "downloaded SHA-256")
	assert.True(t, bytes.Equal(data, got), "the downloaded file is byte-identical")
	t.Logf("uploaded and downloaded %d bytes as %q through Chromium (sha256 %s)", len(got), suggested, sum(got)[:16])
}
