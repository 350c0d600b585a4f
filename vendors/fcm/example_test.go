package fcm_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/dispatch"
	"github.com/heraldmsg/herald/vendors/fcm"
)

// exampleGoogle starts a local server standing in for Google's token
// endpoint (/token) and FCM (/v1/...): every assertion gets a token, and
// the token "gone" is UNREGISTERED.
func exampleGoogle() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/token" {
			fmt.Fprint(w, `{"access_token":"ya29.example","expires_in":3600,"token_type":"Bearer"}`)
			return
		}
		var body struct {
			Message struct {
				Token string `json:"token"`
			} `json:"message"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		if body.Message.Token == "gone" {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"error":{"code":404,"status":"NOT_FOUND","details":[{"errorCode":"UNREGISTERED"}]}}`)
			return
		}
		project := strings.Split(r.URL.Path, "/")[3]
		fmt.Fprintf(w, `{"name":"projects/%s/messages/0:1"}`, project)
	}))
}

// exampleKeyFile makes a throwaway service account key file; a real one
// comes from the Firebase console (Project settings, Service accounts).
func exampleKeyFile() []byte {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	out, _ := json.Marshal(map[string]string{"type": "service_account", "project_id": "my-app",
		"client_email": "sender@my-app.iam.gserviceaccount.com",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))})
	return out
}

// Example sends a notification to a contact's Android devices through the
// dispatcher; the device FCM reports UNREGISTERED is removed.
func Example() {
	srv := exampleGoogle()
	defer srv.Close()

	v, err := fcm.New(fcm.Options{
		ServiceAccountJSON: exampleKeyFile(),
		BaseURL:            srv.URL,            // default https://fcm.googleapis.com
		TokenURL:           srv.URL + "/token", // default Google's token endpoint
	})
	if err != nil {
		panic(err)
	}
	d, err := dispatch.New(dispatch.Config{Vendors: []herald.Vendor{v}})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	if _, err := d.Store().PutContact(ctx, &herald.Contact{ID: "ada", OrgID: "acme"}); err != nil {
		panic(err)
	}
	for _, tok := range []string{"token-of-a-phone", "gone"} {
		if err := d.RegisterDevice(ctx, "acme", "ada", herald.Device{Channel: herald.ChannelFCM, Token: tok}); err != nil {
			panic(err)
		}
	}
	results, err := d.SendToContact(ctx, &herald.Message{OrgID: "acme", ContactID: "ada", Channel: herald.ChannelFCM,
		Subject: "Order shipped", Body: "It is on its way", Data: map[string]string{"order": "42"}})
	if err != nil {
		panic(err)
	}
	for _, r := range results {
		fmt.Printf("%s: %s id=%q code=%q\n", r.Message.To, r.Message.Status, r.Message.VendorMessageID, r.Message.ErrorCode)
	}
	c, _ := d.Store().GetContact(ctx, "acme", "ada")
	fmt.Println("devices left:", len(c.Devices))
	// Output:
	// gone: failed id="" code="UNREGISTERED"
	// token-of-a-phone: sent id="projects/my-app/messages/0:1" code=""
	// devices left: 1
}

// ExampleVendor_DescribeError explains an FCM error code, as the
// dispatcher shows it.
func ExampleVendor_DescribeError() {
	v, _ := fcm.New(fcm.Options{})
	d := v.DescribeError("UNREGISTERED")
	fmt.Println(d.Code+":", d.Description)
	// Output:
	// UNREGISTERED: the app instance was unregistered from FCM; the token is no longer valid and the device is removed
}
