//go:build !unix

package vendortest

import "time"

// cpuTime is unknown here: the CPU metrics read zero.
func cpuTime() time.Duration { return 0 }
