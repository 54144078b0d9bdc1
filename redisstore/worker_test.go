package redisstore_test

const workerEnv = "REDISSTORE_TEST_WORKER"

func runWorker() int { return 2 }
