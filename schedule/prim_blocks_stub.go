package schedule

// Stubs replaced by the block primitives.

func (s *Schedule) GetProducers(b BlockRV) ([]BlockRV, error) {
	return nil, primError("get_producers", "not implemented")
}
func (s *Schedule) GetConsumers(b BlockRV) ([]BlockRV, error) {
	return nil, primError("get_consumers", "not implemented")
}
func (s *Schedule) CacheRead(b BlockRV, readIndex int, scope Scope) (BlockRV, error) {
	return BlockRV{-1}, primError("cache_read", "not implemented")
}
func (s *Schedule) CacheWrite(b BlockRV, writeIndex int, scope Scope) (BlockRV, error) {
	return BlockRV{-1}, primError("cache_write", "not implemented")
}
func (s *Schedule) ComputeAt(b BlockRV, l LoopRV) error {
	return primError("compute_at", "not implemented")
}
func (s *Schedule) ReverseComputeAt(b BlockRV, l LoopRV) error {
	return primError("reverse_compute_at", "not implemented")
}
func (s *Schedule) ComputeInline(b BlockRV) error {
	return primError("compute_inline", "not implemented")
}
func (s *Schedule) ReverseComputeInline(b BlockRV) error {
	return primError("reverse_compute_inline", "not implemented")
}
func (s *Schedule) DecomposeReduction(b BlockRV, l LoopRV) (BlockRV, error) {
	return BlockRV{-1}, primError("decompose_reduction", "not implemented")
}
func (s *Schedule) computeLocations(b *Block) []*Loop { return nil }
