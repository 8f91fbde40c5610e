package classify

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"
)

func pred(truth, guess string, conf float64) Prediction {
	return Prediction{Truth: truth, Top: []Suggestion{{Label: guess, Confidence: conf}}}
}

func TestEvaluate(t *testing.T) {
	t.Parallel()
	// a: 3 true, 2 found, 1 false alarm; b: 1 true, found, plus the false alarm missing.
	preds := []Prediction{
		pred("a", "a", 0.9), pred("a", "a", 0.8), pred("a", "b", 0.6), pred("b", "b", 0.7),
	}
	r := Evaluate(preds, []string{"a", "b"})
	if r.Accuracy != 0.75 {
		t.Errorf("accuracy %v, want 0.75", r.Accuracy)
	}
	// a: P=1, R=2/3, F1=0.8; b: P=1/2, R=1, F1=2/3; macro = 0.7333.
	if math.Abs(r.MacroF1-(0.8+2.0/3)/2) > 1e-9 {
		t.Errorf("macro-F1 %v", r.MacroF1)
	}
	if want := [][]int{{2, 1}, {0, 1}}; !slices.EqualFunc(r.Confusion, want, slices.Equal[[]int]) {
		t.Errorf("confusion %v, want %v", r.Confusion, want)
	}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"accuracy: 0.7500", "macro-F1: 0.7333"} {
		prefix, _, _ := strings.Cut(want, " ")
		var found []string
		for _, line := range strings.Split(b.String(), "\n") {
			if strings.Contains(line, prefix) {
				found = append(found, line)
			}
		}
		if len(found) != 1 || found[0] != want {
			t.Errorf("lines mentioning %q: %q, want exactly %q:\n%s", prefix, found, want, b.String())
		}
	}
}

func TestEvaluateAddsUnknownLabels(t *testing.T) {
	t.Parallel()
	r := Evaluate([]Prediction{pred("x", "a", 0.5)}, []string{"a"})
	if !slices.Equal(r.Labels, []string{"a", "x"}) || r.MacroF1 != 0 {
		t.Errorf("labels %v macro-F1 %v", r.Labels, r.MacroF1)
	}
}

func TestExpectedCalibrationError(t *testing.T) {
	t.Parallel()
	// Perfectly calibrated: 0.75 confidence, 3 of 4 right.
	if e := expectedCalibrationError([]float64{0.75, 0.75, 0.75, 0.75}, []bool{true, true, true, false}); e > 1e-12 {
		t.Errorf("calibrated ECE %v, want 0", e)
	}
	// Overconfident: 0.95 claimed, half right.
	if e := expectedCalibrationError([]float64{0.95, 0.95}, []bool{true, false}); math.Abs(e-0.45) > 1e-9 {
		t.Errorf("overconfident ECE %v, want 0.45", e)
	}
}

func TestFitTemperatureCalibrates(t *testing.T) {
	t.Parallel()
	// Scores of margin 1 that are right 3 times in 4: the fitted softmax
	// should put the top class near 0.75.
	var scores [][]float64
	var y []int
	for i := 0; i < 400; i++ {
		scores = append(scores, []float64{1, 0})
		truth := 0 // class 0 three times in four
		if i%4 == 0 {
			truth = 1
		}
		y = append(y, truth)
	}
	temp := fitTemperature(scores, y)
	p := make([]float64, 2)
	softmax(scores[0], temp, p)
	if math.Abs(p[0]-0.75) > 0.01 {
		t.Errorf("calibrated confidence %v, want 0.75 (T=%v)", p[0], temp)
	}
}

func TestChooseThresholds(t *testing.T) {
	t.Parallel()
	var preds []Prediction
	// Label a: 30 right answers at 0.9–0.99, then mistakes at 0.5.
	for i := 0; i < 30; i++ {
		preds = append(preds, pred("a", "a", 0.9+float64(i)/1000))
	}
	for i := 0; i < 10; i++ {
		preds = append(preds, pred("b", "a", 0.5))
	}
	// Label b: few answers, never enough evidence.
	for i := 0; i < 5; i++ {
		preds = append(preds, pred("b", "b", 0.99))
	}
	th := ChooseThresholds(preds, []string{"a", "b"}, 0.95)
	if th[0] != 0.9 {
		t.Errorf("threshold of a = %v, want 0.9 (the lowest confidence before the mistakes)", th[0])
	}
	if th[1] != NeverAuto {
		t.Errorf("threshold of b = %v, want NeverAuto", th[1])
	}
	d := EvaluateDispatch(preds, []string{"a", "b"}, th)
	if d.Auto != 30 || d.AutoRight != 30 || math.Abs(d.Share-30.0/45) > 1e-9 {
		t.Errorf("dispatch %+v", d)
	}
}
