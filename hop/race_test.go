//go:build race

package hop_test

// raceDetector is true when the tests run under the race detector, which
// slows pion down too much for timing measurements.
const raceDetector = true
