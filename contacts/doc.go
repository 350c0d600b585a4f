// Package contacts holds what herald knows about the people it messages and
// their addresses.
//
// This part of the package normalises addresses before anything is stored or
// sent; the dispatcher calls [NormalizeAddress] for every message:
//
//   - [NormalizePhone] turns a phone number typed in any national or
//     international format into E.164 ("+14155552671"), and [ParsePhone]
//     tells its region, area code and number type, for every country, using
//     github.com/nyaruka/phonenumbers (a port of Google's libphonenumber).
//     A number is accepted only when its digits form a valid number for its
//     country; a string that merely parses (such as "12345") is refused.
//   - [NormalizeEmail] accepts one bare email address and lower-cases its
//     domain.
//   - push tokens and other channels' addresses are trimmed and checked.
//
// Every error wraps [herald.ErrInvalidInput] and says what was wrong. Errors
// never repeat a whole phone number or email address, since they end up in
// logs: a phone number is named by at most its last four digits.
//
// All functions are safe for concurrent use and keep no state between calls.
package contacts
