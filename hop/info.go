package hop

// Hops returns the hops of the circuit, entry first.
func (c *Circuit) Hops() []HopInfo { return append([]HopInfo(nil), c.hops...) }
