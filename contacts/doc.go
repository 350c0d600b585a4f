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
// The normalisation functions are safe for concurrent use and keep no state
// between calls.
//
// The rest of the package gets contacts in and messages out:
//
//   - Loading: a [Loader] streams contacts (iter.Seq2) into the dispatcher's
//     LoadContacts, which normalises, deduplicates and stores them.
//     [CSVLoader] and [ReadCSV] read contact files (header aliases, required
//     columns, custom fields, BOM, CRLF, quoting) in constant memory;
//     [SQLLoader] reads a database/sql query. [WithProgress] reports progress
//     of a long load, [TimezoneFor] guesses a contact's time zone from its
//     ZIP code or phone number, and [NormalizeZip] tidies postal codes.
//   - Remote sources: a [Source] is a CRM holding contacts and their owners
//     (package contacts/airtable is one); [CachedSource] caches each owner's
//     list with incremental refresh, periodic reconcile, singleflight and
//     the source's rate limit.
//   - Templates: [ParseTemplate] reads message templates in Spoke's
//     {firstName} style and the {{field}} style, [Template.Render] fills one
//     for a contact with a missing-field policy and says how many SMS
//     segments it costs, and [TemplatesByCategory] lists them by category.
//   - Routing: a [Router] picks an owner for a sender no contact matches
//     ([DefaultOwner], [RoundRobin], [LeastLoaded]).
package contacts
