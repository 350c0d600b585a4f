package bandwidth_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/internal/testkit"
	"github.com/heraldmsg/herald/vendors/bandwidth"
)

func TestOAuthTokenIsCachedAndShared(t *testing.T) {
	api := newFakeAPI(t)
	v := api.vendor(t)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			_, err := v.Send(bg, smsRequest("hi"))
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	// Two organizations on the default client.
	for _, org := range []string{"a", "b"} {
		r := smsRequest("hi")
		r.Organization = &herald.Organization{ID: org}
		_, err := v.Send(bg, r)
		require.NoError(t, err)
	}
	assert.Equal(t, int64(1), api.tokenFetches.Load(), "one token for 22 sends")

	// Another client gets its own token.
	r := smsRequest("hi")
	r.Route.Credentials = map[string]string{bandwidth.ConfigAccountID: otherAccount, bandwidth.ConfigClientID: otherClient,
		bandwidth.ConfigClientSecret: otherSecret, bandwidth.ConfigApplicationID: otherApp}
	r.Route.From = acmeFrom
	_, err := v.Send(bg, r)
	require.NoError(t, err)
	assert.Equal(t, int64(2), api.tokenFetches.Load())
}

func TestOAuthTokenRefreshedBeforeExpiry(t *testing.T) {
	api := newFakeAPI(t)
	api.tokenTTL = 300
	c := testkit.NewClock(time.Now())
	opts := api.options()
	opts.Clock = c
	opts.TokenRefreshMargin = time.Minute
	v, err := bandwidth.New(opts)
	require.NoError(t, err)
	send := func() {
		t.Helper()
		_, err := v.Send(bg, smsRequest("hi"))
		require.NoError(t, err)
	}
	send()
	c.Advance(239 * time.Second) // 61 s left: still good
	send()
	assert.Equal(t, int64(1), api.tokenFetches.Load())
	c.Advance(2 * time.Second) // 59 s left: inside the margin, replaced
	send()
	assert.Equal(t, int64(2), api.tokenFetches.Load())
	send()
	assert.Equal(t, int64(2), api.tokenFetches.Load())

	// A token shorter-lived than twice the margin is replaced at half-life.
	api.tokenTTL = 20
	c.Advance(time.Hour)
	send()
	assert.Equal(t, int64(3), api.tokenFetches.Load())
	c.Advance(9 * time.Second)
	send()
	assert.Equal(t, int64(3), api.tokenFetches.Load())
	c.Advance(2 * time.Second)
	send()
	assert.Equal(t, int64(4), api.tokenFetches.Load())
}

func TestOAuthTokenForgottenWhenRefused(t *testing.T) {
	api := newFakeAPI(t)
	v := api.vendor(t)
	_, err := v.Send(bg, smsRequest("hi"))
	require.NoError(t, err)
	// Bandwidth revokes every token.
	api.mu.Lock()
	clear(api.tokens)
	api.mu.Unlock()
	_, err = v.Send(bg, smsRequest("hi"))
	assert.ErrorIs(t, err, herald.ClassAuth)
	assert.Equal(t, "unauthorized", herald.CodeOf(err))
	_, err = v.Send(bg, smsRequest("hi"))
	require.NoError(t, err, "a fresh token is fetched")
	assert.Equal(t, int64(2), api.tokenFetches.Load())
}

// Many sends refused with the same revoked token drop it once: the token
// fetched after the first refusal is kept, whatever order the others
// report theirs in.
func TestOAuthRefusedTokenForgottenOnce(t *testing.T) {
	api := newFakeAPI(t)
	v := api.vendor(t)
	_, err := v.Send(bg, smsRequest("hi"))
	require.NoError(t, err)
	api.mu.Lock()
	clear(api.tokens)
	api.mu.Unlock()
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			_, err := v.Send(bg, smsRequest("hi"))
			if err != nil {
				assert.ErrorIs(t, err, herald.ClassAuth)
			}
		})
	}
	wg.Wait()
	for range 16 {
		wg.Go(func() {
			_, err := v.Send(bg, smsRequest("hi"))
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	assert.Equal(t, int64(2), api.tokenFetches.Load(), "one token before the revocation, one after")
}

func TestOAuthTokenEndpointFailures(t *testing.T) {
	for _, c := range []struct {
		status int
		class  herald.ErrorClass
	}{{503, herald.ClassTemporary}, {429, herald.ClassRateLimited}, {500, herald.ClassTemporary}} {
		api := newFakeAPI(t)
		api.tokenStatus = c.status
		v := api.vendor(t)
		_, err := v.Send(bg, smsRequest("hi"))
		assert.ErrorIs(t, err, c.class, "token endpoint %d", c.status)
		assert.Empty(t, api.sent(), "no message was sent")
	}
	// Wrong client secret: auth, configuration.
	api := newFakeAPI(t)
	opts := api.options()
	opts.ClientSecret = "wrong"
	v, err := bandwidth.New(opts)
	require.NoError(t, err)
	_, err = v.Send(bg, smsRequest("hi"))
	assert.ErrorIs(t, err, herald.ClassAuth)
	assert.ErrorIs(t, err, herald.ErrConfig)
	assert.Equal(t, "invalid_client", herald.CodeOf(err))
	assert.NotContains(t, err.Error(), "wrong", "no secret in errors")
}

func TestOAuthStalledTokenEndpointHonoursDeadline(t *testing.T) {
	stall := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // so that the server notices the client leaving
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	t.Cleanup(stall.Close)
	api := newFakeAPI(t)
	opts := api.options()
	opts.TokenURL = stall.URL + "/api/v1/oauth2/token"
	v, err := bandwidth.New(opts)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(bg, 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for range 3 { // the others wait for the one fetch, and give up too
		wg.Go(func() {
			_, err := v.Send(ctx, smsRequest("hi"))
			assert.ErrorIs(t, err, herald.ClassTemporary, "nothing was sent")
			assert.ErrorIs(t, err, context.DeadlineExceeded)
		})
	}
	wg.Wait()
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.Empty(t, api.sent())
}
