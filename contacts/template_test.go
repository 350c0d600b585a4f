package contacts

import (
	"strings"
	"testing"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/sms"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var ada = &herald.Contact{
	ID: "c1", ExternalID: "EX-9", FirstName: "Ada", LastName: "Lovelace", Phone: "+14155552671",
	Zip: "02139", Owner: "grace@example.com", CustomFields: map[string]string{"Polling Place": "Town Hall", "team": ""},
}

func TestTemplateRender(t *testing.T) {
	tests := []struct{ name, tmpl, want string }{
		{"spoke style", "Hi {firstName}, vote at {Polling Place}!", "Hi Ada, vote at Town Hall!"},
		{"double braces", "Hi {{ first_name }} {{lastName}}", "Hi Ada Lovelace"},
		{"mixed and folded", "{FIRST NAME}/{{display_name}}/{{customer_id}}/{{worker}}/{zip}/{cell}", "Ada/Ada Lovelace/EX-9/grace@example.com/02139/+14155552671"},
		{"custom folded", "{{polling_place}}", "Town Hall"},
		{"empty custom is present", "[{team}]", "[]"},
		{"escapes", `\{firstName\} is {firstName} \\ }`, `{firstName} is Ada \ }`},
		{"no fields", "plain text", "plain text"},
		{"extra wins", "{texterFirstName} for {firstName}", "Sam for Ada"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp, err := ParseTemplate(tt.tmpl)
			require.NoError(t, err)
			r, err := tp.Render(ada, RenderOptions{Extra: map[string]string{"texterFirstName": "Sam"}})
			require.NoError(t, err)
			assert.Equal(t, tt.want, r.Text)
			enc, n := sms.Count(tt.want)
			assert.Equal(t, enc, r.Encoding)
			assert.Equal(t, n, r.Segments)
		})
	}
}

func TestTemplateMissingPolicy(t *testing.T) {
	tp := MustParseTemplate("Hi {firstName}, {{ shoe_size }} and {shoe_size} {mood}")
	assert.Equal(t, []string{"firstName", "shoe_size", "mood"}, tp.Fields())

	_, err := tp.Render(ada, RenderOptions{})
	var mf *MissingFieldsError
	require.ErrorAs(t, err, &mf)
	assert.Equal(t, []string{"shoe_size", "mood"}, mf.Fields)
	assert.ErrorIs(t, err, herald.ErrInvalidInput)

	r, err := tp.Render(ada, RenderOptions{Missing: MissingEmpty})
	require.NoError(t, err)
	assert.Equal(t, "Hi Ada,  and  ", r.Text)
	assert.Equal(t, []string{"shoe_size", "mood"}, r.Missing)

	r, err = tp.Render(ada, RenderOptions{Missing: MissingKeep})
	require.NoError(t, err)
	assert.Equal(t, "Hi Ada, {{ shoe_size }} and {shoe_size} {mood}", r.Text)
}

func TestTemplateSegments(t *testing.T) {
	r, err := MustParseTemplate("{firstName} "+strings.Repeat("x", 200)).Render(ada, RenderOptions{})
	require.NoError(t, err)
	assert.Equal(t, sms.GSM7, r.Encoding)
	assert.Equal(t, 2, r.Segments)
	r, err = MustParseTemplate("Hola {firstName} 😀").Render(ada, RenderOptions{})
	require.NoError(t, err)
	assert.Equal(t, sms.UCS2, r.Encoding)
	assert.Equal(t, 1, r.Segments)
}

func TestParseTemplateErrors(t *testing.T) {
	tests := []struct {
		tmpl   string
		offset int
		want   string
	}{
		{"Hi {firstName", 3, `"{" is not closed`},
		{"Hi {{firstName}", 3, `"{{" is not closed by "}}"`},
		{"Hi {{firstName", 3, "not closed"},
		{"{a {b}", 0, "not closed"},
		{"{a\n}", 0, "not closed"},
		{"x {}", 2, "no field name"},
		{"x {{  }}", 2, "no field name"},
		{"{{a}b}}", 0, "brace"},
		{"end {", 4, "not closed"},
	}
	for _, tt := range tests {
		t.Run(tt.tmpl, func(t *testing.T) {
			_, err := ParseTemplate(tt.tmpl)
			var te *TemplateError
			require.ErrorAs(t, err, &te)
			assert.Equal(t, tt.offset, te.Offset)
			assert.Contains(t, err.Error(), tt.want)
			assert.ErrorIs(t, err, herald.ErrInvalidInput)
		})
	}
	_, err := ParseTemplate(strings.Repeat("a", MaxTemplateLen+1))
	assert.ErrorContains(t, err, "too long")
	assert.Panics(t, func() { MustParseTemplate("{") })
}

func TestTemplatesByCategory(t *testing.T) {
	mk := func(cat, name, text string) *Template {
		tp := MustParseTemplate(text)
		tp.Category, tp.Name = cat, name
		return tp
	}
	list := []*Template{
		mk("Greetings", "hello", "Hello {{display_name}}"),
		mk("Follow-up", "vote", "Vote at {Polling Place}"),
		mk("Greetings", "hi", "Hi {firstName}"),
		mk("Follow-up", "broken", "Your size: {shoe}"),
	}
	got, err := TemplatesByCategory(list, ada, RenderOptions{})
	assert.ErrorContains(t, err, `template "broken"`)
	require.Len(t, got, 2)
	assert.Equal(t, "Greetings", got[0].Category)
	require.Len(t, got[0].Templates, 2)
	assert.Equal(t, "Hello Ada Lovelace", got[0].Templates[0].Text)
	assert.Equal(t, "hi", got[0].Templates[1].Name)
	assert.Equal(t, "Follow-up", got[1].Category)
	require.Len(t, got[1].Templates, 1, "the template the contact cannot fill is left out")

	got, err = TemplatesByCategory(list, ada, RenderOptions{Missing: MissingKeep})
	require.NoError(t, err)
	assert.Len(t, got[1].Templates, 2)
}

func FuzzTemplate(f *testing.F) {
	for _, s := range []string{
		"Hi {firstName}", "{{ a }}{b}", `\{x\}`, "{", "}", "{{", "{}", "{{a}b}}", "{a\n}", "x{{y}}z{w}\\",
		"😀 {firstName} {{Polling Place}}", "{{{a}}}", "\\",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		tp, err := ParseTemplate(text)
		if err != nil {
			var te *TemplateError
			require.ErrorAs(t, err, &te)
			require.GreaterOrEqual(t, te.Offset, 0)
			require.LessOrEqual(t, te.Offset, len(text))
			return
		}
		require.Equal(t, text, tp.Text())
		// Keeping every placeholder with no contact gives the text back,
		// escapes resolved.
		kept, err := tp.Render(nil, RenderOptions{Missing: MissingKeep})
		require.NoError(t, err)
		empty, err := tp.Render(nil, RenderOptions{Missing: MissingEmpty})
		require.NoError(t, err)
		require.LessOrEqual(t, len(empty.Text), len(kept.Text))
		require.LessOrEqual(t, len(kept.Text), len(text))
		require.Len(t, empty.Missing, len(tp.Fields()))
		_, err = tp.Render(nil, RenderOptions{})
		if len(tp.Fields()) > 0 {
			require.Error(t, err)
		} else {
			require.NoError(t, err)
			require.Equal(t, kept.Text, empty.Text)
		}
		_, n := sms.Count(kept.Text)
		require.Equal(t, n, kept.Segments)
	})
}
