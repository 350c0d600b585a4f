package apns_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/dispatch"
	"github.com/heraldmsg/herald/vendors/apns"
)

// exampleAPNs starts a local HTTP/2 server standing in for APNs: it
// answers 410 Unregistered for tokens starting 0410, else 200 with an
// apns-id.
func exampleAPNs() *httptest.Server {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.URL.Path) > 14 && r.URL.Path[10:14] == "0410" {
			w.WriteHeader(http.StatusGone)
			fmt.Fprint(w, `{"reason":"Unregistered","timestamp":1767323045000}`)
			return
		}
		w.Header().Set("apns-id", "0b5e7d6c-3a2f-4e1d-9c8b-7a6f5e4d3c2b")
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	return srv
}

// exampleKey makes a throwaway .p8 key; a real one comes from Apple's
// developer site.
func exampleKey() []byte {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// Example sends an alert to a contact's iPhone through the dispatcher; a
// second device that APNs reports Unregistered is removed from the
// contact.
func Example() {
	srv := exampleAPNs()
	defer srv.Close()

	v, err := apns.New(apns.Options{
		Credentials: apns.Credentials{AuthKey: exampleKey(), KeyID: "ABC123DEFG", TeamID: "DEF123GHIJ", Topic: "com.example.app"},
		Host:        srv.URL,                                                  // production by default; here the local server
		TLSConfig:   srv.Client().Transport.(*http.Transport).TLSClientConfig, // trusts the local server
	})
	if err != nil {
		panic(err)
	}
	defer v.Close()
	d, err := dispatch.New(dispatch.Config{Vendors: []herald.Vendor{v}})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	if _, err := d.Store().PutContact(ctx, &herald.Contact{ID: "ada", OrgID: "acme"}); err != nil {
		panic(err)
	}
	for _, tok := range []string{"00aa11bb22cc33dd44ee55ff66778899", "0410aa11bb22cc33dd44ee55ff667788"} {
		if err := d.RegisterDevice(ctx, "acme", "ada", herald.Device{Channel: herald.ChannelAPNs, Token: tok}); err != nil {
			panic(err)
		}
	}
	results, err := d.SendToContact(ctx, &herald.Message{OrgID: "acme", ContactID: "ada", Channel: herald.ChannelAPNs,
		Subject: "Order shipped", Body: "It is on its way", Urgency: herald.UrgencyHigh})
	if err != nil {
		panic(err)
	}
	for _, r := range results {
		fmt.Printf("%s… %s id=%q code=%q\n", r.Message.To[:4], r.Message.Status, r.Message.VendorMessageID, r.Message.ErrorCode)
	}
	c, _ := d.Store().GetContact(ctx, "acme", "ada")
	fmt.Println("devices left:", len(c.Devices))
	// Output:
	// 0410… failed id="" code="Unregistered"
	// 00aa… sent id="0b5e7d6c-3a2f-4e1d-9c8b-7a6f5e4d3c2b" code=""
	// devices left: 1
}

// ExampleVendor_DescribeError explains an APNs reason, as the dispatcher
// shows it.
func ExampleVendor_DescribeError() {
	v, _ := apns.New(apns.Options{})
	d := v.DescribeError("Unregistered")
	fmt.Println(d.Code+":", d.Description)
	// Output:
	// Unregistered: the device token is inactive for the specified topic; the device is removed
}
