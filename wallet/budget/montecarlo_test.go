package budget

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// mcRuns is the number of simulated periods per setting.
const mcRuns = 20_000

// winsByGaps draws the number of winners among n tickets that each win with
// probability p, by walking the geometric gaps between winners: the same
// law as n Bernoulli trials at a cost of one draw per winner.
func winsByGaps(rng *rand.Rand, n uint64, p float64) uint64 {
	if p >= 1 {
		return n
	}
	lq := math.Log1p(-p)
	var wins uint64
	pos := 0.0 // tickets used so far
	for {
		u := 1 - rng.Float64() // (0, 1]
		pos += math.Floor(math.Log(u)/lq) + 1
		if pos > float64(n) {
			return wins
		}
		wins++
	}
}

// winsByDraws draws every ticket as the Lottery does: a uniform 64-bit
// draw wins when it is at most ratio.
func winsByDraws(rng *rand.Rand, n uint64, ratio uint64) uint64 {
	var wins uint64
	for i := uint64(0); i < n; i++ {
		if rng.Uint64() <= ratio {
			wins++
		}
	}
	return wins
}

// DepletionProbability against simulated periods: the fraction of runs in
// which face × winners exceeds the balance must be within 3 standard
// errors plus 0.002 of the model.
func TestDepletionMonteCarlo(t *testing.T) {
	t.Parallel()
	face := tokens(0.002) // 2e15: claim cost 1e14 × 20
	type setting struct {
		name    string
		n       uint64
		ratio   uint64 // win probability (ratio+1)/2^64
		balance *big.Int
		draws   bool // simulate every ticket's 64-bit draw (small n only)
	}
	ratioFor := func(p float64) uint64 { return uint64(p*18446744073709551616.0) - 1 }
	mul := func(f *big.Int, k float64) *big.Int { // k faces, k may be fractional
		x := new(big.Int).Mul(f, big.NewInt(int64(k*1000)))
		return x.Quo(x, big.NewInt(1000))
	}
	settings := []setting{
		{"n=200 p=0.05, 14 faces", 200, ratioFor(0.05), mul(face, 14), true},
		{"n=1000 p=1e-3, 4.5 faces", 1000, ratioFor(0.001), mul(face, 4.5), true},
		{"n=2e6 p=2.5e-6, 8 faces", 2_000_000, ratioFor(2.5e-6), mul(face, 8), false},
		{"n=2e4 p=0.02, 440 faces", 20_000, ratioFor(0.02), mul(face, 440), false},
		{"n=5e7 p=1e-5, 540 faces", 50_000_000, ratioFor(1e-5), mul(face, 540), false},
		{"n=1e8 p=1e-5, 1000.5 faces", 100_000_000, ratioFor(1e-5), mul(face, 1000.5), false},
		{"n=1e8 p=1e-5, 1060 faces", 100_000_000, ratioFor(1e-5), mul(face, 1060), false},
		// A month as the engine plans it: 10 tokens in tickets of face 0.002
		// and expected value 5.24e13 (1 MiB at 0.05 token/GB), 10.2 tokens
		// in the account.
		{"n=190840 p=0.0262, 5100 faces", 190_840, ratioFor(0.0262), mul(face, 5100), false},
	}
	for i, s := range settings {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			p := winProbability(s.ratio)
			model := DepletionProbability(s.n, p, face, s.balance)
			rng := rand.New(rand.NewPCG(0x5eed, uint64(i)))
			dry := 0
			paid := new(big.Int)
			for r := 0; r < mcRuns; r++ {
				var w uint64
				if s.draws {
					w = winsByDraws(rng, s.n, s.ratio)
				} else {
					w = winsByGaps(rng, s.n, p)
				}
				if paid.Mul(face, new(big.Int).SetUint64(w)).Cmp(s.balance) > 0 {
					dry++
				}
			}
			got := float64(dry) / mcRuns
			se := math.Sqrt(model * (1 - model) / mcRuns)
			tol := 3*se + 0.002
			t.Logf("%s: model %.5f, simulated %.5f (%d/%d runs), difference %+.5f = %.2f standard errors, tolerance ±%.5f",
				s.name, model, got, dry, mcRuns, got-model, (got-model)/math.Max(se, 1e-12), tol)
			if math.Abs(got-model) > tol {
				t.Errorf("simulated %.5f, model %.5f: outside ±%.5f", got, model, tol)
			}
		})
	}
}
