package classify

import "errors"

// CVResult is a cross-validation: every example predicted by a model that
// did not see it, with that model's dispatch thresholds applied.
type CVResult struct {
	Predictions []Prediction
	Report      Report
	Dispatch    DispatchReport
}

// CrossValidate trains k models, each on all stratified folds but one
// (with its own internal folds for calibration and thresholds, as Train
// does), and predicts the fold left out. progress, if set, is called after
// each outer fold.
func CrossValidate(examples []Example, cfg Config, k int, opt TrainOptions, progress func(done, total int)) (CVResult, error) {
	if k < 2 {
		return CVResult{}, errors.New("cross-validation needs at least 2 folds")
	}
	labels := sortedLabels(examples)
	names := make([]string, len(examples))
	for i, e := range examples {
		names[i] = e.Label
	}
	folds := StratifiedFolds(names, k, cfg.Seed+1000)
	var res CVResult
	res.Dispatch.Rows = make([]DispatchRow, len(labels))
	for f := 0; f < k; f++ {
		var train, test []Example
		for i, e := range examples {
			if folds[i] == f {
				test = append(test, e)
			} else {
				train = append(train, e)
			}
		}
		o := opt
		o.Progress = nil
		m, err := Train(train, cfg, o)
		if err != nil {
			return CVResult{}, err
		}
		preds := m.PredictAll(test, 3)
		res.Predictions = append(res.Predictions, preds...)
		res.Dispatch = mergeDispatch(res.Dispatch, m.DispatchOn(preds), labels)
		if progress != nil {
			progress(f+1, k)
		}
	}
	res.Report = Evaluate(res.Predictions, labels)
	return res, nil
}

// PredictAll predicts every example's label (its Text and Extra).
func (m *Model) PredictAll(examples []Example, k int) []Prediction {
	out := make([]Prediction, len(examples))
	parallel(len(examples), 0, func(i int) {
		out[i] = Prediction{Truth: examples[i].Label, Top: m.PredictExtra(examples[i].Text, examples[i].Extra, k)}
	})
	return out
}

// DispatchOn evaluates automatic dispatch at the model's thresholds on
// predictions.
func (m *Model) DispatchOn(preds []Prediction) DispatchReport {
	return EvaluateDispatch(preds, m.Meta.Labels, m.Meta.Thresholds)
}

// mergeDispatch adds b's counts to a's, matching rows by label; a's rows
// follow labels. Thresholds differ per fold: a keeps the last one seen.
func mergeDispatch(a, b DispatchReport, labels []string) DispatchReport {
	pos := make(map[string]int, len(labels))
	for i, l := range labels {
		pos[l] = i
		a.Rows[i].Label = l
	}
	a.N += b.N
	a.Auto += b.Auto
	a.AutoRight += b.AutoRight
	for _, r := range b.Rows {
		i, ok := pos[r.Label]
		if !ok {
			continue
		}
		a.Rows[i].Threshold = r.Threshold
		a.Rows[i].Predicted += r.Predicted
		a.Rows[i].Auto += r.Auto
		a.Rows[i].AutoRight += r.AutoRight
	}
	if a.N > 0 {
		a.Share = float64(a.Auto) / float64(a.N)
	}
	if a.Auto > 0 {
		a.Accuracy = float64(a.AutoRight) / float64(a.Auto)
	}
	return a
}

// Evaluate scores predictions against the model's label set.
func (m *Model) Evaluate(preds []Prediction) Report { return Evaluate(preds, m.Meta.Labels) }
