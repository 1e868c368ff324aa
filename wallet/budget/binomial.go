package budget

import (
	"math"
	"math/big"
)

// The binomial distribution, computed the way R's pbinom/dbinom do it,
// with two repairs for the corners a lottery lives in (huge n, tiny p):
//
//   - The probability mass uses Loader's saddle-point expansion ("Fast and
//     accurate computation of binomial probabilities", C. Loader, 2000):
//     log f(k) = stirlerr(n) − stirlerr(k) − stirlerr(n−k) − bd0(k, np) −
//     bd0(n−k, nq) − ½·log(2πk(n−k)/n). Every term is small and computed
//     without cancellation, so f(k) keeps about 14 significant digits for
//     any n a float64 counts exactly (n ≤ 2^53). The naive
//     lgamma(n+1) − lgamma(k+1) − lgamma(n−k+1) loses |lgamma(n)|·ε in the
//     exponent: 4·10⁻⁷ relative at n = 10^8.
//
//   - A tail is the regularized incomplete beta function,
//     P(X ≥ k) = I_p(k, n−k+1), evaluated by its continued fraction with the
//     modified Lentz method (Numerical Recipes §6.4) on the side where it
//     converges fast (x < (a+1)/(a+b+2)); that is also the side whose tail
//     is the smaller one, so it is computed directly and the other as its
//     complement. The fraction's prefactor x^a(1−x)^b / (a·B(a, b)) is
//     exactly f(k)·(1−p) (or f(k−1)·p on the other side), so it inherits
//     Loader's accuracy. The fraction stops when a step changes it by less
//     than 1e−15 relative: a few steps in the tails, O(√max(a, b)) near the
//     mean (microseconds at n = 10^8).
//
//   - Repairs: p > ½ is mirrored (n−X ~ Binomial(n, 1−p)); a tail of fewer
//     than 64 terms is summed term by term; and for p < 0.1 the lower tail
//     is summed from f(k−1) downward instead, because there the fraction
//     would run at x = 1−p ≈ 1 with a ≫ b, where its terms cancel (at
//     n = 2^40, p = 10⁻⁹ it kept 6 digits).
//
// Measured (binomial_test.go): every k of n ≤ 60 against exact rational
// sums, to 1e−12 relative; 114 cases up to n = 2^40 against 20-digit
// references, worst 3e−12 relative for n ≤ 10^8 and 2e−11 beyond (the
// continued fraction near the mean at n = 10^9, p = 0.3); Poisson limits;
// and the Monte Carlo check of DepletionProbability.

// stirlerrSmall[n] = log(n!) − log(√(2πn)·(n/e)^n) for n = 1..15 (index 0 unused).
var stirlerrSmall = [16]float64{
	0,
	0.08106146679532725821967026,
	0.04134069595540929409382208,
	0.02767792568499833914878929,
	0.02079067210376509311152277,
	0.01664469118982119216319487,
	0.01387612882307074799874573,
	0.01189670994589177009505572,
	0.01041126526197209649747857,
	0.009255462182712732917728637,
	0.008330563433362871256469319,
	0.007573675487951840794972024,
	0.006942840107209529865664153,
	0.006408994188004207068439631,
	0.005951370112758847735624416,
	0.00555473355196280137103869,
}

const ln2pi = 1.83787706640934548356065947281 // log(2π)

// stirlerr is the error of Stirling's formula for log(n!), n a positive integer.
func stirlerr(n float64) float64 {
	const (
		s0 = 1.0 / 12
		s1 = 1.0 / 360
		s2 = 1.0 / 1260
		s3 = 1.0 / 1680
		s4 = 1.0 / 1188
	)
	if n <= 15 {
		return stirlerrSmall[int(n)]
	}
	nn := n * n
	switch {
	case n > 500:
		return (s0 - s1/nn) / n
	case n > 80:
		return (s0 - (s1-s2/nn)/nn) / n
	case n > 35:
		return (s0 - (s1-(s2-s3/nn)/nn)/nn) / n
	}
	return (s0 - (s1-(s2-(s3-s4/nn)/nn)/nn)/nn) / n
}

// bd0 is x·log(x/np) + np − x, computed without cancellation when x ≈ np.
func bd0(x, np float64) float64 {
	if math.Abs(x-np) < 0.1*(x+np) {
		v := (x - np) / (x + np)
		s := (x - np) * v
		ej := 2 * x * v
		v *= v
		for j := 1; j < 1000; j++ {
			ej *= v
			s1 := s + ej/float64(2*j+1)
			if s1 == s {
				return s1
			}
			s = s1
		}
		return s
	}
	return x*math.Log(x/np) + np - x
}

// binomLogPMF is log P(X = k) for X ~ Binomial(n, p), with q = 1 − p,
// 0 < p < 1 and 0 ≤ k ≤ n integers.
func binomLogPMF(k, n, p, q float64) float64 {
	if k == 0 {
		if n == 0 {
			return 0
		}
		if p < 0.1 {
			return -bd0(n, n*q) - n*p
		}
		return n * math.Log(q)
	}
	if k == n {
		if q < 0.1 {
			return -bd0(n, n*p) - n*q
		}
		return n * math.Log(p)
	}
	lc := stirlerr(n) - stirlerr(k) - stirlerr(n-k) - bd0(k, n*p) - bd0(n-k, n*q)
	// log(k(n−k)/n) from exact integers: log1p(−k/n) would lose digits when k ≈ n.
	lf := ln2pi + math.Log(k) + math.Log(n-k) - math.Log(n)
	return lc - 0.5*lf
}

// BinomialPMF is P(X = k) for X ~ Binomial(n, p).
func BinomialPMF(n, k uint64, p float64) float64 {
	switch {
	case math.IsNaN(p):
		return math.NaN()
	case k > n:
		return 0
	case p <= 0:
		if k == 0 {
			return 1
		}
		return 0
	case p >= 1:
		if k == n {
			return 1
		}
		return 0
	}
	return math.Exp(binomLogPMF(float64(k), float64(n), p, 1-p))
}

// BinomialTail is P(X ≥ k) for X ~ Binomial(n, p): the chance of k or more
// wins among n tickets that each win with probability p. See the comment at
// the top of binomial.go for the method and its accuracy.
func BinomialTail(n, k uint64, p float64) float64 {
	_, ge := binomTails(n, k, p)
	return ge
}

// binomTails returns P(X ≤ k−1) and P(X ≥ k). The smaller of the two is
// computed directly, the other as its complement, so both are accurate to
// about 1e−13 relative to max(their value, the other's value).
func binomTails(n, k uint64, p float64) (below, atLeast float64) {
	switch {
	case math.IsNaN(p):
		return math.NaN(), math.NaN()
	case k == 0:
		return 0, 1
	case k > n:
		return 1, 0
	case p <= 0:
		return 1, 0
	case p >= 1:
		return 0, 1
	}
	if p > 0.5 {
		// Mirror: n−X ~ Binomial(n, 1−p), and 1−p is exact here. Keeps the
		// continued fraction away from x ≈ 1, where its first term cancels.
		ge, le := binomTails(n, n-k+1, 1-p)
		return le, ge
	}
	q := 1 - p
	a := float64(k)
	b := float64(n-k) + 1
	nf := float64(n)
	if p < (a+1)/(a+b+2) {
		var ge float64
		if n-k < shortTail {
			ge = sumPMF(k, n, n, p, q)
		} else {
			// P(X ≥ k) = I_p(k, n−k+1) = f(k)·q·cf(k, n−k+1; p).
			ge = math.Exp(binomLogPMF(a, nf, p, q)+math.Log(q)) * betacf(a, b, p)
		}
		ge = clamp01(ge)
		return 1 - ge, ge
	}
	var le float64
	switch {
	case k <= shortTail:
		le = sumPMF(0, k-1, n, p, q)
	case p < smallP:
		le = sumDown(k-1, n, p, q)
	default:
		// P(X ≤ k−1) = I_q(n−k+1, k) = f(k−1)·p·cf(n−k+1, k; q).
		le = math.Exp(binomLogPMF(a-1, nf, p, q)+math.Log(p)) * betacf(b, a, q)
	}
	le = clamp01(le)
	return le, 1 - le
}

// shortTail: a tail of fewer terms than this is summed term by term. The
// continued fraction can lose digits to cancellation when its x is near 1
// (p ≈ 1 after the mirror in binomTails, k within a few of n); a short exact
// sum has no such corner.
const shortTail = 64

// smallP: below it the lower tail is summed term by term (sumDown).
const smallP = 0.1

// sumDown is P(X ≤ hi) for hi at or below the mean, summed from f(hi)
// down with f(j−1) = f(j)·j·q/((n−j+1)·p) until the terms stop counting.
// The terms fall at least geometrically below the mean; from the mean the
// sum takes about 9 standard deviations: 9·√(np) terms, 900 for the 10^4
// winners of a month in faces of a thousandth of its budget.
func sumDown(hi, n uint64, p, q float64) float64 {
	nf := float64(n)
	t := math.Exp(binomLogPMF(float64(hi), nf, p, q))
	if t == 0 {
		return 0 // every term is below the smallest float
	}
	qp := q / p
	s := t
	for j := hi; j > 0; j-- {
		t *= float64(j) / (nf - float64(j) + 1) * qp
		s += t
		if t < s*1e-17 {
			break
		}
	}
	return s
}

// sumPMF is Σ f(j) for j = lo..hi (at most shortTail terms), each term
// from Loader's formula.
func sumPMF(lo, hi, n uint64, p, q float64) float64 {
	nf := float64(n)
	var s float64
	for j := lo; j <= hi; j++ {
		s += math.Exp(binomLogPMF(float64(j), nf, p, q))
	}
	return s
}

func clamp01(x float64) float64 {
	if x < 0 {
		return 0
	}
	if x > 1 {
		return 1
	}
	return x
}

// betacf evaluates the continued fraction of the incomplete beta function
// I_x(a, b) (without its prefactor) by the modified Lentz method. It
// converges quickly for x < (a+1)/(a+b+2).
func betacf(a, b, x float64) float64 {
	const (
		eps   = 1e-15
		fpmin = 1e-300
	)
	maxIter := 1000 + int(20*math.Sqrt(math.Max(a, b)))
	qab := a + b
	qap := a + 1
	qam := a - 1
	c := 1.0
	d := 1 - qab*x/qap
	if math.Abs(d) < fpmin {
		d = fpmin
	}
	d = 1 / d
	h := d
	for m := 1; m <= maxIter; m++ {
		mf := float64(m)
		m2 := 2 * mf
		aa := mf * (b - mf) * x / ((qam + m2) * (a + m2))
		d = 1 + aa*d
		if math.Abs(d) < fpmin {
			d = fpmin
		}
		c = 1 + aa/c
		if math.Abs(c) < fpmin {
			c = fpmin
		}
		d = 1 / d
		h *= d * c
		aa = -(a + mf) * (qab + mf) * x / ((a + m2) * (qap + m2))
		d = 1 + aa*d
		if math.Abs(d) < fpmin {
			d = fpmin
		}
		c = 1 + aa/c
		if math.Abs(c) < fpmin {
			c = fpmin
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < eps {
			break
		}
	}
	return h
}

// BinomialQuantile is the smallest k with P(X ≤ k) ≥ q for X ~ Binomial(n, p).
func BinomialQuantile(n uint64, p, q float64) uint64 {
	switch {
	case math.IsNaN(p) || math.IsNaN(q) || q <= 0 || p <= 0:
		return 0
	case q >= 1 || p >= 1:
		return n
	}
	// P(X ≤ k) ≥ q, evaluated through the tail that is computed directly.
	ok := func(k uint64) bool {
		if k >= n {
			return true
		}
		below, atLeast := binomTails(n, k+1, p)
		if q > 0.5 {
			return atLeast <= 1-q
		}
		return below >= q
	}
	// Bracket with the normal approximation, then bisect.
	mean := float64(n) * p
	sd := math.Sqrt(mean * (1 - p))
	lo, hi := uint64(0), n
	if l := mean - 12*sd - 10; l > 0 && l < float64(n) {
		if c := uint64(l); !ok(c) {
			lo = c + 1
		}
	}
	if h := mean + 12*sd + 10; h < float64(n) {
		if c := uint64(h); c >= lo && ok(c) {
			hi = c
		}
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		if ok(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// DepletionProbability is the chance that n tickets of face value face, each
// winning with probability p, pay out more than balance: P(face·X > balance)
// for X ~ Binomial(n, p). This is the chance that the account runs dry before
// the tickets are all sent. A nil or non-positive face never pays (0); a nil
// balance is zero; a negative balance is already dry (1).
func DepletionProbability(n uint64, p float64, face, balance *big.Int) float64 {
	if balance != nil && balance.Sign() < 0 {
		return 1
	}
	if face == nil || face.Sign() <= 0 {
		return 0
	}
	// The account runs dry at the k-th winner, k = ⌊balance/face⌋ + 1.
	k := new(big.Int)
	if balance != nil {
		k.Quo(balance, face)
	}
	if !k.IsUint64() || k.Uint64() >= n {
		return 0
	}
	return BinomialTail(n, k.Uint64()+1, p)
}

// MinBalance is the smallest balance for which
// DepletionProbability(n, p, face, balance) ≤ delta. A nil or non-positive
// face needs no balance.
func MinBalance(n uint64, p float64, face *big.Int, delta float64) *big.Int {
	if face == nil || face.Sign() <= 0 {
		return new(big.Int)
	}
	// Smallest j with P(X > j) ≤ delta; balance = j·face keeps winner j+1 out.
	j := BinomialQuantile(n, p, 1-delta)
	return new(big.Int).Mul(new(big.Int).SetUint64(j), face)
}
