package fcm

import (
	"net/http"
	"testing"

	"github.com/heraldmsg/herald"
)

// FuzzResponseError feeds FCM error answers (JSON or not) to the parser:
// it must never panic and always give a valid class and a code.
func FuzzResponseError(f *testing.F) {
	f.Add(404, []byte(`{"error":{"code":404,"status":"NOT_FOUND","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"UNREGISTERED"}]}}`))
	f.Add(400, []byte(`{"error":{"code":400,"message":"The registration token is not a valid FCM registration token","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[{"field":"message.token"}]}]}}`))
	f.Add(502, []byte("<html>502</html>"))
	f.Add(429, []byte(`{"error":{"details":[null,{},{"errorCode":7}]}}`))
	f.Add(500, []byte(``))
	v := &Vendor{name: Name, clock: herald.SystemClock{}}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 999 {
			status = 500
		}
		resp := &http.Response{StatusCode: status, Header: http.Header{"Retry-After": {"3"}}}
		ve := v.responseError(resp, body)
		if !ve.Class.Valid() || ve.Code == "" || ve.Vendor != Name {
			t.Fatalf("bad error %+v", ve)
		}
		if ve.Class == herald.ClassGone && parseError(body).code != CodeUnregistered {
			t.Fatalf("gone without UNREGISTERED: %s", body)
		}
	})
}
