//go:build race

package contacts

// raceEnabled shortens the large equality corpora under the race detector.
const raceEnabled = true
