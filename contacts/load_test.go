package contacts_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/contacts"
	"github.com/heraldmsg/herald/dispatch"
	"github.com/heraldmsg/herald/stores/memstore"
	"github.com/heraldmsg/herald/vendors/fake"
)

// csvSpec is what a generated contact file holds, by kind of row.
type csvSpec struct {
	valid, missing, blankCell, invalid, letters, dupes, optedOut, blankLines int
	// optOuts are the E.164 numbers of the opted-out rows.
	optOuts []string
}

// usNumber returns the n-th of a sequence of distinct US numbers
// (n below 56 million); it panics if one is not valid, so the expected
// counts of the tests stay exact.
func usNumber(n int) string {
	areas := []string{"212", "303", "415", "617", "702", "808", "312"}
	s := fmt.Sprintf("+1%s%03d%04d", areas[n%7], 200+(n/7)%800, (n/(7*800))%10000)
	if _, err := contacts.NormalizePhone(s, "US"); err != nil {
		panic("generated an invalid number: " + err.Error())
	}
	return s
}

// writeContactsCSV writes a contact file of rows data rows (not counting
// blank lines) mixing every kind of row a campaign load meets, and
// returns what it wrote. Valid numbers come in national and E.164 forms;
// duplicates repeat an earlier valid number in another form.
func writeContactsCSV(w io.Writer, rows int) (csvSpec, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	var s csvSpec
	fmt.Fprint(bw, "\ufeffFirst Name,Last Name,Phone Number,Zip Code,External ID,Team,Notes\r\n")
	next := 0
	var lastValid string
	for i := 0; i < rows; i++ {
		var cell, notes string
		switch i % 20 {
		case 3:
			s.missing++ // no cell at all (a short row)
			fmt.Fprintf(bw, "Nic,Cell%d\r\n", i)
			continue
		case 5:
			s.blankCell++
			cell = "   "
		case 7:
			s.invalid++
			cell = "12345"
		case 9:
			s.letters++
			cell = "415-CALL-NOW"
		case 11:
			s.dupes++
			d := lastValid // the same number, written the national way
			cell = fmt.Sprintf("(%s) %s-%s", d[2:5], d[5:8], d[8:])
		case 13:
			s.optedOut++
			num := usNumber(next)
			next++
			s.optOuts = append(s.optOuts, num)
			cell = num
		case 17:
			s.blankLines++
			fmt.Fprint(bw, "\r\n")
			fallthrough
		default:
			s.valid++
			lastValid = usNumber(next)
			next++
			cell = lastValid
			if i%2 == 0 {
				cell = fmt.Sprintf("%s.%s.%s", lastValid[2:5], lastValid[5:8], lastValid[8:])
			}
			notes = "\"said \"\"hi\"\", then left\""
		}
		fmt.Fprintf(bw, "First%d,Last%d,%s,%05d,X%d,team-%d,%s\r\n", i, i, cell, i%100000, i, i%7, notes)
	}
	return s, bw.Flush()
}

func newDispatcher(t testing.TB) (*dispatch.Dispatcher, *memstore.Store) {
	st := memstore.New()
	d, err := dispatch.New(dispatch.Config{Store: st, Vendors: []herald.Vendor{fake.New(fake.Options{Quiet: true})}})
	require.NoError(t, err)
	_, err = d.CreateCampaign(context.Background(), &herald.Campaign{ID: "c1", OrgID: "org"})
	require.NoError(t, err)
	return d, st
}

func TestLoad100kRowsThroughDispatcher(t *testing.T) {
	if testing.Short() {
		t.Skip("100k rows")
	}
	ctx := context.Background()
	var sb strings.Builder
	spec, err := writeContactsCSV(&sb, 100000)
	require.NoError(t, err)
	d, st := newDispatcher(t)
	for _, n := range spec.optOuts {
		_, err := st.PutOptOut(ctx, &herald.OptOut{OrgID: "org", Address: n, Channel: herald.ChannelSMS, Reason: "stop"})
		require.NoError(t, err)
	}
	loader := contacts.NewCSVLoader(strings.NewReader(sb.String()), contacts.CSVOptions{Detail: "contacts.csv"})
	var reports []contacts.Progress
	src := contacts.WithProgress(loader.Load(ctx), 25000, func(p contacts.Progress) { reports = append(reports, p) })
	limit := spec.valid - 1000
	stats, err := d.LoadContacts(ctx, "org", "c1", src, dispatch.LoadOptions{MaxContacts: limit, LoaderName: loader.Metadata().Name})
	require.NoError(t, err)

	assert.Equal(t, 100000, stats.Loaded)
	assert.Equal(t, spec.missing+spec.blankCell, stats.MissingCell)
	assert.Equal(t, spec.invalid+spec.letters, stats.InvalidCell)
	assert.Equal(t, spec.dupes, stats.Duplicates)
	assert.Equal(t, spec.optedOut, stats.OptedOut)
	assert.Equal(t, 1000, stats.OverLimit)
	assert.Equal(t, limit, stats.FinalCount)
	assert.Equal(t, "csv", stats.LoaderName)
	assert.Len(t, stats.Rejected, 20)
	assert.Equal(t, 100000, spec.valid+spec.missing+spec.blankCell+spec.invalid+spec.letters+spec.dupes+spec.optedOut)
	for _, r := range stats.Rejected {
		assert.NotRegexp(t, `\d{7}`, r.Value+r.Reason, "a rejected row shows a full number")
	}
	assert.Equal(t, contacts.Progress{Rows: 100000, Done: true}, reports[len(reports)-1])
	assert.Len(t, reports, 5)

	n := 0
	for c, err := range st.ListContacts(ctx, "org", "c1") {
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(c.Phone, "+1"), "stored in E.164")
		if n == 0 {
			assert.Equal(t, `said "hi", then left`, c.CustomFields["Notes"])
			assert.Equal(t, "org", c.OrgID)
		}
		n++
	}
	assert.Equal(t, limit, n)

	// A load that fails part-way leaves the previous contacts in place.
	bad := "first,last,cell\nA,B,+14155552671\nC,\"D,+14155552672\n"
	_, err = d.LoadContacts(ctx, "org", "c1", contacts.ReadCSV(ctx, strings.NewReader(bad), contacts.CSVOptions{}), dispatch.LoadOptions{})
	require.Error(t, err)
	n = 0
	for range st.ListContacts(ctx, "org", "c1") {
		n++
	}
	assert.Equal(t, limit, n, "a failed load kept the old set")
}

func TestLoadMissingColumnsThroughDispatcher(t *testing.T) {
	ctx := context.Background()
	d, _ := newDispatcher(t)
	_, err := d.LoadContacts(ctx, "org", "c1", contacts.ReadCSV(ctx, strings.NewReader("name,phone\nA,1\n"), contacts.CSVOptions{}), dispatch.LoadOptions{})
	var mc *contacts.MissingColumnsError
	require.ErrorAs(t, err, &mc)
	assert.Contains(t, err.Error(), "first name")
}

// BenchmarkLoadCSV1M loads a 1,000,000-row contact file (the mix of
// writeContactsCSV: 65% valid) through the dispatcher into memstore.
func BenchmarkLoadCSV1M(b *testing.B) {
	benchmarkLoadCSV(b, 1000000, true)
}

// BenchmarkLoadCSV100k is the same with 100,000 rows, with the contacts
// handed over (fresh, as LoadFrom does for the CSV loader) and copied.
func BenchmarkLoadCSV100k(b *testing.B) {
	b.Run("fresh", func(b *testing.B) { benchmarkLoadCSV(b, 100000, true) })
	b.Run("copied", func(b *testing.B) { benchmarkLoadCSV(b, 100000, false) })
}

func benchmarkLoadCSV(b *testing.B, rows int, fresh bool) {
	ctx := context.Background()
	var sb strings.Builder
	_, err := writeContactsCSV(&sb, rows)
	require.NoError(b, err)
	file := sb.String()
	b.ReportAllocs()
	b.SetBytes(int64(len(file)))
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		d, _ := newDispatcher(b)
		b.StartTimer()
		_, err := d.LoadContacts(ctx, "org", "c1", contacts.ReadCSV(ctx, strings.NewReader(file), contacts.CSVOptions{}), dispatch.LoadOptions{Fresh: fresh})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
