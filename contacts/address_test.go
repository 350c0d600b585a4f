package contacts

import (
	"strings"
	"testing"

	"github.com/heraldmsg/herald"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNormalizeAddress(t *testing.T) {
	const endpoint = "https://fcm.googleapis.com/fcm/send/dGVzdA:APA91bH"
	tests := []struct {
		name    string
		ch      herald.Channel
		raw     string
		region  string
		want    string
		wantErr string // part of the error text; "" when the call succeeds
	}{
		{"sms national", herald.ChannelSMS, "(415) 555-2671", "US", "+14155552671", ""},
		{"sms default region", herald.ChannelSMS, "(415) 555-2671", "", "+14155552671", ""},
		{"sms GB", herald.ChannelSMS, "07400 123456", "GB", "+447400123456", ""},
		{"mms E.164", herald.ChannelMMS, " +14155552671 ", "GB", "+14155552671", ""},
		{"sms invalid", herald.ChannelSMS, "12345", "US", "", "phone number"},
		{"sms unknown region", herald.ChannelSMS, "+14155552671", "XX", "", "unknown phone region"},
		{"sms email given", herald.ChannelSMS, "bob@example.com", "US", "", "phone number"},
		{"email", herald.ChannelEmail, " Bob@Example.com ", "US", "Bob@example.com", ""},
		{"email display name", herald.ChannelEmail, "Bob <bob@example.com>", "", "", "display name"},
		{"email phone given", herald.ChannelEmail, "+14155552671", "", "", "email address"},
		{"apns token", herald.ChannelAPNs, " 740f4707bebcf74f9b7c25d48e3358945f6aa01da5ddb387462c7eaf61bb78ad\n", "", "740f4707bebcf74f9b7c25d48e3358945f6aa01da5ddb387462c7eaf61bb78ad", ""},
		{"fcm token", herald.ChannelFCM, "bk3RNwTe3H0:CI2k_HHwgIpoDKCIZvvDMExUdFQ3P1", "", "bk3RNwTe3H0:CI2k_HHwgIpoDKCIZvvDMExUdFQ3P1", ""},
		{"webpush endpoint", herald.ChannelWebPush, endpoint, "", endpoint, ""},
		{"push empty", herald.ChannelFCM, "  ", "", "", "empty"},
		{"push inner space", herald.ChannelAPNs, "740f4707 bebcf74f", "", "", "white space"},
		{"push inner tab", herald.ChannelWebPush, "https://push.example/a\tb", "", "", "white space"},
		{"push control char", herald.ChannelFCM, "abc\x00def", "", "", "control"},
		{"push DEL", herald.ChannelFCM, "abc\x7fdef", "", "", "control"},
		{"push NBSP", herald.ChannelFCM, "abc\u00a0def", "", "", "white space"},
		{"push bad UTF-8", herald.ChannelAPNs, "abc\xffdef", "", "", "UTF-8"},
		{"push at limit", herald.ChannelFCM, strings.Repeat("a", MaxPushTokenLen), "", strings.Repeat("a", MaxPushTokenLen), ""},
		{"push too long", herald.ChannelFCM, strings.Repeat("a", MaxPushTokenLen+1), "", "", "too long"},
		{"host channel", herald.Channel("whatsapp"), "  some id with spaces ", "", "some id with spaces", ""},
		{"host channel empty", herald.Channel("slack"), " \n", "", "", "empty"},
		{"invalid channel empty", herald.Channel(""), "+14155552671", "", "", "invalid channel"},
		{"invalid channel upper", herald.Channel("SMS"), "+14155552671", "", "", "invalid channel"},
		{"invalid channel long", herald.Channel(strings.Repeat("x", 100)), "a", "", "", "invalid channel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeAddress(tt.ch, tt.raw, tt.region)
			if tt.wantErr == "" {
				require.NoError(t, err)
				assert.Equal(t, tt.want, got)
				return
			}
			require.Error(t, err)
			assert.Empty(t, got)
			assert.ErrorIs(t, err, herald.ErrInvalidInput)
			assert.Contains(t, err.Error(), tt.wantErr)
			if len(tt.raw) >= 8 {
				assert.NotContains(t, err.Error(), strings.TrimSpace(tt.raw), "error repeats the address")
			}
		})
	}
}
