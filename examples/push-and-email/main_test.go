package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRun runs the example against its fakes: every step must go as the
// package documentation describes (run checks that itself and returns an
// error otherwise).
func TestRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	require.NoError(t, run(ctx, &out), out.String())
	for _, want := range []string{
		"webpush  …/push/ada-laptop    sent",
		"failed  Unregistered",
		"→ 200 OK",
		"· delivered",
		"· engagement: opened",
	} {
		assert.Contains(t, out.String(), want)
	}
}
