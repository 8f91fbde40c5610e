package classify

import (
	"os"
	"testing"

	"github.com/switchboard12345/switchboard/classify/classifytest"
)

func readDataset(t *testing.T, rel string, spec CSVSpec) []Example {
	t.Helper()
	f, err := os.Open(classifytest.Dataset(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ex, err := ReadCSV(f, spec)
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

// TestTeddyCrossValidation cross-validates the default model on the Teddy
// Cup messages (train.csv, 2,167 messages, 7 categories). Measured: 5-fold
// macro-F1 0.907 (see the package documentation); the floor leaves room
// for fold-to-fold variation and the smaller sample under -race.
func TestTeddyCrossValidation(t *testing.T) {
	t.Parallel()
	ex := readDataset(t, "teddy2020c/train.csv", CSVSpec{TextColumns: []string{"text"}, LabelColumn: "label"})
	cfg := DefaultConfig()
	cfg.Folds = 3
	floor := 0.86
	if classifytest.Race || testing.Short() {
		ex = every(ex, 3)
		floor = 0.80
	}
	res, err := CrossValidate(ex, cfg, 3, TrainOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := res.Report
	t.Logf("Teddy 3-fold CV on %d messages: accuracy %.4f, macro-F1 %.4f, ECE %.4f; auto-dispatch share %.4f at precision %.4f",
		r.N, r.Accuracy, r.MacroF1, r.ECE, res.Dispatch.Share, res.Dispatch.Accuracy)
	if r.MacroF1 < floor {
		t.Errorf("macro-F1 %.4f, want ≥ %.2f", r.MacroF1, floor)
	}
	if r.ECE > 0.08 {
		t.Errorf("ECE %.4f: calibration broke (measured about 0.03)", r.ECE)
	}
	if res.Dispatch.Auto > 0 && res.Dispatch.Accuracy < 0.9 {
		t.Errorf("automatic dispatch precision %.4f at thresholds chosen for 0.95", res.Dispatch.Accuracy)
	}
}

// every keeps one example in n.
func every(ex []Example, n int) []Example {
	var out []Example
	for i := 0; i < len(ex); i += n {
		out = append(out, ex[i])
	}
	return out
}

// TestShangluoTemporalRouting trains the routing model on the older
// Shangluo letters answered directly (not forwarded) and tests on the
// newest quarter, against always answering the county government.
func TestShangluoTemporalRouting(t *testing.T) {
	t.Parallel()
	ex := readDataset(t, "shangluo_mayor_mailbox/letters.csv",
		CSVSpec{TextColumns: []string{"title", "query"}, LabelColumn: "agency_group", TimeColumn: "query_date"})
	direct := ex[:0]
	for _, e := range ex {
		if e.Label != "市政府信息办(转办)" {
			direct = append(direct, e)
		}
	}
	train, test := SplitByTime(direct, NewestCut(direct, 0.25))
	cfg := RoutingConfig(shangluoGazetteer(t))
	cfg.Folds = 3
	m, err := Train(train, cfg, TrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := m.Evaluate(m.PredictAll(test, 3))
	county := 0
	for _, e := range test {
		if e.Label == "区县政府" {
			county++
		}
	}
	base := float64(county) / float64(len(test))
	t.Logf("Shangluo: trained on %d letters, tested on %d newer: accuracy %.4f (always county %.4f), macro-F1 %.4f",
		len(train), len(test), r.Accuracy, base, r.MacroF1)
	if r.Accuracy < 0.45 {
		t.Errorf("accuracy %.4f, want ≥ 0.45 (measured 0.545)", r.Accuracy)
	}
}
