//go:build !race

package hop_test

const raceDetector = false
