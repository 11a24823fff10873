//go:build race

package quorum

// The race detector slows the simulations down about sixfold.
const raceEnabled = true
