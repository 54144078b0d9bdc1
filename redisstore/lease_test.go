package redisstore

import (
	"testing"
	"time"
)

func TestLeaseTTL(t *testing.T) {
	for _, c := range []struct {
		lease, want time.Duration
	}{
		{40 * time.Second, LockTTL}, // the Source's default: 30s timeout + 10s, renewed
		{11 * time.Second, LockTTL},
		{3 * time.Second, 4300 * time.Millisecond}, // short enough to need no renewal
		{100 * time.Millisecond, 1110 * time.Millisecond},
	} {
		if got := leaseTTL(c.lease); got != c.want {
			t.Errorf("leaseTTL(%v) = %v; want %v", c.lease, got, c.want)
		}
	}
}
