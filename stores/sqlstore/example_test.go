package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver; sqlstore imports none

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/stores/sqlstore"
)

func ExampleNew() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "herald-example")
	defer os.RemoveAll(dir)

	// The host opens the database with its driver: WAL so readers never
	// block the writer, busy_timeout so other connections' writers wait.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "herald.db")+
		"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()

	st, err := sqlstore.New(db, sqlstore.SQLite) // or sqlstore.Postgres on a pgx *sql.DB
	if err != nil {
		fmt.Println(err)
		return
	}
	// Migrate creates the schema, or upgrades it; it is safe to run at
	// every start, from every process.
	if err := st.Migrate(ctx); err != nil {
		fmt.Println(err)
		return
	}
	v, _ := st.Version(ctx)
	fmt.Println("schema version:", v)

	m := &herald.Message{
		ID: "msg-1", IdempotencyKey: "order-42", OrgID: "acme",
		Channel: herald.ChannelSMS, To: "+15555550100", Body: "Your order shipped",
		Status: herald.StatusQueued,
	}
	_, created, _ := st.CreateMessage(ctx, m)
	fmt.Println("created:", created)

	// A retry with the same idempotency key gets the first message back.
	again := *m
	again.ID = "msg-2"
	first, created, _ := st.CreateMessage(ctx, &again)
	fmt.Println("created again:", created, "id:", first.ID)

	// A worker claims due work with a lease...
	due, _ := st.ClaimDue(ctx, herald.ClaimParams{Owner: "worker-1", LeaseFor: time.Minute})
	fmt.Println("claimed:", len(due), "lease owner:", due[0].LeaseOwner)

	// ...and moves it forward. A late "sent" after "delivered" is recorded
	// but changes nothing.
	_, _ = st.UpdateMessage(ctx, &herald.MessageUpdate{OrgID: "acme", ID: "msg-1", Status: herald.StatusDelivered,
		ExpectLeaseOwner: "worker-1"})
	cur, err := st.UpdateMessage(ctx, &herald.MessageUpdate{OrgID: "acme", ID: "msg-1", Status: herald.StatusSent})
	fmt.Println("status:", cur.Status, "stale:", err != nil)

	evs, _ := st.MessageEvents(ctx, "acme", "msg-1")
	for _, e := range evs {
		fmt.Println(e.Status, e.Applied)
	}
	// Output:
	// schema version: 2
	// created: true
	// created again: false id: msg-1
	// claimed: 1 lease owner: worker-1
	// status: delivered stale: true
	// queued true
	// delivered true
	// sent false
}
