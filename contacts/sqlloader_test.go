package contacts_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/contacts"
	"github.com/heraldmsg/herald/dispatch"
)

func openSQLite(t testing.TB) *sql.DB {
	db, err := sql.Open("sqlite", ":memory:")
	require.NoError(t, err)
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	_, err = db.Exec(`CREATE TABLE people (first_name TEXT, last_name TEXT, cell TEXT, zip TEXT, ward INTEGER, note TEXT, active INTEGER)`)
	require.NoError(t, err)
	_, err = db.Exec(`INSERT INTO people VALUES
		('Ada','Lovelace','(415) 555-2671','02139',7,'x',1),
		('Bob','Smith','+14155552671','94110',8,NULL,1),
		('Cy','Null',NULL,NULL,NULL,NULL,1),
		('Di','Bad','12345','',1,'',1),
		('Ed','Gone','+14155552673','',1,'',0)`)
	require.NoError(t, err)
	return db
}

func TestSQLLoader(t *testing.T) {
	ctx := context.Background()
	db := openSQLite(t)
	l := contacts.NewSQLLoader(db, contacts.SQLOptions{Detail: "people"},
		`SELECT first_name, last_name, cell, zip, ward, note FROM people WHERE active = ? ORDER BY rowid`, 1)
	assert.Equal(t, "sql", l.Metadata().Name)
	var got []*herald.Contact
	for c, err := range l.Load(ctx) {
		require.NoError(t, err)
		got = append(got, c)
	}
	require.Len(t, got, 4)
	assert.Equal(t, "Ada", got[0].FirstName)
	assert.Equal(t, "(415) 555-2671", got[0].Phone)
	assert.Equal(t, map[string]string{"ward": "7", "note": "x"}, got[0].CustomFields)
	assert.Equal(t, "", got[1].CustomFields["note"], "NULL reads as empty")
	assert.Equal(t, "", got[2].Phone)

	// The query runs again on each Load, and through the dispatcher.
	d, _ := newDispatcher(t)
	stats, err := d.LoadContacts(ctx, "org", "c1", l.Load(ctx), dispatch.LoadOptions{LoaderName: "sql"})
	require.NoError(t, err)
	assert.Equal(t, 4, stats.Loaded)
	assert.Equal(t, 1, stats.Duplicates)
	assert.Equal(t, 1, stats.MissingCell)
	assert.Equal(t, 1, stats.InvalidCell)
	assert.Equal(t, 1, stats.FinalCount)
}

func TestSQLLoaderErrors(t *testing.T) {
	ctx := context.Background()
	db := openSQLite(t)
	var err error
	for _, e := range contacts.NewSQLLoader(db, contacts.SQLOptions{}, `SELECT first_name, zip FROM people`).Load(ctx) {
		err = e
	}
	var mc *contacts.MissingColumnsError
	require.ErrorAs(t, err, &mc)
	assert.Equal(t, []contacts.Field{contacts.FieldLastName, contacts.FieldCell}, mc.Missing)

	for _, e := range contacts.NewSQLLoader(db, contacts.SQLOptions{}, `SELECT nope FROM nowhere`).Load(ctx) {
		err = e
	}
	assert.ErrorContains(t, err, "contact query")

	// Stopping early closes the rows (the single connection is free again).
	for range contacts.NewSQLLoader(db, contacts.SQLOptions{}, `SELECT first_name, last_name, cell FROM people`).Load(ctx) {
		break
	}
	require.NoError(t, db.PingContext(ctx))
	_, err = db.ExecContext(ctx, `DELETE FROM people`)
	require.NoError(t, err)
}
