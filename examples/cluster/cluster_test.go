package main

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldmsg/herald/internal/testkit"
)

// TestMain lets this test binary be a worker process: the process variant
// starts it again with the worker's configuration in the environment.
func TestMain(m *testing.M) {
	if code, ok := runAsWorker(); ok {
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// proofSize is the number of messages each variant sends:
// $HERALD_CLUSTER_MESSAGES when set (20000 for the full proof), else 900,
// or 300 with -short. The vendor limit is 40 per second, low enough that
// the workers reach it even under the race detector, so that every run
// tests the aggregate limit; `go run ./examples/cluster` sends 20,000.
func proofSize(t *testing.T) int {
	if v := os.Getenv("HERALD_CLUSTER_MESSAGES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 10 {
			t.Fatalf("HERALD_CLUSTER_MESSAGES=%q: want a number of at least 10", v)
		}
		return n
	}
	if testing.Short() {
		return 300
	}
	return 900
}

func runProof(t *testing.T, processes bool) {
	n := proofSize(t)
	var out testkit.SyncBuffer
	r, err := prove(t.Context(), options{
		Messages: n, Workers: 3, Concurrency: 16, Rate: 40, Burst: 5,
		Processes: processes, Kill: true, Postgres: os.Getenv("HERALD_TEST_POSTGRES"),
		Timeout: 8 * time.Minute, Out: &out,
	})
	t.Log(out.String())
	if err != nil {
		t.Fatal(err)
	}
	var summary strings.Builder
	r.print(&summary)
	t.Log(summary.String())
	if err := r.ok(); err != nil {
		t.Fatal(err)
	}
	if !r.limitReached() {
		t.Fatal("the workers never reached the rate limit, so the run did not test it")
	}
	if r.Killed == "" || r.Started == "" {
		t.Fatal("no worker was killed and replaced")
	}
}

func TestClusterOfGoroutineWorkers(t *testing.T) { runProof(t, false) }

func TestClusterOfWorkerProcesses(t *testing.T) { runProof(t, true) }
