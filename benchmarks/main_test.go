package benchmarks

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if kind := os.Getenv(fleetWorkerEnv); kind != "" {
		os.Exit(fleetWorker(kind)) // a worker process of BenchmarkFleet
	}
	goleak.VerifyTestMain(m)
}
