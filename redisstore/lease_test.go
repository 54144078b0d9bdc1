package redisstore

import (
	"testing"
	"time"
)

func TestLeaseTTL(t *testing.T) {
	for _, c := range []struct {
		lease, want time.Duration
	}{
		{40 * time.Second, 45 * time.Second}, // the Source's default: 30s timeout + 10s
		{11 * time.Second, 13100 * time.Millisecond},
		{100 * time.Millisecond, 1110 * time.Millisecond},
		{0, 34 * time.Second}, // unknown: as for 30s
		{-time.Second, 34 * time.Second},
	} {
		if got := leaseTTL(c.lease); got != c.want {
			t.Errorf("leaseTTL(%v) = %v; want %v", c.lease, got, c.want)
		}
	}
}
