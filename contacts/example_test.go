package contacts_test

import (
	"errors"
	"fmt"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/contacts"
)

func ExampleNormalizePhone() {
	for _, in := range []struct{ raw, region string }{
		{"(415) 555-2671", "US"},
		{"020 7946 0958", "GB"},
		{"0049 30 123456", "DE"},
		{"+81 90-1234-5678", ""},
	} {
		e164, err := contacts.NormalizePhone(in.raw, in.region)
		fmt.Println(e164, err)
	}

	_, err := contacts.NormalizePhone("12345", "US")
	fmt.Println(errors.Is(err, herald.ErrInvalidInput), err)
	// Output:
	// +14155552671 <nil>
	// +442079460958 <nil>
	// +4930123456 <nil>
	// +819012345678 <nil>
	// true contacts: phone number ending 2345: too short for its country: herald: invalid input
}

func ExampleParsePhone() {
	info, err := contacts.ParsePhone("07400 123456", "GB")
	if err != nil {
		panic(err)
	}
	fmt.Println(info.E164, info.Region, info.CountryCode, info.AreaCode, info.Type)
	// Output: +447400123456 GB 44 7400 mobile
}

func ExampleNormalizeEmail() {
	addr, err := contacts.NormalizeEmail(" Bob.Smith@Example.COM ")
	fmt.Println(addr, err)

	_, err = contacts.NormalizeEmail("Bob <bob@example.com>")
	fmt.Println(err)
	// Output:
	// Bob.Smith@example.com <nil>
	// contacts: email address: has a display name or comment; give the bare address: herald: invalid input
}

func ExampleNormalizeAddress() {
	for _, in := range []struct {
		ch  herald.Channel
		raw string
	}{
		{herald.ChannelSMS, "(415) 555-2671"},
		{herald.ChannelEmail, "bob@Example.com"},
		{herald.ChannelAPNs, " 740f4707bebcf74f9b7c25d48e3358945f6aa01da5ddb387462c7eaf61bb78ad "},
	} {
		addr, err := contacts.NormalizeAddress(in.ch, in.raw, "US")
		fmt.Println(in.ch, addr, err)
	}
	// Output:
	// sms +14155552671 <nil>
	// email bob@example.com <nil>
	// apns 740f4707bebcf74f9b7c25d48e3358945f6aa01da5ddb387462c7eaf61bb78ad <nil>
}
