// Package testkit holds small helpers shared by herald's own tests and
// examples. It is internal: importers of herald never see it.
package testkit

import (
	"bytes"
	"sync"
)

// SyncBuffer is an io.Writer that many goroutines (and the output copiers
// of child processes) may write to at once, for collecting logs and output
// in tests.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
