package herald_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/heraldmsg/herald"
)

func TestCopyConfig(t *testing.T) {
	cfg := map[string]string{"account": "AC1", "token": "s3cret", "empty_secret": ""}
	got := herald.CopyConfig(cfg, true, "token", "empty_secret", "absent")
	assert.Equal(t, map[string]string{"account": "AC1", "token": herald.ObscuredSecret, "empty_secret": ""}, got)
	got["account"] = "changed"
	assert.Equal(t, "AC1", cfg["account"], "a copy")
	assert.Equal(t, cfg, herald.CopyConfig(cfg, false, "token"), "secrets kept when not obscuring")
	assert.Equal(t, map[string]string{}, herald.CopyConfig(nil, true, "token"), "nil is an empty map")
}
