package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestZeroLossUnderKills files tickets routed to 60 department systems with
// random faults while the real gateway is SIGKILLed and restarted at least
// three times, then drains and reconciles: every acknowledged ticket reached
// its backend (or was dead-lettered, which nothing here provokes), and no
// ticket had two effects. Figures are logged, not timed.
func TestZeroLossUnderKills(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts the real binary; skipped with -short")
	}
	tickets := 5000
	if v := os.Getenv("SWITCHBOARD_ZEROLOSS_TICKETS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 100 {
			t.Fatalf("SWITCHBOARD_ZEROLOSS_TICKETS=%q: want a number ≥ 100", v)
		}
		tickets = n
	}
	bin := filepath.Join(t.TempDir(), "switchboard")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building: %v\n%s", err, out)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := runZeroLoss(ctx, zeroLossConfig{
		Bin: bin, Dir: dir, Tickets: tickets, Clients: 16, Backends: 60, Kills: 3,
		Filing: 3 * time.Minute, Drain: 3 * time.Minute, Logf: t.Logf,
	})
	if err != nil {
		dumpLog(t, dir)
		t.Fatal(err)
	}
	t.Logf("acknowledged=%d delivered=%d lost=%d duplicated_effects=%d repeat_arrivals=%d dead_lettered=%d",
		res.Acknowledged, res.Delivered, len(res.Lost), res.DuplicatedEffects, res.RepeatArrivals, res.DeadLettered)
	t.Logf("%s", res)
	if res.Kills < 3 {
		t.Errorf("only %d kills happened during filing, want ≥ 3", res.Kills)
	}
	if res.GaveUp > 0 || res.Acknowledged != tickets {
		t.Errorf("%d of %d tickets acknowledged (%d abandoned at the filing bound)", res.Acknowledged, tickets, res.GaveUp)
	}
	if res.Unrouted > 0 {
		t.Errorf("%d tickets were not auto-dispatched to the unit their category routes to", res.Unrouted)
	}
	if res.PendingAfterDrain != 0 {
		t.Errorf("%d outbox messages still pending after the drain bound", res.PendingAfterDrain)
	}
	if len(res.Lost) > 0 {
		n := min(len(res.Lost), 10)
		dumpLog(t, dir)
		t.Errorf("%d acknowledged tickets lost (neither delivered nor dead-lettered), e.g. %v", len(res.Lost), res.Lost[:n])
	}
	if res.NoTicketID > 0 {
		t.Errorf("%d ledger entries name no ticket: the duplicate check cannot see them", res.NoTicketID)
	}
	if res.DuplicatedEffects > 0 {
		t.Errorf("%d duplicated effects (a ticket delivered under two keys, or a second ticket for one idempotency key)", res.DuplicatedEffects)
	}
	if res.DeadLettered > 0 {
		t.Errorf("%d tickets dead-lettered; no backend here refuses permanently", res.DeadLettered)
	}
}

func dumpLog(t *testing.T, dir string) {
	data, _ := os.ReadFile(filepath.Join(dir, "gateway.log"))
	if len(data) > 8000 {
		data = data[len(data)-8000:]
	}
	t.Logf("gateway log (tail):\n%s", data)
}
