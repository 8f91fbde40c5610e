package classify

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Prediction is a model's answer for one held-out example next to the truth.
type Prediction struct {
	Truth string       `json:"truth"`
	Top   []Suggestion `json:"top"`
}

// ClassMetrics are one label's figures.
type ClassMetrics struct {
	Label     string  `json:"label"`
	Support   int     `json:"support"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
}

// Report is an evaluation: headline figures, per-class figures and the
// confusion matrix (rows truth, columns prediction, in Labels order).
type Report struct {
	N         int            `json:"n"`
	Accuracy  float64        `json:"accuracy"`
	MacroF1   float64        `json:"macro_f1"`
	Top3      float64        `json:"top3_accuracy"`
	ECE       float64        `json:"ece"`
	Labels    []string       `json:"labels"`
	PerClass  []ClassMetrics `json:"per_class"`
	Confusion [][]int        `json:"confusion"`
}

// Evaluate scores predictions. labels fixes the row order; truths or
// predictions outside it are added at the end. Macro-F1 averages over the
// labels that occur as truth (a class the test set lacks does not count).
func Evaluate(preds []Prediction, labels []string) Report {
	labels = append([]string(nil), labels...)
	pos := make(map[string]int, len(labels))
	for i, l := range labels {
		pos[l] = i
	}
	at := func(l string) int {
		i, ok := pos[l]
		if !ok {
			i = len(labels)
			labels = append(labels, l)
			pos[l] = i
		}
		return i
	}
	type pair struct{ t, p int }
	pairs := make([]pair, 0, len(preds))
	conf := make([]float64, 0, len(preds))
	correct := make([]bool, 0, len(preds))
	r := Report{N: len(preds)}
	var right, top3 int
	for _, p := range preds {
		guess := ""
		c := 0.0
		if len(p.Top) > 0 {
			guess, c = p.Top[0].Label, p.Top[0].Confidence
		}
		pairs = append(pairs, pair{at(p.Truth), at(guess)})
		conf = append(conf, c)
		correct = append(correct, guess == p.Truth)
		if guess == p.Truth {
			right++
		}
		for i, s := range p.Top {
			if i < 3 && s.Label == p.Truth {
				top3++
				break
			}
		}
	}
	k := len(labels)
	r.Labels = labels
	r.Confusion = make([][]int, k)
	for i := range r.Confusion {
		r.Confusion[i] = make([]int, k)
	}
	for _, pr := range pairs {
		r.Confusion[pr.t][pr.p]++
	}
	if r.N == 0 {
		return r
	}
	r.Accuracy = float64(right) / float64(r.N)
	r.Top3 = float64(top3) / float64(r.N)
	r.ECE = expectedCalibrationError(conf, correct)
	var f1sum float64
	var present int
	for c := 0; c < k; c++ {
		tp := r.Confusion[c][c]
		var support, predicted int
		for j := 0; j < k; j++ {
			support += r.Confusion[c][j]
			predicted += r.Confusion[j][c]
		}
		m := ClassMetrics{Label: labels[c], Support: support}
		if predicted > 0 {
			m.Precision = float64(tp) / float64(predicted)
		}
		if support > 0 {
			m.Recall = float64(tp) / float64(support)
			present++
		}
		if m.Precision+m.Recall > 0 {
			m.F1 = 2 * m.Precision * m.Recall / (m.Precision + m.Recall)
		}
		if support > 0 {
			f1sum += m.F1
		}
		r.PerClass = append(r.PerClass, m)
	}
	if present > 0 {
		r.MacroF1 = f1sum / float64(present)
	}
	return r
}

// WriteText prints the report for a person: the headline lines
// ("accuracy: 0.xxxx", "macro-F1: 0.xxxx", each exactly once), the
// per-class table and the confusion matrix.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "examples: %d\n", r.N)
	fmt.Fprintf(&b, "accuracy: %.4f\n", r.Accuracy)
	fmt.Fprintf(&b, "macro-F1: %.4f\n", r.MacroF1)
	fmt.Fprintf(&b, "top-3 hit rate: %.4f\n", r.Top3)
	fmt.Fprintf(&b, "expected calibration error (ECE, %d bins): %.4f\n", ECEBins, r.ECE)
	b.WriteString("\nper class:\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "support\tprecision\trecall\tF1\t  label")
	for _, m := range r.PerClass {
		fmt.Fprintf(tw, "%d\t%.4f\t%.4f\t%.4f\t  %s\n", m.Support, m.Precision, m.Recall, m.F1, m.Label)
	}
	tw.Flush()
	b.WriteString("\nconfusion matrix (rows: truth, columns: prediction):\n")
	tw = tabwriter.NewWriter(&b, 0, 0, 1, ' ', tabwriter.AlignRight)
	var head []string
	for i := range r.Labels {
		head = append(head, fmt.Sprintf("[%d]", i))
	}
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t  truth")
	for i, row := range r.Confusion {
		var cells []string
		for _, n := range row {
			cells = append(cells, fmt.Sprint(n))
		}
		fmt.Fprintf(tw, "%s\t  [%d] %s\n", strings.Join(cells, "\t"), i, r.Labels[i])
	}
	tw.Flush()
	_, err := io.WriteString(w, b.String())
	return err
}
