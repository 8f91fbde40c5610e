package classify

import (
	"bytes"
	"testing"
	"time"
)

func TestFeedbackLogTrainsTheNextModel(t *testing.T) {
	t.Parallel()
	var log bytes.Buffer
	fw, err := NewFeedbackWriter(&log, true)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 6, 9, 30, 0, 0, time.UTC)
	verdicts := []Feedback{
		{At: at, Text: "工地夜间施工，噪音扰民", Suggested: "城乡建设", Confidence: 0.55, Label: "环境保护", Operator: "op1"},
		{At: at.Add(time.Minute), Text: "公交车\"班次\"太少,等车很久", Suggested: "交通运输", Confidence: 0.91, Label: "交通运输", Operator: "op2"},
	}
	for _, v := range verdicts {
		if err := fw.Write(v); err != nil {
			t.Fatal(err)
		}
	}
	ex, err := ReadCSV(&log, CSVSpec{TextColumns: []string{"text"}, LabelColumn: "label", TimeColumn: "time"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ex) != 2 || ex[0].Label != "环境保护" || ex[1].Text != verdicts[1].Text || !ex[1].Time.Equal(at.Add(time.Minute)) {
		t.Errorf("read back %+v", ex)
	}
}
