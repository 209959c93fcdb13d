package s3canned_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/internal/s3canned"
)

func TestAnswers(t *testing.T) {
	c := &http.Client{Transport: &s3canned.Transport{Body: []byte("0123456789")}}
	do := func(method string, body io.Reader) *http.Response {
		req, err := http.NewRequest(method, "http://127.0.0.1:1/bucket/key", body)
		require.NoError(t, err)
		resp, err := c.Do(req)
		require.NoError(t, err)
		return resp
	}
	get := do(http.MethodGet, nil)
	b, err := io.ReadAll(get.Body)
	require.NoError(t, err)
	assert.Equal(t, "0123456789", string(b))
	assert.Equal(t, int64(10), get.ContentLength)
	assert.NotEmpty(t, get.Header.Get("ETag"))

	head := do(http.MethodHead, nil)
	assert.Equal(t, http.StatusOK, head.StatusCode)
	assert.Equal(t, "10", head.Header.Get("Content-Length"))
	n, _ := io.Copy(io.Discard, head.Body)
	assert.Zero(t, n)

	body := &countingReader{r: strings.NewReader(strings.Repeat("x", 5000))}
	put := do(http.MethodPut, body)
	assert.Equal(t, http.StatusOK, put.StatusCode)
	assert.Equal(t, 5000, body.n, "the request body is read")

	assert.Equal(t, http.StatusNoContent, do(http.MethodDelete, nil).StatusCode)
	assert.Equal(t, http.StatusMethodNotAllowed, do(http.MethodPost, nil).StatusCode)
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
