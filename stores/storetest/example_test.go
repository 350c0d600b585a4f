package storetest_test

import (
	"testing"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/stores/memstore"
	"github.com/heraldmsg/herald/stores/storetest"
)

// A store package runs the suite from one test function. Each call of the
// constructor returns a fresh, empty store.
func ExampleRun() {
	// In a _test.go file of the package that implements the store:
	_ = func(t *testing.T) { // func TestConformance(t *testing.T)
		storetest.Run(t, func(t *testing.T) herald.Store {
			return memstore.New()
		})
	}
}
