package shared

import (
	"context"
	"errors"
	"hash/fnv"
	"sync"
)

// publishLanes publishes entries one per Publish call on RelayConfig.Lanes goroutines: each
// aggregate's entries in one lane (laneOf its AggregateID), in their order; a lane stops at its
// first failure while the others go on. It returns the lanes' errors joined, after every lane has
// stopped; a failed entry and those behind it in its lane stay pending for the next pass.
func (r *Relay) publishLanes(ctx context.Context, entries []OutboxEntry) error {
	lanes := make([][]OutboxEntry, r.cfg.Lanes)
	for _, e := range entries {
		i := laneOf(e.Event.AggregateID, len(lanes))
		lanes[i] = append(lanes[i], e)
	}
	errs := make([]error, len(lanes))
	left := make([][]OutboxEntry, len(lanes)) // each lane's entries not published
	var wg sync.WaitGroup
	for i, lane := range lanes {
		if len(lane) == 0 {
			continue
		}
		wg.Go(func() {
			for j := range lane {
				if err := r.publish(ctx, lane[j:j+1]); err != nil {
					errs[i], left[i] = err, lane[j:]
					return
				}
				r.pending.Add(-1)
			}
		})
	}
	wg.Wait()
	var rest []OutboxEntry
	for _, l := range left {
		rest = append(rest, l...)
	}
	r.observe(rest)
	return errors.Join(errs...)
}

// laneOf is the lane of aggregate among n: FNV-1a of its bytes, modulo n.
func laneOf(aggregate string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(aggregate))
	return int(h.Sum32() % uint32(n))
}
