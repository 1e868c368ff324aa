package budget

import (
	"math"
	"math/big"
	"testing"
)

// exactTail is P(X ≥ k) for X ~ Binomial(n, p), summed in exact rationals
// (p taken at its exact float64 value).
func exactTail(n, k uint64, p float64) float64 {
	pr := new(big.Rat).SetFloat64(p)
	qr := new(big.Rat).Sub(big.NewRat(1, 1), pr)
	pp, qp := ratPowers(pr, n), ratPowers(qr, n)
	sum := new(big.Rat)
	for j := k; j <= n; j++ {
		c := new(big.Rat).SetInt(new(big.Int).Binomial(int64(n), int64(j)))
		c.Mul(c, pp[j])
		c.Mul(c, qp[n-j])
		sum.Add(sum, c)
	}
	f, _ := sum.Float64()
	return f
}

// ratPowers is x^0 … x^n.
func ratPowers(x *big.Rat, n uint64) []*big.Rat {
	out := []*big.Rat{big.NewRat(1, 1)}
	for i := uint64(1); i <= n; i++ {
		out = append(out, new(big.Rat).Mul(out[i-1], x))
	}
	return out
}

func relErr(got, want float64) float64 {
	if want == 0 {
		return math.Abs(got)
	}
	return math.Abs(got-want) / math.Abs(want)
}

// Every k of small binomials against exact rational sums.
func TestBinomialTailExactSmall(t *testing.T) {
	worst := 0.0
	defer func() { t.Logf("worst relative error %.2g", worst) }()
	for _, c := range []struct {
		n uint64
		p float64
	}{
		{1, 0.5}, {5, 0.3}, {10, 1.0 / 3}, {17, 0.001}, {30, 0.97}, {40, 0.5}, {60, 0.05}, {60, 1e-6}, {25, 0.999999},
	} {
		for k := uint64(0); k <= c.n+1; k++ {
			want := exactTail(c.n, k, c.p)
			got := BinomialTail(c.n, k, c.p)
			if want < 1e-290 {
				if got > 1e-280 {
					t.Errorf("n=%d k=%d p=%g: got %g, want %g", c.n, k, c.p, got, want)
				}
				continue
			}
			e := relErr(got, want)
			worst = math.Max(worst, e)
			if e > 1e-12 {
				t.Errorf("n=%d k=%d p=%g: got %.17g, want %.17g (relative error %.2g)", c.n, k, c.p, got, want, e)
			}
		}
	}
}

// Both tails against 20-digit references (binomialRef), up to n = 2^40.
func TestBinomialTailReference(t *testing.T) {
	worst, worstSmall := 0.0, 0.0
	for _, c := range binomialRef {
		below, above := binomTails(c.n, c.k, c.p)
		for _, v := range []struct {
			name      string
			got, want float64
		}{{"P(X < k)", below, c.below}, {"P(X ≥ k)", above, c.above}} {
			if v.want < 1e-300 {
				continue
			}
			e := relErr(v.got, v.want)
			worst = math.Max(worst, e)
			if c.n <= 100_000_000 {
				worstSmall = math.Max(worstSmall, e)
			}
			tol := 5e-12 // n ≤ 10^8, the range a budget needs
			if c.n > 100_000_000 {
				tol = 5e-11
			}
			if e > tol {
				t.Errorf("n=%d k=%d p=%g: %s = %.17g, want %.17g (relative error %.2g)", c.n, c.k, c.p, v.name, v.got, v.want, e)
			}
		}
	}
	t.Logf("%d cases, worst relative error %.2g for n ≤ 10^8, %.2g overall", len(binomialRef), worstSmall, worst)
}

// Binomial(n, λ/n) → Poisson(λ): at n = 10^8 the two tails differ by a
// relative O(λk/n).
func TestBinomialPoissonLimit(t *testing.T) {
	const n = 100_000_000
	for _, lambda := range []float64{0.5, 5, 50} {
		for _, k := range []uint64{1, 3, 10, 30, 60, 100} {
			// Poisson tail 1 − Σ_{j<k} e^−λ λ^j / j!, summed on its small side.
			var below float64
			term := math.Exp(-lambda)
			for j := uint64(0); j < k; j++ {
				below += term
				term *= lambda / float64(j+1)
			}
			want := 1 - below
			if float64(k) > lambda { // sum the upper tail directly
				want = 0
				term = math.Exp(-lambda + float64(k)*math.Log(lambda) - lgamma(float64(k)+1))
				for j := k; term > 1e-300 && j < k+2000; j++ {
					want += term
					term *= lambda / float64(j+1)
				}
			}
			if want < 1e-250 {
				continue
			}
			got := BinomialTail(n, k, lambda/n)
			// The binomial's mass is the Poisson's times about
			// exp(−(k−λ)²/2n): allow that much and float noise.
			tol := 2*(float64(k)+lambda)*(float64(k)+lambda)/n + 1e-12
			if e := relErr(got, want); e > tol {
				t.Errorf("λ=%g k=%d: binomial %.12g, Poisson %.12g (relative %.2g)", lambda, k, got, want, e)
			}
		}
	}
}

func lgamma(x float64) float64 { v, _ := math.Lgamma(x); return v }

// Internal consistency where no reference is at hand: the two tails add up
// to 1, consecutive tails differ by the mass function, and the tail falls
// with k.
func TestBinomialTailConsistency(t *testing.T) {
	for _, c := range []struct {
		n uint64
		p float64
	}{{100_000_000, 3e-5}, {1_000_000_000, 0.3}, {5_000, 0.5}, {1 << 40, 1e-9}} {
		mean := float64(c.n) * c.p
		sd := math.Sqrt(mean * (1 - c.p))
		prev := 1.0
		for z := -6.0; z <= 6; z += 0.5 {
			k := uint64(math.Max(0, math.Round(mean+z*sd)))
			below, ge := binomTails(c.n, k, c.p)
			if math.Abs(below+ge-1) > 1e-14 {
				t.Errorf("n=%d p=%g k=%d: tails %g + %g ≠ 1", c.n, c.p, k, below, ge)
			}
			if ge > prev {
				t.Errorf("n=%d p=%g k=%d: tail %g rose from %g", c.n, c.p, k, ge, prev)
			}
			prev = ge
			diff := ge - BinomialTail(c.n, k+1, c.p)
			// The difference of two tails near ½ keeps their absolute error, ~1e−11.
			if pmf := BinomialPMF(c.n, k, c.p); math.Abs(diff-pmf) > 1e-11+1e-9*pmf {
				t.Errorf("n=%d p=%g k=%d: P(X≥k) − P(X≥k+1) = %g, pmf %g", c.n, c.p, k, diff, pmf)
			}
		}
	}
}

func TestBinomialEdges(t *testing.T) {
	for _, c := range []struct {
		n, k uint64
		p    float64
		want float64
	}{
		{10, 0, 0.3, 1}, {10, 11, 0.3, 0}, {10, 1, 0, 0}, {10, 10, 1, 1}, {0, 0, 0.5, 1}, {0, 1, 0.5, 0},
		{10, 10, 0.5, 1.0 / 1024}, {10, 1, 0.5, 1 - 1.0/1024},
	} {
		if got := BinomialTail(c.n, c.k, c.p); relErr(got, c.want) > 1e-15 {
			t.Errorf("BinomialTail(%d, %d, %g) = %g, want %g", c.n, c.k, c.p, got, c.want)
		}
	}
	if got := BinomialTail(10, 3, math.NaN()); !math.IsNaN(got) {
		t.Errorf("NaN p gave %g", got)
	}
}

func TestBinomialQuantile(t *testing.T) {
	for _, c := range []struct {
		n    uint64
		p, q float64
	}{
		{100, 0.1, 0.5}, {100, 0.1, 0.999}, {100_000_000, 5e-5, 0.025}, {100_000_000, 5e-5, 0.975},
		{100_000_000, 5e-5, 0.999}, {1000, 0.001, 0.999999}, {50, 0.9, 0.01}, {1, 0.5, 0.4},
	} {
		k := BinomialQuantile(c.n, c.p, c.q)
		// P(X ≤ k) ≥ q > P(X ≤ k−1), with P(X ≤ k) = 1 − P(X ≥ k+1).
		if le := 1 - BinomialTail(c.n, k+1, c.p); le < c.q-1e-12 {
			t.Errorf("n=%d p=%g q=%g: k=%d has P(X≤k)=%g < q", c.n, c.p, c.q, k, le)
		}
		if k > 0 {
			if le := 1 - BinomialTail(c.n, k, c.p); le >= c.q+1e-12 {
				t.Errorf("n=%d p=%g q=%g: k−1=%d already has P(X≤k−1)=%g ≥ q", c.n, c.p, c.q, k-1, le)
			}
		}
	}
}

func TestDepletionProbability(t *testing.T) {
	f := bi(1000)
	// Balance 2500 pays two winners of 1000; the third runs it dry.
	if got, want := DepletionProbability(10, 0.2, f, bi(2500)), BinomialTail(10, 3, 0.2); got != want {
		t.Errorf("got %g, want P(X ≥ 3) = %g", got, want)
	}
	// A balance of exactly three faces pays three winners.
	if got, want := DepletionProbability(10, 0.2, f, bi(3000)), BinomialTail(10, 4, 0.2); got != want {
		t.Errorf("got %g, want P(X ≥ 4) = %g", got, want)
	}
	for _, c := range []struct {
		name    string
		n       uint64
		face    *big.Int
		balance *big.Int
		want    float64
	}{
		{"balance covers every ticket", 10, f, bi(10_000), 0},
		{"huge balance", 10, f, new(big.Int).Lsh(bi(1), 200), 0},
		{"zero face never pays", 10, bi(0), bi(0), 0},
		{"nil face never pays", 10, nil, bi(5), 0},
		{"negative balance is dry", 10, f, bi(-1), 1},
		{"empty balance, certain win", 10, f, nil, 1},
	} {
		p := 0.2
		if c.name == "empty balance, certain win" {
			p = 1
		}
		if got := DepletionProbability(c.n, p, c.face, c.balance); got != c.want {
			t.Errorf("%s: got %g, want %g", c.name, got, c.want)
		}
	}
}

func TestMinBalance(t *testing.T) {
	face := tokens(0.002)
	for _, c := range []struct {
		n     uint64
		p     float64
		delta float64
	}{{190_000_000, 2.6e-5, 0.001}, {1000, 0.01, 0.01}, {5_000_000, 1e-6, 1e-6}} {
		b := MinBalance(c.n, c.p, face, c.delta)
		if r := DepletionProbability(c.n, c.p, face, b); r > c.delta {
			t.Errorf("n=%d p=%g: MinBalance %v has risk %g > %g", c.n, c.p, b, r, c.delta)
		}
		less := new(big.Int).Sub(b, bi(1))
		if r := DepletionProbability(c.n, c.p, face, less); r <= c.delta {
			t.Errorf("n=%d p=%g: MinBalance−1 = %v already has risk %g ≤ %g", c.n, c.p, less, r, c.delta)
		}
	}
}
