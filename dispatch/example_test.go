package dispatch_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/dispatch"
	"github.com/heraldmsg/herald/managers/example"
	"github.com/heraldmsg/herald/vendors/fake"
)

// A dispatcher with the fake vendor and the example manager sends a text.
func ExampleDispatcher_Send() {
	ctx := context.Background()
	d, err := dispatch.New(dispatch.Config{
		Vendors:         []herald.Vendor{fake.New(fake.Options{Quiet: true})},
		Managers:        []herald.ServiceManager{example.New()},
		EnabledManagers: []string{example.Name},
	})
	if err != nil {
		panic(err)
	}
	res, err := d.Send(ctx, &herald.Message{
		OrgID: "acme", Channel: herald.ChannelSMS, To: "(415) 555-2671", Body: "Hello!",
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Message.To, res.Message.Status, res.Message.Vendor)

	// Bad input is refused before anything is stored.
	_, err = d.Send(ctx, &herald.Message{OrgID: "acme", Channel: herald.ChannelSMS, To: "12345", Body: "Hi"})
	fmt.Println(errors.Is(err, herald.ErrInvalidInput))
	// Output:
	// +14155552671 sent fake
	// true
}

// Enqueue stores messages; Run sends them, and stops gracefully when its
// context ends.
func ExampleDispatcher_Run() {
	ctx, cancel := context.WithCancel(context.Background())
	v := fake.New(fake.Options{Quiet: true})
	d, err := dispatch.New(dispatch.Config{Vendors: []herald.Vendor{v}})
	if err != nil {
		panic(err)
	}
	m, err := d.Enqueue(ctx, &herald.Message{OrgID: "acme", Channel: herald.ChannelEmail,
		To: "ada@example.com", Subject: "Welcome", Body: "Hello Ada"})
	if err != nil {
		panic(err)
	}
	fmt.Println("enqueued:", m.Status)

	done := make(chan error)
	go func() { done <- d.Run(ctx) }()
	for !v.Accepted(m.IdempotencyKey) { // a real host just leaves Run running
		time.Sleep(time.Millisecond)
	}
	cancel()
	fmt.Println("Run returned:", <-done)
	// Output:
	// enqueued: queued
	// Run returned: <nil>
}

// Webhooks mounts every vendor's callbacks; a forged request is refused.
func ExampleDispatcher_Webhooks() {
	d, err := dispatch.New(dispatch.Config{Vendors: []herald.Vendor{fake.New(fake.Options{WebhookSecret: "s3cret"})}})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(d.Webhooks())
	defer srv.Close()

	resp, err := http.Post(srv.URL+"/acme/fake/status", "application/json", strings.NewReader(`{"reports":[]}`))
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode)
	// Output: 403
}
