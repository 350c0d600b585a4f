package bandwidth

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/vendorhttp"
)

// ErrorLink is Bandwidth's page of messaging error codes (the four-digit
// delivery codes and the HTTP error types).
const ErrorLink = "https://dev.bandwidth.com/docs/messaging/errors"

// Codes of note, named.
const (
	CodeOptedOut           = "4775" // the recipient opted out (carrier STOP)
	CodeInvalidDestination = "4720" // invalid destination, landlines included
	CodeDLRTimeout         = "9902" // no delivery receipt came: the outcome is unknown
	CodeQueueFull          = "max-message-queue-size-exceeded"
)

type codeInfo struct {
	class herald.ErrorClass
	desc  string
}

// codes is every code the vendor knows: the four-digit messaging codes of
// message-failed callbacks (4xxx client errors, never retried; 5xxx
// service failures, retryable; 9xxx ambiguous) and the error types of the
// Messaging API's HTTP errors. The class applies when the code comes back
// from a call; in a callback the message has failed whatever the class.
var codes = map[string]codeInfo{
	// Bandwidth-detected client errors.
	"4001": {herald.ClassPermanent, "Service not allowed: the account is not permitted to send this kind of message."},
	"4301": {herald.ClassPermanent, "Malformed message encoding: the text has characters Bandwidth cannot encode for the destination."},
	"4302": {herald.ClassAuth, "Malformed From number: the sending number is not routable."},
	"4303": {herald.ClassInvalidAddress, "Malformed To number: the destination is not a routable number."},
	"4350": {herald.ClassInvalidAddress, "Failed on send, most likely because the To number is invalid."},
	"4360": {herald.ClassPermanent, "Message expired: its expiration passed before it could be sent."},
	"4401": {herald.ClassPermanent, "Bandwidth cannot route the message (often From and To are the same number)."},
	"4403": {herald.ClassAuth, "Messaging is forbidden on the From number (not on this account or not enabled)."},
	"4404": {herald.ClassInvalidAddress, "Messaging is forbidden on the To number (inactive or not enabled for messaging)."},
	"4405": {herald.ClassAuth, "The From number is unallocated: not an active number in Bandwidth's database."},
	"4406": {herald.ClassInvalidAddress, "The To number is unallocated: not assigned to any carrier yet."},
	"4407": {herald.ClassAuth, "The From number is not associated with this account."},
	"4408": {herald.ClassInvalidAddress, "The To number is not associated with an account that can receive messages."},
	"4409": {herald.ClassInvalidAddress, "Invalid destination profile, usually a destination that does not take MMS."},
	"4410": {herald.ClassPermanent, "Media unavailable: Bandwidth could not download the media URL."},
	"4411": {herald.ClassPermanent, "The combined size of the media is too large."},
	"4412": {herald.ClassPermanent, "The media's content type is not supported."},
	"4420": {herald.ClassPermanent, "No route to the destination carrier."},
	"4421": {herald.ClassAuth, "The account is not provisioned to send to this destination."},
	"4431": {herald.ClassAuth, "The account is not provisioned for short code messaging."},
	"4432": {herald.ClassAuth, "The account may not message this country or zone."},
	"4433": {herald.ClassAuth, "The account is not enabled for toll-free messaging."},
	"4434": {herald.ClassInvalidAddress, "Messaging to this toll-free number is not allowed."},
	"4435": {herald.ClassPermanent, "Too many recipients: a group message takes at most 10."},
	"4451": {herald.ClassAuth, "Invalid user ID."},
	"4452": {herald.ClassAuth, "Invalid application ID, or the application is not on this account."},
	"4470": {herald.ClassPermanent, "Rejected by Bandwidth as spam."},
	"4481": {herald.ClassAuth, "The From number is blacklisted by Bandwidth."},
	"4482": {herald.ClassInvalidAddress, "The To number is blacklisted and cannot receive messages."},
	"4492": {herald.ClassInvalidAddress, "Messaging an emergency number is forbidden."},
	"4493": {herald.ClassAuth, "The sender is not authorized to send messages from this account."},
	// Carrier-reported client errors.
	"4700": {herald.ClassInvalidAddress, "Carrier rejected the service type: the carrier or handset does not support messaging."},
	"4701": {herald.ClassPermanent, "Destination not reachable, or SMS service not available."},
	"4702": {herald.ClassPermanent, "Destination subscriber unavailable (handset off, unreachable or full)."},
	"4711": {herald.ClassPermanent, "The carrier cannot fetch the media: the attachment is too large."},
	"4712": {herald.ClassPermanent, "The carrier does not support the media's content type."},
	"4720": {herald.ClassInvalidAddress, "Invalid destination: the number is not in the numbering plan or cannot take texts (a landline)."},
	"4721": {herald.ClassInvalidAddress, "The destination number is deactivated."},
	"4730": {herald.ClassPermanent, "No route to the destination carrier, or no roaming route."},
	"4740": {herald.ClassAuth, "Carrier rejected the source address (From) as invalid."},
	"4750": {herald.ClassPermanent, "Carrier rejected the message without a specific reason."},
	"4751": {herald.ClassPermanent, "Message too long, or of invalid length, for the carrier."},
	"4752": {herald.ClassPermanent, "Message malformed for the carrier."},
	"4770": {herald.ClassPermanent, "Carrier rejected the message as spam."},
	"4771": {herald.ClassPermanent, "Rejected because of a shortened URL."},
	"4772": {herald.ClassPermanent, "The sender or the receiver is blocked on the downstream platform."},
	"4773": {herald.ClassAuth, "The 10DLC campaign of the From number is not active for the destination."},
	"4774": {herald.ClassAuth, "The From number is mis-provisioned in the industry (10DLC) database."},
	"4775": {herald.ClassOptedOut, "The recipient opted out of messages from this sender."},
	"4780": {herald.ClassPermanent, "T-Mobile rejected the message: the 10DLC brand's daily volume was exceeded."},
	"4781": {herald.ClassPermanent, "AT&T rejected the message: 10DLC volume exceeded or throttled."},
	"4785": {herald.ClassPermanent, "Carrier rejected the message for a volumetric violation; back off before sending again."},
	"4790": {herald.ClassPermanent, "Carrier rejected the message because of a short code restriction."},
	"4791": {herald.ClassPermanent, "Carrier rejected the short code campaign."},
	"4792": {herald.ClassAuth, "The short code is not provisioned on the carrier's network."},
	"4793": {herald.ClassAuth, "The short code has expired with the carrier."},
	"4795": {herald.ClassAuth, "The toll-free number is not verified."},
	// Bandwidth service failures.
	"5100": {herald.ClassTemporary, "Temporary Bandwidth application error."},
	"5101": {herald.ClassTemporary, "A Bandwidth application is shutting down; send again later."},
	"5106": {herald.ClassTemporary, "Impossible to route: delivery through retries failed."},
	"5111": {herald.ClassTemporary, "Bandwidth received the message for a connection already closed."},
	"5201": {herald.ClassTemporary, "Bandwidth expired the message after its delivery retries failed."},
	"5211": {herald.ClassTemporary, "A Bandwidth application is busy."},
	"5220": {herald.ClassTemporary, "Bandwidth could not store the message."},
	"5231": {herald.ClassTemporary, "Bandwidth did not receive every part of a concatenated message."},
	"5500": {herald.ClassTemporary, "The destination carrier reported a general send failure."},
	"5501": {herald.ClassTemporary, "No destination was available to send the message to."},
	"5999": {herald.ClassTemporary, "Unknown error from Bandwidth."},
	// Carrier-reported service failures: retry once at most.
	"5600": {herald.ClassTemporary, "Carrier service unavailable (congestion, full queue or throttling)."},
	"5610": {herald.ClassTemporary, "Carrier service failure while submitting the message."},
	"5620": {herald.ClassTemporary, "Carrier application error."},
	"5630": {herald.ClassTemporary, "No acknowledgement from the carrier."},
	"5650": {herald.ClassTemporary, "Carrier failed to send to the destination."},
	// Ambiguous.
	"9902": {herald.ClassMaybeDelivered, "Timed out waiting for a delivery receipt: the message may have been delivered."},
	"9999": {herald.ClassTemporary, "The carrier reported a failure Bandwidth does not recognise."},
	// Error types of the Messaging API's HTTP errors.
	"request-validation":              {herald.ClassPermanent, "Bandwidth refused the request as invalid (HTTP 400)."},
	"unauthorized":                    {herald.ClassAuth, "Authentication failed: wrong credentials or account (HTTP 401)."},
	"forbidden":                       {herald.ClassAuth, "The credentials may not use the Messaging API (HTTP 403)."},
	"unsupported-content-type":        {herald.ClassPermanent, "The request's content type is not application/json (HTTP 415)."},
	"max-message-queue-size-exceeded": {herald.ClassRateLimited, "The account's message queue is full (about 15 minutes of its rate); send more slowly (HTTP 429)."},
	// Errors of the OAuth2 token endpoint (RFC 6749 §5.2).
	"invalid_client":         {herald.ClassAuth, "The OAuth2 client ID or secret is wrong."},
	"unauthorized_client":    {herald.ClassAuth, "The OAuth2 client may not use the client credentials grant."},
	"invalid_request":        {herald.ClassAuth, "The token endpoint refused the request as malformed."},
	"unsupported_grant_type": {herald.ClassAuth, "The token endpoint does not take the client credentials grant."},
	"invalid_scope":          {herald.ClassAuth, "The OAuth2 client may not have the requested scope."},
}

// Codes returns every Bandwidth code DescribeError knows, sorted.
func Codes() []string {
	return slices.Sorted(maps.Keys(codes))
}

// Classify returns the class of a Bandwidth code (a four-digit messaging
// code or an HTTP error type; the HTTP status as a string when the answer
// had neither) and the HTTP status of the answer (0 in a callback). HTTP
// 429 is rate-limited and 5xx temporary whatever the code; then a known
// code's class; then any other 4xxx code is permanent and 5xxx temporary;
// then 401 and 403 are auth, 404 auth (the account in the URL is wrong),
// 408 maybe-delivered and any other status permanent.
func Classify(code string, httpStatus int) herald.ErrorClass {
	switch {
	case httpStatus == http.StatusTooManyRequests:
		return herald.ClassRateLimited
	case httpStatus >= 500 && httpStatus <= 599:
		return herald.ClassTemporary
	}
	if c, ok := codes[code]; ok {
		return c.class
	}
	if len(code) == 4 && digits(code) {
		switch code[0] {
		case '4':
			return herald.ClassPermanent
		case '5':
			return herald.ClassTemporary
		}
	}
	if httpStatus == 0 {
		httpStatus, _ = strconv.Atoi(code)
	}
	switch {
	case httpStatus == http.StatusTooManyRequests:
		return herald.ClassRateLimited
	case httpStatus >= 500 && httpStatus <= 599:
		return herald.ClassTemporary
	case httpStatus == 401 || httpStatus == 403 || httpStatus == 404:
		return herald.ClassAuth
	case httpStatus == 408:
		return herald.ClassMaybeDelivered
	}
	return herald.ClassPermanent
}

// DescribeError explains a Bandwidth code (a messaging code, an HTTP error
// type, or an HTTP status the vendor reported as its code) with a link to
// Bandwidth's error page. The answer's Code is always code.
func (v *Vendor) DescribeError(code string) herald.ErrorDescription {
	d := herald.ErrorDescription{Code: code}
	if c, ok := codes[code]; ok {
		d.Description = c.desc
		d.Link = ErrorLink
		return d
	}
	n, err := strconv.Atoi(code)
	switch {
	case err == nil && n >= 100 && n <= 599:
		d.Description = "HTTP " + code + " from Bandwidth"
		switch {
		case n == 429:
			d.Description += ": too many requests; retry after the Retry-After delay."
		case n >= 500:
			d.Description += ": server error; retry later."
		case n == 401 || n == 403:
			d.Description += ": credentials refused."
		case n == 404:
			d.Description += ": not found (check the account ID)."
		}
	case err == nil && len(code) == 4 && code[0] == '4':
		d.Description = "Bandwidth client error " + code + ": the message will not be accepted as sent."
		d.Link = ErrorLink
	case err == nil && len(code) == 4 && code[0] == '5':
		d.Description = "Bandwidth service failure " + code + ": sending again may succeed."
		d.Link = ErrorLink
	default:
		d.Description = "Bandwidth error " + code + "."
	}
	return d
}

// messagingAPIError is the Messaging API's error body; a 404 comes in
// Spring's shape instead ({timestamp, status, error, message, path}).
type messagingAPIError struct {
	Type        string `json:"type"`
	Description string `json:"description"`
	FieldErrors []struct {
		FieldName   string `json:"fieldName"`
		Description string `json:"description"`
	} `json:"fieldErrors"`
	Error   string `json:"error"`
	Message string `json:"message"`
}

// messagingError turns a non-2xx Messaging API answer into a classified
// VendorError. Its Code is the error type when the body has one, else the
// HTTP status. A validation error on the "to" field is an invalid address.
func (v *Vendor) messagingError(resp *http.Response, data []byte) *herald.VendorError {
	var ae messagingAPIError
	_ = json.Unmarshal(data, &ae)
	code := ae.Type
	if code == "" {
		code = strconv.Itoa(resp.StatusCode)
	}
	msg := ae.Description
	if msg == "" {
		msg = ae.Message
	}
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	toField := false
	for _, f := range ae.FieldErrors {
		msg += "; " + f.FieldName + ": " + f.Description
		toField = toField || strings.EqualFold(f.FieldName, "to")
	}
	ve := &herald.VendorError{
		Vendor: v.name, Class: Classify(code, resp.StatusCode), Code: code,
		Message: vendorhttp.RedactDigits(msg), HTTPStatus: resp.StatusCode,
	}
	if toField && ve.Class == herald.ClassPermanent {
		ve.Class = herald.ClassInvalidAddress
	}
	if ve.Class == herald.ClassRateLimited {
		ve.RetryAfter = vendorhttp.RetryAfter(resp.Header.Get("Retry-After"), v.clock.Now())
	}
	return ve
}

// dashboardError turns a non-2xx Numbers API answer into a classified
// VendorError. The XML bodies vary (<ResponseStatus><ErrorCode>,
// <Error><Code>, <ErrorList>...): the first code and description found
// anywhere are used. The class comes from the HTTP status alone (the
// Numbers API's codes are not the messaging codes).
func (v *Vendor) dashboardError(resp *http.Response, data []byte) *herald.VendorError {
	code, desc := xmlError(data)
	if code == "" {
		code = strconv.Itoa(resp.StatusCode)
	}
	if desc == "" {
		desc = http.StatusText(resp.StatusCode)
	}
	ve := &herald.VendorError{
		Vendor: v.name, Class: Classify(strconv.Itoa(resp.StatusCode), resp.StatusCode), Code: code,
		Message: vendorhttp.RedactDigits(desc), HTTPStatus: resp.StatusCode,
	}
	if ve.Class == herald.ClassRateLimited {
		ve.RetryAfter = vendorhttp.RetryAfter(resp.Header.Get("Retry-After"), v.clock.Now())
	}
	return ve
}

// xmlError finds the first error code (<ErrorCode> or <Code>) and
// description (<Description>) in an XML document.
func xmlError(data []byte) (code, desc string) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	var cur string
	for code == "" || desc == "" {
		tok, err := dec.Token()
		if err != nil { // io.EOF or a syntax error: what was found so far
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			cur = t.Name.Local
		case xml.EndElement:
			cur = ""
		case xml.CharData:
			s := strings.TrimSpace(string(t))
			if s == "" {
				continue
			}
			switch cur {
			case "ErrorCode", "Code":
				if code == "" {
					code = s
				}
			case "Description":
				if desc == "" {
					desc = s
				}
			}
		}
	}
	return code, desc
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
