package schedule

// GetProducers returns the blocks, in program order, that write a buffer the block reads
// (the block itself excluded). A reduction's update reads its own output, so a separate init
// block of it counts as a producer.
func (s *Schedule) GetProducers(b BlockRV) ([]BlockRV, error) {
	blk, err := s.BlockOf(b)
	if err != nil {
		return nil, primError("get_producers", "%v", err)
	}
	reads := map[*Buffer]bool{}
	for _, buf := range loadedBuffers(blk) {
		reads[buf] = true
	}
	var out []BlockRV
	for _, other := range s.fn.Blocks() {
		if other == blk {
			continue
		}
		for _, buf := range storedBuffers(other) {
			if reads[buf] {
				out = append(out, s.newBlockRV(other))
				break
			}
		}
	}
	s.record(Inst{Kind: KindGetProducers}, s.names(b.id), blockIDs(out))
	return out, nil
}

// GetConsumers returns the blocks, in program order, that read a buffer the block writes (the
// block itself excluded).
func (s *Schedule) GetConsumers(b BlockRV) ([]BlockRV, error) {
	blk, err := s.BlockOf(b)
	if err != nil {
		return nil, primError("get_consumers", "%v", err)
	}
	writes := map[*Buffer]bool{}
	for _, buf := range storedBuffers(blk) {
		writes[buf] = true
	}
	var out []BlockRV
	for _, other := range s.fn.Blocks() {
		if other == blk {
			continue
		}
		for _, buf := range loadedBuffers(other) {
			if writes[buf] {
				out = append(out, s.newBlockRV(other))
				break
			}
		}
	}
	s.record(Inst{Kind: KindGetConsumers}, s.names(b.id), blockIDs(out))
	return out, nil
}

// writersOf returns the blocks other than except that write buf, in program order.
func (s *Schedule) writersOf(buf *Buffer, except *Block) []*Block {
	var out []*Block
	for _, b := range s.fn.Blocks() {
		if b != except && blockWritesBuf(b, buf) {
			out = append(out, b)
		}
	}
	return out
}

// readersOf returns the blocks other than except that read buf, in program order.
func (s *Schedule) readersOf(buf *Buffer, except *Block) []*Block {
	var out []*Block
	for _, b := range s.fn.Blocks() {
		if b != except && blockReadsBuf(b, buf) {
			out = append(out, b)
		}
	}
	return out
}
