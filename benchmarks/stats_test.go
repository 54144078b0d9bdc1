package benchmarks

import (
	"slices"
	"time"
)

// quantile returns the q-quantile (0..1) of ds by the nearest-rank method;
// ds is sorted in place. It returns 0 for an empty slice.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	rank := int(q*float64(len(ds))+0.999999999) - 1
	return ds[min(max(rank, 0), len(ds)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
