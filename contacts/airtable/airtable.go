// Package airtable is a contacts.Source backed by an Airtable table, as in
// Twilio Frontline's Airtable quickstart, done with a real REST client:
// list with filterByFormula and pageSize/offset pagination, get, create,
// update and delete; configurable field mapping; every value put into a
// formula is quoted, so request data cannot change the formula; requests
// are paced to Airtable's limit (5 per second per base) and a 429 is
// returned as a *contacts.RateLimitedError asking the caller to wait out
// Airtable's 30-second penalty.
//
// Wrap a Client in contacts.NewCachedSource for a cached, per-owner
// contact list.
package airtable

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/contacts"
)

// DefaultBaseURL is Airtable's API root.
const DefaultBaseURL = "https://api.airtable.com"

// Airtable's documented limits.
const (
	// RequestsPerSecond is Airtable's limit per base.
	RequestsPerSecond = 5
	// Penalty is how long Airtable refuses requests after a 429.
	Penalty = 30 * time.Second
	// DefaultPace is the client's default request rate: a margin under
	// RequestsPerSecond, so that network jitter bunching two requests does
	// not cost a 30-second penalty.
	DefaultPace = 4.5
	// MaxPageSize is the most records a list page holds.
	MaxPageSize = 100
)

// FieldMap names the Airtable fields that fill a contact. Empty names are
// not read or written. The defaults are the Frontline quickstart's
// Customers table.
type FieldMap struct {
	// Name is a full name, split at the first space into first and last
	// name when FirstName and LastName are not mapped.
	Name       string
	FirstName  string
	LastName   string
	Phone      string
	Email      string
	Owner      string
	Zip        string
	ExternalID string
	// Modified is a "last modified time" field; when empty the record's
	// createdTime stands for its modification time, and incremental
	// queries use the LAST_MODIFIED_TIME() formula function.
	Modified string
	// Custom lists fields copied into CustomFields; nil copies every
	// field that is not mapped above.
	Custom []string
}

// DefaultFieldMap is the Frontline quickstart's Customers table: id, name,
// sms, email, owner; other fields (whatsapp, linkedin, notes, ...) become
// custom fields.
var DefaultFieldMap = FieldMap{Name: "name", Phone: "sms", Email: "email", Owner: "owner", ExternalID: "id"}

// Options configures a Client.
type Options struct {
	// BaseID is the base ("app…"); Table the table name or ID.
	BaseID string
	Table  string
	// Token is a personal access token; it is sent only in the
	// Authorization header and never logged.
	Token string
	// View restricts lists to a view ("Grid view"); empty uses none.
	View string
	// Fields maps contact fields; when it maps none of the name, phone,
	// email and owner fields, DefaultFieldMap is used (keeping Custom).
	Fields FieldMap
	// BaseURL is the API root; default DefaultBaseURL.
	BaseURL string
	// HTTPClient defaults to a client with a 30s timeout.
	HTTPClient *http.Client
	// RequestsPerSecond paces requests; zero means DefaultPace, negative
	// means no pacing. Ignored when Limiter is set.
	RequestsPerSecond float64
	// Limiter, when set, paces requests instead: give clients of one base
	// (several tables, say) the same limiter, since Airtable's limit is
	// per base.
	Limiter *rate.Limiter
	// Penalty is the RetryAfter reported after a 429 that carries no
	// Retry-After header; zero means Penalty (30s).
	Penalty time.Duration
	// Region reads phone numbers that are not in E.164; default "US".
	Region string
}

// Client is an Airtable table of contacts. It is safe for concurrent use.
type Client struct {
	opts Options
	hc   *http.Client
	lim  *rate.Limiter
	root string
}

var (
	_ contacts.Source       = (*Client)(nil)
	_ contacts.SourceWriter = (*Client)(nil)
)

// New returns a client; BaseID, Table and Token are required.
func New(opts Options) (*Client, error) {
	if opts.BaseID == "" || opts.Table == "" || opts.Token == "" {
		return nil, fmt.Errorf("airtable: BaseID, Table and Token are required: %w", herald.ErrConfig)
	}
	if f := opts.Fields; f.Name == "" && f.FirstName == "" && f.LastName == "" && f.Phone == "" && f.Email == "" && f.Owner == "" {
		custom := opts.Fields.Custom
		opts.Fields = DefaultFieldMap
		opts.Fields.Custom = custom
	}
	if opts.BaseURL == "" {
		opts.BaseURL = DefaultBaseURL
	}
	if opts.Penalty <= 0 {
		opts.Penalty = Penalty
	}
	if opts.Region == "" {
		opts.Region = contacts.DefaultRegion
	}
	c := &Client{opts: opts, hc: opts.HTTPClient}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: 30 * time.Second}
	}
	rps := opts.RequestsPerSecond
	if rps == 0 {
		rps = DefaultPace
	}
	switch {
	case opts.Limiter != nil:
		c.lim = opts.Limiter
	case rps > 0:
		c.lim = rate.NewLimiter(rate.Limit(rps), 1)
	}
	c.root = strings.TrimRight(opts.BaseURL, "/") + "/v0/" + url.PathEscape(opts.BaseID) + "/" + url.PathEscape(opts.Table)
	return c, nil
}

// Record is an Airtable record as the API returns it.
type Record struct {
	ID          string         `json:"id"`
	CreatedTime string         `json:"createdTime,omitempty"`
	Fields      map[string]any `json:"fields"`
}

// QuoteString returns s as an Airtable formula string literal: in double
// quotes, with backslashes, quotes and line breaks escaped, so that no
// value can end the literal and add to the formula.
func QuoteString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '\'':
			b.WriteString(`\'`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// fieldRef is a formula reference to a field; field names holding braces
// cannot be referenced and are refused at use.
func fieldRef(name string) (string, error) {
	if name == "" || strings.ContainsAny(name, "{}") {
		return "", fmt.Errorf("airtable: field name %q cannot be used in a formula: %w", name, herald.ErrConfig)
	}
	return "{" + name + "}", nil
}

// Formula returns the filterByFormula for p.
func (c *Client) Formula(p contacts.ListParams) (string, error) {
	var terms []string
	if p.Owner != "" {
		ref, err := fieldRef(c.opts.Fields.Owner)
		if err != nil {
			return "", err
		}
		terms = append(terms, ref+" = "+QuoteString(p.Owner))
	}
	if !p.ModifiedSince.IsZero() {
		mod := "LAST_MODIFIED_TIME()"
		if c.opts.Fields.Modified != "" {
			ref, err := fieldRef(c.opts.Fields.Modified)
			if err != nil {
				return "", err
			}
			mod = ref
		}
		since := QuoteString(p.ModifiedSince.UTC().Format(time.RFC3339Nano))
		terms = append(terms, "NOT(IS_BEFORE("+mod+", DATETIME_PARSE("+since+")))")
	}
	switch len(terms) {
	case 0:
		return "", nil
	case 1:
		return terms[0], nil
	}
	return "AND(" + strings.Join(terms, ", ") + ")", nil
}

// List returns one page of records matching p as contacts.
func (c *Client) List(ctx context.Context, p contacts.ListParams) ([]*herald.Contact, string, error) {
	formula, err := c.Formula(p)
	if err != nil {
		return nil, "", err
	}
	q := url.Values{}
	if formula != "" {
		q.Set("filterByFormula", formula)
	}
	size := p.PageSize
	if size <= 0 || size > MaxPageSize {
		size = MaxPageSize
	}
	q.Set("pageSize", strconv.Itoa(size))
	if p.Cursor != "" {
		q.Set("offset", p.Cursor)
	}
	if c.opts.View != "" {
		q.Set("view", c.opts.View)
	}
	var out struct {
		Records []Record `json:"records"`
		Offset  string   `json:"offset"`
	}
	if err := c.do(ctx, http.MethodGet, c.root+"?"+q.Encode(), nil, &out); err != nil {
		return nil, "", err
	}
	list := make([]*herald.Contact, 0, len(out.Records))
	for i := range out.Records {
		list = append(list, c.contact(&out.Records[i]))
	}
	return list, out.Offset, nil
}

// Get returns the record with Airtable ID id.
func (c *Client) Get(ctx context.Context, id string) (*herald.Contact, error) {
	if id == "" {
		return nil, fmt.Errorf("airtable: empty record ID: %w", herald.ErrInvalidInput)
	}
	var rec Record
	if err := c.do(ctx, http.MethodGet, c.root+"/"+url.PathEscape(id), nil, &rec); err != nil {
		return nil, err
	}
	return c.contact(&rec), nil
}

// FindByAddress returns the first record whose phone or email field equals
// address exactly (no substring matches). The table must hold phone numbers
// in E.164, as Frontline requires; a number stored as "(415) 555-2671" is
// not found by "+14155552671".
func (c *Client) FindByAddress(ctx context.Context, address string) (*herald.Contact, error) {
	var terms []string
	for _, f := range []string{c.opts.Fields.Phone, c.opts.Fields.Email} {
		if f == "" {
			continue
		}
		ref, err := fieldRef(f)
		if err != nil {
			return nil, err
		}
		terms = append(terms, ref+" = "+QuoteString(address))
	}
	if len(terms) == 0 {
		return nil, fmt.Errorf("airtable: no phone or email field mapped: %w", herald.ErrConfig)
	}
	formula := terms[0]
	if len(terms) > 1 {
		formula = "OR(" + strings.Join(terms, ", ") + ")"
	}
	q := url.Values{"filterByFormula": {formula}, "maxRecords": {"1"}, "pageSize": {"1"}}
	if c.opts.View != "" {
		q.Set("view", c.opts.View)
	}
	var out struct {
		Records []Record `json:"records"`
	}
	if err := c.do(ctx, http.MethodGet, c.root+"?"+q.Encode(), nil, &out); err != nil {
		return nil, err
	}
	if len(out.Records) == 0 {
		return nil, fmt.Errorf("airtable: no contact at that address: %w", herald.ErrNotFound)
	}
	return c.contact(&out.Records[0]), nil
}

// Create adds a record for ct and returns it.
func (c *Client) Create(ctx context.Context, ct *herald.Contact) (*herald.Contact, error) {
	body := map[string]any{"records": []map[string]any{{"fields": c.fields(ct)}}, "typecast": true}
	var out struct {
		Records []Record `json:"records"`
	}
	if err := c.do(ctx, http.MethodPost, c.root, body, &out); err != nil {
		return nil, err
	}
	if len(out.Records) != 1 {
		return nil, fmt.Errorf("airtable: create returned %d records", len(out.Records))
	}
	return c.contact(&out.Records[0]), nil
}

// Update sets the mapped fields of record ct.ID (a PATCH: unmapped fields
// are left as they are).
func (c *Client) Update(ctx context.Context, ct *herald.Contact) (*herald.Contact, error) {
	if ct.ID == "" {
		return nil, fmt.Errorf("airtable: update needs the record ID: %w", herald.ErrInvalidInput)
	}
	var rec Record
	body := map[string]any{"fields": c.fields(ct), "typecast": true}
	if err := c.do(ctx, http.MethodPatch, c.root+"/"+url.PathEscape(ct.ID), body, &rec); err != nil {
		return nil, err
	}
	return c.contact(&rec), nil
}

// Delete removes record id.
func (c *Client) Delete(ctx context.Context, id string) error {
	if id == "" {
		return fmt.Errorf("airtable: empty record ID: %w", herald.ErrInvalidInput)
	}
	var out struct {
		Deleted bool `json:"deleted"`
	}
	if err := c.do(ctx, http.MethodDelete, c.root+"/"+url.PathEscape(id), nil, &out); err != nil {
		return err
	}
	if !out.Deleted {
		return fmt.Errorf("airtable: record not deleted")
	}
	return nil
}

// contact maps a record.
func (c *Client) contact(r *Record) *herald.Contact {
	f := c.opts.Fields
	ct := &herald.Contact{ID: r.ID}
	get := func(name string) string {
		if name == "" {
			return ""
		}
		return strings.TrimSpace(str(r.Fields[name]))
	}
	ct.FirstName, ct.LastName = get(f.FirstName), get(f.LastName)
	if f.FirstName == "" && f.LastName == "" {
		name := get(f.Name)
		ct.FirstName, ct.LastName, _ = strings.Cut(name, " ")
		ct.LastName = strings.TrimSpace(ct.LastName)
	}
	ct.Phone = get(f.Phone)
	if p, err := contacts.NormalizePhone(ct.Phone, c.opts.Region); err == nil {
		ct.Phone = p
	}
	ct.Email = get(f.Email)
	if e, err := contacts.NormalizeEmail(ct.Email); err == nil {
		ct.Email = e
	}
	ct.Owner, ct.Zip, ct.ExternalID = get(f.Owner), get(f.Zip), get(f.ExternalID)
	if t, err := time.Parse(time.RFC3339, r.CreatedTime); err == nil {
		ct.CreatedAt, ct.UpdatedAt = t, t
	}
	if m := get(f.Modified); m != "" {
		if t, err := time.Parse(time.RFC3339, m); err == nil {
			ct.UpdatedAt = t
		}
	}
	mapped := map[string]bool{}
	for _, n := range []string{f.Name, f.FirstName, f.LastName, f.Phone, f.Email, f.Owner, f.Zip, f.ExternalID, f.Modified} {
		mapped[n] = true
	}
	names := f.Custom
	if names == nil {
		for k := range r.Fields {
			if !mapped[k] {
				names = append(names, k)
			}
		}
		sort.Strings(names)
	}
	for _, k := range names {
		if v, ok := r.Fields[k]; ok {
			if ct.CustomFields == nil {
				ct.CustomFields = map[string]string{}
			}
			ct.CustomFields[k] = str(v)
		}
	}
	return ct
}

// fields maps a contact for a write.
func (c *Client) fields(ct *herald.Contact) map[string]any {
	f := c.opts.Fields
	out := map[string]any{}
	set := func(name, v string) {
		if name != "" {
			out[name] = v
		}
	}
	if f.FirstName == "" && f.LastName == "" {
		set(f.Name, strings.TrimSpace(ct.FirstName+" "+ct.LastName))
	} else {
		set(f.FirstName, ct.FirstName)
		set(f.LastName, ct.LastName)
	}
	set(f.Phone, ct.Phone)
	set(f.Email, ct.Email)
	set(f.Owner, ct.Owner)
	set(f.Zip, ct.Zip)
	set(f.ExternalID, ct.ExternalID)
	allowed := map[string]bool{}
	for _, k := range f.Custom {
		allowed[k] = true
	}
	for k, v := range ct.CustomFields {
		if f.Custom == nil || allowed[k] {
			if _, taken := out[k]; !taken && k != f.Modified {
				out[k] = v
			}
		}
	}
	return out
}

// str renders a field value as text.
func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// APIError is an error answer from Airtable.
type APIError struct {
	Status int
	// Type is Airtable's error type ("NOT_FOUND", "INVALID_FILTER_BY_FORMULA").
	Type    string
	Message string
}

// Error says what Airtable answered.
func (e *APIError) Error() string {
	s := fmt.Sprintf("airtable: HTTP %d", e.Status)
	if e.Type != "" {
		s += " " + e.Type
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Unwrap maps the status to a herald error class.
func (e *APIError) Unwrap() error {
	switch {
	case e.Status == http.StatusNotFound:
		return herald.ErrNotFound
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
		return herald.ErrConfig
	case e.Status == http.StatusUnprocessableEntity || e.Status == http.StatusBadRequest:
		return herald.ErrInvalidInput
	}
	return nil
}

// do makes one request, paced, and decodes the answer into out.
func (c *Client) do(ctx context.Context, method, u string, body, out any) error {
	if c.lim != nil {
		if err := c.lim.Wait(ctx); err != nil {
			return fmt.Errorf("airtable: waiting for the rate limit: %w", err)
		}
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("airtable: encoding request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("airtable: building request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.opts.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("airtable: %s request: %w", method, redact(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("airtable: reading answer: %w", err)
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		wait := c.opts.Penalty
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			wait = time.Duration(s) * time.Second
		}
		return &contacts.RateLimitedError{RetryAfter: wait, Err: apiError(resp.StatusCode, data)}
	}
	if resp.StatusCode/100 != 2 {
		return apiError(resp.StatusCode, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("airtable: decoding answer: %w", err)
	}
	return nil
}

// redact drops the URL (which holds formulas with contact data) from a
// transport error.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// apiError reads Airtable's error shapes: {"error":"NOT_FOUND"},
// {"error":{"type":..., "message":...}} and {"errors":[{"error":...,
// "message":...}]}.
func apiError(status int, data []byte) *APIError {
	e := &APIError{Status: status}
	var v struct {
		Error  json.RawMessage `json:"error"`
		Errors []struct {
			Error   string `json:"error"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if json.Unmarshal(data, &v) != nil {
		return e
	}
	var s string
	var obj struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	}
	switch {
	case len(v.Error) > 0 && json.Unmarshal(v.Error, &s) == nil:
		e.Type = s
	case len(v.Error) > 0 && json.Unmarshal(v.Error, &obj) == nil:
		e.Type, e.Message = obj.Type, obj.Message
	case len(v.Errors) > 0:
		e.Type, e.Message = v.Errors[0].Error, v.Errors[0].Message
	}
	return e
}
