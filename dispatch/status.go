package dispatch

import "time"

// Status is what the dispatcher reports about every backend it knows.
type Status struct {
	Backends []BackendStatus
}

// BackendStatus is one backend's delivery state: its breaker, its queues and
// its delivery statistics since this instance started.
type BackendStatus struct {
	Backend string
	Unit    string
	Kind    string
	// Breaker is closed, open or half-open.
	Breaker string
	// Queued waits in this instance's bounded queue; InFlight is being
	// delivered now (at most MaxInFlight, the bulkhead).
	Queued      int
	QueueCap    int
	InFlight    int
	MaxInFlight int
	// From the store, across instances: messages pending (due or waiting for
	// a retry), the age of the oldest, and parked (dead-lettered) ones.
	Pending       int64
	OldestPending time.Duration
	Dead          int64
	// Since this instance started.
	Attempts  int64
	Delivered int64
	Failures  int64
	Rejected  int64 // permanent refusals (dead-lettered at once)
	// Delivery latency from the message's creation to the backend's
	// acceptance, over the recent deliveries.
	LatencyP50 time.Duration
	LatencyP99 time.Duration
}
