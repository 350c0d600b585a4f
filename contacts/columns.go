package contacts

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/heraldmsg/herald"
)

// Field names a top-level contact field a column can fill. Every other
// column is a custom field.
type Field string

// The top-level fields.
const (
	FieldFirstName  Field = "first_name"
	FieldLastName   Field = "last_name"
	FieldCell       Field = "cell"
	FieldZip        Field = "zip"
	FieldExternalID Field = "external_id"
	FieldEmail      Field = "email"
	FieldOwner      Field = "owner"
)

// label is how a field is named in errors.
func (f Field) label() string {
	switch f {
	case FieldFirstName:
		return "first name"
	case FieldLastName:
		return "last name"
	case FieldExternalID:
		return "external ID"
	}
	return string(f)
}

// DefaultRequired are the columns a contact file must have, as in Spoke:
// first name, last name and cell.
var DefaultRequired = []Field{FieldFirstName, FieldLastName, FieldCell}

// DefaultAliases maps each top-level field to the header names that fill
// it. Headers are compared folded: case, spaces, '_', '-' and '.' are
// ignored, so "First Name", "first_name" and "firstName" are all
// "firstname".
var DefaultAliases = map[Field][]string{
	FieldFirstName:  {"firstname", "first", "fname", "givenname", "forename"},
	FieldLastName:   {"lastname", "last", "lname", "surname", "familyname"},
	FieldCell:       {"cell", "cellphone", "cellnumber", "mobile", "mobilephone", "mobilenumber", "phone", "phonenumber", "tel", "telephone", "sms"},
	FieldZip:        {"zip", "zipcode", "zip5", "postal", "postalcode", "postcode"},
	FieldExternalID: {"externalid", "extid", "externalidentifier"},
	FieldEmail:      {"email", "emailaddress", "mail"},
	FieldOwner:      {"owner", "assignedto", "texter", "worker"},
}

// foldHeader is the comparison form of a header.
func foldHeader(h string) string {
	var b strings.Builder
	for _, r := range strings.TrimSpace(h) {
		switch {
		case r == ' ' || r == '_' || r == '-' || r == '.' || r == '\t':
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// MissingColumnsError says which required columns a header lacks. It wraps
// herald.ErrInvalidInput.
type MissingColumnsError struct {
	// Missing lists the missing fields in the order they were required.
	Missing []Field
	aliases map[Field][]string
}

// Error names each missing column and the headers accepted for it.
func (e *MissingColumnsError) Error() string {
	parts := make([]string, len(e.Missing))
	for i, f := range e.Missing {
		parts[i] = fmt.Sprintf("%s (a column named one of: %s)", f.label(), strings.Join(e.aliases[f], ", "))
	}
	return "contacts: missing required columns: " + strings.Join(parts, "; ")
}

// Unwrap returns herald.ErrInvalidInput.
func (e *MissingColumnsError) Unwrap() error { return herald.ErrInvalidInput }

// columnMap says what each column of a header fills.
type columnMap struct {
	// field[i] is the top-level field of column i, or "" for a custom one.
	field []Field
	// custom[i] is the custom field name of column i, or "" when column i
	// is top-level or has an empty header (ignored).
	custom  []string
	nCustom int
}

// mapColumns resolves a header against aliases and required fields.
func mapColumns(header []string, aliases map[Field][]string, required []Field) (*columnMap, error) {
	if aliases == nil {
		aliases = DefaultAliases
	}
	byName := make(map[string]Field)
	for f, names := range aliases {
		for _, n := range names {
			byName[foldHeader(n)] = f
		}
	}
	m := &columnMap{field: make([]Field, len(header)), custom: make([]string, len(header))}
	seenField := map[Field]int{}
	seenCustom := map[string]int{}
	for i, h := range header {
		name := strings.TrimSpace(h)
		if f, ok := byName[foldHeader(name)]; ok {
			if j, dup := seenField[f]; dup {
				return nil, fmt.Errorf("contacts: columns %d (%q) and %d (%q) both give the %s: %w",
					j+1, clip(header[j]), i+1, clip(name), f.label(), herald.ErrInvalidInput)
			}
			seenField[f] = i
			m.field[i] = f
			continue
		}
		if name == "" {
			continue
		}
		if j, dup := seenCustom[name]; dup {
			return nil, fmt.Errorf("contacts: columns %d and %d have the same header %q: %w", j+1, i+1, clip(name), herald.ErrInvalidInput)
		}
		seenCustom[name] = i
		m.custom[i] = name
		m.nCustom++
	}
	var missing []Field
	for _, f := range required {
		if _, ok := seenField[f]; !ok {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return nil, &MissingColumnsError{Missing: missing, aliases: aliases}
	}
	return m, nil
}

// clip shortens a header for an error message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// contact builds a contact from one row's values (missing trailing values
// are empty; extra values are ignored).
func (m *columnMap) contact(values []string) *herald.Contact {
	c := &herald.Contact{}
	if m.nCustom > 0 {
		c.CustomFields = make(map[string]string, m.nCustom)
	}
	for i := range m.field {
		v := ""
		if i < len(values) {
			v = values[i]
		}
		switch m.field[i] {
		case "":
			if name := m.custom[i]; name != "" {
				c.CustomFields[name] = v
			}
		case FieldFirstName:
			c.FirstName = strings.TrimSpace(v)
		case FieldLastName:
			c.LastName = strings.TrimSpace(v)
		case FieldCell:
			c.Phone = strings.TrimSpace(v)
		case FieldZip:
			c.Zip = NormalizeZip(v)
		case FieldExternalID:
			c.ExternalID = strings.TrimSpace(v)
		case FieldEmail:
			c.Email = strings.TrimSpace(v)
		case FieldOwner:
			c.Owner = strings.TrimSpace(v)
		}
	}
	return c
}
