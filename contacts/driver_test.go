package contacts_test

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald/contacts"
	"github.com/heraldmsg/herald/dispatch"
)

// TestLoadDriver is a driver for measuring peak memory with
// /usr/bin/time -v, run only when HERALD_LOAD_ROWS is set:
//
//	go test -c -o /tmp/contacts.test ./contacts
//	HERALD_LOAD_ROWS=1000000 /usr/bin/time -v /tmp/contacts.test -test.run TestLoadDriver -test.v
//
// It writes the file to a temporary directory, then streams it from disk:
// through the dispatcher into memstore, or, with HERALD_LOAD_MODE=read,
// through the CSV loader alone (nothing kept), which shows the loader's
// memory does not grow with the file.
func TestLoadDriver(t *testing.T) {
	rows, _ := strconv.Atoi(os.Getenv("HERALD_LOAD_ROWS"))
	if rows <= 0 {
		t.Skip("set HERALD_LOAD_ROWS to run")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "contacts.csv")
	f, err := os.Create(path)
	require.NoError(t, err)
	_, err = writeContactsCSV(f, rows)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	runtime.GC()

	in, err := os.Open(path)
	require.NoError(t, err)
	defer in.Close()
	src := contacts.ReadCSV(ctx, bufio.NewReaderSize(in, 64<<10), contacts.CSVOptions{})
	start := time.Now()
	n := 0
	if os.Getenv("HERALD_LOAD_MODE") == "read" {
		for _, err := range src {
			require.NoError(t, err)
			n++
		}
	} else {
		d, _ := newDispatcher(t)
		stats, err := d.LoadContacts(ctx, "org", "c1", src, dispatch.LoadOptions{})
		require.NoError(t, err)
		n = stats.Loaded
		t.Logf("kept %d contacts", stats.FinalCount)
	}
	el := time.Since(start)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("%d rows in %s: %.0f rows/s; heap in use %d MiB, total allocated %d MiB",
		n, el.Round(time.Millisecond), float64(n)/el.Seconds(), ms.HeapInuse>>20, ms.TotalAlloc>>20)
}
