package contacts

import (
	"errors"
	"fmt"
	"strings"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/sms"
)

// Template is a message text with fields filled from a contact. Two
// placeholder styles are accepted, and may be mixed:
//
//   - Spoke's single braces: "Hi {firstName}!"
//   - double braces, as in Frontline's templates: "Hi {{first_name}}!"
//
// Spaces inside the braces are ignored ("{{ zip }}"). A backslash before a
// brace makes it literal ("\{" is "{", "\}" is "}", "\\" is "\"); a lone "}"
// is literal too. An opening brace that is not closed, a placeholder with
// no name, or a name holding a brace or a line break is a *TemplateError.
//
// Names are looked up in this order: the options' Extra values; the
// contact's top-level fields, compared folded as CSV headers are
// ("firstName", "first_name", "First Name"): firstName, lastName, cell
// (also phone, address), zip, email, externalId, owner (also worker),
// timezone, id (also customer_id: the ExternalID when set, else the ID),
// fullName (also display_name); then the contact's custom fields, exactly,
// then folded. A name found nowhere is missing, and the MissingPolicy
// decides.
//
// A parsed Template is immutable and safe for concurrent use.
type Template struct {
	// Name and Category are free labels for template lists.
	Name     string
	Category string
	text     string
	parts    []tmplPart
}

// tmplPart is literal text, or a placeholder when name is non-empty.
type tmplPart struct {
	lit  string
	name string
	// raw is the placeholder as written, for MissingKeep.
	raw string
}

// TemplateError says where and why a template cannot be parsed. It wraps
// herald.ErrInvalidInput.
type TemplateError struct {
	// Offset is the byte offset of the problem in the template text.
	Offset int
	Reason string
}

// Error says what is wrong and where.
func (e *TemplateError) Error() string {
	return fmt.Sprintf("contacts: template: %s at byte %d", e.Reason, e.Offset)
}

// Unwrap returns herald.ErrInvalidInput.
func (e *TemplateError) Unwrap() error { return herald.ErrInvalidInput }

// MaxTemplateLen is the longest template text accepted, in bytes.
const MaxTemplateLen = 64 << 10

// ParseTemplate parses text.
func ParseTemplate(text string) (*Template, error) {
	if len(text) > MaxTemplateLen {
		return nil, &TemplateError{Offset: MaxTemplateLen, Reason: fmt.Sprintf("too long (%d bytes, at most %d)", len(text), MaxTemplateLen)}
	}
	t := &Template{text: text}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			t.parts = append(t.parts, tmplPart{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == '\\' && i+1 < len(text) && (text[i+1] == '{' || text[i+1] == '}' || text[i+1] == '\\'):
			lit.WriteByte(text[i+1])
			i += 2
		case c == '{':
			double := strings.HasPrefix(text[i:], "{{")
			open, closing := 1, "}"
			if double {
				open, closing = 2, "}}"
			}
			rest := text[i+open:]
			end := strings.Index(rest, closing)
			stop := strings.IndexAny(rest, "{\n\r")
			if end < 0 || (stop >= 0 && stop < end) {
				return nil, &TemplateError{Offset: i, Reason: fmt.Sprintf("%q is not closed by %q", text[i:i+open], closing)}
			}
			name := strings.TrimSpace(rest[:end])
			if name == "" {
				return nil, &TemplateError{Offset: i, Reason: "placeholder has no field name"}
			}
			if strings.ContainsAny(name, "}") {
				return nil, &TemplateError{Offset: i, Reason: "field name holds a brace"}
			}
			flush()
			t.parts = append(t.parts, tmplPart{name: name, raw: text[i : i+open+end+len(closing)]})
			i += open + end + len(closing)
		default:
			lit.WriteByte(c)
			i++
		}
	}
	flush()
	return t, nil
}

// MustParseTemplate is ParseTemplate that panics on error, for templates
// written in code.
func MustParseTemplate(text string) *Template {
	t, err := ParseTemplate(text)
	if err != nil {
		panic(err)
	}
	return t
}

// Text returns the template as written.
func (t *Template) Text() string { return t.text }

// Fields returns the placeholder names in order of first use.
func (t *Template) Fields() []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range t.parts {
		if p.name != "" && !seen[p.name] {
			seen[p.name] = true
			out = append(out, p.name)
		}
	}
	return out
}

// MissingPolicy says what a placeholder whose field is missing becomes.
type MissingPolicy int

// Missing-field policies.
const (
	// MissingError makes Render fail with a *MissingFieldsError (the
	// default: a message must not go out with a hole in it).
	MissingError MissingPolicy = iota
	// MissingEmpty renders nothing in its place.
	MissingEmpty
	// MissingKeep keeps the placeholder as written.
	MissingKeep
)

// RenderOptions tunes Render.
type RenderOptions struct {
	Missing MissingPolicy
	// Extra values are looked up before the contact's fields (texter
	// names, the organization, a link), by exact then folded name.
	Extra map[string]string
}

// Rendered is a filled-in template.
type Rendered struct {
	Text string
	// Encoding and Segments are what the text costs as an SMS (sms.Count).
	Encoding sms.Encoding
	Segments int
	// Missing lists, in order of first use, the fields that were missing
	// (with MissingEmpty or MissingKeep).
	Missing []string
}

// MissingFieldsError lists the fields a template needs and a contact
// lacks. It wraps herald.ErrInvalidInput.
type MissingFieldsError struct {
	Fields []string
}

// Error names the missing fields.
func (e *MissingFieldsError) Error() string {
	return "contacts: template needs fields the contact lacks: " + strings.Join(e.Fields, ", ")
}

// Unwrap returns herald.ErrInvalidInput.
func (e *MissingFieldsError) Unwrap() error { return herald.ErrInvalidInput }

// Render fills the template from c (which may be nil: only Extra values are
// then found).
func (t *Template) Render(c *herald.Contact, opts RenderOptions) (Rendered, error) {
	var b strings.Builder
	var missing []string
	for _, p := range t.parts {
		if p.name == "" {
			b.WriteString(p.lit)
			continue
		}
		v, ok := lookupField(c, opts.Extra, p.name)
		if ok {
			b.WriteString(v)
			continue
		}
		if !contains(missing, p.name) {
			missing = append(missing, p.name)
		}
		if opts.Missing == MissingKeep {
			b.WriteString(p.raw)
		}
	}
	if len(missing) > 0 && opts.Missing == MissingError {
		return Rendered{}, &MissingFieldsError{Fields: missing}
	}
	r := Rendered{Text: b.String(), Missing: missing}
	r.Encoding, r.Segments = sms.Count(r.Text)
	return r, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// lookupField finds a placeholder's value.
func lookupField(c *herald.Contact, extra map[string]string, name string) (string, bool) {
	folded := foldHeader(name)
	if v, ok := extra[name]; ok {
		return v, true
	}
	for k, v := range extra {
		if foldHeader(k) == folded {
			return v, true
		}
	}
	if c == nil {
		return "", false
	}
	switch folded {
	case "firstname":
		return c.FirstName, true
	case "lastname":
		return c.LastName, true
	case "fullname", "displayname", "name":
		return strings.TrimSpace(c.FirstName + " " + c.LastName), true
	case "cell", "phone", "address":
		return c.Phone, true
	case "zip":
		return c.Zip, true
	case "email":
		return c.Email, true
	case "externalid":
		return c.ExternalID, true
	case "owner", "worker":
		return c.Owner, true
	case "timezone":
		return c.Timezone, true
	case "id", "customerid", "contactid":
		if folded == "customerid" && c.ExternalID != "" {
			return c.ExternalID, true
		}
		return c.ID, true
	}
	if v, ok := c.CustomFields[name]; ok {
		return v, true
	}
	for k, v := range c.CustomFields {
		if foldHeader(k) == folded {
			return v, true
		}
	}
	return "", false
}

// TemplateCategory is the templates of one category filled for a contact:
// Frontline's templates callback answer.
type TemplateCategory struct {
	Category  string
	Templates []CategorizedTemplate
}

// CategorizedTemplate is one template of a category, filled.
type CategorizedTemplate struct {
	Name string
	Rendered
}

// TemplatesByCategory fills every template for c and groups them by
// Category, categories in order of first appearance and templates in the
// given order. With MissingError, a template the contact cannot fill is
// left out of the list (the others are still offered) and its error is
// returned joined with the others'; with the other policies none is left out.
func TemplatesByCategory(templates []*Template, c *herald.Contact, opts RenderOptions) ([]TemplateCategory, error) {
	var out []TemplateCategory
	index := map[string]int{}
	var errs []error
	for _, t := range templates {
		r, err := t.Render(c, opts)
		if err != nil {
			errs = append(errs, fmt.Errorf("template %q: %w", t.Name, err))
			continue
		}
		i, ok := index[t.Category]
		if !ok {
			i = len(out)
			index[t.Category] = i
			out = append(out, TemplateCategory{Category: t.Category})
		}
		out[i].Templates = append(out[i].Templates, CategorizedTemplate{Name: t.Name, Rendered: r})
	}
	return out, errors.Join(errs...)
}
