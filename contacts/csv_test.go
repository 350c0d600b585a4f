package contacts

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/heraldmsg/herald"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func readAll(t testing.TB, in string, opts CSVOptions) ([]*herald.Contact, error) {
	t.Helper()
	var out []*herald.Contact
	for c, err := range ReadCSV(context.Background(), strings.NewReader(in), opts) {
		if err != nil {
			return out, err
		}
		out = append(out, c)
	}
	return out, nil
}

func TestReadCSVAliasesAndCustomFields(t *testing.T) {
	in := "\ufeffFirst Name,last_name,Mobile,Zip Code,externalId,Email,Team,Notes\r\n" +
		"Ada,Lovelace,(415) 555-2671,02139-4307,A1,ada@example.com,red,\"likes, commas\"\r\n" +
		"\r\n" +
		"Bob,Smith,+14155552672, 94110 ,,,blue,\"two\r\nlines \"\"quoted\"\"\"\r\n" +
		"Cy,Short,4155552673\r\n" +
		"Di,Extra,4155552674,,,,green,n,surplus,more\r\n"
	got, err := readAll(t, in, CSVOptions{})
	require.NoError(t, err)
	require.Len(t, got, 4)

	a := got[0]
	assert.Equal(t, "Ada", a.FirstName)
	assert.Equal(t, "Lovelace", a.LastName)
	assert.Equal(t, "(415) 555-2671", a.Phone, "the loader keeps the raw phone; the dispatcher normalises")
	assert.Equal(t, "02139", a.Zip)
	assert.Equal(t, "A1", a.ExternalID)
	assert.Equal(t, "ada@example.com", a.Email)
	assert.Equal(t, map[string]string{"Team": "red", "Notes": "likes, commas"}, a.CustomFields)

	assert.Equal(t, "94110", got[1].Zip)
	assert.Equal(t, "two\nlines \"quoted\"", got[1].CustomFields["Notes"], "CRLF inside quotes reads as LF")
	assert.Equal(t, map[string]string{"Team": "", "Notes": ""}, got[2].CustomFields, "short row: empty values")
	assert.Equal(t, map[string]string{"Team": "green", "Notes": "n"}, got[3].CustomFields, "extra values ignored")
}

func TestReadCSVMissingColumns(t *testing.T) {
	_, err := readAll(t, "name,phone_number,city\nAda,4155552671,Paris\n", CSVOptions{})
	var mc *MissingColumnsError
	require.ErrorAs(t, err, &mc)
	assert.Equal(t, []Field{FieldFirstName, FieldLastName}, mc.Missing)
	assert.ErrorIs(t, err, herald.ErrInvalidInput)
	assert.Contains(t, err.Error(), "first name (a column named one of: firstname")
	assert.Contains(t, err.Error(), "last name")
	assert.NotContains(t, err.Error(), "cell")

	_, err = readAll(t, "first,last\n", CSVOptions{})
	require.ErrorAs(t, err, &mc)
	assert.Equal(t, []Field{FieldCell}, mc.Missing)

	// Required can be relaxed.
	got, err := readAll(t, "cell\n4155552671\n", CSVOptions{Required: []Field{FieldCell}})
	require.NoError(t, err)
	require.Len(t, got, 1)
}

func TestReadCSVHeaderErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"empty file", "", "empty"},
		{"two cell columns", "first,last,phone,mobile\n", "both give the cell"},
		{"duplicate custom", "first,last,cell,x,x\n", "same header"},
		{"bad quote in header", "first,last,\"cell\n", "line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readAll(t, tt.in, CSVOptions{})
			require.Error(t, err)
			assert.ErrorIs(t, err, herald.ErrInvalidInput)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestReadCSVMalformedRowIsFatal(t *testing.T) {
	in := "first,last,cell\nA,B,4155552671\nC,D\"x,4155552672\nE,F,4155552673\n"
	got, err := readAll(t, in, CSVOptions{})
	require.Error(t, err)
	assert.Len(t, got, 1)
	assert.Contains(t, err.Error(), "line 3")
	assert.NotContains(t, err.Error(), "4155552672")
}

func TestReadCSVSemicolonAndCustomAliases(t *testing.T) {
	in := "vorname;nachname;handy;plz\nAda;L;015112345678;10115\n"
	got, err := readAll(t, in, CSVOptions{Comma: ';', Aliases: map[Field][]string{
		FieldFirstName: {"vorname"}, FieldLastName: {"nachname"}, FieldCell: {"handy"}, FieldZip: {"plz"},
	}})
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "015112345678", got[0].Phone)
	assert.Equal(t, "10115", got[0].Zip)
	assert.Nil(t, got[0].CustomFields)
}

func TestCSVLoaderOnce(t *testing.T) {
	l := NewCSVLoader(strings.NewReader("first,last,cell\nA,B,1\n"), CSVOptions{Detail: "list.csv"})
	assert.Equal(t, LoaderMetadata{Name: "csv", DisplayName: "CSV file", Detail: "list.csv", Fresh: true}, l.Metadata())
	n := 0
	for _, err := range l.Load(context.Background()) {
		require.NoError(t, err)
		n++
	}
	assert.Equal(t, 1, n)
	for _, err := range l.Load(context.Background()) {
		assert.ErrorIs(t, err, ErrConsumed)
	}
}

func TestReadCSVCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var err error
	for _, e := range ReadCSV(ctx, strings.NewReader("first,last,cell\nA,B,1\n"), CSVOptions{}) {
		err = e
	}
	assert.ErrorIs(t, err, context.Canceled)
}

func TestReadCSVEarlyBreakStopsReading(t *testing.T) {
	r := &countingReader{r: strings.NewReader("first,last,cell\n" + strings.Repeat("A,B,4155552671\n", 100000))}
	for range ReadCSV(context.Background(), r, CSVOptions{}) {
		break
	}
	assert.Less(t, r.n, 100000, "the loader stopped reading after the consumer stopped")
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestNormalizeZip(t *testing.T) {
	for in, want := range map[string]string{
		"02139": "02139", " 02139-4307 ": "02139", "02139 4307": "02139", "2139": "2139",
		"sw1a  1aa": "SW1A 1AA", "": "", "123456": "123456", "12345-67": "12345-67",
	} {
		assert.Equal(t, want, NormalizeZip(in), in)
	}
}

func TestWithProgress(t *testing.T) {
	in := "first,last,cell\n" + strings.Repeat("A,B,1\n", 25)
	var got []Progress
	seq := WithProgress(ReadCSV(context.Background(), strings.NewReader(in), CSVOptions{}), 10, func(p Progress) { got = append(got, p) })
	for range seq {
	}
	assert.Equal(t, []Progress{{Rows: 10}, {Rows: 20}, {Rows: 25, Done: true}}, got)

	got = nil
	for range WithProgress(ReadCSV(context.Background(), strings.NewReader(in), CSVOptions{}), 10, func(p Progress) { got = append(got, p) }) {
		break
	}
	assert.Equal(t, []Progress{{Rows: 1, Done: true}}, got, "an abandoned load still reports Done")
}

func FuzzReadCSV(f *testing.F) {
	for _, s := range []string{
		"first,last,cell\nA,B,4155552671\n",
		"\ufeffFirst Name,Last Name,Phone,zip,notes\r\nA,B,\"(415) 555-2671\",02139,\"x,\ny\"\r\n",
		"first,last\n", "", "\n\n", "first,last,cell\n\"unterminated\n", "a\"b,c\n",
		"first,last,cell,x,x\n", "cell,mobile\n", "first,last,cell\n,,,,,,\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		rows := 0
		var last error
		for c, err := range ReadCSV(context.Background(), strings.NewReader(in), CSVOptions{}) {
			if err != nil {
				require.Nil(t, last, "a second error after a fatal one")
				last = err
				continue
			}
			require.Nil(t, last, "a contact after a fatal error")
			require.NotNil(t, c)
			rows++
			require.Equal(t, strings.TrimSpace(c.Phone), c.Phone)
			require.Equal(t, strings.TrimSpace(c.FirstName), c.FirstName)
		}
		if last != nil {
			var mc *MissingColumnsError
			require.True(t, errors.Is(last, herald.ErrInvalidInput) || errors.As(last, &mc), "error %v", last)
		}
		require.LessOrEqual(t, rows, strings.Count(in, "\n")+1)
	})
}

// BenchmarkReadCSV measures the CSV loader alone: parsing and building
// contacts, nothing kept.
func BenchmarkReadCSV(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("\ufeffFirst Name,Last Name,Phone Number,Zip Code,External ID,Team,Notes\r\n")
	const rows = 100000
	for i := range rows {
		sb.WriteString("Ada,Lovelace,(415) 555-2671,02139-4307,X" + strconv.Itoa(i) + ",red,\"said \"\"hi\"\", then left\"\r\n")
	}
	file := sb.String()
	b.ReportAllocs()
	b.SetBytes(int64(len(file)))
	for b.Loop() {
		for _, err := range ReadCSV(context.Background(), strings.NewReader(file), CSVOptions{}) {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
