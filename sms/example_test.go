package sms_test

import (
	"fmt"
	"strings"

	"github.com/heraldmsg/herald/sms"
)

func ExampleCount() {
	enc, segments := sms.Count("Hi Sam, polls close at 8pm. Reply STOP to opt out.")
	fmt.Println(enc, segments)

	enc, segments = sms.Count(strings.Repeat("Vote! ", 30)) // 180 characters
	fmt.Println(enc, segments)

	enc, segments = sms.Count("See you there 👍")
	fmt.Println(enc, segments)
	// Output:
	// GSM-7 1
	// GSM-7 2
	// UCS-2 1
}

func ExampleAnalyze() {
	// The emoji would take units 67 and 68: it moves to segment 2 whole.
	r := sms.Analyze(strings.Repeat("x", 60) + "We’re 🎉 Reply YES")
	fmt.Println(r.Encoding, r.Count(), "segments,", r.Characters, "characters,", r.Units, "units")
	for i, s := range r.Segments {
		fmt.Printf("segment %d: %d characters, %d of %d units\n", i+1, s.Characters, s.Units, r.Limit())
	}
	fmt.Printf("forced UCS-2: %q\n", r.NonGSM)
	// Output:
	// UCS-2 2 segments, 77 characters, 78 units
	// segment 1: 66 characters, 66 of 67 units
	// segment 2: 11 characters, 12 of 67 units
	// forced UCS-2: ["’" "🎉"]
}

func ExampleSmartEncode() {
	body, changed := sms.SmartEncode("“Doors open at 7” — don’t be late…")
	fmt.Println(body, changed)

	// Twilio's rule: when something without a stand-in remains, the body
	// is left alone.
	body, changed = sms.SmartEncode("“Doors open at 7” 🎉")
	fmt.Println(body, changed)
	// Output:
	// "Doors open at 7" - don't be late... true
	// “Doors open at 7” 🎉 false
}

func ExampleReplaceSmartCharacters() {
	fmt.Println(sms.ReplaceSmartCharacters("It’s “fine” 😀"))
	// Output:
	// It's "fine" 😀
}
