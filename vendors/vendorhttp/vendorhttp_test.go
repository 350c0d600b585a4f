package vendorhttp_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald/vendors/vendorhttp"
)

func post(t *testing.T, url string, data []byte) (*vendorhttp.Body, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url, nil)
	require.NoError(t, err)
	b := vendorhttp.SetBody(req, data)
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	return b, err
}

func TestSentAfterTheServerReadTheRequest(t *testing.T) {
	var got []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = io.ReadAll(r.Body)
		assert.Equal(t, int64(5), r.ContentLength)
		// Hang up without an answer, as a provider that crashed would.
		conn, _, err := w.(http.Hijacker).Hijack()
		require.NoError(t, err)
		conn.Close()
	}))
	defer srv.Close()
	b, err := post(t, srv.URL, []byte("hello"))
	require.Error(t, err, "no answer")
	assert.Equal(t, "hello", string(got))
	assert.True(t, b.Sent(), "the whole request was written: the provider may have it")
}

func TestNotSentWhenNothingListens(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	url := "http://" + l.Addr().String()
	l.Close()
	b, err := post(t, url, []byte("hello"))
	require.Error(t, err)
	assert.False(t, b.Sent(), "the connection failed: nothing was written")
}

func TestEmptyBodyIsNeverSent(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	b, err := post(t, srv.URL, nil)
	require.NoError(t, err)
	assert.False(t, b.Sent())
}

func TestReplayedBodyIsTracked(t *testing.T) {
	req, err := http.NewRequest(http.MethodPost, "http://example.invalid", nil)
	require.NoError(t, err)
	b := vendorhttp.SetBody(req, []byte("abc"))
	assert.False(t, b.Sent())
	again, err := req.GetBody()
	require.NoError(t, err)
	data, err := io.ReadAll(again)
	require.NoError(t, err)
	assert.Equal(t, "abc", string(data))
	assert.True(t, b.Sent(), "a replay read to the end counts")
}

// BasicAuth is what SetBasicAuth would set, and what the server reads back.
func TestBasicAuthMatchesSetBasicAuth(t *testing.T) {
	for _, c := range [][2]string{{"AC123", "token"}, {"user name", "pässwörd:with colon"}, {"", ""}} {
		want, err := http.NewRequest(http.MethodGet, "https://api.example.com/", nil)
		require.NoError(t, err)
		want.SetBasicAuth(c[0], c[1])
		got, err := http.NewRequest(http.MethodGet, "https://api.example.com/", nil)
		require.NoError(t, err)
		got.Header["Authorization"] = vendorhttp.BasicAuth(c[0], c[1])
		assert.Equal(t, want.Header.Get("Authorization"), got.Header.Get("Authorization"))
		user, pass, ok := got.BasicAuth()
		assert.True(t, ok)
		assert.Equal(t, c[0], user)
		assert.Equal(t, c[1], pass)
	}
}
