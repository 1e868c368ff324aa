package wallet

import (
	"math/big"
	"strings"
)

// NativeSymbol is the unit amounts of the chain's native coin are shown
// in.
const NativeSymbol = "ETH"

// FormatUnits renders x smallest units of a token with decimals decimals as
// an exact decimal number of whole tokens, trailing zeros removed:
// FormatUnits(1500000000000000, 18) is "0.0015". Nil is "0".
func FormatUnits(x *big.Int, decimals int) string {
	if x == nil {
		return "0"
	}
	neg := x.Sign() < 0
	digits := new(big.Int).Abs(x).String()
	if decimals > 0 {
		if len(digits) <= decimals {
			digits = strings.Repeat("0", decimals-len(digits)+1) + digits
		}
		i := len(digits) - decimals
		whole, frac := digits[:i], strings.TrimRight(digits[i:], "0")
		digits = whole
		if frac != "" {
			digits += "." + frac
		}
	}
	if neg {
		return "-" + digits
	}
	return digits
}

// FormatNative renders an amount of the native coin with its unit:
// "0.0015 ETH".
func FormatNative(x *big.Int) string { return FormatUnits(x, 18) + " " + NativeSymbol }
